"""A worker claims a queued run; a run whose worker is gone goes back to the queue or ends.

The claim token written here is what every later write of the run goes through (`held`), so a
worker presumed dead can never overwrite what the worker that resumed its run records.
"""

import logging
import os
import socket
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..models import EXECUTING_STATUSES, Run, RunStatus, RunTrigger
from ..notifications import notify_run_finished
from .lifecycle import enqueue

logger = logging.getLogger(__name__)

# A run that keeps losing its worker (killed for memory, say) ends instead of looping forever.
MAX_RESUMES = 3


def claim_run(run_id: int, worker: str) -> str | None:
    """queued -> running for this worker, exactly once even if the task were delivered twice.

    Returns the claim token that the rest of the execution writes under, or None when the run is
    not queued (already claimed, cancelled, or finished). A resumed run keeps its first start time.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = Run.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        # A run paused before its worker died resumes paused.
        status=Case(When(pause_requested=True, then=Value(RunStatus.PAUSING)), default=Value(RunStatus.RUNNING)),
        started_at=Coalesce(F("started_at"), Value(now, output_field=DateTimeField())),
        worker=worker[:255], claim_token=token, heartbeat_at=now,
    )
    if not claimed:
        return None
    run = Run.objects.get(pk=run_id)
    if run.resumes and "worker" not in run.resumes[-1]:
        resumes = [*run.resumes[:-1], {**run.resumes[-1], "worker": worker}]
        Run.objects.filter(pk=run_id, claim_token=token).update(resumes=resumes)
    return token


def this_process_worker() -> str:
    """The worker name of a run executed outside Celery (the CLI)."""
    return f"cli@{socket.gethostname()}:{os.getpid()}"


def held(run_id: int, claim_token: str):
    """The run, while it executes under this claim: every end or hand-over writes through this."""
    return Run.objects.filter(pk=run_id, claim_token=claim_token, status__in=EXECUTING_STATUSES)


def request_handover(worker: str) -> int:
    """A worker shutting down asks its run to stop and go back to the queue (see RunControl)."""
    return Run.objects.filter(worker=worker, status__in=EXECUTING_STATUSES).update(handover_requested=True)


def queue_again(run: Run, reason: str, now: datetime) -> bool:
    """Give the run back to the queue for the next worker to resume, if `run` still holds it."""
    entry = {"at": now.isoformat(), "from_worker": run.worker, "reason": reason}
    with transaction.atomic():
        queued = held(run.pk, run.claim_token).update(
            status=RunStatus.QUEUED, worker="", claim_token="", heartbeat_at=None, handover_requested=False,
            resumes=[*run.resumes, entry],
        )
        if queued:
            transaction.on_commit(lambda: enqueue(run.pk))
    if queued:
        logger.warning("Run %s will resume on the next free worker: %s", run.pk, reason)
    return bool(queued)


def recover_orphaned_runs(starting_worker: str | None = None, now: datetime | None = None) -> list[int]:
    """Runs whose worker is gone: resumed on another worker, or ended when they cannot be.

    A run is orphaned when its heartbeat is older than RUN_STALE_AFTER_S, or (at a worker's start)
    when the starting worker has the name of the one that held it: that worker restarted. Queued
    runs are never touched: their message is still waiting for a worker. Called by beat every
    RUN_REAP_INTERVAL_S and by each worker at start-up; the compare-and-set on the claim token
    lets only one of them act on a run. Returns the ids acted on.
    """
    now = now or timezone.now()
    stale = Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - timedelta(seconds=settings.RUN_STALE_AFTER_S))
    if starting_worker:
        stale |= Q(worker=starting_worker)
    recovered = []
    for run in Run.objects.filter(stale, status__in=EXECUTING_STATUSES):
        if _recover(run, _orphan_reason(run, starting_worker, now), now):
            recovered.append(run.pk)
    return recovered


def _orphan_reason(run: Run, starting_worker: str | None, now: datetime) -> str:
    worker = run.worker or "unknown"
    if starting_worker and run.worker == starting_worker:
        return f"worker {worker} restarted while running it"
    if run.heartbeat_at is None:
        return f"worker {worker} never reported a heartbeat"
    return f"worker {worker} stopped responding (no heartbeat for {(now - run.heartbeat_at).total_seconds():.0f} s)"


def _recover(run: Run, reason: str, now: datetime) -> bool:
    owned = held(run.pk, run.claim_token)
    ending = {"finished_at": now, "pause_requested": False, "claim_token": ""}
    if run.cancel_requested:
        changed = owned.update(status=RunStatus.CANCELLED, stop_reason="cancelled", error=reason, **ending)
    elif run.trigger == RunTrigger.CLI:  # its plan lived in that command's process
        changed = owned.update(status=RunStatus.ABORTED, stop_reason="aborted", error=reason, **ending)
    elif len(run.resumes) >= MAX_RESUMES:
        changed = owned.update(status=RunStatus.ABORTED, stop_reason="aborted",
                               error=f"{reason}; not resumed again after {MAX_RESUMES} resumes", **ending)
    else:
        return queue_again(run, reason, now)
    if changed:
        logger.warning("Run %s ended: %s", run.pk, reason)
        notify_run_finished(Run.objects.get(pk=run.pk))
    return bool(changed)
