"""The Tasks list: the app's own periodic work as beat runs it (settings.CELERY_BEAT_SCHEDULE), with
when each task last ran, how long it took, whether it went through, and when it runs next."""

from datetime import datetime

from celery.schedules import crontab, maybe_schedule
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from prefetch.models import PeriodicWork

from .models import format_interval

# Celery task name: (title, what it does). Every beat entry has one (a test checks).
DESCRIPTIONS = {
    "prefetch.tasks.warm_releases": (
        "Release-day pass", "Warms announced episodes once they have been out for the release delay (Settings)."),
    "prefetch.tasks.probe_addon_health": (
        "Addon health", "Fetches every enabled addon's manifest: ok, degraded or down (Addons page)."),
    "prefetch.tasks.prune_history": (
        "Pruning", "Removes runs and log files older than the retention (Settings)."),
    "prefetch.follow.tasks.sync": (
        "Follow sync", "Reads what is watched and warms the cold titles (Follow what's watched)."),
}


def describe_rhythm(rhythm) -> str:
    """"every 15 min", "daily at 04:17"."""
    if isinstance(rhythm, crontab) and len(rhythm.hour) == 1 and len(rhythm.minute) == 1:
        return f"daily at {min(rhythm.hour):02d}:{min(rhythm.minute):02d}"
    if isinstance(rhythm, crontab):
        return str(rhythm)
    return format_interval(round(rhythm.run_every.total_seconds()))


def periodic_tasks(now: datetime | None = None) -> list[dict]:
    """Each beat entry: title, about, every, last (its PeriodicWork or None) and next_run."""
    now = now or timezone.now()
    works = {work.name: work for work in PeriodicWork.objects.all()}
    entries = settings.CELERY_BEAT_SCHEDULE
    fired_by_beat = dict(PeriodicTask.objects.filter(name__in=list(entries)).values_list("name", "last_run_at"))
    tasks = []
    for entry, spec in entries.items():
        rhythm = maybe_schedule(spec["schedule"])
        work = works.get(spec["task"])
        # Beat writes its own last run back now and then; the task notes its own at once.
        last = max((moment for moment in (work and work.started_at, fired_by_beat.get(entry)) if moment), default=None)
        title, about = DESCRIPTIONS[spec["task"]]
        tasks.append({
            "name": entry,
            "title": title,
            "about": about,
            "every": describe_rhythm(rhythm),
            "last": work,
            "next_run": max(now, now + rhythm.remaining_estimate(last)) if last else None,
        })
    return tasks
