"""What a run says, as contracts against the real test addon (stremio-addon-sdk): failing titles,
404s, an interrupted CLI run, an addon whose port closes. The rules themselves (and the ETA, on a
manual clock) are unit tests in test_engine_outcomes.py."""

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler

import pytest

from prefetch.runs.execute import database_engine
from tests.helpers import ROOT, addon, command, local_server, migrated, plan, send_json, wait_until

# A whole walk of a few seconds: movies, series with episodes, mixed and dual catalogs.
WALK = {"PEER_MOVIES": 60, "PEER_NEW_MOVIES": 30, "PEER_SERIES": 10, "PEER_MAX_SEASONS": 2, "PEER_MAX_EPISODES": 5,
        "PEER_MIXED": 15, "PEER_DUAL": 10, "PEER_OTHER": 5, "PEER_STREAM_LATENCY_MS": 10}
# Retries as shipped (two, after 0.5 s and 1 s): the failing titles wait them out.
RETRYING = {"retries": 2, "concurrency": 4}


def stream_urls(peer) -> Counter:
    return Counter(entry["url"] for entry in peer.requests("stream"))


def timed_run(peer, **settings) -> tuple[dict, float]:
    started = time.monotonic()
    report = database_engine(plan([addon(peer.url)], **RETRYING, **settings)).run()
    return report, time.monotonic() - started


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["fixed", "adaptive"])
def test_one_title_in_seven_failing_costs_those_titles_only(make_peer, mode):
    clean_peer = make_peer(**WALK)
    clean, clean_s = timed_run(clean_peer, concurrency_mode=mode)
    assert clean["outcome"] == "completed"

    failing = make_peer(**WALK, PEER_FAIL_EVERY=7)
    report, failing_s = timed_run(failing, concurrency_mode=mode)
    stats = report["statistics"]
    assert report["outcome"] == "completed_with_failures", report["failure"]
    assert report["count_violations"] == []
    assert not any(entry["given_up"] or entry["breaker_paused"] for entry in report["addons"])
    assert all(not c["not_reached"] and not c["error"] for c in report["catalogs"])  # every catalog walked
    requested = stream_urls(failing)
    never_answered = {e["url"] for e in failing.requests("stream") if e["outcome"] == "error"}
    assert stats["stream_requests"] == len(requested) == clean["statistics"]["stream_requests"]
    assert stats["videos_failed"] == stats["stream_requests_failed"] == len(never_answered) > 0
    assert set(requested.values()) == {1, 3} and stats["stream_attempts"] == sum(requested.values())
    assert failing_s <= 2 * clean_s + 15, (failing_s, clean_s)


@pytest.mark.django_db(transaction=True)
def test_not_found_for_one_title_in_seven_completes_and_asks_once(make_peer):
    peer = make_peer(**WALK, PEER_FAIL_EVERY=7, PEER_FAIL_STATUS=404)
    report, _ = timed_run(peer)
    stats = report["statistics"]
    assert report["outcome"] == "completed" and stats["stream_requests_failed"] == 0
    not_found = [e for e in peer.requests("stream") if e["status"] == 404]
    assert stats["stream_requests_not_found"] == len(not_found) > 0
    assert set(stream_urls(peer).values()) == {1}  # none asked twice
    again, _ = timed_run(peer, cache_validity_s=3600)  # and not the next run either: an empty answer
    assert again["statistics"]["stream_requests"] == 0 and again["statistics"]["already_prefetched"] > 0


@pytest.mark.parametrize("mode", ["fixed", "adaptive"])
def test_sigint_mid_run_exits_130_with_nothing_failed(make_peer, tmp_path, mode):
    peer = make_peer(**{**WALK, "PEER_STREAM_LATENCY_MS": 200}, PEER_FLAKY_EVERY=5)
    env = migrated(tmp_path)
    cli = subprocess.Popen(
        [sys.executable, "manage.py", "prefetch", "--addon", f"both={peer.url}", "--delay", "0", "--json",
         "--concurrency", "4", "--cache-validity", "0", *(["--adaptive"] if mode == "adaptive" else [])],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    wait_until(lambda: len(peer.requests("stream")) >= 12, timeout=30, message="a run under way")
    cli.send_signal(signal.SIGINT)
    out, err = cli.communicate(timeout=30)
    assert cli.returncode == 130, err
    assert "Traceback" not in err and "ValueError" not in err
    summary = json.loads(out)
    stats = summary["statistics"]
    assert summary["status"] == "cancelled"
    assert stats["items_failed"] == stats["stream_requests_failed"] == stats["videos_failed"] == 0
    assert stats["items_not_reached"] > 0  # the titles in flight at the interrupt


class ManifestOnce(BaseHTTPRequestHandler):
    """Answers its manifest and closes its port at once: the addon's container went down after the check."""

    manifest = {"id": "org.test.gone", "name": "Gone", "version": "1.0.0", "resources": ["catalog", "stream"],
                "types": ["movie"], "idPrefixes": ["tt"], "catalogs": [{"type": "movie", "id": "top"}]}

    def do_GET(self):
        self.server.socket.close()  # the next connection is refused; this one still gets its answer
        send_json(self, self.manifest)

    def log_message(self, *args):
        pass


@pytest.mark.django_db(transaction=True)
def test_an_addon_whose_port_closes_after_its_manifest_fails_the_run():
    with local_server(ManifestOnce) as base:
        code, out, err = command("prefetch", "--addon", f"both={base}/manifest.json", "--delay", "0", "--json")
    assert code == 1, err
    summary = json.loads(out)
    assert summary["status"] == "failed"
    assert "connection refused — is the addon running?" in summary["error"]
    assert summary["statistics"]["catalogs_failed"] == 1
    assert "Traceback" not in err
