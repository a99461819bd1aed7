"""What the idle dashboard shows: the first-run checklist and the overview (last run, next run,
scheduler and worker, records per addon, trends of the last runs)."""

from dataclasses import dataclass

from addons.models import CATALOG_ROLES, STREAM_ROLES, Addon, Catalog
from prefetch.models import FINISHED_STATUSES, PrefetchSettings, Run, RunStatus
from prefetch.releases import upcoming
from prefetch.web.selectors import records_per_addon
from schedules.liveness import scheduler_status
from schedules.models import Schedule
from schedules.services import next_run_time

TREND_RUNS = 12


@dataclass
class Step:
    key: str
    title: str
    href: str
    done: bool


def first_run_steps() -> list[Step]:
    """The four steps to a first scheduled run, each done when the configuration says so."""
    return [
        Step("catalog-addon", "Add a catalog addon", "/addons/", Addon.objects.filter(role__in=CATALOG_ROLES).exists()),
        Step("stream-addon", "Add a stream addon", "/addons/", Addon.objects.filter(role__in=STREAM_ROLES).exists()),
        Step("catalogs", "Pick catalogs", "/catalogs/", Catalog.objects.filter(
            enabled=True, missing=False, addon__role__in=CATALOG_ROLES).exists()),
        Step("schedule", "Add a schedule", "/schedules/", Schedule.objects.exists()),
    ]


def _items(run: Run) -> int:
    stats = run.statistics or {}
    return (stats.get("movies_prefetched") or 0) + (stats.get("series_prefetched") or 0)


def _bars(runs: list[Run], values: list[float]) -> list[dict]:
    """A sparkline's bars in a 0..100 box, 10 units apart; a zero stays visible as a stub."""
    top = max(values, default=0) or 1
    bars = []
    for index, (run, value) in enumerate(zip(runs, values)):
        height = max(2, round(100 * value / top))
        bars.append({"run": run, "value": value, "x": index * 10 + 1, "y": 100 - height, "height": height})
    return bars


def trends() -> dict | None:
    runs = list(Run.objects.filter(status__in=FINISHED_STATUSES, started_at__isnull=False)[:TREND_RUNS])[::-1]
    if not runs:
        return None
    completed = sum(run.status == RunStatus.COMPLETED for run in runs)
    with_failures = sum(run.status == RunStatus.COMPLETED_WITH_FAILURES for run in runs)
    durations = [run.duration_s or 0 for run in runs]
    items = [_items(run) for run in runs]
    return {
        "runs": len(runs),
        "completed": completed,
        "with_failures": with_failures,
        "success_rate": round(100 * completed / len(runs)),
        "width": 10 * len(runs),
        "duration": _bars(runs, durations),
        "items": _bars(runs, items),
        "average_duration_s": sum(durations) / len(runs),
        "average_items": round(sum(items) / len(runs)),
    }


def idle_overview(worker: dict) -> dict:
    last = Run.objects.exclude(status=RunStatus.SKIPPED).filter(status__in=FINISHED_STATUSES).first()
    return {
        "last_run": last,
        "last_items": _items(last) if last else 0,
        "next_run": next_run_time(),
        "scheduler": scheduler_status(),
        "worker": worker,
        "records": records_per_addon(),
        "trends": trends(),
        "releases": upcoming(PrefetchSettings.load().release_delay_s),
    }
