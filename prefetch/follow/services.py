"""Every change of the follow feature's data that is not an account's (see `accounts`): viewers and
their companion secret, the targets' follow run, and how connections read on pages."""

import logging

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.timesince import timesince

from prefetch.models import PrefetchSettings, Run, RunTrigger
from prefetch.record_store import DatabaseRecordStore
from prefetch.releases import RELEASE_RUN_SETTINGS
from prefetch.runs.lifecycle import RunRefused, record_skipped_trigger
from prefetch.runs.plan import plan_from_database, start_checked_run

from .models import Target, Viewer, new_companion_secret

logger = logging.getLogger("prefetch.follow")

HOUSEHOLD = "Household"


def default_viewer() -> Viewer:
    """The viewer shown and connected when none is chosen (the first one; created on first use)."""
    viewer = Viewer.objects.first()
    if viewer is None:
        viewer, _ = Viewer.objects.get_or_create(name=HOUSEHOLD)
    return viewer


def chosen_viewer(viewer_id: int | None) -> Viewer:
    """The viewer a page or a request names (`?viewer=<id>`), else the default one; Http404 when
    there is no such viewer."""
    return default_viewer() if viewer_id is None else get_object_or_404(Viewer, pk=viewer_id)


def regenerate_secret(viewer: Viewer) -> Viewer:
    """A new companion URL: the old one answers 404 from now on (reinstall the companion)."""
    viewer.companion_secret = new_companion_secret()
    viewer.save(update_fields=["companion_secret"])
    return viewer


def site_url(request) -> str:
    """Where Stremio reaches this site: PUBLIC_URL, else the address this page was opened at (the
    reverse proxy's, with USE_X_FORWARDED_PROTO for its scheme)."""
    return settings.PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")


def companion_url(viewer: Viewer, base_url: str) -> str:
    return f"{base_url}/watch/{viewer.companion_secret}/manifest.json"


def install_link(addon_url: str) -> str:
    """Stremio's own scheme: it opens the app's install dialog for the addon at that URL."""
    return "stremio://" + addon_url.split("://", 1)[1]


def installable(addon_url: str) -> bool:
    """Stremio installs remote addons over HTTPS only; 127.0.0.1 (the same machine) aside."""
    return addon_url.startswith(("https://", "http://127.0.0.1", "http://localhost"))


def _ago(moment) -> str:
    if (timezone.now() - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment, timezone.now()).split(',')[0]} ago"


def stremio_state(viewer: Viewer) -> dict:
    link = getattr(viewer, "stremio", None)
    if link is None:
        return {"connected": False, "summary": "Stremio: not connected"}
    read = f", library read {_ago(link.last_read_at)}" if link.last_read_at else ", library not read yet"
    summary = f"Stremio: {_connected_as(link.user_email)}{read}"
    if link.last_error:
        summary += f" — {link.last_error}"
    return {"connected": True, "email": link.user_email, "last_read": _iso(link.last_read_at),
            "last_error": link.last_error, "summary": summary}


def trakt_state(viewer: Viewer) -> dict:
    link = getattr(viewer, "trakt", None)
    available = bool(settings.TRAKT_CLIENT_ID and settings.TRAKT_CLIENT_SECRET)
    if link is None or not (link.connected or link.pending):
        summary = "Trakt: not connected" if available else \
            "Trakt: not available (set TRAKT_CLIENT_ID and TRAKT_CLIENT_SECRET)"
        error = link.last_error if link else ""
        return {"connected": False, "available": available, "pending": False, "last_error": error,
                "summary": f"{summary} — {error}" if error else summary}
    if link.pending:
        return {"connected": False, "available": available, "pending": True, "user_code": link.user_code,
                "verification_url": link.verification_url, "expires_at": _iso(link.device_expires_at),
                "last_error": link.last_error,
                "summary": f"Trakt: enter the code {link.user_code} at {link.verification_url}"}
    read = f", read {_ago(link.last_read_at)}" if link.last_read_at else ", not read yet"
    summary = f"Trakt: {_connected_as(link.username)}{read}"
    if link.last_error:
        summary += f" — {link.last_error}"
    return {"connected": True, "available": available, "pending": False, "username": link.username,
            "last_read": _iso(link.last_read_at), "last_error": link.last_error, "summary": summary}


def _connected_as(name: str) -> str:
    """Whom an account is connected as; plainly "connected" when the service has not said."""
    return f"connected as {name}" if name else "connected"


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def follow_state(viewer: Viewer, base_url: str) -> dict:
    """GET /api/follow and the Follow page: never a token, authKey or password."""
    addon_url = companion_url(viewer, base_url)
    return {
        "id": viewer.pk,
        "viewer": viewer.name,
        "addon_url": addon_url,
        "install_url": install_link(addon_url),
        "installable": installable(addon_url),
        "next_episodes": PrefetchSettings.load().follow_next_episodes,
        "stremio": stremio_state(viewer),
        "trakt": trakt_state(viewer),
    }


def viewer_states(base_url: str) -> list[dict]:
    """Every viewer's follow state, the default one first (made when there is none yet)."""
    default_viewer()
    return [follow_state(viewer, base_url) for viewer in Viewer.objects.select_related("stremio", "trakt")]


def target_rows(viewer: Viewer | None = None) -> list[dict]:
    targets = Target.objects.all() if viewer is None else viewer.targets.all()
    return [{"type": t.content_type, "video_id": t.video_id, "source": t.source, "reason": t.reason}
            for t in targets]


def unwarmed_targets() -> list[list[str]]:
    """[type, video id] of every viewer's targets not warm on every stream addon serving them."""
    plan = plan_from_database()
    saved = PrefetchSettings.load()
    store = DatabaseRecordStore()
    wanted: dict[str, list[str]] = {}
    for content_type, video_id in Target.objects.order_by("id").values_list("content_type", "video_id"):
        if video_id not in wanted.setdefault(content_type, []):
            wanted[content_type].append(video_id)
    cold = []
    for content_type, video_ids in wanted.items():
        serving = {video_id: sorted(a.key for a in plan.stream_addons if a.manifest.supports("stream", content_type, video_id))
                   for video_id in video_ids}
        keys = sorted({key for keys in serving.values() for key in keys})
        valid = store.valid_keys(keys, content_type, video_ids, saved.cache_validity_s,
                                 saved.cache_validity_auto)
        cold.extend([content_type, video_id] for video_id in video_ids
                    if serving[video_id] and any((key, video_id) not in valid for key in serving[video_id]))
    return cold


def request_follow_run(trigger_skipped: bool = False) -> Run | None:
    """A follow run for the targets not warm (None when all are). Raises RunRefused (RunActive while
    a run is active; no stream addon); with `trigger_skipped` (beat) the refusal is recorded as a
    skipped run."""
    targets = unwarmed_targets()
    if not targets:
        return None
    try:
        return start_checked_run(RunTrigger.FOLLOW, {"follow_targets": targets, "settings": RELEASE_RUN_SETTINGS})
    except RunRefused as refusal:
        if not trigger_skipped:
            raise
        record_skipped_trigger(RunTrigger.FOLLOW, f"skipped: {refusal} Tried again after the next sync.")
        return None
