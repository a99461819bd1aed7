"""A schedule's profile as a run's options: what its runs override of the saved settings.

The schedules app owns profiles (`schedules.models.Schedule.profile`) and hands them to the beat
task as plain data; this turns one into the options a run records and its plan is built from
(`runs.plan.plan_for_run`), so a resumed run does the same."""

from datetime import datetime

from .models import Run, RunStatus
from .templatetags.display import format_duration

PROFILE_LIMITS = ("movies_global_limit", "series_global_limit", "movies_per_catalog", "series_per_catalog",
                  "items_per_mixed_catalog")
# Profile keys that are engine settings; the others are the catalog subset and the mode.
SETTING_KEYS = (*PROFILE_LIMITS, "cache_validity_s", "cache_validity_auto")


def run_options(schedule_id: int | None, profile: dict | None) -> dict:
    profile = dict(profile or {})
    options = {"schedule_id": schedule_id, "profile": profile}
    settings = {key: profile[key] for key in SETTING_KEYS if key in profile}
    if settings:
        options["settings"] = settings
    if profile.get("catalog_ids"):
        options["catalog_ids"] = list(profile["catalog_ids"])
    if profile.get("new_episodes_only"):
        since = last_success(schedule_id)
        options["released_since"] = since.isoformat() if since else None
    return options


def last_success(schedule_id: int | None) -> datetime | None:
    """When this schedule's last successful run started; with none yet, the last successful run of
    any kind (the cache was warm then); None when nothing ever completed (every episode is new).
    A run completed with failures counts: it walked to its end (a flaky addon fails a few requests
    in most runs, and the window would otherwise grow without end)."""
    completed = Run.objects.filter(
        status__in=(RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_FAILURES), started_at__isnull=False
    ).order_by("-started_at")
    own = completed.filter(schedule_id=schedule_id).first() if schedule_id is not None else None
    run = own or completed.first()
    return run.started_at if run else None


def describe_profile(profile: dict) -> str:
    """A profile in words: the Schedules page, the API and the run page say it alike."""
    parts = []
    if profile.get("new_episodes_only"):
        parts.append("new episodes only")
    if profile.get("catalog_ids"):
        count = len(profile["catalog_ids"])
        parts.append(f"{count} catalog{'s' if count != 1 else ''}")
    for name in PROFILE_LIMITS:
        if name in profile:
            value = profile[name]
            parts.append(f"{name.replace('_', ' ')} {'unlimited' if value == -1 else value}")
    if profile.get("cache_validity_auto"):
        parts.append("validity auto")
    elif "cache_validity_s" in profile:
        value = profile["cache_validity_s"]
        parts.append(f"validity {'never expires' if value == -1 else format_duration(value)}")
    elif profile.get("cache_validity_auto") is False:
        parts.append("validity auto off")
    return ", ".join(parts) or "full run (saved settings)"
