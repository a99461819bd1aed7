"""The only code that touches django-celery-beat's tables: one PeriodicTask per Schedule."""

import json
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks

from prefetch.models import Run, RunTrigger
from prefetch.tasks import scheduled_run

from .models import Schedule, SchedulingSettings

SCHEDULED_RUN_TASK = "prefetch.tasks.scheduled_run"


@transaction.atomic
def sync_schedule(schedule: Schedule) -> PeriodicTask:
    """Create or update the schedule's own crontab row and periodic task (never shared with others)."""
    global_enabled = SchedulingSettings.load().enabled
    task = schedule.periodic_task
    crontab_fields = {
        "minute": str(schedule.time.minute),
        "hour": str(schedule.time.hour),
        "day_of_week": ",".join(str(day) for day in sorted(schedule.days)),
        "day_of_month": "*",
        "month_of_year": "*",
        "timezone": settings.TIME_ZONE,
    }
    if task is None:
        crontab = CrontabSchedule.objects.create(**crontab_fields)
        task = PeriodicTask(name=f"prefetch-schedule-{schedule.pk}", task=SCHEDULED_RUN_TASK, crontab=crontab)
    else:
        crontab = task.crontab
        for field, value in crontab_fields.items():
            setattr(crontab, field, value)
        crontab.save()
    task.kwargs = json.dumps({"schedule_id": schedule.pk})
    task.enabled = schedule.enabled and global_enabled
    # A message that waited longer than this is stale: the next occurrence will come.
    task.expire_seconds = 3600
    task.save()
    if schedule.periodic_task_id != task.pk:
        schedule.periodic_task = task
        schedule.save(update_fields=["periodic_task"])
    return task


@transaction.atomic
def delete_schedule(schedule: Schedule) -> None:
    task = schedule.periodic_task
    schedule.delete()
    if task is not None:
        crontab = task.crontab
        task.delete()
        if crontab is not None:
            crontab.delete()


def sync_all() -> None:
    for schedule in Schedule.objects.select_related("periodic_task__crontab"):
        sync_schedule(schedule)


# --- occurrences, page/API helpers and the start-up catch-up ----------------------------------------
logger = logging.getLogger("schedules.services")
CATCH_UP_WINDOW = timedelta(hours=1)


def server_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _cron_weekday(day) -> int:
    return (day.weekday() + 1) % 7  # Python: Monday = 0; cron: Sunday = 0


def _occurrences(schedule: Schedule, around: datetime, step: int):
    local = around.astimezone(server_zone())
    for offset in range(0, 8):
        day = local.date() + timedelta(days=offset * step)
        if _cron_weekday(day) in schedule.days:
            yield datetime.combine(day, schedule.time, tzinfo=server_zone())


def next_occurrence(schedule: Schedule, now: datetime | None = None) -> datetime | None:
    """The next time (server zone) this schedule fires, strictly after `now`."""
    now = now or timezone.now()
    return next((when for when in _occurrences(schedule, now, 1) if when > now), None)


def last_occurrence(schedule: Schedule, now: datetime | None = None) -> datetime | None:
    """The most recent time (server zone) this schedule should have fired, at or before `now`."""
    now = now or timezone.now()
    return next((when for when in _occurrences(schedule, now, -1) if when <= now), None)


def next_run_time(now: datetime | None = None) -> datetime | None:
    if not SchedulingSettings.load().enabled:
        return None
    times = [next_occurrence(s, now) for s in Schedule.objects.filter(enabled=True)]
    times = [t for t in times if t]
    return min(times) if times else None


def create_schedule(*, time, days, enabled: bool = True) -> Schedule:
    with transaction.atomic():
        schedule = Schedule(time=time, days=sorted(days), enabled=enabled)
        schedule.full_clean(exclude=["periodic_task"])
        schedule.save()
        sync_schedule(schedule)
    return schedule


def update_schedule(schedule: Schedule, **fields) -> Schedule:
    with transaction.atomic():
        for name, value in fields.items():
            setattr(schedule, name, sorted(value) if name == "days" else value)
        schedule.full_clean(exclude=["periodic_task"])
        schedule.save()
        sync_schedule(schedule)
    return schedule


@transaction.atomic
def clear_all() -> int:
    schedules = list(Schedule.objects.select_related("periodic_task__crontab"))
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

    Beat by itself would fire every missed crontab at start-up however late it is (its last_run_at
    is old), so first mark all our tasks as just run; then decide here. "Once" holds because the
    decision looks for any schedule-triggered Run (started or skipped) since the missed time, and
    `scheduled_run` records one synchronously before this returns. Returns the schedule id caught up.
    """
    now = now or timezone.now()
    tasks = PeriodicTask.objects.filter(task=SCHEDULED_RUN_TASK)
    if tasks.update(last_run_at=now):
        PeriodicTasks.update_changed()
    if not SchedulingSettings.load().enabled:
        return None
    missed = []
    for schedule in Schedule.objects.filter(enabled=True):
        when = last_occurrence(schedule, now)
        if when is not None and now - when < CATCH_UP_WINDOW:
            missed.append((when, schedule))
    if not missed:
        return None
    when, schedule = min(missed, key=lambda pair: pair[0])
    if Run.objects.filter(trigger=RunTrigger.SCHEDULE, created_at__gte=when).exists():
        return None
    logger.info("Schedule %s was missed at %s while the app was down: running it now", schedule, when)
    scheduled_run(schedule.pk)
    return schedule.pk
