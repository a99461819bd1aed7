"""Human durations for the CLI and forms: `500ms`, `2s`, `90m`, `12h`, `7d`, `1w`, `0`, `-1`.

`UNITS` is the one table of time units: the CLI parses them here and the Settings page offers them."""

import re

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
UNIT_LABELS = {"ms": "milliseconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_UNIT_NAMES = "|".join(sorted(UNITS, key=len, reverse=True))  # "ms" before "m" and "s"
_PATTERN = re.compile(rf"^\s*(-?\d+(?:\.\d+)?)\s*({_UNIT_NAMES})?\s*$")


def parse_duration(text: str) -> float:
    """Seconds as a float; -1 (any unit) means unlimited. Raises ValueError with a clear message."""
    match = _PATTERN.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration: use a number with an optional unit ({', '.join(UNITS)})")
    number = float(match.group(1))
    if number == -1:
        return -1.0
    if number < 0:
        raise ValueError(f"{text!r}: a duration cannot be negative (use -1 for unlimited)")
    return number * UNITS[match.group(2) or "s"]
