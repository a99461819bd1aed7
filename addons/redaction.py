"""Addon URLs often carry a debrid API key or an encrypted config in their path: never show them whole.

`redact_url` keeps what identifies the addon (scheme, host, port, the resource part of the path)
and masks what may be secret: user info, the query string, and the whole path before the addon's
own routes (`/manifest.json`, `/stream/…`), whatever it looks like, since a secret can look like
a plain word. A path with no addon route at all (a playback link, say) is masked entirely.
"""

import logging
import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
RESOURCES = {"manifest.json", "catalog", "meta", "stream", "subtitles", "addon_catalog", "configure"}
_URL_IN_TEXT = re.compile(r"https?://[^\s\"'<>()]+")
# Credentials in a query string, also in a bare path (an access log line: `GET /api/x?token=...`).
# The companion addon's secret is a path segment: `/watch/<secret>/…`, in URLs and access log lines.
_COMPANION_SECRET = re.compile(r"(/watch/)[^/\s\"'?]+")
_SECRET_PARAMETER = re.compile(r"([?&](?:token|key|apikey|api_key|password|secret|auth)=)[^&\s\"']+", re.IGNORECASE)


def redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return MASK
    if not parts.scheme or not parts.netloc:
        return url
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    netloc = f"{MASK}@{host}" if parts.username or parts.password else host
    if port:
        netloc += f":{port}"
    segments = parts.path.split("/")
    route = next((index for index, segment in enumerate(segments) if segment in RESOURCES), len(segments))
    configuration = [segment for segment in segments[:route] if segment]
    path = "/".join(["", MASK, *segments[route:]]) if configuration else parts.path
    query = MASK if parts.query else ""
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def redact_text(text: str) -> str:
    text = _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)
    text = _COMPANION_SECRET.sub(lambda match: match.group(1) + MASK, text)
    return _SECRET_PARAMETER.sub(lambda match: match.group(1) + MASK, text)


class RedactingFilter(logging.Filter):
    """Logging filter: every URL in a record's message and traceback is redacted before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "://" in message or "=" in message or "/watch/" in message:
            record.msg = redact_text(message)
            record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters print exc_text when it is set: exception messages may quote the URL.
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return True
