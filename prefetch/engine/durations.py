"""Human durations for the CLI and forms: `500ms`, `2s`, `90m`, `12h`, `7d`, `1w`, `0`, `-1`."""

import re

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")


def parse_duration(text: str) -> float:
    """Seconds as a float; -1 (any unit) means unlimited. Raises ValueError with a clear message."""
    match = _PATTERN.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration: use a number with an optional unit (ms, s, m, h, d, w)")
    number = float(match.group(1))
    if number == -1:
        return -1.0
    if number < 0:
        raise ValueError(f"{text!r}: a duration cannot be negative (use -1 for unlimited)")
    return number * UNITS[match.group(2) or "s"]
