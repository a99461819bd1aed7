"""The companion addon Stremio installs: `/watch/<secret>/manifest.json` and
`/watch/<secret>/stream/<type>/<id>.json`. Public apart from the secret (Stremio signs in nowhere),
CORS open like the SDK's (Stremio Web calls addons from the browser), rate-limited per client. The
stream answer is empty and immediate: the play is recorded and the next episodes warmed by the lane
(a Celery task), never on the request path."""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.http import Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from kombu.exceptions import KombuError

from addons.manifest import Manifest, ManifestError
from addons.models import STREAM_ROLES, Addon

from .models import Viewer
from .tasks import send_play

logger = logging.getLogger("prefetch.follow.companion")

COMPANION_ID = "org.streamsprefetcher.companion"
RATE_WINDOW_S = 60


def _cors(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Headers"] = "*"
    response["Access-Control-Allow-Methods"] = "GET, OPTIONS"
    return response


def companion_view(view):
    """Public, CORS-open, rate-limited per client; a wrong secret is a 404."""

    @login_not_required
    @csrf_exempt
    def wrapped(request, secret: str, **kwargs):
        if request.method == "OPTIONS":
            return _cors(HttpResponse(status=204))
        if request.method != "GET":
            return _cors(HttpResponse(status=405, headers={"Allow": "GET, OPTIONS"}))
        if _over_rate(request.META.get("REMOTE_ADDR", "")):
            return _cors(JsonResponse({"error": "Too many requests"}, status=429,
                                      headers={"Retry-After": str(RATE_WINDOW_S)}))
        viewer = Viewer.objects.filter(companion_secret=secret).only("pk").first()
        if viewer is None:
            raise Http404("No such companion addon")
        return _cors(view(request, viewer, **kwargs))

    return wrapped


def _over_rate(client: str) -> bool:
    """A fixed window per client address, shared by the web processes (the cache)."""
    window = int(timezone.now().timestamp()) // RATE_WINDOW_S
    key = f"companion-rate:{client}:{window}"
    cache.add(key, 0, RATE_WINDOW_S * 2)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between the two calls: a new window
        cache.set(key, count := 1, RATE_WINDOW_S * 2)
    return count > settings.COMPANION_RATE_PER_MINUTE


def companion_manifest() -> dict:
    """The stream resource only, for the types and id prefixes the enabled stream addons serve, so
    that Stremio asks the companion exactly when it asks them."""
    types: set[str] = set()
    prefixes: set[str] = set()
    any_id = False
    for data in Addon.objects.filter(enabled=True, role__in=STREAM_ROLES).values_list("manifest", flat=True):
        try:
            manifest = Manifest(data)
        except ManifestError:
            continue
        served_types, served_prefixes = manifest.scope("stream")
        if not served_types:
            continue
        types.update(served_types)
        any_id = any_id or served_prefixes is None
        prefixes.update(served_prefixes or ())
    resource = {"name": "stream", "types": sorted(types)}
    if not any_id:
        resource["idPrefixes"] = sorted(prefixes)
    return {
        "id": COMPANION_ID,
        "version": "1.0.0",
        "name": "Streams Prefetcher companion",
        "description": "Tells your Streams Prefetcher what you open, so it warms the next episodes. "
                       "It lists no streams itself.",
        "resources": [resource],
        "types": sorted(types),
        "catalogs": [],
        "behaviorHints": {"configurable": False, "configurationRequired": False},
    }


@companion_view
def manifest(request, viewer: Viewer):
    return JsonResponse(companion_manifest())


@companion_view
def stream(request, viewer: Viewer, content_type: str, video_id: str):
    try:
        send_play(viewer.pk, content_type, video_id, timezone.now())
    except (KombuError, OSError) as error:  # the broker is away: Stremio still gets its answer
        logger.warning("The companion could not hand a play to the lane: %s", error)
    return JsonResponse({"streams": []})
