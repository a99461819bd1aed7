"""The engine's rules as unit tests: plain Python, a scripted addon client, a record store in memory
and a manual clock. No database, no network, no Node addon; the whole file runs in about a second.
The same rules are also exercised end to end against the real test addon in test_engine.py."""

import asyncio
from contextlib import asynccontextmanager
from urllib.parse import unquote, urlsplit

import pytest

from addons.client import Failure, FetchResult
from addons.manifest import Manifest
from prefetch.engine import BreakerPolicy, PrefetchEngine, catalog_extra
from prefetch.engine.plan import AddonSpec, CatalogSpec, EngineSettings, RunPlan
from tests.helpers import OPEN_SETTINGS

BASE = "http://addon.test/manifest.json"


class ManualClock:
    """Time moves only when the engine sleeps, to the time it sleeps until (never back): spacing and
    pauses are exact and instant. `wakes` lists those times in the order the sleeps began."""

    def __init__(self):
        self.now = 1000.0
        self.wakes: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.wakes.append(self.now + seconds)
        self.now = max(self.now, self.now + seconds)
        await asyncio.sleep(0)


class MemoryStore:
    def __init__(self):
        self.saved = []

    def valid_keys(self, addon_keys, content_type, video_ids, validity_s, auto=False):
        return set()

    def attempted_since(self, addon_keys, content_type, video_ids, since):
        return {}

    def save(self, outcomes):
        self.saved.extend(outcomes)


class ScriptedAddon:
    """Answers catalog pages from a list and streams with one stream each (or a fixed failure);
    records every request, the clock at its start and how many were in flight."""

    def __init__(self, clock: ManualClock, pages: list[list[str]], stream_status: int = 200, answer_s: float = 0.0):
        self.clock, self.pages, self.stream_status, self.answer_s = clock, pages, stream_status, answer_s
        self.requests: list[tuple[float, str]] = []
        self.in_flight = self.max_in_flight = 0

    @asynccontextmanager
    async def session(self):
        yield self

    async def get_json(self, url: str, backoff=None) -> FetchResult:
        path = unquote(urlsplit(url).path)
        self.requests.append((self.clock(), path))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.answer_s)
        finally:
            self.in_flight -= 1
        if path.startswith("/catalog/"):
            skip = int(path.rsplit("skip=", 1)[1].removesuffix(".json")) if "skip=" in path else 0
            return FetchResult(200, {"metas": [{"id": id_, "type": "movie", "name": id_} for id_ in self.page_at(skip)]})
        if self.stream_status != 200:
            return FetchResult(self.stream_status, None, f"HTTP {self.stream_status}", failure=Failure.HTTP_STATUS)
        return FetchResult(200, {"streams": [{"title": "1080p", "url": "http://x.test/1"}]})

    def page_at(self, skip: int) -> list[str]:
        offset = 0
        for page in self.pages:
            if offset == skip:
                return page
            offset += len(page)
        return []

    def stream_requests(self) -> list[tuple[float, str]]:
        return [(at, path) for at, path in self.requests if path.startswith("/stream/")]


def manifest(skip: bool) -> Manifest:
    extra = [{"name": "genre"}, {"name": "search"}] + ([{"name": "skip"}] if skip else [])
    return Manifest({
        "id": "scripted", "name": "Scripted", "version": "1.0.0", "types": ["movie"], "resources": ["catalog", "stream"],
        "idPrefixes": ["tt"], "catalogs": [{"type": "movie", "id": "top", "name": "Top", "extra": extra}],
    })


def engine_for(addon: ScriptedAddon, clock: ManualClock, *, skip: bool = True, breaker=None, **settings) -> PrefetchEngine:
    spec = AddonSpec(BASE, "Scripted", manifest(skip), True, True)
    decl = spec.manifest.catalogs()[0]
    plan = RunPlan([spec], [CatalogSpec(spec, decl.type, decl.id, decl.name, decl.extras)],
                   EngineSettings(**{**OPEN_SETTINGS, **settings}))
    return PrefetchEngine(plan, store=MemoryStore(), client_factory=addon.session, clock=clock, sleep=clock.sleep,
                          breaker=breaker)


def ids(count: int, start: int = 0) -> list[str]:
    return [f"tt{n:07d}" for n in range(start, start + count)]


def test_the_gate_never_has_more_than_its_concurrency_in_flight():
    clock = ManualClock()
    addon = ScriptedAddon(clock, [ids(12)], answer_s=0.005)
    engine_for(addon, clock, skip=False, concurrency=3).run()
    assert len(addon.stream_requests()) == 12
    assert addon.max_in_flight == 3


def test_the_gate_spaces_request_starts_by_the_delay():
    clock = ManualClock()
    addon = ScriptedAddon(clock, [ids(6)])
    engine_for(addon, clock, skip=False, concurrency=4, delay_s=2.5).run()
    # The catalog page starts at once; each of the six streams waits for its turn, 2.5 s apart,
    # although four could be in flight together.
    assert len(addon.stream_requests()) == 6
    assert clock.wakes == [1000.0 + 2.5 * turn for turn in range(1, 7)]


def test_the_breaker_pauses_then_gives_up_an_addon_that_keeps_failing():
    clock = ManualClock()
    addon = ScriptedAddon(clock, [ids(20)], stream_status=503)
    engine = engine_for(addon, clock, skip=False, concurrency=1, breaker=BreakerPolicy(window=3, pause_s=30.0))
    engine.run()
    # Three failures, a pause of 30 s with no request inside it, three more, then no request at all.
    assert [at for at, _ in addon.stream_requests()] == [1000.0] * 3 + [1030.0] * 3
    gate = engine.gates[engine.plan.addons[0].key]
    assert gate.given_up and "gave up" in gate.message


def test_limits_count_in_flight_items_so_concurrency_never_overshoots():
    clock = ManualClock()
    addon = ScriptedAddon(clock, [ids(40)], answer_s=0.005)
    engine = engine_for(addon, clock, skip=False, concurrency=8, movies_per_catalog=5)
    engine.run()
    assert len(addon.stream_requests()) == 5
    assert engine.catalog_results[0].prefetched == 5


@pytest.mark.parametrize(
    ("pages", "skip", "expected_pages", "stop"),
    [
        ([ids(4), ids(4, 4), ids(2, 8)], True, 4, "end of catalog"),  # a short last page, then an empty one
        ([ids(4), ids(4)], True, 2, "page repeated"),  # an addon that ignores skip
        ([ids(4), ids(4, 4)], False, 1, "single page"),  # no skip declared: one page only
    ],
)
def test_paging_follows_skip_and_stops_for_the_right_reason(pages, skip, expected_pages, stop):
    clock = ManualClock()
    addon = ScriptedAddon(clock, pages)
    engine = engine_for(addon, clock, skip=skip)
    engine.run()
    catalog_paths = [path for _, path in addon.requests if path.startswith("/catalog/")]
    assert len(catalog_paths) == expected_pages
    assert catalog_paths[1:2] in ([], ["/catalog/movie/top/skip=4.json"])  # skip advances by the items received
    assert engine.catalog_results[0].stop_reason.startswith(stop)


def test_extras_are_percent_encoded_like_encode_uri_component():
    spec = AddonSpec(BASE, "Scripted", manifest(True), True, True)
    extras = spec.manifest.catalogs()[0].extras
    catalog = CatalogSpec(spec, "movie", "top", "Top", extras, {"genre": "Sci-Fi & Fantasy", "search": "a/b c"})
    assert catalog_extra(catalog, 100) == "genre=Sci-Fi%20%26%20Fantasy&search=a%2Fb%20c&skip=100"
