"""The cross-site check of the live channels (the WebSocket and the event stream `/api/events`): the
page that opens them must come from this site.

Channels' AllowedHostsOriginValidator lets any Origin through when ALLOWED_HOSTS is `*` (the
default here), so a page on another site could open a signed-in user's socket. Like Django's CSRF
origin check, this compares the Origin with the Host the request was sent to, plus
CSRF_TRUSTED_ORIGINS; a missing or `null` Origin is refused.

The event stream is a GET: a browser sends no Origin when the page is on this site, and scripts
with a token send none either, so there only an Origin that is present and foreign is refused.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http import JsonResponse
from django.urls import reverse


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return ""


def same_origin(origin: str, host: str) -> bool:
    if not origin or origin == "null":
        return False
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == host.lower()


class SameOriginValidator:
    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if same_origin(_header(scope, b"origin"), _header(scope, b"host")):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


class SameOriginEventStream:
    """Refuses `/api/events` to a page of another site (a signed-in user's browser sends the cookie)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        origin = request.headers.get("Origin")
        if (origin is not None and request.path_info == reverse("api-events")
                and not same_origin(origin, request.headers.get("Host", ""))):
            return JsonResponse({"success": False, "error": "Cross-site request refused."}, status=403)
        return self.get_response(request)
