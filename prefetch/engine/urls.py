"""How the engine spells what it asks addons for (protocol.md §3) and how it names an id's prefix."""

import re
from urllib.parse import quote

from prefetch.engine.plan import CatalogSpec


def id_prefix(item_id: str) -> str:
    """`tt`, `kitsu:`, `peer:`: how a prefix mismatch is reported."""
    if ":" in item_id:
        return item_id.split(":", 1)[0] + ":"
    letters = re.match(r"[A-Za-z]+", item_id)
    return letters.group(0) if letters else item_id[:2]


def encode_component(value: str) -> str:
    """Percent-encode like JS encodeURIComponent (protocol.md §3)."""
    return quote(value, safe="-_.!~*'()")


def catalog_extra(catalog: CatalogSpec, skip: int) -> str:
    """`genre=Drama&skip=100`: chosen extras in declared order, then skip; one stable order for caches."""
    pairs = [
        (extra.name, str(catalog.extra_values[extra.name]))
        for extra in catalog.extras
        if extra.name != "skip" and catalog.extra_values.get(extra.name)
    ]
    if skip:
        pairs.append(("skip", str(skip)))
    return "&".join(f"{encode_component(name)}={encode_component(value)}" for name, value in pairs)
