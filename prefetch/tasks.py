"""Thin Celery entry points: all logic lives in `runs` and `run_logs`."""

import functools
import threading

from celery import shared_task
from celery.signals import worker_ready, worker_shutting_down
from django.db import connection

from addons import health

from . import periodic_work
from .models import PrefetchSettings, RunTrigger, addon_proxy
from .notifications import notify_health_changes
from .profiles import run_options
from .releases import release_run_options
from .run_logs import prune_history
from .runs.active import active_run
from .runs.claim import recover_orphaned_runs, request_handover
from .runs.execute import execute_run
from .runs.lifecycle import EXECUTE_RUN_TASK, RunRefused, record_skipped_trigger, request_run


@shared_task(name=EXECUTE_RUN_TASK, bind=True, ignore_result=True)
def execute_run_task(self, run_id: int) -> None:
    execute_run(run_id, worker=self.request.hostname)


@shared_task(name="prefetch.tasks.scheduled_run", ignore_result=True)
def scheduled_run(schedule_id: int | None = None, profile: dict | None = None) -> None:
    """Beat's firing of a schedule; `profile` is the schedule's (see prefetch.profiles)."""
    if active_run() is not None:
        record_skipped_trigger(RunTrigger.SCHEDULE, "skipped: another run was active", schedule_id)
        return
    try:
        request_run(RunTrigger.SCHEDULE, run_options(schedule_id, profile), schedule_id)
    except RunRefused as refusal:
        record_skipped_trigger(RunTrigger.SCHEDULE, f"skipped: {refusal}", schedule_id)


def periodic_task(name: str):
    """A task of the app's own periodic work (beat's CELERY_BEAT_SCHEDULE): each call is recorded
    for the Tasks list (when, how long, whether it went through)."""

    def register(function):
        @functools.wraps(function)
        def recorded_call(*args, **kwargs):
            with periodic_work.recorded(name):
                return function(*args, **kwargs)

        return shared_task(name=name, ignore_result=True)(recorded_call)

    return register


@periodic_task("prefetch.tasks.warm_releases")
def warm_releases() -> None:
    """Beat, every RELEASE_WARM_INTERVAL_S: a release run for the episodes due now, if any. While
    another run is active the tick is recorded as skipped; the next tick tries again."""
    options = release_run_options(PrefetchSettings.load().release_delay_s)
    if options is None:
        return
    try:
        request_run(RunTrigger.RELEASE, options)
    except RunRefused as refusal:
        record_skipped_trigger(RunTrigger.RELEASE, f"skipped: {refusal} Tried again at the next tick.")


@periodic_task("prefetch.tasks.prune_history")
def prune_history_task() -> None:
    """Daily, so retention also holds in weeks without runs (runs prune at their end too)."""
    prune_history()


@periodic_task("prefetch.tasks.probe_addon_health")
def probe_addon_health() -> None:
    """Beat, every ADDON_HEALTH_INTERVAL_S: every enabled addon's manifest; an addon that went down
    or came back is notified (once, at the change)."""
    notify_health_changes(health.probe_all(addon_proxy()))


@worker_ready.connect
def _recover_orphans(sender=None, **_):
    """A run held under this worker's name was cut off by its restart; stale ones lost their worker."""
    recover_orphaned_runs(starting_worker=getattr(sender, "hostname", None))


@worker_shutting_down.connect
def _hand_over_runs(sender=None, how=None, **_):
    """Warm shutdown (docker stop, a deploy): the run goes back to the queue at once instead of being
    cut off when the grace period ends. This runs inside a signal handler, so the database write
    happens on a thread of its own."""
    if how == "Warm" and sender:
        handover = threading.Thread(target=_request_handover, args=[sender], name="run-handover")
        handover.start()
        handover.join(timeout=10)


def _request_handover(worker: str) -> None:
    try:
        request_handover(worker)
    finally:
        connection.close()  # this thread's own connection
