"""The WebSocket's cross-site check: the page that opens the socket must come from this site.

Channels' AllowedHostsOriginValidator lets any Origin through when ALLOWED_HOSTS is `*` (the
default here), so a page on another site could open a signed-in user's socket. Like Django's CSRF
origin check, this compares the Origin with the Host the request was sent to, plus
CSRF_TRUSTED_ORIGINS; a missing or `null` Origin is refused.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings


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
