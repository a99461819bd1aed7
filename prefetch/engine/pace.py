"""How many requests one addon gets in flight: a fixed number, or an adaptive limit.

`Pace` is the per-addon limiter the gate takes a slot from. In `fixed` mode its limit is the
concurrency setting and never moves. In `adaptive` mode (`AdaptiveLimit`) the concurrency setting is
only the ceiling: the limit starts at 1 and

- doubles every window (a window = as many answers as the limit) while nothing is refused, the
  window's median answer time stays near the addon's floor (the lowest window median of the run)
  and the limit was used in full (a run with fewer requests left than the limit does not raise it),
  then, after the first cut, grows by one per window;
- is cut to 70 % (rounded; at least 1) on a refusal (429, 503), a timeout or a window whose median answer
  time is clearly above the floor (the addon queues our requests), at most once per window; after a
  refusal it does not grow again before `Retry-After` has passed;
- comes back to a level that was refused only after waiting a number of windows that doubles each
  time that level is refused again, so probing costs a few refusals per thousand requests.

Plain Python, no clock of its own: the gate passes its (injectable) clock readings in.
"""

import asyncio
import statistics
from collections import deque

FIXED = "fixed"
ADAPTIVE = "adaptive"
MODES = (FIXED, ADAPTIVE)

BACKOFF = 0.7  # the limit is multiplied by this on congestion
# A window's median answer time "clearly above the floor": more than QUEUEING_RATIO times it and
# more than QUEUEING_MARGIN_MS above it (so a 1 ms floor does not make scheduling noise look like queueing).
QUEUEING_RATIO = 1.5
QUEUEING_MARGIN_MS = 20.0
MIN_WINDOW = 4  # answers per window at least, so that a median at limit 1 is not a single answer
FIRST_PROBE_WAIT = 8  # windows before a refused level is tried again; doubles at each new refusal there
MAX_PROBE_WAIT = 256

CONGESTION_REFUSED = "refused"
CONGESTION_TIMEOUT = "timeout"
CONGESTION_QUEUEING = "queueing"


def is_congestion_status(status: int | None) -> bool:
    """An answer that says "too much": 429 and 503 (with or without Retry-After), or no answer at all
    (a timeout or a dropped connection: status None)."""
    return status is None or status in (429, 503)


class AdaptiveLimit:
    def __init__(self, ceiling: int):
        self.ceiling = max(1, ceiling)
        self.limit = 1
        self.peak = 1
        self.floor_ms: float | None = None
        self.window: list[float] = []
        self.slow_start = True
        self.cut_this_window = False
        self.saturated = False  # the limit was reached in this window (set by Pace)
        self.hold_until = 0.0  # no growth before (Retry-After)
        self.refused_level: int | None = None  # the lowest level refused since it was last passed
        self.probe_wait = FIRST_PROBE_WAIT
        self.windows_at_plateau = 0
        self.cuts = {CONGESTION_REFUSED: 0, CONGESTION_TIMEOUT: 0, CONGESTION_QUEUEING: 0}
        self.history: deque[int] = deque([1], maxlen=60)  # the limit after each change, for the report

    def queueing_threshold_ms(self) -> float | None:
        if self.floor_ms is None:
            return None
        return max(self.floor_ms * QUEUEING_RATIO, self.floor_ms + QUEUEING_MARGIN_MS)

    def answered(self, latency_ms: float, now: float) -> None:
        """One stream answer (not refused, not timed out) and how long it took."""
        self.window.append(latency_ms)
        if len(self.window) < max(self.limit, MIN_WINDOW):
            return
        median = statistics.median(self.window)
        self.window.clear()
        cut_in_window, self.cut_this_window = self.cut_this_window, False
        saturated, self.saturated = self.saturated, False
        self.floor_ms = median if self.floor_ms is None else min(self.floor_ms, median)
        if median > self.queueing_threshold_ms():
            self._cut(CONGESTION_QUEUEING)
        elif saturated and not cut_in_window and now >= self.hold_until:
            self._grow()

    def congested(self, kind: str, now: float, retry_after_s: float | None = None) -> None:
        """A refusal or a timeout: cut now (once per window), and hold growth for Retry-After."""
        if retry_after_s:
            self.hold_until = max(self.hold_until, now + retry_after_s)
        if self.cut_this_window:
            return
        if kind == CONGESTION_REFUSED:
            self.refused_level = self.limit if self.refused_level is None else min(self.refused_level, self.limit)
        self._cut(kind)

    def _cut(self, kind: str) -> None:
        self.cuts[kind] += 1
        self.cut_this_window = True
        self.slow_start = False
        self.window.clear()
        self._set(max(1, min(self.limit - 1, round(self.limit * BACKOFF))))

    def _grow(self) -> None:
        if self.refused_level is not None and self.limit >= self.refused_level:
            # a whole window at the refused level went by without a refusal: it holds now
            self.refused_level, self.probe_wait = None, FIRST_PROBE_WAIT
        if self.limit >= self.ceiling:
            return
        target = min(self.ceiling, self.limit * 2 if self.slow_start else self.limit + 1)
        if self.refused_level is not None and target >= self.refused_level:
            if self.limit < self.refused_level - 1:
                target = self.refused_level - 1  # up to the plateau under the refused level
            else:  # on the plateau: wait before trying the refused level again
                self.windows_at_plateau += 1
                if self.windows_at_plateau < self.probe_wait:
                    return
                self.windows_at_plateau = 0
                self.probe_wait = min(MAX_PROBE_WAIT, self.probe_wait * 2)
                target = self.refused_level
        self._set(target)

    def _set(self, limit: int) -> None:
        if limit != self.limit:
            self.limit = limit
            self.peak = max(self.peak, limit)
            self.history.append(limit)


class Pace:
    """A per-addon limiter: at most `limit` requests in flight. The limit can change while requests
    wait; a lowered limit lets the ones in flight finish and starts new ones only below it."""

    def __init__(self, mode: str, concurrency: int):
        self.mode = mode if mode in MODES else FIXED
        self.adaptive = AdaptiveLimit(concurrency) if self.mode == ADAPTIVE else None
        self.fixed_limit = max(1, concurrency)
        self.in_flight = 0
        self.waiters: deque[asyncio.Future] = deque()

    @property
    def limit(self) -> int:
        return self.adaptive.limit if self.adaptive else self.fixed_limit

    async def acquire(self) -> None:
        if self.in_flight < self.limit and not self.waiters:
            self._took()
            return
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await waiter  # the slot is handed over with the wake-up
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # woken and cancelled at once: pass the slot on
            elif waiter in self.waiters:  # a cancelled waiter may already be popped by _wake
                self.waiters.remove(waiter)
            raise

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self.waiters and self.in_flight < self.limit:
            waiter = self.waiters.popleft()
            if not waiter.done():
                self._took()
                waiter.set_result(None)

    def _took(self) -> None:
        self.in_flight += 1
        if self.adaptive and self.in_flight >= self.adaptive.limit:
            self.adaptive.saturated = True

    # --- what the gate tells an adaptive limit ---------------------------------------------------
    def answered(self, latency_ms: float, now: float) -> None:
        if self.adaptive:
            self.adaptive.answered(latency_ms, now)
            self._wake()

    def congested(self, status: int | None, now: float, retry_after_s: float | None = None) -> None:
        if self.adaptive:
            kind = CONGESTION_TIMEOUT if status is None else CONGESTION_REFUSED
            self.adaptive.congested(kind, now, retry_after_s)

    def report(self) -> dict:
        """The addon's pace in the live snapshot and the completion statistics."""
        data = {"pace": self.mode, "concurrency_limit": self.limit}
        if self.adaptive:
            data.update(
                concurrency_ceiling=self.adaptive.ceiling,
                concurrency_peak=self.adaptive.peak,
                floor_ms=None if self.adaptive.floor_ms is None else round(self.adaptive.floor_ms, 1),
                limit_cuts=dict(self.adaptive.cuts),
                limit_history=list(self.adaptive.history),
            )
        return data
