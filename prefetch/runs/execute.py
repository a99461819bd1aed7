"""Execute a claimed run with the engine and record how it ended.

Both the Celery task and `manage.py prefetch` call `execute_run`.
"""

import itertools
import logging
import threading
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django.utils import timezone

from addons import health
from addons.retry import RetryPolicy

from ..engine import PrefetchEngine
from ..engine.plan import RunPlan
from ..models import Run, RunStatus, RunTrigger
from ..notifications import notify_run_finished
from ..record_store import DatabaseRecordStore
from ..releases import mark_warmed
from ..run_logs import observe_run
from .claim import claim_run, held, queue_again, this_process_worker
from .lifecycle import RunRefused
from .plan import plan_for_run, validate_plan

logger = logging.getLogger(__name__)


def execute_run(
    run_id: int,
    *,
    worker: str | None = None,
    plan: RunPlan | None = None,
    local_cancel: threading.Event | None = None,
    listeners=(),
    engine_options: dict | None = None,
) -> Run:
    token = claim_run(run_id, worker or this_process_worker())
    if token is None:
        logger.warning("Run %s is not queued any more; not starting it", run_id)
        return Run.objects.get(pk=run_id)
    with observe_run(run_id) as observer:  # live progress, log tail and per-run log file
        return _execute_claimed(run_id, token, plan, local_cancel, listeners, engine_options, observer)


def _execute_claimed(run_id, token, plan, local_cancel, listeners, engine_options, observer) -> Run:
    run = Run.objects.get(pk=run_id)
    control = RunControl(run_id, token, local_cancel)
    if run.resumes:
        logger.warning("Resuming run %s on %s (%s); streams it already requested are not requested again",
                       run_id, run.worker, run.resumes[-1]["reason"])
    try:
        plan = plan or plan_for_run(run)
        validate_plan(plan)
        engine = database_engine(
            plan,
            poll_control=control.poll,
            on_progress=observer.wrap(ProgressRecorder(run_id, token, listeners)),
            log=logger,
            resume_since=run.started_at if run.resumes else None,
            **(engine_options or {}),
        )
        report = engine.run()
    except RunRefused as refusal:
        return _finish(run_id, token, RunStatus.FAILED, error=str(refusal))
    except Exception as error:  # the run fails with its real error text, never silently
        logger.exception("Run %s failed", run_id)
        return _finish(run_id, token, RunStatus.FAILED, error=f"{error.__class__.__name__}: {error}")
    if control.lost:
        logger.warning("Run %s was handed to another worker while this one was presumed dead; stopping here", run_id)
        return Run.objects.get(pk=run_id)
    if control.handed_over:
        run = Run.objects.get(pk=run_id)
        queue_again(run, f"worker {run.worker} shut down while running it", timezone.now())
        return Run.objects.get(pk=run_id)
    status = final_status(report)
    if run.trigger == RunTrigger.RELEASE and status in (RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_FAILURES):
        mark_warmed(run.options["releases"])
    return _finish(run_id, token, status, report=report, error=report["failure"])


def database_engine(plan: RunPlan, store: DatabaseRecordStore | None = None, **options) -> PrefetchEngine:
    """The engine wired to the database: records kept in PrefetchRecord, a connection broken by a
    database restart dropped so the next call reconnects, the engine thread's connection closed."""
    return PrefetchEngine(
        plan, store=store or DatabaseRecordStore(), on_db_error=close_old_connections, on_db_thread_exit=connections.close_all,
        outage_errors=(OperationalError, InterfaceError), **options,
    )


class RunControl:
    """What the engine polls: the run row's flags, plus a local cancel (Ctrl-C in the CLI).

    Each poll also proves this worker alive: every RUN_HEARTBEAT_S it refreshes the run's heartbeat.
    When the row no longer carries this claim's token (deleted, or resumed elsewhere after this
    worker was presumed dead), the run is `lost` and the engine is told to stop; when the worker is
    shutting down, the engine is told to stop and the run is `handed_over` to the queue.
    """

    def __init__(self, run_id: int, claim_token: str, local_cancel: threading.Event | None = None, clock=None):
        self.run_id = run_id
        self.claim_token = claim_token
        self.local_cancel = local_cancel or threading.Event()
        self.clock = clock or timezone.now
        self.last_heartbeat = self.clock()  # the claim itself wrote the first one
        self.lost = False
        self.handed_over = False

    def poll(self) -> tuple[bool, bool]:
        owned = Run.objects.filter(pk=self.run_id, claim_token=self.claim_token)
        now = self.clock()
        if (now - self.last_heartbeat).total_seconds() >= settings.RUN_HEARTBEAT_S:
            owned.update(heartbeat_at=now)
            self.last_heartbeat = now
        flags = owned.values("cancel_requested", "pause_requested", "handover_requested").first()
        if flags is None:
            self.lost = True
            return True, False
        self.handed_over = flags["handover_requested"] and not flags["cancel_requested"]
        return flags["cancel_requested"] or self.handed_over or self.local_cancel.is_set(), flags["pause_requested"]


class ProgressRecorder:
    """Keeps the run row's snapshot and state current; extra listeners (CLI bar, channel layer) follow."""

    def __init__(self, run_id: int, claim_token: str, listeners=()):
        self.run_id = run_id
        self.claim_token = claim_token
        self.listeners = list(listeners)

    def __call__(self, snapshot: dict, event: str) -> None:
        update = {"progress": snapshot}
        runs = Run.objects.filter(pk=self.run_id, claim_token=self.claim_token)
        if event == "paused":
            runs.filter(status=RunStatus.PAUSING).update(status=RunStatus.PAUSED)
        elif event == "resumed":
            runs.filter(status__in=[RunStatus.PAUSING, RunStatus.PAUSED]).update(status=RunStatus.RUNNING)
        runs.update(**update)
        for listener in self.listeners:
            listener(snapshot, event)


def final_status(report: dict) -> str:
    """The engine decided the outcome (prefetch.engine.outcome.decide); its values are run statuses."""
    return RunStatus(report["outcome"])


# A short database outage at the very end must not leave the run active; if the database stays
# away longer, the run's heartbeat goes stale and the reaper resumes it (nothing is requested twice).
FINISH_RETRY = RetryPolicy(base_s=0.5, max_s=10.0)
FINISH_RETRY_FOR_S = 60.0


def _finish(run_id: int, token: str, status: str, *, report: dict | None = None, error: str = "") -> Run:
    """Record the end, only while this claim still holds the run (never over another worker's)."""
    started = time.monotonic()
    for attempt in itertools.count(1):
        try:
            return _record_end(run_id, token, status, report=report, error=error)
        except OperationalError as failure:
            if time.monotonic() - started >= FINISH_RETRY_FOR_S:
                raise
            logger.warning("Recording the end of the run failed (%s); retrying", failure)
            close_old_connections()  # a connection broken by a database restart is replaced
            time.sleep(FINISH_RETRY.wait_s(attempt))


def _record_end(run_id: int, token: str, status: str, *, report: dict | None, error: str) -> Run:
    fields = {"status": status, "finished_at": timezone.now(), "error": error, "pause_requested": False}
    if report:
        fields.update(
            statistics=report["statistics"],
            catalogs=report["catalogs"],
            addons=report["addons"],
            verification=report["verification"] or {},
            stop_reason=report["stop_reason"],
        )
    else:
        fields["stop_reason"] = "failed"
    ended = held(run_id, token).update(**fields)
    run = Run.objects.get(pk=run_id)
    if not ended:
        logger.warning("Run %s is no longer held by this worker (%s); its end is not recorded here", run_id, run.status)
        return run
    logger.info("Run %s ended: %s %s", run_id, status, error)
    if report:
        health.record_run(run.pk, run.finished_at, report["addons"])
    notify_run_finished(run)
    return run
