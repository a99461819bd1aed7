"""The API's JSON parser: DRF's, with absurd nesting and text no database can store (NUL, a lone
surrogate) refused as a 400 naming the field.

Every app's API parses with it (REST_FRAMEWORK settings), so the bottom app holds it. A module of its
own: those settings import it while DRF's views are being loaded.
"""

import io
import re

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings

from addons.manifest import unstorable_text_at

# No request of this API nests deeper than a few levels; past this a body is refused before
# Python's recursive JSON decoder (RecursionError near 1,000 levels) or any serializer sees it.
MAX_JSON_DEPTH = 32
# A JSON string (an object key when a colon follows) or a bracket: brackets inside strings are not nesting.
_JSON_TOKEN = re.compile(rb'"((?:[^"\\]|\\.)*)"(\s*:)?|[\[\]{}]')


def too_deep_field(body: bytes, limit: int = MAX_JSON_DEPTH) -> str | None:
    """The top-level key under which `body` nests deeper than `limit` (the non-field key when the
    body itself is an array), or None. A scan of the brackets: no recursion, however deep."""
    depth = 0
    field = api_settings.NON_FIELD_ERRORS_KEY
    for token in _JSON_TOKEN.finditer(body):
        if token.group(1) is not None:
            if token.group(2) and depth == 1:
                field = token.group(1).decode("utf-8", "replace")
        elif token.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return field
        else:
            depth -= 1
    return None


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read()
        field = too_deep_field(body)
        if field is not None:
            raise ParseError({field: [f"JSON nested deeper than {MAX_JSON_DEPTH} levels."]})
        data = super().parse(io.BytesIO(body), media_type, parser_context)
        if (unstorable := unstorable_text_at(data)) is not None:
            top, _, refusal = unstorable
            raise ParseError({top or api_settings.NON_FIELD_ERRORS_KEY: [refusal]})
        return data
