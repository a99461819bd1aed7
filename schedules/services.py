"""The only code that touches django-celery-beat's tables: one PeriodicTask per Schedule."""

import json
import logging
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask, PeriodicTasks

from prefetch.models import Run, RunTrigger
from prefetch.profiles import run_options
from prefetch.runs.plan import start_checked_run
from prefetch.tasks import scheduled_run

from .models import Schedule, SchedulingSettings

SCHEDULED_RUN_TASK = "prefetch.tasks.scheduled_run"
# Far more than anyone schedules; past it the schedules page and the beat tables grow without use.
MAX_SCHEDULES = 100


@transaction.atomic
def sync_schedule(schedule: Schedule) -> PeriodicTask:
    """Create or update the schedule's own crontab or interval row and periodic task (never shared
    with others); a schedule that changes kind drops the row of its old kind."""
    global_enabled = SchedulingSettings.load().enabled
    task = schedule.periodic_task or PeriodicTask(name=f"prefetch-schedule-{schedule.pk}", task=SCHEDULED_RUN_TASK)
    replaced = task.interval if schedule.is_interval else task.crontab
    stale = task.crontab if schedule.is_interval else task.interval
    if schedule.is_interval:
        task.interval = _saved(replaced or IntervalSchedule(), every=schedule.every_s, period=IntervalSchedule.SECONDS)
        task.crontab = None
    else:
        task.crontab = _saved(replaced or CrontabSchedule(), **{
            "minute": str(schedule.time.minute),
            "hour": str(schedule.time.hour),
            "day_of_week": ",".join(str(day) for day in sorted(schedule.days)),
            "day_of_month": "*",
            "month_of_year": "*",
            "timezone": settings.TIME_ZONE,
        })
        task.interval = None
    task.kwargs = json.dumps({"schedule_id": schedule.pk, "profile": schedule.profile})
    task.enabled = schedule.enabled and global_enabled
    # Beat counts the next run from the last one. From now: an edit never makes it fire a time
    # already past at once, and the next run shown (next_occurrence) is the one beat makes.
    task.last_run_at = timezone.now()
    # A message that waited longer than this is stale: the next occurrence will come.
    task.expire_seconds = 3600
    task.save()
    if stale is not None:
        stale.delete()
    if schedule.periodic_task_id != task.pk:
        schedule.periodic_task = task
        schedule.save(update_fields=["periodic_task"])
    return task


def _saved(row, **fields):
    for field, value in fields.items():
        setattr(row, field, value)
    row.save()
    return row


@transaction.atomic
def delete_schedule(schedule: Schedule) -> None:
    task = schedule.periodic_task
    schedule.delete()
    if task is not None:
        rhythm = task.crontab or task.interval
        task.delete()
        if rhythm is not None:
            rhythm.delete()


def sync_all() -> None:
    for schedule in Schedule.objects.select_related("periodic_task__crontab", "periodic_task__interval"):
        sync_schedule(schedule)


# --- occurrences, page/API helpers and the start-up catch-up ----------------------------------------
logger = logging.getLogger("schedules.services")
CATCH_UP_WINDOW = timedelta(hours=1)


def server_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _fire_time_after(schedule: Schedule, moment: datetime) -> datetime | None:
    """The first time after `moment` (minute precision) that beat's own crontab for this schedule
    fires: django-celery-beat's TzAwareCrontab, in the zone stored with it, DST included. None for
    an interval (its firings count from its last run, see next_occurrence)."""
    task = schedule.periodic_task
    if task is None or task.crontab is None:
        return None
    start, delta, _ = task.crontab.schedule.remaining_delta(moment)
    # Through UTC, as beat's own arithmetic goes: a wall time DST skips or repeats becomes the
    # instant beat means by it (02:30 on the spring day is 03:30 summer time).
    return (start + delta).astimezone(dt_timezone.utc).astimezone(server_zone())


def next_occurrence(schedule: Schedule, now: datetime | None = None) -> datetime | None:
    """When beat fires this schedule next (server zone).

    Counted as beat counts it, from the task's last run; if that lands at or before `now` (beat owes
    it, or made it and has not written its last run back yet), from `now`. The two differ only in
    the hour repeated when DST ends, which beat does not fire twice.
    """
    now = now or timezone.now()
    last_run = schedule.periodic_task.last_run_at if schedule.periodic_task else None
    if schedule.is_interval:
        # Beat fires an interval `every_s` after its last run, at once when that is past.
        return max(now, last_run + timedelta(seconds=schedule.every_s)).astimezone(server_zone()) if last_run else None
    if last_run is not None and last_run <= now:
        when = _fire_time_after(schedule, last_run)
        if when is not None and when > now:
            return when
    return _fire_time_after(schedule, now)


def with_last_runs() -> list[Schedule]:
    """Every schedule, each with `last_run`: its latest run (a skipped firing included) or None."""
    latest = Run.objects.filter(schedule_id=OuterRef("pk")).order_by("-created_at", "-id").values("id")[:1]
    schedules = list(Schedule.objects.select_related("periodic_task__crontab", "periodic_task__interval")
                     .annotate(last_run_id=Subquery(latest)))
    runs = Run.objects.defer("progress", "catalogs", "addons", "verification", "options").in_bulk(
        [schedule.last_run_id for schedule in schedules if schedule.last_run_id]
    )
    for schedule in schedules:
        schedule.last_run = runs.get(schedule.last_run_id)
    return schedules


def run_now(schedule: Schedule, trigger: str = RunTrigger.MANUAL) -> Run:
    """*Run now* on a schedule (its page's button, its API): a run with its profile, counted as its
    run; RunRefused when it could not run (RunActive while another run is active)."""
    return start_checked_run(trigger, run_options(schedule.pk, schedule.profile), schedule.pk)


def started_message(run: Run, schedule: Schedule) -> str:
    return f"Run #{run.pk} started with the profile of the schedule {schedule.when_label}."


def next_run_time(now: datetime | None = None) -> datetime | None:
    if not SchedulingSettings.load().enabled:
        return None
    enabled = Schedule.objects.filter(enabled=True).select_related("periodic_task__crontab", "periodic_task__interval")
    times = [next_occurrence(schedule, now) for schedule in enabled]
    times = [t for t in times if t]
    return min(times) if times else None


def create_schedule(*, time=None, days=(), every_s: int | None = None, enabled: bool = True, **profile) -> Schedule:
    """Every new schedule comes here (API, page, config import), so the cap is checked here.
    A daily `time` on `days`, or an interval `every_s`; `profile`: any of PROFILE_FIELDS (what its
    runs override of the saved settings)."""
    with transaction.atomic():
        if Schedule.objects.count() >= MAX_SCHEDULES:
            raise ValidationError({"schedules": [f"At most {MAX_SCHEDULES} schedules: delete one before adding another."]})
        schedule = Schedule(time=time, days=list(days), every_s=every_s, enabled=enabled, **profile)
        schedule.full_clean(exclude=["periodic_task"])  # also sorts the days
        schedule.save()
        sync_schedule(schedule)
    return schedule


def update_schedule(schedule: Schedule, **fields) -> Schedule:
    with transaction.atomic():
        for name, value in fields.items():
            setattr(schedule, name, value)
        schedule.full_clean(exclude=["periodic_task"])
        schedule.save()
        sync_schedule(schedule)
    return schedule


@transaction.atomic
def clear_all() -> int:
    schedules = list(Schedule.objects.select_related("periodic_task__crontab", "periodic_task__interval"))
    for schedule in schedules:
        delete_schedule(schedule)
    return len(schedules)


@transaction.atomic
def replace_all(entries: list[dict]) -> list[Schedule]:
    clear_all()
    return [create_schedule(**entry) for entry in entries]


@transaction.atomic
def set_global_enabled(enabled: bool) -> None:
    row = SchedulingSettings.load()
    row.enabled = enabled
    row.save()
    sync_all()


def catch_up_missed(now: datetime | None = None) -> int | None:
    """At beat start-up: run a schedule missed while everything was down, once, if < 1 h late.

    Beat by itself would fire every missed schedule at start-up however late it is (its last_run_at
    is old), so first mark our tasks as just run; then decide here. An interval schedule not due
    yet keeps its last run, so that a restart does not push its rhythm back. "Once" holds because
    the decision looks for any schedule-triggered Run (started or skipped) since the missed time,
    and `scheduled_run` records one synchronously before this returns. Returns the schedule id
    caught up.
    """
    now = now or timezone.now()
    schedules = list(Schedule.objects.select_related("periodic_task__crontab", "periodic_task__interval"))
    interval_due = {
        schedule.pk: schedule.periodic_task.last_run_at + timedelta(seconds=schedule.every_s)
        for schedule in schedules
        if schedule.is_interval and schedule.periodic_task and schedule.periodic_task.last_run_at
    }
    not_due = [schedule.periodic_task_id for schedule in schedules if interval_due.get(schedule.pk, now) > now]
    if PeriodicTask.objects.filter(task=SCHEDULED_RUN_TASK).exclude(pk__in=not_due).update(last_run_at=now):
        PeriodicTasks.update_changed()
    if not SchedulingSettings.load().enabled:
        return None
    missed = []
    for schedule in (schedule for schedule in schedules if schedule.enabled):
        if schedule.is_interval:
            when = interval_due.get(schedule.pk)
        else:
            when = _fire_time_after(schedule, now - CATCH_UP_WINDOW)
        if when is not None and timedelta(0) <= now - when < CATCH_UP_WINDOW:
            missed.append((when, schedule))
    if not missed:
        return None
    when, schedule = min(missed, key=lambda pair: pair[0])
    if Run.objects.filter(trigger=RunTrigger.SCHEDULE, created_at__gte=when).exists():
        return None
    logger.info("Schedule %s was missed at %s while the app was down: running it now", schedule, when)
    scheduled_run(schedule.pk, schedule.profile)
    return schedule.pk
