"""The engine against the real peer addon (stremio-addon-sdk), without Celery."""

import threading
import time
from collections import Counter

import pytest

from prefetch.engine import BreakerPolicy
from prefetch.models import PrefetchRecord
from prefetch.runs.execute import database_engine
from tests.helpers import addon, plan, wait_until, without_meta

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def stream_keys(peer):
    return [(entry["type"], entry["id"]) for entry in peer.requests("stream")]


def test_unlimited_run_requests_every_expected_stream_exactly_once(peer):
    peer.reset()
    report = database_engine(plan([addon(peer.url)])).run()

    expected = Counter((r["type"], r["id"]) for r in peer.expected()["streamRequests"])
    requested = Counter(stream_keys(peer))
    assert requested == expected  # every stream once, nothing else
    assert report["statistics"]["stream_requests"] == sum(expected.values())
    assert report["statistics"]["stream_requests_empty"] == 24
    catalog_calls = {(e["type"], e["id"]) for e in peer.requests("catalog")}
    assert ("movie", "peer-by-genre") not in catalog_calls  # required extra, no value chosen
    assert ("movie", "peer-search") not in catalog_calls  # search-only
    dual = [e for e in peer.requests("catalog") if e["id"] == "peer-dual"]
    assert len(dual) == 2  # one page per type: peer-dual ignores skip and declares none
    reasons = {(c["type"], c["id"]): c["stop_reason"] for c in report["catalogs"]}
    assert reasons[("movie", "peer-popular")] == "end of catalog"
    assert reasons[("movie", "peer-search")] == "skipped: search-only catalog"
    assert PrefetchRecord.objects.count() == sum(expected.values())


def test_second_run_within_validity_makes_no_stream_request_and_failures_come_back(make_peer):
    flaky = make_peer(PEER_FAIL_IDS="tt9100003,tt9100007")
    plan_args = dict(catalogs=[("movie", "peer-popular")], cache_validity_s=7 * 86400)
    first = database_engine(plan([addon(flaky.url)], **plan_args)).run()
    assert first["statistics"]["stream_requests_failed"] == 2
    assert first["statistics"]["movies_prefetched"] == 248
    flaky.reset()

    second = database_engine(plan([addon(flaky.url)], **plan_args)).run()
    assert sorted(id for _, id in stream_keys(flaky)) == ["tt9100003", "tt9100007"]
    assert second["statistics"]["already_prefetched"] == 248
    assert second["statistics"]["stream_requests"] == 2


def test_unlimited_validity_never_expires(peer):
    peer.reset()
    args = dict(catalogs=[("movie", "peer-new")], cache_validity_s=-1)
    database_engine(plan([addon(peer.url)], **args)).run()
    PrefetchRecord.objects.update(last_success="2001-01-01T00:00:00Z")
    peer.reset()
    report = database_engine(plan([addon(peer.url)], **args)).run()
    assert stream_keys(peer) == []
    assert report["statistics"]["already_prefetched"] == 150


def test_required_extra_value_is_sent_percent_encoded(peer):
    peer.reset()
    values = {("movie", "peer-by-genre"): {"genre": "Sci-Fi & Fantasy"}}
    report = database_engine(plan([addon(peer.url)], [("movie", "peer-by-genre")], extra_values=values)).run()
    pages = peer.requests("catalog")
    assert pages[0]["url"] == "/catalog/movie/peer-by-genre/genre=Sci-Fi%20%26%20Fantasy.json"
    assert pages[0]["sdk_args"]["extra"]["genre"] == "Sci-Fi & Fantasy"
    assert report["statistics"]["movies_prefetched"] == pages[0]["n_items"] > 0


def test_paging_follows_returned_page_sizes(make_peer):
    small_pages = make_peer(PEER_PAGE_SIZE=40, PEER_MOVIES=100)
    report = database_engine(plan([addon(small_pages.url)], [("movie", "peer-popular")])).run()
    skips = [e["extra"].get("skip") if e["extra"] else None for e in small_pages.requests("catalog")]
    assert skips == [None, "40", "80", "100"]
    assert report["statistics"]["movies_prefetched"] == 100


def test_limits_count_new_items_and_a_series_counts_once(peer):
    peer.reset()
    report = database_engine(
        plan([addon(peer.url)], [("movie", "peer-popular"), ("series", "peer-series")],
             movies_per_catalog=5, series_per_catalog=2)
    ).run()
    stats = report["statistics"]
    assert stats["movies_prefetched"] == 5
    assert stats["series_prefetched"] == 2
    assert stats["episodes_prefetched"] > 2
    assert len(peer.requests("catalog")) == 2  # limits met on the first page of each

    peer.reset()
    again = database_engine(
        plan([addon(peer.url)], [("movie", "peer-popular")], movies_per_catalog=5, cache_validity_s=86400)
    ).run()
    assert again["statistics"]["already_prefetched"] == 5  # cache hits do not use up the limit
    assert again["statistics"]["movies_prefetched"] == 5
    assert len(peer.requests("stream")) == 5


def test_global_limit_stops_the_run(peer):
    peer.reset()
    report = database_engine(
        plan([addon(peer.url)], [("movie", "peer-popular"), ("movie", "peer-new")], movies_global_limit=7,
             series_global_limit=0)
    ).run()
    assert report["statistics"]["movies_prefetched"] == 7
    assert report["stop_reason"] == "global limits reached"


def test_episode_policy_skips_specials_and_unreleased_and_caps_newest_first(peer):
    peer.reset()
    report = database_engine(
        plan([addon(peer.url)], [("series", "peer-series")], series_per_catalog=6, include_specials=False,
             include_unreleased=False, episodes_per_series=2)
    ).run()
    episode_ids = [id for type_, id in stream_keys(peer) if type_ == "series"]
    assert report["statistics"]["series_prefetched"] == 6
    assert len(episode_ids) == 12
    future = set(peer.expected()["futureVideoIds"])
    assert not any(id.split(":")[1] == "0" for id in episode_ids)
    assert not future.intersection(episode_ids)


def test_every_stream_addon_is_warmed(peer, make_peer):
    other = make_peer()
    peer.reset()
    report = database_engine(
        plan([addon(peer.url, "both"), addon(other.url, "stream")], [("movie", "peer-dual")])
    ).run()
    assert len(peer.requests("stream")) == 50
    assert len(other.requests("stream")) == 50
    assert [a["requests"] for a in report["addons"]] == [50, 50]


def test_transient_errors_are_retried_honouring_retry_after(make_peer):
    flaky = make_peer(PEER_FLAKY_IDS="tt9100001", PEER_FAIL_IDS="tt9100002", PEER_FAIL_STATUS=429, PEER_DUAL=5)
    started = time.monotonic()
    report = database_engine(plan([addon(flaky.url)], [("movie", "peer-dual")], retries=2)).run()
    attempts = Counter(e["id"] for e in flaky.requests("stream"))
    assert attempts["tt9100001"] == 2  # failed once, then succeeded
    assert attempts["tt9100002"] == 3  # 429 every time: 1 + 2 retries
    assert time.monotonic() - started >= 2.0  # Retry-After: 1 honoured twice
    assert report["statistics"]["stream_requests_failed"] == 1  # counted once per pair
    assert PrefetchRecord.objects.get(video_id="tt9100002").last_success is None


def test_hanging_request_times_out_and_the_run_goes_on(make_peer):
    hanging = make_peer(PEER_HANG_IDS="tt9100000", PEER_DUAL=3)
    report = database_engine(plan([addon(hanging.url)], [("movie", "peer-dual")], request_timeout_s=0.5)).run()
    assert report["statistics"]["stream_requests_failed"] == 1
    assert report["statistics"]["movies_prefetched"] == 2


def test_an_addon_that_keeps_failing_is_given_up(make_peer):
    broken = make_peer(PEER_FAIL_RE=".*", PEER_DUAL=40)
    report = database_engine(
        plan([addon(broken.url)], [("movie", "peer-dual")], concurrency=1),
        breaker=BreakerPolicy(window=4, pause_s=0.2),
    ).run()
    gate = report["addons"][0]
    assert gate["given_up"] and "gave up" in gate["message"]
    assert gate["failed"] == 8  # 4 titles, a pause, 4 more, then nothing: the walk stops there
    assert len(broken.requests("stream")) == 8
    assert report["catalogs"][0]["stop_reason"] == "stream addons given up"
    assert report["outcome"] == "failed"


def test_concurrency_per_addon(make_peer):
    # The delay between request starts is checked with an injected clock in test_engine_rules.py.
    slow = make_peer(PEER_STREAM_LATENCY_MS=100, PEER_DUAL=12)
    database_engine(plan([addon(slow.url)], [("movie", "peer-dual")], concurrency=3)).run()
    assert max(e["inflight_at_start"] for e in slow.requests("stream")) == 3


def _run_in_thread(engine):
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("report", engine.run()))
    thread.start()
    return thread, box


def test_cancel_takes_effect_within_two_seconds_even_with_hanging_requests(make_peer):
    hanging = make_peer(PEER_HANG_RE=".*", PEER_DUAL=10)
    flags = {"cancel": False}
    engine = database_engine(
        plan([addon(hanging.url)], [("movie", "peer-dual")], request_timeout_s=60),
        poll_control=lambda: (flags["cancel"], False),
    )
    thread, box = _run_in_thread(engine)
    wait_until(lambda: hanging.requests("stream") or engine.inflight, message="a request in flight")
    flags["cancel"] = True
    cancelled_at = time.monotonic()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert time.monotonic() - cancelled_at < 2.0
    assert box["report"]["stop_reason"] == "cancelled"


def test_pause_stops_new_requests_and_cancel_works_while_paused(make_peer):
    slow = make_peer(PEER_STREAM_LATENCY_MS=50, PEER_DUAL=50)
    flags = {"cancel": False, "pause": False}
    engine = database_engine(
        plan([addon(slow.url)], [("movie", "peer-dual")], concurrency=1),
        poll_control=lambda: (flags["cancel"], flags["pause"]),
    )
    thread, box = _run_in_thread(engine)
    wait_until(lambda: len(slow.requests("stream")) >= 3, message="some streams")
    flags["pause"] = True
    wait_until(lambda: engine.paused and engine.inflight == 0, message="pause")
    count = len(slow.requests("stream"))
    wait_until(lambda: time.sleep(0.5) or True)  # half a second paused must add nothing
    assert len(slow.requests("stream")) == count
    flags["cancel"] = True
    cancelled_at = time.monotonic()
    thread.join(timeout=5)
    assert time.monotonic() - cancelled_at < 2.0
    assert box["report"]["stop_reason"] == "cancelled"
    assert count < 50


def test_time_limit_stops_gracefully(make_peer):
    # 50 answers of 100 ms take 5 s: a 2 s limit stops the run midway, with room for a loaded machine
    # to get some answers in before it (the rule on a manual clock: test_engine_rules).
    slow = make_peer(PEER_STREAM_LATENCY_MS=100, PEER_DUAL=50)
    started = time.monotonic()
    report = database_engine(
        plan([addon(slow.url)], [("movie", "peer-dual")], concurrency=1, max_execution_time_s=2)
    ).run()
    assert report["stop_reason"] == "time limit reached"
    assert time.monotonic() - started < 5
    assert 0 < report["statistics"]["movies_prefetched"] < 50
    # what finished before the stop is remembered
    assert PrefetchRecord.objects.filter(last_success__isnull=False).count() == report["statistics"]["stream_requests_ok"]


def test_stream_source_cache_requests_stay_on_the_addon_host(peer):
    peer.reset()
    report = database_engine(
        plan([addon(peer.url)], [("movie", "peer-dual")], cache_requests_enabled=True, cached_stream_regex="⚡",
             cache_requests_global=10)
    ).run()
    # The peer's stream URLs point at *.peer.invalid: not the addon's host, so none may be requested.
    assert report["statistics"]["cache_requests_sent"] == 0


def test_invalid_regex_never_crashes_a_run(peer):
    report = database_engine(
        plan([addon(peer.url)], [("movie", "peer-dual")], cache_requests_enabled=True, cached_stream_regex="(")
    ).run()
    assert report["stop_reason"] == "completed"
    assert report["statistics"]["movies_prefetched"] == 50


def test_series_episodes_come_from_another_addon_or_the_fallback_meta_addon(peer, make_peer):
    meta_peer = make_peer()
    catalog_only = without_meta(addon(peer.url, "catalog"))
    stream_with_meta = addon(meta_peer.url, "stream")
    report = database_engine(
        plan([catalog_only, stream_with_meta], [("series", "peer-series")], series_per_catalog=2)
    ).run()
    assert report["statistics"]["series_prefetched"] == 2
    assert len(meta_peer.requests("meta")) == 2 and not peer.requests("meta")

    fallback_peer = make_peer()
    stream_only = without_meta(addon(meta_peer.url, "stream"))
    report = database_engine(
        plan([without_meta(addon(peer.url, "catalog")), stream_only], [("series", "peer-series")],
             series_per_catalog=2, fallback_meta_url=fallback_peer.url)
    ).run()
    assert report["statistics"]["series_prefetched"] == 2
    assert len(fallback_peer.requests("meta")) == 2

    report = database_engine(
        plan([without_meta(addon(peer.url, "catalog")), stream_only], [("series", "peer-series")],
             series_per_catalog=2, fallback_meta_url="")
    ).run()
    assert report["statistics"]["series_prefetched"] == 0
    assert report["statistics"]["items_no_meta"] == 120  # no meta anywhere: counted as such, not as failed
    assert report["statistics"]["items_failed"] == 0
    assert "120 series without a meta source" in report["failure"]  # a run that warmed nothing failed


def test_progress_is_reported_at_a_bounded_rate(make_peer):
    slow = make_peer(PEER_STREAM_LATENCY_MS=30, PEER_DUAL=40)
    events = []
    engine = database_engine(
        plan([addon(slow.url)], [("movie", "peer-dual")], concurrency=1),
        on_progress=lambda snapshot, event: events.append((time.monotonic(), snapshot["seq"], event)),
        progress_interval_s=0.5,
    )
    started = time.monotonic()
    engine.run()
    elapsed = time.monotonic() - started
    progress = [e for e in events if e[2] == "progress"]
    assert len(progress) <= elapsed / 0.5 + 2
    assert len(progress) >= 2
    seqs = [seq for _, seq, _ in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # monotonically increasing
    assert events[-1][2] == "finished"


def test_live_types_need_a_stream_addon_that_serves_them(peer):
    from addons.manifest import CatalogExtra
    from prefetch.engine.plan import CatalogSpec

    spec = addon(peer.url)
    tv = CatalogSpec(spec, "tv", "live", "Live", (CatalogExtra("skip", False, ()),))
    assert tv.skip_reason([spec]) == "no stream addon serves type tv"
    assert CatalogSpec(spec, "other", "x", "X").skip_reason([spec]) is None


def test_a_failing_progress_listener_does_not_stop_the_run_or_its_controls(make_peer):
    slow = make_peer(PEER_STREAM_LATENCY_MS=30, PEER_DUAL=50)
    flags = {"cancel": False}

    def broken_listener(snapshot, event):
        raise ConnectionError("broker down")

    engine = database_engine(
        plan([addon(slow.url)], [("movie", "peer-dual")], concurrency=1),
        on_progress=broken_listener, poll_control=lambda: (flags["cancel"], False), progress_interval_s=0.1,
    )
    thread, box = _run_in_thread(engine)
    wait_until(lambda: len(slow.requests("stream")) >= 5, message="streams")
    flags["cancel"] = True
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert box["report"]["stop_reason"] == "cancelled"
    # records kept flowing although every progress publication failed
    assert PrefetchRecord.objects.count() >= 5
