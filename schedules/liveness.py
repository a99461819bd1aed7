"""Is the scheduler (celery beat) alive? Beat rewrites one heartbeat row as it ticks
(`schedules.scheduler`); /api/health, /metrics, `healthcheck --beat` and the pages read its age."""

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from . import services
from .models import SchedulerHeartbeat

HEARTBEAT_ROW = 1


def record_heartbeat(hostname: str, pid: int) -> None:
    SchedulerHeartbeat.objects.update_or_create(
        pk=HEARTBEAT_ROW, defaults={"last_tick": timezone.now(), "hostname": hostname, "pid": pid}
    )


def last_heartbeat() -> SchedulerHeartbeat | None:
    return SchedulerHeartbeat.objects.filter(pk=HEARTBEAT_ROW).first()


def scheduler_status(now: datetime | None = None) -> dict:
    """{ok, last_tick, age_s, stale_after_s}: ok while beat ticked within SCHEDULER_STALE_AFTER_S.

    No host name or pid: /api/health is public."""
    heartbeat = last_heartbeat()
    stale_after_s = settings.SCHEDULER_STALE_AFTER_S
    if heartbeat is None:
        return {"ok": False, "last_tick": None, "age_s": None, "stale_after_s": stale_after_s}
    age_s = max(0.0, ((now or timezone.now()) - heartbeat.last_tick).total_seconds())
    return {
        "ok": age_s <= stale_after_s,
        "last_tick": heartbeat.last_tick.isoformat(),
        "age_s": round(age_s, 1),
        "stale_after_s": stale_after_s,
    }


def not_running_warning(status: dict) -> str | None:
    """What the dashboard and the Schedules page say while schedules exist but beat is not ticking."""
    if status["ok"]:
        return None
    if status.get("age_s") is None:
        seen = "has never been seen running"
    else:
        seen = f"has not been seen for {max(1, round(status['age_s'] / 60))} min"
    if settings.EMBEDDED:
        hint = "It runs inside the app's own process: check that process's log and restart it."
    else:
        hint = "Check the beat service: docker compose ps beat; docker compose logs beat."
    return f"Schedules will not fire: the scheduler (celery beat) {seen}. {hint}"


def schedule_summary() -> dict:
    """What the dashboard's status says of scheduling: the next run and whether beat is alive."""
    upcoming = services.next_run_time()
    status = scheduler_status()
    return {
        "next_run_time": upcoming.isoformat() if upcoming else None,
        "is_scheduled": upcoming is not None,
        # The warning only while something is scheduled: without schedules a stopped beat loses nothing.
        "scheduler": {**status, "warning": not_running_warning(status) if upcoming else None},
    }
