"""Thin Celery entry points: all logic lives in `runs` and `run_logs`."""

from celery import shared_task
from celery.signals import worker_ready

from .models import RunTrigger
from .run_logs import prune_history
from .runs import RunRefused, abort_orphaned_runs, active_run, execute_run, record_skipped_trigger, request_run


@shared_task(name="prefetch.tasks.execute_run", ignore_result=True)
def execute_run_task(run_id: int) -> None:
    execute_run(run_id)


@shared_task(name="prefetch.tasks.scheduled_run", ignore_result=True)
def scheduled_run(schedule_id: int | None = None) -> None:
    if active_run() is not None:
        record_skipped_trigger(RunTrigger.SCHEDULE, "skipped: another run was active")
        return
    try:
        request_run(RunTrigger.SCHEDULE, {"schedule_id": schedule_id})
    except RunRefused as refusal:
        record_skipped_trigger(RunTrigger.SCHEDULE, f"skipped: {refusal}")


@shared_task(name="prefetch.tasks.prune_history", ignore_result=True)
def prune_history_task() -> None:
    """Daily, so retention also holds in weeks without runs (runs prune at their end too)."""
    prune_history()


@worker_ready.connect
def _abort_orphans(**_):
    abort_orphaned_runs()
