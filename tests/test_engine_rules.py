"""The engine's rules as unit tests: plain Python, a scripted addon client, a record store in memory
and a manual clock. No database, no network, no Node addon; the whole file runs in about a second.
The same rules are also exercised end to end against the real test addon in test_engine.py."""

import pytest

from prefetch.engine import BreakerPolicy, catalog_extra
from prefetch.engine.plan import AddonSpec, CatalogSpec
from tests.scripted import BASE, ManualClock, ScriptedAddon, engine_for, ids, manifest


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
