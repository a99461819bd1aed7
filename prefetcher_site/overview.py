"""What the idle dashboard shows: the first-run checklist, then the value first (what is warm now,
the measured effect per addon over the last runs, the hit rate of Follow what's watched once titles
were opened, addon health), the last run as one line, and the overview (scheduler and worker, trends of the last
runs, records per addon, upcoming releases)."""

from dataclasses import dataclass

from django.utils import timezone

from addons.models import CATALOG_ROLES, STREAM_ROLES, Addon, Catalog
from prefetch.follow.plays import plays_summary, summary_line
from prefetch.measured_effect import addon_effects, speedup_text
from prefetch.models import FINISHED_STATUSES, PrefetchSettings, Run, RunStatus
from prefetch.record_store import warm_now
from prefetch.releases import upcoming
from prefetch.templatetags.display import format_duration
from prefetch.web.selectors import records_per_addon
from schedules.liveness import scheduler_status
from schedules.models import Schedule
from schedules.services import next_run_time

TREND_RUNS = 12
EXPIRY_HORIZON_S = 24 * 3600
HIT_RATE_DAYS = 7


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


SPARK_WIDTH = 10 * TREND_RUNS  # a slot per run, the latest on the right: a bar keeps its width however few runs


def _bars(runs: list[Run], values: list[float], texts: list[str]) -> list[dict]:
    """A sparkline's bars in a SPARK_WIDTH x 100 box, 10 units apart; a zero stays visible as a stub."""
    top = max(values, default=0) or 1
    first_slot = TREND_RUNS - len(runs)
    bars = []
    for index, (run, value, text) in enumerate(zip(runs, values, texts)):
        height = max(2, round(100 * value / top))
        bars.append({"run": run, "text": text, "x": (first_slot + index) * 10 + 1, "y": 100 - height, "height": height})
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
        "width": SPARK_WIDTH,
        "duration": _bars(runs, durations, [format_duration(value) for value in durations]),
        "items": _bars(runs, items, [f"{value} items" for value in items]),
        "average_duration_s": sum(durations) / len(runs),
        "average_items": round(sum(items) / len(runs)),
    }


def measured_effect() -> list[dict]:
    """Per stream addon, its measured effect in the last runs that measured one (oldest first): the
    latest in words, and the speed-up run by run (a run with nothing uncached to compare with, its
    titles already warm, is a stub)."""
    runs = [run for run in Run.objects.filter(status__in=FINISHED_STATUSES)[:TREND_RUNS * 3]
            if (run.verification or {}).get("addons")][:TREND_RUNS][::-1]
    by_addon: dict[str, list] = {}
    for run in runs:
        for effect in addon_effects(run.verification):
            by_addon.setdefault(effect.name, []).append((run, effect))
    rows = []
    for name, measured in by_addon.items():
        addon_runs = [run for run, _ in measured]
        speedups = [effect.speedup or 0 for _, effect in measured]
        texts = [effect.line for _, effect in measured]
        latest_run, latest = measured[-1]
        rows.append({
            "name": name, "latest": latest, "latest_run": latest_run,
            "speedup": speedup_text(latest.speedup) if latest.speedup else "",
            "bars": _bars(addon_runs, speedups, texts), "width": SPARK_WIDTH,
        })
    return rows


def hit_rate() -> dict | None:
    """Follow what's watched: the share of the titles opened lately that were warm; None before any."""
    plays = plays_summary(HIT_RATE_DAYS)
    if not plays["plays"]:
        return None
    return {"percent": round(100 * plays["hit_rate"]), "line": summary_line(plays)}


def warm_summary() -> dict:
    settings = PrefetchSettings.load()
    return {
        **warm_now(settings.cache_validity_s, settings.cache_validity_auto, EXPIRY_HORIZON_S),
        "validity_s": settings.cache_validity_s, "auto": settings.cache_validity_auto,
        "verify": settings.verify_sample_size,
    }


def idle_overview(worker: dict) -> dict:
    last = Run.objects.exclude(status=RunStatus.SKIPPED).filter(status__in=FINISHED_STATUSES).first()
    return {
        "last_run": last,
        "next_run": next_run_time(),
        "scheduler": scheduler_status(),
        "worker": worker,
        "warm": warm_summary(),
        "effect": measured_effect(),
        "hit_rate": hit_rate(),
        "records": records_per_addon(),
        "trends": trends(),
        "releases": upcoming(PrefetchSettings.load().release_delay_s),
        "now": timezone.now(),
    }
