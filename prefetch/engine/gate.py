"""Who may send a request now: per-addon politeness (`AddonGate`: a pace of requests in flight, starts
spaced by the delay, a breaker for an addon in trouble) and the run's item admission (`ItemTicket`).

A request waiting out a retry backoff holds nothing: it leaves its addon's slot and its item's place,
and takes a turn again like any other request when the wait is over. A few failing titles therefore
never hold the others up, in either pace mode.
"""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from addons.client import Failure, FetchResult
from prefetch.engine.pace import Pace, is_congestion_status
from prefetch.engine.plan import AddonSpec
from prefetch.engine.verify import percentile


class AddonGivenUp(Exception):
    """Raised by a gate's turn once its addon has been given up for the run."""


@dataclass
class BreakerPolicy:
    """When the addon itself is in trouble: `failures` requests in a row with no HTTP answer at all
    (refused, reset, DNS, TLS, timeout), or an HTTP error (5xx, 429) on at least `failure_rate` of the
    last `window` distinct requests. It is paused for `pause_s`, then given up if it trips again.
    Failures of single titles (a 404, a 500 on a few) never trip it: each request is counted once,
    with its final answer, whatever its retries."""

    failures: int = 8
    window: int = 20
    failure_rate: float = 0.8
    pause_s: float = 30.0


class Breaker:
    """Counts by distinct request (its URL), in the order of their first answers: a retry updates its
    request's entry in place and never adds one, so the retries of a few failing titles bunching
    together at the end of a catalog look like what they are."""

    def __init__(self, policy: BreakerPolicy):
        self.policy = policy
        self.no_answer_streak: set[str] = set()  # requests in a row that got no HTTP answer
        self.recent: OrderedDict[str, bool] = OrderedDict()  # the last `window` requests: an HTTP error?
        self.counted: set[str] = set()  # every request that entered the window once

    def trips(self, key: str, failure: Failure | None, status: int | None) -> bool:
        """Counts one attempt's answer; True when the addon should be paused or given up."""
        if failure is Failure.TRANSPORT:
            self.no_answer_streak.add(key)
        else:
            self.no_answer_streak.clear()
        http_error = failure is Failure.HTTP_STATUS and _server_error(status)
        if key in self.recent:  # a retry: its request keeps its place in the window
            self.recent[key] = http_error
        elif key not in self.counted:  # a request's first answer (a retry after its eviction: not again)
            self.counted.add(key)
            self.recent[key] = http_error
        window = max(1, self.policy.window)
        while len(self.recent) > window:
            self.recent.popitem(last=False)
        tripped = len(self.no_answer_streak) >= self.policy.failures or (
            len(self.recent) == window and sum(self.recent.values()) >= self.policy.failure_rate * window
        )
        if tripped:  # a fresh count after the pause
            self.no_answer_streak.clear()
            self.recent.clear()
        return tripped


def _server_error(status: int | None) -> bool:
    return status is not None and (status >= 500 or status == 429)


# The place of the item the current task works for (set per item task; None for catalog pages).
_item_ticket: ContextVar["ItemTicket | None"] = ContextVar("item_ticket", default=None)


class ItemTicket:
    """An item's place among the items at work (`engine.item_slots`). Given back when the item ends,
    or earlier, for good, when one of its requests waits out a retry backoff."""

    def __init__(self, slots: asyncio.Semaphore):
        self.slots = slots
        self.held = True

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self.slots.release()

    def bind(self) -> None:
        """Make this the current task's item (call inside the item task's context)."""
        _item_ticket.set(self)


class Turn:
    """One request's right to be in flight at its addon. `backoff` is what the client waits with
    between two attempts: it leaves the slot (and the item's place), waits, then queues again."""

    def __init__(self, gate: "AddonGate", key: str):
        self.gate = gate
        self.key = key  # the request's URL
        self.held = False

    async def backoff(self, wait_s: float, status: int | None, retry_after_s: float | None) -> None:
        gate = self.gate
        if is_congestion_status(status):
            gate.pace.congested(status, gate.clock(), retry_after_s)
        gate.learn(self.key, Failure.TRANSPORT if status is None else Failure.HTTP_STATUS, status,
                   "no answer" if status is None else f"HTTP {status}")
        gate.leave(self)
        ticket = _item_ticket.get()
        if ticket:
            ticket.give_back()
        await gate.sleep(wait_s)
        await gate.enter(self)


class AddonGate:
    """Per-addon politeness: at most N requests in flight (fixed, or an adaptive limit up to N: see
    pace.py), request starts spaced by the delay, and a breaker that pauses, then gives up on, an
    addon in trouble. Counts what its stream requests got."""

    def __init__(
        self,
        addon: AddonSpec,
        *,
        pace: Pace,
        delay_s: float,
        breaker: BreakerPolicy,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        resumed: asyncio.Event,
        log: logging.Logger | logging.LoggerAdapter,
    ):
        self.addon = addon
        self.pace = pace
        self.delay_s = max(0.0, delay_s)
        self.policy = breaker
        self.breaker = Breaker(breaker)
        self.clock = clock
        self.sleep = sleep
        self.resumed = resumed
        self.log = log
        self.next_start = 0.0
        self.paused_until = 0.0
        self.paused_once = False
        self.given_up = False
        self.message = ""
        self.last_error = ""  # the last failure's message, for the run's failure text
        self.in_flight = 0
        # stream requests: made, answered with a list, answered empty, answered 404, failed after
        # retries, not made (given up), succeeded after a retry; attempts counts every HTTP try
        self.requests = self.ok = self.empty = self.not_found = self.failed = self.skipped = 0
        self.retried_ok = self.attempts = 0
        self.other_requests = 0
        self.latencies: list[float] = []

    async def enter(self, turn: Turn) -> None:
        """Wait for the run not to be paused, a pace slot and this request's start time."""
        await self.resumed.wait()
        await self.pace.acquire()
        try:
            await self.resumed.wait()
            now = self.clock()
            start = max(now, self.next_start, self.paused_until)
            self.next_start = start + self.delay_s
            if start > now:
                await self.sleep(start - now)
            if self.given_up:  # decided while this request waited for its turn
                raise AddonGivenUp(self.message)
        except BaseException:
            self.pace.release()
            raise
        self.in_flight += 1
        turn.held = True

    def leave(self, turn: Turn) -> None:
        turn.held = False
        self.in_flight -= 1
        self.pace.release()

    @asynccontextmanager
    async def slot(self, key: str):
        turn = Turn(self, key)
        await self.enter(turn)
        try:
            yield turn
        finally:
            if turn.held:
                self.leave(turn)

    def observe(self, key: str, result: FetchResult) -> None:
        """A request's final answer: the adaptive pace and the breaker learn of it."""
        if not result.ok and is_congestion_status(result.status):
            self.pace.congested(result.status, self.clock())
        self.learn(key, result.failure, result.status, result.error)

    def learn(self, key: str, failure: Failure | None, status: int | None, error: str | None) -> None:
        """An attempt's answer for the breaker: it may pause the addon, or give it up."""
        if error and failure is not Failure.NOT_FOUND:  # a 404 is an answer ("not there"), not a failure
            self.last_error = error
        if self.given_up or not self.breaker.trips(key, failure, status):
            return
        if not self.paused_once:
            self.paused_once = True
            self.paused_until = self.clock() + self.policy.pause_s
            self.log.warning("%s is failing (last: %s); pausing it for %.0f s", self.addon.label, error,
                             self.policy.pause_s)
        else:
            self.given_up = True
            self.message = f"gave up after repeated failures (last: {error})"
            self.log.error("%s keeps failing (last: %s); giving up on it for this run", self.addon.label, error)

    def count_stream(self, *, ok: bool, not_found: bool, empty: bool, attempts: int, latency_ms: float | None) -> None:
        self.requests += 1
        self.attempts += attempts
        if not_found:
            self.not_found += 1
        elif ok:
            self.ok += 1
            self.empty += empty
            self.retried_ok += attempts > 1
            if latency_ms is not None:
                self.latencies.append(latency_ms)
        else:
            self.failed += 1

    def report(self) -> dict:
        latencies = sorted(self.latencies)
        return {
            "name": self.addon.name,
            "key": self.addon.key,  # a hash of the URL: which saved addon this is, never its secrets
            "url": self.addon.label,
            "requests": self.requests,
            "ok": self.ok,
            "empty": self.empty,
            "not_found": self.not_found,
            "failed": self.failed,
            "skipped": self.skipped,
            "retried_ok": self.retried_ok,
            "attempts": self.attempts,
            "other_requests": self.other_requests,
            "latency_ms_p50": percentile(latencies, 0.5),
            "latency_ms_p95": percentile(latencies, 0.95),
            "breaker_paused": self.paused_once,
            "given_up": self.given_up,
            "message": self.message,
            "last_error": self.last_error,
            **self.pace.report(),
        }
