"""The adaptive pace (prefetch/engine/pace.py): its rule alone, then in the engine against scripted
addons with a capacity, on the manual clock. No network; the whole file runs in about a second.
The same against the real test addon: test_engine.py; its throughput: `make bench`."""

import asyncio
import statistics
from urllib.parse import unquote, urlsplit

from addons.client import Failure, FetchResult
from prefetch.engine.pace import FIRST_PROBE_WAIT, AdaptiveLimit, Pace
from tests.scripted import ManualClock, ScriptedAddon, engine_for, ids


def feed(limit: AdaptiveLimit, windows: int, latency_ms: float = 30.0, now: float = 0.0) -> None:
    """`windows` windows of answers taking `latency_ms`, each with the limit used in full."""
    for _ in range(windows):
        limit.saturated = True
        for _ in range(max(limit.limit, 4)):
            limit.answered(latency_ms, now)


def test_the_limit_doubles_from_one_while_answers_stay_at_the_floor_up_to_the_ceiling():
    limit = AdaptiveLimit(ceiling=12)
    seen = []
    for _ in range(6):
        feed(limit, 1)
        seen.append(limit.limit)
    assert seen == [2, 4, 8, 12, 12, 12]


def test_the_limit_grows_only_when_it_was_used_in_full():
    limit = AdaptiveLimit(ceiling=12)
    for _ in range(8):
        limit.answered(30.0, 0.0)
    assert limit.limit == 1


def test_a_refusal_cuts_the_limit_once_per_window_and_the_refused_level_is_probed_ever_more_rarely():
    limit = AdaptiveLimit(ceiling=32)
    feed(limit, 3)
    assert limit.limit == 8
    limit.congested("refused", now=0.0)
    limit.congested("refused", now=0.0)  # the same burst: one cut
    assert limit.limit == 6 and limit.cuts["refused"] == 1
    feed(limit, 1)  # the window of the refusal: no growth
    assert limit.limit == 6
    feed(limit, 1)
    assert limit.limit == 7  # up to the plateau under 8, one per window
    feed(limit, FIRST_PROBE_WAIT - 1)
    assert limit.limit == 7
    feed(limit, 1)
    assert limit.limit == 8  # probed after FIRST_PROBE_WAIT windows
    limit.congested("refused", now=0.0)
    assert limit.limit == 6
    feed(limit, 2 + FIRST_PROBE_WAIT)
    assert limit.limit == 7  # the next probe waits twice as long
    feed(limit, FIRST_PROBE_WAIT)
    assert limit.limit == 8
    feed(limit, 1)  # a whole window at 8 without refusal: 8 holds, growth goes on
    assert limit.limit == 9


def test_no_growth_before_retry_after_has_passed():
    limit = AdaptiveLimit(ceiling=32)
    feed(limit, 3)
    limit.congested("refused", now=100.0, retry_after_s=5.0)
    assert limit.limit == 6
    feed(limit, 3, now=104.9)
    assert limit.limit == 6
    feed(limit, 1, now=105.0)
    assert limit.limit == 7


def test_answers_clearly_slower_than_the_floor_cut_the_limit_as_queueing():
    limit = AdaptiveLimit(ceiling=32)
    feed(limit, 3, latency_ms=30.0)
    assert limit.limit == 8 and limit.floor_ms == 30.0
    feed(limit, 1, latency_ms=50.0)  # within 20 ms of the floor: still near it
    assert limit.limit == 16
    feed(limit, 1, latency_ms=60.0)  # over 1.5x the floor and 20 ms above it
    assert limit.limit == 11 and limit.cuts["queueing"] == 1
    feed(limit, 1, latency_ms=60.0)
    assert limit.limit == 8 and limit.cuts["queueing"] == 2


def test_a_lowered_limit_lets_requests_in_flight_finish_and_starts_new_ones_only_below_it():
    async def scenario():
        pace = Pace("adaptive", 8)
        pace.adaptive.limit = 3
        for _ in range(3):
            await pace.acquire()
        waiting = asyncio.ensure_future(pace.acquire())
        await asyncio.sleep(0)
        assert not waiting.done()
        pace.adaptive.limit = 2
        pace.release()
        await asyncio.sleep(0)
        assert not waiting.done()  # 2 in flight, limit 2
        pace.release()
        await waiting
        assert pace.in_flight == 2

    asyncio.run(scenario())


class CapacityAddon(ScriptedAddon):
    """A scripted addon with `capacity` stream slots that either refuses beyond them (429) or makes
    the extra requests queue: an answer takes 30 ms, times the most requests in flight while it was
    worked on over the capacity (when above it)."""

    def __init__(self, clock, pages, capacity: int, overload: str):
        super().__init__(clock, pages, answer_s=0.001)
        self.capacity, self.overload = capacity, overload
        self.refused = 0
        self.latencies: list[float] = []
        self.working: list[list[int]] = []  # the peak in flight seen by each request being answered

    async def get_json(self, url: str, backoff=None) -> FetchResult:
        if not unquote(urlsplit(url).path).startswith("/stream/"):
            return await super().get_json(url)
        if self.overload == "429" and self.in_flight >= self.capacity:
            self.refused += 1
            return FetchResult(429, None, "HTTP 429", latency_ms=1.0, failure=Failure.HTTP_STATUS)
        peak = [self.in_flight + 1]
        self.working.append(peak)
        for other in self.working:
            other[0] = max(other[0], self.in_flight + 1)
        try:
            answer = await super().get_json(url)
        finally:
            self.working.remove(peak)
        answer.latency_ms = 30.0 * max(1.0, peak[0] / self.capacity)
        self.latencies.append(answer.latency_ms)
        return answer


def test_adaptive_finds_the_capacity_of_an_addon_that_refuses_beyond_it():
    clock = ManualClock()
    addon = CapacityAddon(clock, [ids(600)], capacity=6, overload="429")
    engine = engine_for(addon, clock, skip=False, concurrency=32, concurrency_mode="adaptive")
    report = engine.run()["addons"][0]
    assert report["pace"] == "adaptive" and report["concurrency_ceiling"] == 32
    assert addon.max_in_flight <= 8
    assert report["concurrency_limit"] in (4, 5, 6)
    assert addon.refused < 0.03 * 600
    assert report["limit_cuts"]["refused"] >= 1


def test_adaptive_keeps_an_addon_that_queues_near_its_floor():
    clock = ManualClock()
    addon = CapacityAddon(clock, [ids(600)], capacity=6, overload="queue")
    engine = engine_for(addon, clock, skip=False, concurrency=32, concurrency_mode="adaptive")
    report = engine.run()["addons"][0]
    assert 6 <= statistics.median(report["limit_history"]) <= 10
    assert report["floor_ms"] == 30.0 and report["limit_cuts"]["queueing"] >= 1
    assert statistics.median(addon.latencies) < 2 * 30.0


def test_fixed_mode_keeps_its_limit_whatever_the_addon_says():
    clock = ManualClock()
    addon = CapacityAddon(clock, [ids(60)], capacity=2, overload="429")
    engine = engine_for(addon, clock, skip=False, concurrency=4)
    assert engine.run()["addons"][0]["concurrency_limit"] == 4
    assert addon.refused > 0
