"""A real Celery worker process, a real Redis, the real peer addon: runs through the task, a worker
killed mid-run (SIGKILL), and Redis restarted mid-run."""

from collections import Counter

import pytest
from django.db.models import Count

from prefetch.models import PrefetchRecord, Run, RunStatus
from prefetch.runs.lifecycle import request_run
from tests.helpers import configure, finished
from tests.worker_process import wait_for

pytestmark = [pytest.mark.postgresql, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

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


def record_keys() -> set:
    return set(PrefetchRecord.objects.values_list("content_type", "video_id"))


def assert_no_duplicate_records():
    duplicates = (
        PrefetchRecord.objects.values("addon_key", "content_type", "video_id").annotate(n=Count("id")).filter(n__gt=1)
    )
    assert not duplicates.exists()


# --- a run end to end through the task ------------------------------------------------------------
def test_requested_run_is_executed_end_to_end_by_a_worker(peer, start_worker, redis_broker):
    peer.reset()
    catalogs = [("movie", "peer-new")]
    configure(peer.url, catalogs)
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


# --- runs belong to a worker; a lost worker's run resumes ---------------------------------------------
def start_slow_run(peer, start_worker, workers: int = 1, **worker_env):
    """150 movies at the peer's latency, two at a time, on `workers` workers. Returns the run, the
    worker that claimed it, the others, and the streams the run must request."""
    catalogs = [("movie", "peer-new")]
    configure(peer.url, catalogs)
    expected = expected_streams(peer, catalogs)
    peer.reset()
    started = [start_worker(**worker_env) for _ in range(workers)]
    run = request_run()
    wait_for(lambda: PrefetchRecord.objects.count() >= 25, timeout=20, message="the run's first records",
             worker=started[0])
    holder = Run.objects.get(pk=run.pk).worker
    return run, next(w for w in started if w.hostname == holder), [w for w in started if w.hostname != holder], expected


def kill_mid_run(worker, peer, expected):
    worker.kill()
    recorded_at_kill = record_keys()
    requested_at_kill = stream_requests(peer)
    assert 25 <= len(recorded_at_kill) < len(expected), "the kill must land mid-run"
    assert all(count == 1 for count in requested_at_kill.values())
    return recorded_at_kill, requested_at_kill


def assert_resumed_and_complete(done, peer, expected) -> set:
    """The whole run done across two workers; returns the streams requested twice."""
    assert done.status == RunStatus.COMPLETED, done.error
    requests = stream_requests(peer)
    assert set(requests) == set(expected)
    assert all(count <= 2 for count in requests.values())
    assert done.statistics["movies_prefetched"] == len(expected)  # the whole run, across both workers
    # the statistics cover the whole run: the part before the kill is counted, from the records
    assert done.statistics["stream_requests"] == len(expected) == done.statistics["stream_requests_ok"]
    assert sum(addon["requests"] for addon in done.addons) == len(expected)
    assert record_keys() == set(expected)
    assert_no_duplicate_records()
    return {key for key, count in requests.items() if count > 1}


def assert_resumed_without_repeats(done, peer, expected, recorded_at_kill, requested_at_kill):
    """Repeated: only streams requested before the kill whose answers were not saved yet."""
    repeated = assert_resumed_and_complete(done, peer, expected)
    assert not repeated & recorded_at_kill  # nothing saved before the kill is asked again
    # The peer logs a request when it answers it: the two in flight at the kill (concurrency 2)
    # may be missing from its log then.
    assert len(repeated) <= len(set(requested_at_kill) - recorded_at_kill) + 2
    # Answers are saved as they come: what is asked again is what was in flight (2) at the kill and
    # the answers of its last moments not saved yet (a few on a loaded machine), never a batch of them.
    assert len(repeated) <= 8, repeated
    assert done.statistics["items_done_before_resume"] == len(recorded_at_kill)
    assert done.statistics["stream_requests_before_resume"] == len(recorded_at_kill)


def test_a_worker_started_mid_run_leaves_the_run_alone(make_peer, start_worker, redis_broker):
    # About 19 s: a worker starting on a loaded machine (10 s and more) is up well before the end.
    peer = make_peer(PEER_STREAM_LATENCY_MS=250)
    run, first, _, expected = start_slow_run(peer, start_worker)
    second = start_worker()  # answered a ping: its start-up recovery has run
    current = Run.objects.get(pk=run.pk)
    assert current.status == RunStatus.RUNNING and current.worker == first.hostname and not current.resumes

    done = wait_for(lambda: finished(run.pk), timeout=60, message="the run to finish", worker=first)
    assert done.status == RunStatus.COMPLETED, done.error
    assert done.worker == first.hostname and not done.resumes
    assert stream_requests(peer) == expected  # each exactly once
    assert second.alive


def test_a_killed_worker_s_run_resumes_when_it_comes_back(make_peer, start_worker, redis_broker):
    """One worker only: it restarts under its name (a container restart) and picks its run up."""
    peer = make_peer(PEER_STREAM_LATENCY_MS=60)
    run, worker, _, expected = start_slow_run(peer, start_worker)
    recorded_at_kill, requested_at_kill = kill_mid_run(worker, peer, expected)
    assert run_status(run.pk) == RunStatus.RUNNING  # nobody was told: the worker just died

    # Not waiting for a ping: a solo worker answers none while it runs a task, and it resumes the run
    # the moment it is up. The run finishing is what proves it came back.
    back = start_worker(hostname=worker.hostname, wait=False)
    done = wait_for(lambda: finished(run.pk), timeout=60, message="the resumed run to finish", worker=back)
    assert_resumed_without_repeats(done, peer, expected, recorded_at_kill, requested_at_kill)
    assert [(r["from_worker"], r["worker"]) for r in done.resumes] == [(worker.hostname, worker.hostname)]
    assert "restarted" in done.resumes[0]["reason"]


def test_a_killed_worker_s_run_resumes_on_the_other_worker(make_peer, start_worker, start_beat, redis_broker):
    """Two workers and beat: the reaper in beat sees the heartbeat go stale and hands the run over."""
    peer = make_peer(PEER_STREAM_LATENCY_MS=60)
    liveness = {"RUN_HEARTBEAT_S": "0.5", "RUN_STALE_AFTER_S": "4", "RUN_REAP_INTERVAL_S": "1"}
    start_beat(**liveness)
    run, first, (second,), expected = start_slow_run(peer, start_worker, workers=2, **liveness)
    recorded_at_kill, requested_at_kill = kill_mid_run(first, peer, expected)

    done = wait_for(lambda: finished(run.pk), timeout=45, message="the run to resume and finish", worker=second)
    assert_resumed_without_repeats(done, peer, expected, recorded_at_kill, requested_at_kill)
    assert done.worker == second.hostname
    assert [(r["from_worker"], r["worker"]) for r in done.resumes] == [(first.hostname, second.hostname)]
    assert "stopped responding" in done.resumes[0]["reason"]


def test_a_worker_stopped_mid_run_hands_the_run_over_at_once(make_peer, start_worker, redis_broker):
    """docker stop / a deploy: warm shutdown puts the run back in the queue; the other worker goes on."""
    peer = make_peer(PEER_STREAM_LATENCY_MS=60)
    run, first, (second,), expected = start_slow_run(peer, start_worker, workers=2)
    first.process.terminate()  # SIGTERM: Celery's warm shutdown
    first.process.wait(timeout=20)

    done = wait_for(lambda: finished(run.pk), timeout=30, message="the handed-over run to finish", worker=second)
    repeated = assert_resumed_and_complete(done, peer, expected)
    assert len(repeated) <= 2  # at most the requests in flight (concurrency 2); every answer was saved
    assert [(r["from_worker"], r["worker"]) for r in done.resumes] == [(first.hostname, second.hostname)]
    assert "shut down" in done.resumes[0]["reason"]


# --- Redis restarts mid-run -------------------------------------------------------------------------
def test_redis_restart_mid_run_loses_no_finished_work(make_peer, start_worker, private_redis, celery_app, celery_queue):
    from tests.worker_process import redis_ping, use_broker

    peer = make_peer(PEER_STREAM_LATENCY_MS=40)
    catalogs = [("movie", "peer-new")]
    configure(peer.url, catalogs)
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
