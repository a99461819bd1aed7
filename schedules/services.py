"""The only code that touches django-celery-beat's tables: one PeriodicTask per Schedule."""

import json

from django.conf import settings
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

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
