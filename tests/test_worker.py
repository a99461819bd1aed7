"""A real Celery worker process, a real Redis, the real peer addon: runs through the task, a worker
killed mid-run (SIGKILL), and Redis restarted mid-run."""

from collections import Counter

import pytest
from django.db.models import Count
from django.utils import timezone

from addons.client import fetch_manifest_sync
from addons.models import Addon, Catalog
from prefetch.models import PrefetchRecord, PrefetchSettings, Run, RunStatus
from prefetch.runs import request_run
from tests.worker_process import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SEVEN_DAYS = 7 * 86400


def configure(peer, catalogs: list[tuple[str, str]], **settings) -> Addon:
    """The saved configuration, as the Addons page would leave it: one addon, these catalogs."""
    manifest = fetch_manifest_sync(peer.url)
    addon = Addon(url=peer.url, role="both", position=0)
    addon.apply_manifest(manifest, timezone.now())
    addon.save()
    for position, decl in enumerate(d for d in manifest.catalogs() if (d.type, d.id) in catalogs):
        Catalog.objects.create(
            addon=addon, content_type=decl.type, catalog_id=decl.id, name=decl.name, position=position,
            extras=[extra.as_dict() for extra in decl.extras],
        )
    PrefetchSettings.objects.update_or_create(pk=1, defaults=dict(
        movies_global_limit=-1, series_global_limit=-1, movies_per_catalog=-1, series_per_catalog=-1,
        items_per_mixed_catalog=-1, delay_s=0.0, cache_validity_s=SEVEN_DAYS, max_execution_time_s=-1,
        request_timeout_s=10.0, retries=0, concurrency=2, fallback_meta_url="", **settings,
    ))
    return addon


def expected_streams(peer, catalogs) -> Counter:
    """The stream requests a full walk of these movie catalogs makes (the peer's own list)."""
    ids = set()
    for type_, catalog_id in catalogs:
        skip = 0
        while True:
            suffix = f"/skip={skip}" if skip else ""
            metas = peer.get(f"/catalog/{type_}/{catalog_id}{suffix}.json")["metas"]
            if not metas:
                break
            ids.update((meta.get("type") or type_, meta["id"]) for meta in metas)
            skip += len(metas)
    return Counter(ids)


def stream_requests(peer) -> Counter:
    return Counter((entry["type"], entry["id"]) for entry in peer.requests("stream"))


def run_status(run_id: int) -> str:
    return Run.objects.values_list("status", flat=True).get(pk=run_id)


def finished(run_id: int):
    run = Run.objects.get(pk=run_id)
    return run if run.status in (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.ABORTED) else None


def record_keys() -> set:
    return set(PrefetchRecord.objects.values_list("content_type", "video_id"))


def assert_no_duplicate_records():
    duplicates = (
        PrefetchRecord.objects.values("addon_key", "content_type", "video_id").annotate(n=Count("id")).filter(n__gt=1)
    )
    assert not duplicates.exists()


# --- issue 2: a run end to end through the task -----------------------------------------------------
def test_requested_run_is_executed_end_to_end_by_a_worker(peer, start_worker, redis_broker):
    peer.reset()
    catalogs = [("movie", "peer-new")]
    configure(peer, catalogs)
    worker = start_worker()

    run = request_run()
    done = wait_for(lambda: finished(run.pk), timeout=30, message="the run to finish", worker=worker)

    assert done.status == RunStatus.COMPLETED, done.error
    assert done.celery_task_id  # stored when the task was enqueued
    assert done.started_at and done.finished_at
    expected = expected_streams(peer, catalogs)
    assert done.statistics["movies_prefetched"] == len(expected) == 150
    assert done.statistics["stream_requests"] == done.statistics["stream_requests_ok"] == 150
    assert done.catalogs[0]["stop_reason"] == "end of catalog"
    assert stream_requests(peer) == expected  # each once, through the worker
    assert record_keys() == set(expected)
    assert PrefetchRecord.objects.filter(last_success__isnull=False).count() == 150


# --- issue 5: the worker is killed mid-run ----------------------------------------------------------
def test_worker_killed_mid_run_aborts_it_and_the_next_run_does_only_the_rest(make_peer, start_worker, redis_broker):
    # 150 movies at 60 ms each, two at a time: about 4.5 s of requests, so the kill lands mid-run.
    peer = make_peer(PEER_STREAM_LATENCY_MS=60)
    catalogs = [("movie", "peer-new")]
    configure(peer, catalogs)
    expected = expected_streams(peer, catalogs)
    peer.reset()
    worker = start_worker()

    first = request_run()
    wait_for(lambda: PrefetchRecord.objects.count() >= 25, timeout=20, message="records of the first run", worker=worker)
    worker.kill()
    recorded_at_kill = record_keys()
    requested_by_first = stream_requests(peer)
    assert run_status(first.pk) == RunStatus.RUNNING  # nobody was told: the worker just died
    assert 25 <= len(recorded_at_kill) < len(expected), "the kill must land mid-run"
    assert recorded_at_kill <= set(requested_by_first)
    assert all(count == 1 for count in requested_by_first.values())

    replacement = start_worker()  # its worker_ready handler marks the orphan as aborted
    aborted = wait_for(lambda: finished(first.pk), timeout=15, message="the orphaned run to be aborted",
                       worker=replacement)
    assert aborted.status == RunStatus.ABORTED
    assert "worker stopped" in aborted.error and aborted.finished_at
    assert record_keys() == recorded_at_kill  # nothing lost (and nothing written after the kill)

    peer.reset()
    second = request_run()
    done = wait_for(lambda: finished(second.pk), timeout=25, message="the second run to finish", worker=replacement)
    assert done.status == RunStatus.COMPLETED, done.error

    requested_by_second = stream_requests(peer)
    # The second run skips exactly what the first one recorded, and requests everything else once.
    assert requested_by_second == Counter(set(expected) - recorded_at_kill)
    assert done.statistics["already_prefetched"] == len(recorded_at_kill)
    # Across both runs, only answers that had not been written yet at the kill were requested twice.
    twice = set(requested_by_first) & set(requested_by_second)
    assert not twice & recorded_at_kill
    assert len(twice) <= sum(requested_by_first.values()) - len(recorded_at_kill)
    assert record_keys() == set(expected)
    assert_no_duplicate_records()
    assert PrefetchRecord.objects.filter(last_success__isnull=True).count() == 0


# --- issue 5: Redis restarts mid-run ----------------------------------------------------------------
def test_redis_restart_mid_run_loses_no_finished_work(make_peer, start_worker, private_redis, celery_app, celery_queue):
    from tests.worker_process import redis_ping, use_broker

    peer = make_peer(PEER_STREAM_LATENCY_MS=40)
    catalogs = [("movie", "peer-new")]
    configure(peer, catalogs)
    expected = expected_streams(peer, catalogs)
    peer.reset()

    with use_broker(celery_app, private_redis.url, celery_queue):
        worker = start_worker(broker_url=private_redis.url)
        run = request_run()
        wait_for(lambda: PrefetchRecord.objects.count() >= 20, timeout=20, message="first records", worker=worker)

        private_redis.stop()
        assert not redis_ping(private_redis.url)
        at_stop = PrefetchRecord.objects.count()
        # The run goes on writing records while Redis is away.
        wait_for(lambda: PrefetchRecord.objects.count() >= at_stop + 20, timeout=20,
                 message="records written while Redis is down", worker=worker)
        assert run_status(run.pk) == RunStatus.RUNNING
        before_restart = record_keys()
        private_redis.start()  # empty: no persistence, like a fresh container

        done = wait_for(lambda: finished(run.pk), timeout=25, message="the run to finish", worker=worker)
        assert done.status == RunStatus.COMPLETED, done.error
        assert before_restart <= record_keys() == set(expected)
        assert stream_requests(peer) == expected  # each once: the run was neither lost nor redelivered
        assert_no_duplicate_records()

        # The worker reconnected: a new run goes through the restarted Redis (nothing left to request).
        peer.reset()
        again = request_run()
        second = wait_for(lambda: finished(again.pk), timeout=25, message="a run after the restart", worker=worker)
        assert second.status == RunStatus.COMPLETED, second.error
        assert second.statistics["already_prefetched"] == len(expected)
        assert not peer.requests("stream")
