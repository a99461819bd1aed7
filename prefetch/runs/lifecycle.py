"""What users and schedules ask of runs: create one (the one-active-run rule lives in the
database), hand it to a worker, cancel, pause and resume it."""

import logging

from celery import current_app
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import EXECUTING_STATUSES, Run, RunStatus, RunTrigger
from .active import take_configuration_lock

logger = logging.getLogger(__name__)

EXECUTE_RUN_TASK = "prefetch.tasks.execute_run"


class RunRefused(Exception):
    """A run cannot start now; the message says why, for the user, and `fix` (href, label) where
    to put it right when a page can."""

    def __init__(self, message: str, fix: tuple[str, str] | None = None):
        super().__init__(message)
        self.fix = fix


class RunActive(RunRefused):
    """Another run is active: a conflict that ends by itself, not a configuration to put right."""


def create_run(trigger: str, options: dict | None = None, schedule_id: int | None = None) -> Run:
    try:
        with transaction.atomic():
            take_configuration_lock()  # never between a configuration change's check and its write
            return Run.objects.create(trigger=trigger, options=options or {}, schedule_id=schedule_id)
    except IntegrityError:
        raise RunActive("A run is already active.") from None


def request_run(trigger: str = RunTrigger.MANUAL, options: dict | None = None, schedule_id: int | None = None) -> Run:
    """Create a queued run and hand it to a worker once the row is committed; `schedule_id`: the
    schedule it runs for."""
    run = create_run(trigger, options, schedule_id)
    transaction.on_commit(lambda: enqueue(run.pk))
    return run


def enqueue(run_id: int) -> None:
    """Send the run's task (by name: the tasks module imports this one)."""
    result = current_app.send_task(EXECUTE_RUN_TASK, args=[run_id])
    Run.objects.filter(pk=run_id).update(celery_task_id=result.id or "")


def resend_queued_runs() -> int:
    """Embedded start-up: queued runs' messages lived in the previous process's memory broker."""
    queued = list(Run.objects.filter(status=RunStatus.QUEUED).values_list("pk", flat=True))
    for run_id in queued:
        enqueue(run_id)
    return len(queued)


def record_skipped_trigger(trigger: str, reason: str, schedule_id: int | None = None) -> Run:
    now = timezone.now()
    return Run.objects.create(
        trigger=trigger, status=RunStatus.SKIPPED, stop_reason=reason[:200], started_at=now, finished_at=now,
        schedule_id=schedule_id,
    )


def request_cancel(run: Run) -> bool:
    """A queued run ends at once (no worker needs to be up); an executing one is asked to stop and
    its worker stops within a second (or the reaper ends it if that worker is gone)."""
    now = timezone.now()
    if Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
        status=RunStatus.CANCELLED, cancel_requested=True, stop_reason="cancelled before it started", finished_at=now
    ):
        logger.info("Run %s cancelled while queued", run.pk)
        return True
    return bool(Run.objects.filter(pk=run.pk, status__in=EXECUTING_STATUSES).update(cancel_requested=True))


def request_pause(run: Run) -> bool:
    return bool(
        Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(pause_requested=True, status=RunStatus.PAUSING)
    )


def request_resume(run: Run) -> bool:
    return bool(
        Run.objects.filter(pk=run.pk, status__in=[RunStatus.PAUSING, RunStatus.PAUSED]).update(
            pause_requested=False, status=RunStatus.RUNNING
        )
    )
