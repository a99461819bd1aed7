"""Human durations for the CLI and forms: `500ms`, `2s`, `90m`, `12h`, `7d`, `1w`, `0`, `-1`.

`UNITS` is the one table of time units: the CLI parses them here and the Settings page offers them."""

import math
import re

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
UNIT_LABELS = {"ms": "milliseconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_UNIT_NAMES = "|".join(sorted(UNITS, key=len, reverse=True))  # "ms" before "m" and "s"
# Past any setting's bound (each setting has its own, lower, in prefetch.models), below any overflow.
MAX_DURATION_S = 10 * 365 * 86400
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
    seconds = number * UNITS[match.group(2) or "s"]
    if not math.isfinite(seconds) or seconds > MAX_DURATION_S:
        raise ValueError(f"{text!r}: too long (at most {MAX_DURATION_S // 86400}d)")
    return seconds
