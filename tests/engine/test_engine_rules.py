"""The engine's rules as unit tests: plain Python, a scripted addon client, a record store in memory
and a manual clock. No database, no network, no Node addon; the whole file runs in about a second.
The same rules are also exercised end to end against the real test addon in test_engine.py."""

import asyncio
import logging

import pytest

from prefetch.engine import BreakerPolicy, catalog_extra
from prefetch.engine.meta_sources import MetaSources
from prefetch.engine.plan import AddonSpec, CatalogSpec, EngineSettings, RunPlan
from tests.helpers import OPEN_SETTINGS
from tests.scripted import BASE, ManualClock, ScriptedAddon, engine_for, ids, manifest, meta_manifest


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


def test_the_time_limit_stops_the_walk_and_keeps_what_was_answered():
    clock = ManualClock()
    addon = ScriptedAddon(clock, [ids(50)], answer_s=0.01)  # real time, for the watcher to tick in
    addon.on_request = lambda count: setattr(clock, "now", clock.now + 1.0)  # and a second on the run's clock
    report = engine_for(addon, clock, skip=False, concurrency=1, max_execution_time_s=10,
                        control_interval_s=0.001).run()
    # One stream a second after the catalog page: the watcher stops the walk once 10 s are behind (a
    # tick late at most). What was answered is counted; the one in flight is not reached, not failed.
    started = [at for at, _ in addon.stream_requests()]
    statistics = report["statistics"]
    assert report["stop_reason"] == "time limit reached"
    assert max(started) <= 1010.0 and statistics["movies_prefetched"] >= 8
    assert statistics["items_failed"] == 0 and statistics["items_not_reached"] >= 1


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


# --- which addon serves a meta: the one rule of a run and of the follow app's series episodes ----------

FALLBACK = "http://meta.test/cfg-secret/manifest.json"


def meta_sources(addons: list[AddonSpec], fallback_url: str = FALLBACK, **hooks) -> MetaSources:
    plan = RunPlan(addons, [], EngineSettings(**{**OPEN_SETTINGS, "fallback_meta_url": fallback_url}))
    return MetaSources(plan, logging.getLogger("prefetch.engine"), unreachable="what that means here", **hooks)


def meta_addon(name: str, **manifest_options) -> AddonSpec:
    return AddonSpec(f"http://{name.lower()}.test/manifest.json", name, meta_manifest(name, **manifest_options),
                     False, False)


def test_a_meta_comes_from_the_preferred_addon_then_the_first_configured_one_then_the_fallback():
    clock = ManualClock()
    client = ScriptedAddon(clock, [], fallback_manifest=meta_manifest("Fallback", types=("series", "movie")))
    catalog_addon = meta_addon("Catalog", prefix="kitsu:")
    stream_only = AddonSpec(BASE, "Scripted", manifest(True), True, True)  # serves no meta
    sources = meta_sources([stream_only, meta_addon("First"), meta_addon("Second")])

    def source(content_type: str, item_id: str, preferred: AddonSpec | None = None) -> str | None:
        found = asyncio.run(sources.source(client, content_type, item_id, preferred))
        return found and found.name

    assert source("series", "kitsu:1", preferred=catalog_addon) == "Catalog"
    assert source("series", "tt1", preferred=catalog_addon) == "First"  # not the catalog's: the first that serves it
    assert client.manifests_fetched == []  # no need for the fallback yet
    assert source("movie", "tt1") == "Fallback"
    assert source("channel", "tt1") is None  # nor the fallback
    assert client.manifests_fetched == [FALLBACK]


def test_the_fallback_manifest_is_fetched_once_for_items_asking_together_and_announced_once():
    clock = ManualClock()
    client = ScriptedAddon(clock, [], answer_s=0.005, fallback_manifest=meta_manifest("Fallback"))
    announced = []
    sources = meta_sources([], on_fallback=announced.append)

    async def ask_together():
        return await asyncio.gather(*(sources.source(client, "series", f"tt{n}") for n in range(5)))

    assert [found.name for found in asyncio.run(ask_together())] == ["Fallback"] * 5
    assert client.manifests_fetched == [FALLBACK]
    assert [addon.url for addon in announced] == [FALLBACK]


def test_an_unreachable_fallback_is_tried_once_and_named_redacted_in_one_warning(caplog):
    client = ScriptedAddon(ManualClock(), [], fallback_manifest=None)  # its manifest: 404
    announced = []
    sources = meta_sources([], on_fallback=announced.append)
    with caplog.at_level(logging.WARNING, logger="prefetch.engine"):
        assert asyncio.run(sources.source(client, "series", "tt1")) is None
        assert asyncio.run(sources.source(client, "series", "tt2")) is None
    assert client.manifests_fetched == [FALLBACK] and sources.fallback_unreachable and announced == []
    assert [record.getMessage() for record in caplog.records] == [
        "The fallback meta addon http://meta.test/***/manifest.json could not be reached (HTTP 404 (not found)); "
        "what that means here"]


def test_without_a_fallback_url_nothing_is_fetched_and_nothing_is_unreachable():
    client = ScriptedAddon(ManualClock(), [])
    sources = meta_sources([], fallback_url="")
    assert asyncio.run(sources.source(client, "series", "tt1")) is None
    assert client.manifests_fetched == [] and not sources.fallback_unreachable


def test_a_run_reads_series_episodes_from_the_fallback_through_a_gate_of_its_own():
    clock = ManualClock()
    addon = ScriptedAddon(clock, [ids(3)], item_type="series", fallback_manifest=meta_manifest("Fallback"))
    engine = engine_for(addon, clock, skip=False, fallback_meta_url=FALLBACK)
    report = engine.run()
    assert addon.manifests_fetched == [FALLBACK]  # once for the run, not once per series
    assert len([path for _, path in addon.requests if "/meta/series/" in path]) == 3
    assert engine.gates[AddonSpec(FALLBACK, "Fallback", meta_manifest(), False, False).key].other_requests == 3
    assert report["statistics"]["series_prefetched"] == 3 and report["statistics"]["episodes_prefetched"] == 6


def test_a_run_counts_series_as_without_meta_when_the_fallback_cannot_be_reached(caplog):
    clock = ManualClock()
    addon = ScriptedAddon(clock, [ids(3)], item_type="series", fallback_manifest=None)
    with caplog.at_level(logging.INFO, logger="prefetch.engine"):
        report = engine_for(addon, clock, skip=False, fallback_meta_url=FALLBACK).run()
    assert addon.manifests_fetched == [FALLBACK] and not addon.stream_requests()
    assert report["statistics"]["items_no_meta"] == 3 and report["statistics"]["items_failed"] == 0
    messages = [record.getMessage() for record in caplog.records]
    assert [m for m in messages if m.startswith("The fallback meta addon")] == [
        "The fallback meta addon http://meta.test/***/manifest.json could not be reached (HTTP 404 (not found)); "
        "series that no configured addon has meta for are left out of this run. Change it with the setting "
        "'fallback meta addon' (fallback_meta_url) or, on the command line, --fallback-meta URL|none"]
    assert any("(the fallback meta addon http://meta.test/***/manifest.json could not be reached)" in m
               for m in messages)  # the catalog's no-meta line says why
