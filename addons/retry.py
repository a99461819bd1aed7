"""The one retry policy: how long to wait before the next attempt.

Used by the addon client between attempts of one request, by the engine while a record lookup
waits out a database outage, and when recording the end of a run. Each caller keeps its own loop
(async or not, its own give-up rule); the waits come from here. Plain Python, no Django.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RetryPolicy:
    """Waits that double from `base_s` up to `max_s`; a server's Retry-After may lengthen one wait,
    to at most `max_retry_after_s` (an addon asking for an hour does not stall a run for an hour)."""

    base_s: float = 0.5
    max_s: float = 30.0
    max_retry_after_s: float = 60.0

    def wait_s(self, attempt: int, retry_after_s: float | None = None) -> float:
        """The wait after failed attempt number `attempt` (counted from 1)."""
        wait = min(self.max_s, self.base_s * 2 ** (attempt - 1))
        if retry_after_s is not None:
            return max(wait, min(retry_after_s, self.max_retry_after_s))
        return wait


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header in seconds from `now`: either form HTTP allows, a number of seconds
    ("120") or a date ("Wed, 21 Oct 2026 07:28:00 GMT"; one in the past means now). None when absent
    or unreadable (the policy's own wait applies then)."""
    if not value or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # "-0000": UTC by the standard
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
