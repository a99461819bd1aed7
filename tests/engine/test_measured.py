"""Through `manage.py prefetch --json` against the real test addon: the adaptive pace (--adaptive)
and the measured effect of a run (--verify). Counts, not durations; the throughput
targets are measured by `make bench`."""


import pytest

from prefetch.models import PrefetchRecord
from tests.helpers import prefetch_json

pytestmark = pytest.mark.django_db(transaction=True)


def test_verification_requests_a_sample_again_and_compares_cold_with_warm(make_peer):
    peer = make_peer(PEER_MOVIES=40, PEER_NEW_MOVIES=0, PEER_COLD_STREAM_MS=200)
    summary = prefetch_json(peer, "--movies-per-catalog", "40", "--concurrency", "8", "--verify", "6")
    stats = summary["statistics"]
    assert stats["stream_requests"] == stats["stream_requests_ok"] == 40
    verification = summary["verification"]
    assert verification["sample_size"] == 6
    [addon] = verification["addons"]
    assert addon["sampled"] == addon["verified"] == 6 and addon["failed"] == 0
    assert addon["cold_ms_p50"] >= 200
    assert addon["warm_ms_p50"] < 50
    cache = peer.get("/_peer/stats")["cache"]
    assert cache == {"hit": 6, "miss": 40}  # the run's 40 cold answers, then exactly the sample, warm
    assert summary["addons"][0]["requests"] == 40  # the re-requests are not the run's stream requests
    records = PrefetchRecord.objects.all()
    assert records.count() == records.filter(looked_cached=False).count() == 40  # every answer was cold
    assert all(record.latency_ms >= 200 for record in records)


def test_verification_is_off_with_zero(make_peer):
    peer = make_peer(PEER_MOVIES=10, PEER_NEW_MOVIES=0)
    summary = prefetch_json(peer, "--movies-per-catalog", "10", "--verify", "0")
    assert summary["verification"] is None
    assert len(peer.requests("stream")) == 10
    assert PrefetchRecord.objects.filter(looked_cached__isnull=True).count() == 10


def test_adaptive_pace_stays_under_an_addon_that_refuses_beyond_its_capacity(make_peer):
    peer = make_peer(PEER_MOVIES=600, PEER_NEW_MOVIES=0, PEER_STREAM_LATENCY_MS=10, PEER_CAPACITY=4, PEER_OVERLOAD=429)
    summary = prefetch_json(peer, "--movies-per-catalog", "600", "--adaptive", "--concurrency", "16", "--verify", "0")
    assert summary["statistics"]["stream_requests_ok"] == 600  # refused requests were retried
    [addon] = summary["addons"]
    assert addon["pace"] == "adaptive" and addon["concurrency_ceiling"] == 16
    # Near the capacity of 4: the limit keeps probing one step above it until refused, so a run can end
    # right after such a step (at 5), never far above.
    assert 1 <= addon["concurrency_limit"] <= 5 and addon["concurrency_peak"] > 4
    assert addon["limit_cuts"]["refused"] >= 1
    stats = peer.get("/_peer/stats")
    # fixed 16 would be refused on most attempts; `make bench` holds adaptive to < 3 % on a longer run
    assert stats["refused"] < 0.05 * stats["byResource"]["stream"]
