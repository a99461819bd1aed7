"""When a stream answer stops being warm in the addon's cache: its `Cache-Control: max-age`.

The SDK turns a handler's `cacheMaxAge` into `Cache-Control: max-age=N` (protocol.md §6). After
`max-age` a request makes the addon refresh its cache, even where `stale-while-revalidate` lets it
answer from stale data meanwhile: so `max-age` is when to warm again, and `stale-*` are ignored.
`no-store` / `no-cache` mean nothing is kept: expired at once. Pure functions, no I/O."""

from datetime import datetime, timedelta


def max_age_s(cache_control: str | None) -> int | None:
    """Seconds of `max-age` (0 for `no-store` / `no-cache`), or None when the header sets none.

    RFC 9111 §5.2: directive names are case-insensitive, a value may be quoted, several headers
    arrive comma-joined; an invalid or repeated max-age counts as absent."""
    if not cache_control:
        return None
    ages, no_cache = [], False
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-store", "no-cache"):
            no_cache = True
        elif name == "max-age":
            value = value.strip().strip('"')
            ages.append(int(value) if value.isdigit() else None)
    if no_cache:
        return 0
    if len(ages) != 1:
        return None
    return ages[0]


def expires_at(answered_at: datetime, cache_control: str | None) -> datetime | None:
    """When the answer given at `answered_at` expires in the addon's cache; None if it does not say."""
    age = max_age_s(cache_control)
    return None if age is None else answered_at + timedelta(seconds=age)
