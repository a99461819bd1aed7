"""Addon URLs often carry a debrid API key or an encrypted config in their path: never show them whole.

`redact_url` keeps what identifies the addon (scheme, host, port, the resource part of the path)
and masks what may be secret (user info, the opaque config segments before `/manifest.json` or
the resource, the query string).
"""

import logging
import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
RESOURCES = {"manifest.json", "catalog", "meta", "stream", "subtitles", "addon_catalog", "configure"}
# Short lowercase words (e.g. "stremio", "v1") are route prefixes, not secrets.
_PLAIN_SEGMENT = re.compile(r"^[a-z][a-z0-9_-]{0,15}$")
_URL_IN_TEXT = re.compile(r"https?://[^\s\"'<>()]+")


def redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if not parts.scheme or not parts.netloc:
        return url
    host = parts.hostname or ""
    netloc = f"{MASK}@{host}" if parts.username or parts.password else host
    if parts.port:
        netloc += f":{parts.port}"
    segments = parts.path.split("/")
    redacted = []
    in_config = True
    for segment in segments:
        if segment in RESOURCES:
            in_config = False
        if in_config and segment and not _PLAIN_SEGMENT.match(segment):
            redacted.append(MASK)
        else:
            redacted.append(segment)
    query = MASK if parts.query else ""
    return urlunsplit((parts.scheme, netloc, "/".join(redacted), query, ""))


def redact_text(text: str) -> str:
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)


class RedactingFilter(logging.Filter):
    """Logging filter: every URL in a record's message is redacted before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "://" in message:
            record.msg = redact_text(message)
            record.args = None
        return True
