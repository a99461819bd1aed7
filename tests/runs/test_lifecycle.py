"""Run lifecycle in prefetch.runs, driven in-process (the Celery task is a one-line wrapper)."""

import threading
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from prefetch.engine import MAX_CONTROL_FAILURES
from prefetch.models import PrefetchRecord, Run, RunStatus, RunTrigger
from prefetch.runs.claim import recover_orphaned_runs
from prefetch.runs.execute import RunControl, execute_run
from prefetch.runs.lifecycle import RunRefused, create_run, request_cancel, request_pause, request_resume
from tests.helpers import configure, wait_until

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def execute_in_thread(run_id: int, **options) -> threading.Thread:
    """A worker's thread: executes the run, then closes its own database connection."""

    def work():
        try:
            execute_run(run_id, **options)
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_the_database_allows_one_active_run():
    first = create_run(RunTrigger.MANUAL)
    with pytest.raises(RunRefused):
        create_run(RunTrigger.API)
    Run.objects.filter(pk=first.pk).update(status=RunStatus.COMPLETED)
    assert create_run(RunTrigger.API).status == RunStatus.QUEUED


def test_saved_configuration_runs_in_the_users_catalog_order(peer):
    peer.reset()
    configure(peer.url, [("movie", "peer-new"), ("movie", "peer-popular")], movies_per_catalog=2)
    run = execute_run(create_run(RunTrigger.MANUAL).pk)
    assert run.status == RunStatus.COMPLETED
    assert [c["id"] for c in run.catalogs] == ["peer-new", "peer-popular"]
    assert run.statistics["movies_prefetched"] == 4
    assert [e["id"] for e in peer.requests("catalog")] == ["peer-new", "peer-popular"]
    assert PrefetchRecord.objects.filter(last_success__isnull=False).count() == 4
    assert run.started_at and run.finished_at and run.progress["seq"] >= 1


def test_a_run_that_cannot_start_fails_with_its_reason():
    run = execute_run(create_run(RunTrigger.MANUAL).pk)
    assert run.status == RunStatus.FAILED
    assert run.error == "No catalog addon is configured."


def test_a_run_executes_once_even_if_delivered_twice(peer):
    configure(peer.url, [("movie", "peer-dual")])
    run = create_run(RunTrigger.MANUAL)
    execute_run(run.pk)
    peer.reset()
    again = execute_run(run.pk)
    assert again.status == RunStatus.COMPLETED
    assert peer.requests() == []


def test_pause_resume_and_cancel_through_the_run_row(make_peer):
    slow = make_peer(PEER_STREAM_LATENCY_MS=40, PEER_DUAL=50)
    configure(slow.url, [("movie", "peer-dual")], concurrency=1)
    run = create_run(RunTrigger.MANUAL)
    thread = execute_in_thread(run.pk)
    wait_until(lambda: len(slow.requests("stream")) >= 2, message="streams")
    assert request_pause(run)
    wait_until(lambda: Run.objects.get(pk=run.pk).status == RunStatus.PAUSED, message="paused")
    assert request_resume(run)
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING
    assert request_cancel(run)
    thread.join(timeout=5)
    final = Run.objects.get(pk=run.pk)
    assert final.status == RunStatus.CANCELLED and final.stop_reason == "cancelled"
    assert 0 < final.statistics["stream_requests"] < 50


def executing(trigger=RunTrigger.SCHEDULE, *, worker="w1@host", heartbeat_age_s=0.0, **fields) -> Run:
    run = create_run(trigger)
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, worker=worker, claim_token="token-1", started_at=timezone.now(),
        heartbeat_at=timezone.now() - timedelta(seconds=heartbeat_age_s), **fields,
    )
    return Run.objects.get(pk=run.pk)


def test_a_starting_worker_leaves_live_and_queued_runs_alone():
    live = executing(worker="w1@host", heartbeat_age_s=5)
    assert recover_orphaned_runs(starting_worker="w2@host") == []
    assert Run.objects.get(pk=live.pk).status == RunStatus.RUNNING
    Run.objects.filter(pk=live.pk).update(status=RunStatus.COMPLETED)
    queued = create_run(RunTrigger.SCHEDULE)
    assert recover_orphaned_runs(starting_worker="w2@host") == []
    assert Run.objects.get(pk=queued.pk).status == RunStatus.QUEUED


def test_a_run_whose_heartbeat_went_stale_is_queued_again_to_resume(settings):
    settings.RUN_STALE_AFTER_S = 60
    run = executing(worker="w1@host", heartbeat_age_s=61)
    assert recover_orphaned_runs() == [run.pk]
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED and run.worker == "" and run.started_at is not None
    assert len(run.resumes) == 1
    assert run.resumes[0]["from_worker"] == "w1@host" and "no heartbeat for 61 s" in run.resumes[0]["reason"]
    assert recover_orphaned_runs() == []  # queued now: nothing more to do until a worker claims it


def test_a_worker_restarting_under_the_same_name_resumes_its_run_at_once():
    run = executing(worker="w1@host", heartbeat_age_s=1)
    assert recover_orphaned_runs(starting_worker="w1@host") == [run.pk]
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED and "restarted" in run.resumes[0]["reason"]


@pytest.mark.parametrize(("fields", "trigger", "status", "error"), [
    ({"cancel_requested": True}, RunTrigger.SCHEDULE, RunStatus.CANCELLED, "stopped responding"),
    ({}, RunTrigger.CLI, RunStatus.ABORTED, "stopped responding"),
    ({"resumes": [{"reason": "x"}] * 3}, RunTrigger.SCHEDULE, RunStatus.ABORTED, "after 3 resumes"),
])
def test_an_orphan_that_must_not_resume_ends_with_the_reason(fields, trigger, status, error):
    run = executing(trigger, heartbeat_age_s=600, **fields)
    assert recover_orphaned_runs() == [run.pk]
    run.refresh_from_db()
    assert run.status == status and error in run.error and run.finished_at
    assert create_run(RunTrigger.MANUAL)  # the one-active-run lock is free again


def test_cancelling_a_queued_run_ends_it_at_once_and_no_worker_starts_it_later(peer):
    configure(peer.url, [("movie", "peer-dual")])
    run = create_run(RunTrigger.MANUAL)
    assert request_cancel(run)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and run.finished_at
    assert create_run(RunTrigger.MANUAL).status == RunStatus.QUEUED  # nothing blocks the next run
    peer.reset()
    assert execute_run(run.pk).status == RunStatus.CANCELLED  # its message, consumed late, starts nothing
    assert peer.requests() == []


def test_the_worker_refreshes_the_heartbeat_while_it_runs(make_peer, settings):
    settings.RUN_HEARTBEAT_S = 0.2
    slow = make_peer(PEER_STREAM_LATENCY_MS=40, PEER_DUAL=40)
    configure(slow.url, [("movie", "peer-dual")], concurrency=1)
    run = create_run(RunTrigger.MANUAL)
    thread = execute_in_thread(run.pk, worker="w1@host")
    first = wait_until(lambda: Run.objects.get(pk=run.pk).heartbeat_at, message="the claim's heartbeat")
    wait_until(lambda: Run.objects.get(pk=run.pk).heartbeat_at > first, message="a refreshed heartbeat")
    assert Run.objects.get(pk=run.pk).worker == "w1@host"
    thread.join(timeout=30)
    assert Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED


def test_a_run_taken_over_stops_on_the_old_worker_and_resumes_without_repeating_streams(make_peer, settings):
    """In process: the takeover the reaper does when a worker is presumed dead, then the resume."""
    settings.RUN_STALE_AFTER_S = 60
    slow = make_peer(PEER_STREAM_LATENCY_MS=30, PEER_DUAL=60)
    # Validity 0: no record spares a request, so what is not asked again was spared by the resume.
    configure(slow.url, [("movie", "peer-dual")], concurrency=2, cache_validity_s=0)
    run = create_run(RunTrigger.MANUAL)
    old = execute_in_thread(run.pk, worker="w1@host")
    wait_until(lambda: PrefetchRecord.objects.count() >= 10, message="records of the first attempt")
    later = timezone.now() + timedelta(seconds=120)  # as if the heartbeat had stopped two minutes ago
    assert recover_orphaned_runs(now=later) == [run.pk]
    old.join(timeout=10)
    assert not old.is_alive()
    assert Run.objects.get(pk=run.pk).status == RunStatus.QUEUED  # the old worker wrote no end over it
    first_attempt = Counter(entry["id"] for entry in slow.requests("stream"))
    done_before = set(PrefetchRecord.objects.values_list("video_id", flat=True))

    resumed = execute_run(run.pk, worker="w2@host")
    assert resumed.status == RunStatus.COMPLETED, resumed.error
    assert resumed.worker == "w2@host" and resumed.resumes[0]["worker"] == "w2@host"
    requests = Counter(entry["id"] for entry in slow.requests("stream"))
    assert set(requests) == set(PrefetchRecord.objects.values_list("video_id", flat=True))  # all 60, every one
    repeated = {video for video, count in requests.items() if count > 1}
    assert not repeated & done_before  # what the first attempt recorded was never requested again
    # Only what it had not recorded; the peer logs a request when it answers, so the two in flight
    # when the first attempt stopped (concurrency 2) may be missing from its log then.
    assert len(repeated) <= sum(first_attempt.values()) - len(done_before) + 2
    assert resumed.statistics["movies_prefetched"] == len(requests) == 60  # the whole run, both attempts
    assert resumed.statistics["items_done_before_resume"] == len(done_before)


def test_a_run_survives_its_database_connections_being_cut(make_peer):
    """What a PostgreSQL restart does to a worker: every connection is gone; the run reconnects."""
    if connection.vendor != "postgresql":
        pytest.skip("cutting server-side connections needs PostgreSQL")
    slow = make_peer(PEER_STREAM_LATENCY_MS=20, PEER_DUAL=80)
    configure(slow.url, [("movie", "peer-dual")], concurrency=2)
    run = create_run(RunTrigger.MANUAL)
    thread = execute_in_thread(run.pk)
    wait_until(lambda: PrefetchRecord.objects.count() >= 10, message="the first records")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        assert cursor.fetchone()[0] >= 1
    thread.join(timeout=60)
    final = Run.objects.get(pk=run.pk)
    assert final.status == RunStatus.COMPLETED, final.error
    assert PrefetchRecord.objects.filter(last_success__isnull=False).count() == 80  # no answer lost
    assert len(slow.requests("stream")) == 80


@contextmanager
def database_outage():
    """The test database refuses new connections and loses its open ones (but the test's own),
    as during a PostgreSQL restart; from a maintenance connection, since a database cannot lock
    itself out."""
    import psycopg

    db = connection.settings_dict
    database = db["NAME"]
    with psycopg.connect(dbname="postgres", user=db["USER"], host=db["HOST"] or "127.0.0.1",
                         port=db["PORT"] or 5432, password=db["PASSWORD"] or None, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        try:
            with connection.cursor() as cursor:
                own = cursor.connection.info.backend_pid
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                          [database, own])
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')


def test_a_database_outage_mid_run_loses_no_answer_and_the_run_completes(make_peer, caplog):
    """New connections refused and existing ones cut, until the engine has noticed: then back."""
    if connection.vendor != "postgresql":
        pytest.skip("refusing connections to one database needs PostgreSQL")
    slow = make_peer(PEER_STREAM_LATENCY_MS=30, PEER_DUAL=100)  # one page
    configure(slow.url, [("movie", "peer-dual")], concurrency=2)
    run = create_run(RunTrigger.MANUAL)
    thread = execute_in_thread(run.pk)
    wait_until(lambda: PrefetchRecord.objects.count() >= 20, message="the first records")
    with database_outage():
        wait_until(lambda: "answers are kept until it works again" in caplog.text, timeout=15,
                   message="the engine to notice the outage")
        requested_in_outage = len(slow.requests("stream"))
    thread.join(timeout=60)
    final = Run.objects.get(pk=run.pk)
    assert final.status == RunStatus.COMPLETED, final.error
    assert requested_in_outage < 100, "the outage must land mid-run"
    requests = Counter(entry["id"] for entry in slow.requests("stream"))
    assert len(requests) == 100 and set(requests.values()) == {1}  # nothing lost, nothing asked twice
    assert PrefetchRecord.objects.filter(last_success__isnull=False).count() == 100
    assert "Database reachable again" in caplog.text
    assert caplog.text.count("Progress or control update failed") == 1  # once per outage, not per tick


def test_a_run_fails_with_the_real_error_when_the_database_stays_away(peer, monkeypatch):
    """Here only the record lookups fail (the run's own row still answers): the run must not hang."""
    from django.db import OperationalError

    from prefetch.record_store import DatabaseRecordStore

    configure(peer.url, [("movie", "peer-dual")])

    def unreachable(*args):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(DatabaseRecordStore, "valid_keys", unreachable)
    run = execute_run(create_run(RunTrigger.MANUAL).pk, engine_options={"database_outage_limit_s": 0.5})
    assert run.status == RunStatus.FAILED and run.stop_reason == "database unavailable"
    assert run.error == ("The database was unreachable for more than 0.5 s "
                         "(OperationalError: could not connect to server: Connection refused)")
    assert run.statistics["items_failed"] == 0  # the items waited for the database; none was failed


def failing_control(monkeypatch, fails) -> Counter:
    """RunControl.poll raising a bug's TypeError on the calls for which `fails(call number)` is true."""
    real_poll = RunControl.poll
    calls = Counter()

    def poll(control):
        calls["all"] += 1
        if fails(calls["all"]):
            calls["failed"] += 1
            raise TypeError("unsupported operand type(s) for -: 'NoneType' and 'datetime'")
        return real_poll(control)

    monkeypatch.setattr(RunControl, "poll", poll)
    return calls


def test_a_run_whose_cancel_check_keeps_failing_stops_with_the_reason(make_peer, monkeypatch):
    slow = make_peer(PEER_STREAM_LATENCY_MS=50, PEER_DUAL=100)  # 5 s of requests at concurrency 1
    configure(slow.url, [("movie", "peer-dual")], concurrency=1)
    calls = failing_control(monkeypatch, lambda call: True)
    run = execute_run(create_run(RunTrigger.MANUAL).pk, engine_options={"control_interval_s": 0.02})
    assert run.status == RunStatus.FAILED and run.stop_reason == "cancel and pause checks failing"
    assert run.error == (f"Checking for cancel / pause failed {MAX_CONTROL_FAILURES} times in a row "
                         "(TypeError: unsupported operand type(s) for -: 'NoneType' and 'datetime')")
    assert calls["failed"] == MAX_CONTROL_FAILURES
    assert len(slow.requests("stream")) < 100  # the crawl stopped with it


def test_cancel_check_failures_that_are_not_in_a_row_do_not_stop_the_run(make_peer, monkeypatch):
    slow = make_peer(PEER_STREAM_LATENCY_MS=30, PEER_DUAL=60)
    configure(slow.url, [("movie", "peer-dual")], concurrency=1)
    calls = failing_control(monkeypatch, lambda call: call % 4 != 0)  # three of every four fail
    run = execute_run(create_run(RunTrigger.MANUAL).pk, engine_options={"control_interval_s": 0.02})
    assert run.status == RunStatus.COMPLETED and run.statistics["movies_prefetched"] == 60
    assert calls["failed"] > MAX_CONTROL_FAILURES  # more failures in all than the limit allows in a row


def test_daily_housekeeping_prunes_old_runs_without_waiting_for_a_run(settings):
    from datetime import timedelta

    from prefetch.tasks import prune_history_task

    old = Run.objects.create(status=RunStatus.COMPLETED)
    Run.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=91))
    recent = Run.objects.create(status=RunStatus.COMPLETED)
    prune_history_task()
    assert list(Run.objects.values_list("pk", flat=True)) == [recent.pk]
    assert settings.CELERY_BEAT_SCHEDULE["prune-history"]["task"] == prune_history_task.name
