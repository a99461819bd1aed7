"""Release-day warming: episodes announced with a release time (remembered by runs, see
`UpcomingRelease`) are warmed once they have been out for the release delay, by a small run of
their own (trigger `release`) that requests each of them on every stream addon serving it.

Beat starts a pass every RELEASE_WARM_INTERVAL_S (`prefetch.tasks.warm_releases`);
`manage.py prefetch_releases` does one now. The run itself is an ordinary run (queue, claim,
resume, report): only its plan differs, a listed catalog instead of the catalog selection."""

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from .engine.episodes import Video
from .engine.plan import AddonSpec, CatalogSpec, ListedItem
from .models import UpcomingRelease

RELEASES_CATALOG = "Released episodes"
# A release run warms every due episode: the per-run limits are for catalog walks.
RELEASE_RUN_SETTINGS = {
    "movies_global_limit": -1, "series_global_limit": -1, "movies_per_catalog": -1, "series_per_catalog": -1,
    "items_per_mixed_catalog": -1,
}


def due(delay_s: int, now: datetime | None = None):
    """Not warmed yet and out for at least `delay_s` seconds."""
    now = now or timezone.now()
    return UpcomingRelease.objects.filter(warmed_at__isnull=True, released_at__lte=now - timedelta(seconds=delay_s))


def upcoming(delay_s: int, limit: int = 10) -> list[dict]:
    """What the next passes will warm, soonest first, with when (the dashboard's list)."""
    rows = UpcomingRelease.objects.filter(warmed_at__isnull=True).order_by("released_at", "id")[:limit]
    return [{"release": row, "warm_at": row.released_at + timedelta(seconds=delay_s)} for row in rows]


def release_run_options(delay_s: int, now: datetime | None = None) -> dict | None:
    """The options of a release run for what is due now (None: nothing is), as recorded on the run."""
    ids = list(due(delay_s, now).values_list("pk", flat=True))
    if not ids:
        return None
    return {"releases": ids, "release_delay_s": delay_s, "settings": RELEASE_RUN_SETTINGS}


def listed_catalog(release_ids: list[int], stream_addons: list[AddonSpec]) -> CatalogSpec | None:
    """The release run's one catalog: the episodes by series, in release order. Its `addon` only
    names the list in the report (nothing is requested from it as a catalog)."""
    if not stream_addons:
        return None
    series: dict[tuple[str, str], list[UpcomingRelease]] = {}
    for row in UpcomingRelease.objects.filter(pk__in=release_ids).order_by("released_at", "id"):
        series.setdefault((row.content_type, row.series_id), []).append(row)
    items = tuple(
        ListedItem(type_, series_id, rows[0].series_name, tuple(Video(row.video_id, row.label) for row in rows))
        for (type_, series_id), rows in series.items()
    )
    return CatalogSpec(stream_addons[0], "series", "releases", RELEASES_CATALOG, items=items)


def mark_warmed(release_ids: list[int], now: datetime | None = None) -> int:
    """After a completed release run: each of its episodes was requested once; never again."""
    return UpcomingRelease.objects.filter(Q(pk__in=release_ids), warmed_at__isnull=True).update(
        warmed_at=now or timezone.now()
    )
