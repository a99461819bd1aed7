"""What a run tells: every count means one thing, failures are never folded away, a run
that did nothing useful fails, and messages say which of several things happened. Against the real
peer addon with fault injection, and small local addons for the quirks of addons nobody here wrote."""

import logging
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote

import pytest

from prefetch.engine import BreakerPolicy
from prefetch.models import Run, RunStatus, RunTrigger
from prefetch.runs.execute import database_engine, execute_run
from prefetch.runs.lifecycle import create_run
from tests.helpers import addon, json_addon, local_server, plan, send_json, wait_until, without_meta

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def run_through_database(run_plan, **engine_options) -> Run:
    """A run as the worker and the CLI execute it: the status and statistics that pages show."""
    run = create_run(RunTrigger.CLI)
    return execute_run(run.pk, plan=run_plan, engine_options=engine_options)


def stream_outcomes(peer) -> dict[str, list[str]]:
    """video id -> outcomes of its stream requests, in order, from the peer's own request log."""
    outcomes: dict[str, list[str]] = {}
    for entry in peer.requests("stream"):
        outcomes.setdefault(entry["id"], []).append(entry["outcome"])
    return outcomes


def test_failed_and_retried_stream_requests_are_counted_per_run_catalog_and_addon(make_peer):
    faulty = make_peer(PEER_FAIL_EVERY=6, PEER_FLAKY_EVERY=5, PEER_DUAL=30)
    run = run_through_database(
        plan([addon(faulty.url)], [("movie", "peer-dual"), ("series", "peer-dual")], retries=1, concurrency=4,
             series_per_catalog=4)
    )
    outcomes = stream_outcomes(faulty)
    failed = {video for video, seen in outcomes.items() if seen[-1] != "ok"}
    retried_ok = {video for video, seen in outcomes.items() if seen[-1] == "ok" and len(seen) > 1}
    assert failed and retried_ok  # the fault rules hit both kinds
    assert all(len(seen) == 2 for video, seen in outcomes.items() if video in failed)  # 1 + 1 retry

    stats = run.statistics
    assert run.status == RunStatus.COMPLETED_WITH_FAILURES
    assert stats["stream_requests"] == len(outcomes)  # a retried request counts once...
    assert stats["stream_attempts"] == sum(len(seen) for seen in outcomes.values())  # ...its tries apart
    assert stats["stream_requests_failed"] == stats["videos_failed"] == len(failed)
    assert stats["stream_requests_retried_ok"] == len(retried_ok)
    failed_movies = {video for video in failed if video.startswith("tt91")}
    assert stats["items_failed"] == len(failed_movies)  # a movie has one video; a series fails only if all do
    assert stats["success_rate"] == round(100 * (len(outcomes) - len(failed)) / len(outcomes), 1)

    movies, series = run.catalogs
    assert movies["stream_requests_failed"] == movies["videos_failed"] == movies["failed"] == len(failed_movies)
    # Five of them, in the order they failed: with 4 requests in flight that is not always the list's order.
    samples = movies["samples"]["failed"]
    assert len(samples) == len(set(samples)) == min(5, len(failed_movies)) and set(samples) <= failed_movies
    assert movies["prefetched"] == 30 - len(failed_movies)
    assert series["videos_failed"] == len(failed) - len(failed_movies)
    assert movies["stream_requests_retried_ok"] + series["stream_requests_retried_ok"] == len(retried_ok)
    (gate,) = run.addons
    assert (gate["failed"], gate["retried_ok"], gate["requests"]) == (len(failed), len(retried_ok), len(outcomes))


def test_a_catalog_of_duplicates_says_so_and_other_types_count_under_their_own_type(peer):
    peer.reset()
    report = database_engine(
        plan([addon(peer.url)], [("movie", "peer-popular"), ("movie", "peer-dual"), ("other", "peer-mixed")])
    ).run()
    dual = report["catalogs"][1]
    assert (dual["prefetched"], dual["already_prefetched"], dual["failed"]) == (0, 0, 0)
    assert dual["duplicates"] == 50 and len(dual["samples"]["duplicates"]) == 5  # not a silent 0 / 0 / 0

    mixed_page_types = Counter()
    for skip in (0, 100):
        for meta in peer.get(f"/catalog/other/peer-mixed{'/skip=%d' % skip if skip else ''}.json")["metas"]:
            mixed_page_types[meta["type"]] += 1
    mixed = report["catalogs"][2]
    # series and other, each under its own type; its movies are peer-popular's, seen in the earlier catalog
    assert mixed["by_type"] == {"series": mixed_page_types["series"], "other": mixed_page_types["other"]}
    assert mixed["duplicates"] == mixed_page_types["movie"] > 0
    stats = report["statistics"]
    assert stats["prefetched_by_type"]["other"] == mixed_page_types["other"] > 0
    assert stats["movies_prefetched"] == stats["prefetched_by_type"]["movie"] == 250  # "other" not folded in
    assert stats["items_prefetched"] == sum(stats["prefetched_by_type"].values())


def test_a_prefix_mismatch_is_one_message_per_catalog_and_fetches_no_meta(peer, caplog):
    metas = [{"id": f"test:{n}", "type": "series", "name": f"Test {n}"} for n in range(40)]
    manifest = {"id": "org.test.prefixes", "name": "Test prefixes", "version": "1.0.0", "resources": ["catalog", "meta"],
                "types": ["series"], "idPrefixes": ["test:"], "catalogs": [{"type": "series", "id": "tests"}]}
    requested = []

    def answer(path):
        requested.append(path)
        return manifest if path.endswith("/manifest.json") else {"metas": metas} if "/catalog/" in path else {}

    with json_addon(answer) as url, caplog.at_level(logging.INFO, logger="prefetch"):
        run_plan = plan([addon(url, "catalog"), addon(peer.url, "stream")])
        peer.reset()
        run = run_through_database(run_plan)
    catalog = run.catalogs[0]
    assert catalog["unsupported"] == 40 and catalog["samples"]["unsupported"][:2] == ["test:0", "test:1"]
    assert not peer.requests() and not [path for path in requested if "/meta/" in path]  # no meta for unservable items
    mismatch = [r.getMessage() for r in caplog.records if "have ids" in r.getMessage()]
    assert mismatch == ["Catalog tests (series) from Test prefixes: 40 series items have ids `test:…`; the stream addons serve series ids `peer:`, `tt`"]
    assert not [r for r in caplog.records if "no stream addon serves it" in r.getMessage()]
    assert run.status == RunStatus.FAILED  # it warmed nothing: not "completed"
    assert "40 items served by no stream addon" in run.error


def series_addon(series: dict[str, dict]):
    """A local addon serving one series catalog, the metas given and streams for any id; it records requests."""
    manifest = {"id": "org.test.series", "name": "Test series", "version": "1.0.0",
                "resources": ["catalog", "meta", "stream"], "types": ["series"], "idPrefixes": ["ts"],
                "catalogs": [{"type": "series", "id": "shows"}]}
    requested = []

    def answer(path):
        requested.append(path)
        if path.endswith("/manifest.json"):
            return manifest
        if path.startswith("/catalog/"):
            return {"metas": [{"id": key, "type": "series", "name": key} for key in series]}
        if path.startswith("/meta/"):
            key = path.rsplit("/", 1)[1].removesuffix(".json")
            return {"meta": {"id": key, "type": "series", "name": key, **series[key]}}
        return {"streams": [{"url": "https://example.invalid/v.mp4"}]}

    return answer, requested


def test_stream_requests_follow_what_the_meta_says(caplog):
    future = "2099-01-01T00:00:00.000Z"
    answer, requested = series_addon({
        "ts1": {"videos": [{"id": f"ts1:1:{n}", "season": 1, "episode": n,
                            "streams": [{"url": "https://example.invalid/e.mp4"}]} for n in (1, 2)]},
        "ts2": {"videos": [{"id": f"ts2:1:{n}", "season": 1, "episode": n, "released": future} for n in (1, 2)]},
        "ts3": {},  # no videos at all: Stremio plays the series id
        "ts4": {"videos": [], "behaviorHints": {"defaultVideoId": "ts4:main"}},
        "ts5": {"videos": [{"id": f"ts5:1:{n}", "season": 1, "episode": n} for n in (1, 2)]},
    })
    with json_addon(answer) as url, caplog.at_level(logging.INFO, logger="prefetch"):
        report = database_engine(plan([addon(url)], include_unreleased=False)).run()
    streams = sorted(unquote(path.removeprefix("/stream/series/").removesuffix(".json")) for path in requested
                     if path.startswith("/stream/"))
    assert streams == ["ts3", "ts4:main", "ts5:1:1", "ts5:1:2"]  # never a series id the meta did not name
    catalog = report["catalogs"][0]
    assert (catalog["own_streams"], catalog["excluded"], catalog["prefetched"]) == (1, 1, 3)
    assert (catalog["samples"]["own_streams"], catalog["samples"]["excluded"]) == (["ts1"], ["ts2"])
    messages = [r.getMessage() for r in caplog.records]
    assert any("1 items whose every video carries its own streams" in m for m in messages)
    assert any("1 series whose every episode is left out by the episode policy" in m for m in messages)
    assert not any("no stream addon serves" in m for m in messages)


class NotFoundManifest(BaseHTTPRequestHandler):
    """A 'fallback meta addon' that is not there (404): it must be asked once per run."""

    hits = 0

    def do_GET(self):
        type(self).hits += 1
        self.send_error(404)

    def log_message(self, *args):
        pass


def test_an_unreachable_fallback_meta_addon_is_tried_once_and_named(peer, caplog):
    with local_server(NotFoundManifest) as base, caplog.at_level(logging.INFO, logger="prefetch"):
        fallback = f"{base}/cfg-secret/manifest.json"
        report = database_engine(
            plan([without_meta(addon(peer.url))], [("series", "peer-series")], fallback_meta_url=fallback)
        ).run()
    assert NotFoundManifest.hits == 1  # not once per series
    assert report["statistics"]["items_no_meta"] == 120 and report["statistics"]["items_failed"] == 0
    warnings = [r.getMessage() for r in caplog.records if "fallback meta addon" in r.getMessage() and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert f"{base}/***/manifest.json" in warnings[0] and "cfg-secret" not in warnings[0]  # named, redacted
    assert "fallback_meta_url" in warnings[0] and "--fallback-meta" in warnings[0]


class StaticAddon(BaseHTTPRequestHandler):
    """A static addon (files on a CDN): a catalog declaring skip, whose later page does not exist."""

    def do_GET(self):
        if self.path == "/manifest.json":
            send_json(self, {"id": "org.test.static", "name": "Static", "version": "1.0.0", "types": ["movie"],
                             "resources": ["catalog", "stream"], "idPrefixes": ["tt"],
                             "catalogs": [{"type": "movie", "id": "top", "extra": [{"name": "skip"}]}]})
        elif self.path == "/catalog/movie/top.json":
            send_json(self, {"metas": [{"id": f"tt00{n}", "type": "movie", "name": str(n)} for n in range(3)]})
        elif self.path.startswith("/stream/"):
            send_json(self, {"streams": []})
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


def test_a_404_on_a_later_page_of_a_static_catalog_ends_it(caplog):
    with local_server(StaticAddon) as base, caplog.at_level(logging.WARNING, logger="prefetch"):
        run = run_through_database(plan([addon(f"{base}/manifest.json")]))
    assert run.catalogs[0]["stop_reason"] == "end of catalog: page at skip=3 not found"
    assert run.status == RunStatus.COMPLETED and run.statistics["movies_prefetched"] == 3
    assert not caplog.records  # not an error


def test_a_run_whose_stream_addons_were_all_given_up_fails(make_peer):
    broken = make_peer(PEER_FAIL_RE=".*", PEER_DUAL=20)
    run = run_through_database(
        plan([addon(broken.url)], [("movie", "peer-dual")], concurrency=1),
        breaker=BreakerPolicy(window=2, pause_s=0.1),
    )
    assert run.status == RunStatus.FAILED
    assert "every stream addon was given up" in run.error and "Peer Test Addon" in run.error
    # two titles, a pause, two more, then the walk stops: nothing more is taken in
    assert run.statistics["stream_requests_failed"] == 4
    assert run.catalogs[0]["stop_reason"] == "stream addons given up"


def test_a_stream_addon_without_a_stream_resource_fails_the_run_before_any_catalog(peer):
    manifest = {"id": "org.test.nostreams", "name": "No streams", "version": "1.0.0", "resources": ["meta"],
                "types": ["movie"], "catalogs": []}
    peer.reset()
    with json_addon(lambda path: manifest) as url:
        run = run_through_database(plan([addon(peer.url, "catalog"), addon(url, "stream")]))
    assert run.status == RunStatus.FAILED and "declares no stream resource" in run.error
    assert not peer.requests("catalog")
    assert {c["stop_reason"] for c in run.catalogs} == {"not reached (no usable stream addon)"}


def test_catalogs_a_time_limited_run_never_reached_are_listed(make_peer):
    slow = make_peer(PEER_STREAM_LATENCY_MS=200, PEER_DUAL=30)
    report = database_engine(
        plan([addon(slow.url)], [("movie", "peer-dual"), ("series", "peer-dual"), ("movie", "peer-new")],
             concurrency=1, max_execution_time_s=1)
    ).run()
    assert report["statistics"]["catalogs_not_reached"] == 2
    assert [(c["type"], c["id"], c["not_reached"]) for c in report["catalogs"]] == [
        ("movie", "peer-dual", False), ("series", "peer-dual", True), ("movie", "peer-new", True)]
    assert report["catalogs"][2]["stop_reason"] == "not reached (time limit reached)"


def test_pause_is_not_run_time(make_peer):
    slow = make_peer(PEER_STREAM_LATENCY_MS=100, PEER_DUAL=50)
    flags = {"pause": False}
    engine = database_engine(
        plan([addon(slow.url)], [("movie", "peer-dual")], concurrency=1, max_execution_time_s=2),
        poll_control=lambda: (False, flags["pause"]),
    )
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("report", engine.run()))
    started = time.monotonic()
    thread.start()
    wait_until(lambda: slow.requests("stream"), message="a first stream request")
    flags["pause"] = True
    wait_until(lambda: engine.paused, message="the pause")
    wait_until(lambda: engine.paused_s() >= 2.5, timeout=5, interval=0.1, message="2.5 s paused")
    before_resume = len(slow.requests("stream"))
    flags["pause"] = False
    thread.join(timeout=10)
    report = box["report"]
    assert report["stop_reason"] == "time limit reached"  # after 2 s of work, not 2 s of wall time
    assert len(slow.requests("stream")) > before_resume  # it went on working after the pause
    timing = report["timing"]
    assert timing["paused_s"] >= 2.5 and 2.0 <= timing["duration_s"] < 3.0
    assert timing["wall_s"] >= timing["duration_s"] + timing["paused_s"] - 0.1
    assert time.monotonic() - started >= 4.5
