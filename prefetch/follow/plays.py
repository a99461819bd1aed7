"""Plays and the hit rate: a play is warm when every stream addon serving the video had a successful,
unexpired record for it when it was opened; otherwise a miss with its reason. Also what warmed a hit
(the catalog walk, a follow run, release-day warming or the companion's next-episode lane)."""

from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from prefetch.models import PrefetchRecord, PrefetchSettings, Run, RunTrigger
from prefetch.record_store import DatabaseRecordStore

from .models import LaneWarm, MissReason, Play, Viewer

# Stremio asks again when the same title is reopened, paused or its stream list refreshed: one play.
SAME_PLAY_WITHIN = timedelta(minutes=10)
NEXT_EPISODE = "next episode"
# What warmed a record, by the trigger of the run that answered it.
SOURCE_OF_TRIGGER = {RunTrigger.RELEASE: "release", RunTrigger.FOLLOW: "follow"}
CATALOG = "catalog"


def judge(content_type: str, video_id: str, stream_addons: list) -> tuple[bool, str, str]:
    """(warm, miss reason, what warmed it) for a video opened now; `stream_addons` are AddonSpecs."""
    serving = sorted({addon.key for addon in stream_addons if addon.manifest.supports("stream", content_type, video_id)})
    if not serving:
        return False, MissReason.NOT_SERVED, ""
    settings = PrefetchSettings.load()
    valid = {key for key, _ in DatabaseRecordStore().valid_keys(
        serving, content_type, [video_id], settings.cache_validity_s, settings.cache_validity_auto)}
    records = {record.addon_key: record for record in PrefetchRecord.objects.filter(
        addon_key__in=serving, content_type=content_type, video_id=video_id)}
    missing = [key for key in serving if key not in valid]
    if missing:
        return False, _miss_reason([records.get(key) for key in missing]), ""
    newest = max((records[key] for key in serving), key=lambda record: record.last_success)
    return True, "", warmed_by(newest)


def _miss_reason(records: list) -> str:
    """The reason of the worst addon: a failure outranks an expiry, which outranks never warmed."""
    if any(r is not None and r.last_error and (r.last_success is None or r.last_attempt > r.last_success)
           for r in records):
        return MissReason.FAILED
    if any(r is not None and r.last_success is not None for r in records):
        return MissReason.EXPIRED
    return MissReason.NEVER_WARMED


def warmed_by(record: PrefetchRecord) -> str:
    if LaneWarm.objects.filter(addon_key=record.addon_key, content_type=record.content_type,
                               video_id=record.video_id, at=record.last_success).exists():
        return NEXT_EPISODE
    run = Run.objects.filter(Q(finished_at__isnull=True) | Q(finished_at__gte=record.last_success),
                             started_at__lte=record.last_success).order_by("-started_at").first()
    if run is None:
        return ""
    return SOURCE_OF_TRIGGER.get(run.trigger, CATALOG)


def record_play(viewer: Viewer, content_type: str, video_id: str, at: datetime, stream_addons: list) -> Play | None:
    """The play, judged now; None when the same video was opened within SAME_PLAY_WITHIN (one play)."""
    if Play.objects.filter(viewer=viewer, content_type=content_type, video_id=video_id,
                           at__gt=at - SAME_PLAY_WITHIN, at__lte=at).exists():
        return None
    warm, reason, source = judge(content_type, video_id, stream_addons)
    return Play.objects.create(viewer=viewer, content_type=content_type, video_id=video_id, at=at, warm=warm,
                               miss_reason=reason, warmed_by=source)


def plays_summary(days: int = 7, now: datetime | None = None) -> dict:
    """The household's hit rate over the last `days`, with each viewer's plays and warm ones: what
    the Follow page, the dashboard and the API show."""
    now = now or timezone.now()
    plays = Play.objects.filter(at__gt=now - timedelta(days=days))
    total = plays.count()
    warm = plays.filter(warm=True).count()
    misses = [
        {"type": play.content_type, "video_id": play.video_id, "reason": play.miss_reason, "at": play.at.isoformat()}
        for play in plays.filter(warm=False)[:100]
    ]
    return {
        "days": days,
        "plays": total,
        "warm": warm,
        "hit_rate": round(warm / total, 4) if total else None,
        "misses": misses,
        "miss_reasons": dict(plays.filter(warm=False).order_by().values_list("miss_reason").annotate(n=Count("id"))),
        "warmed_by": dict(plays.filter(warm=True).order_by().values_list("warmed_by").annotate(n=Count("id"))),
        "viewers": [{"viewer": name, "plays": count, "warm": warm_count} for _, name, count, warm_count in
                    plays.order_by("viewer_id").values_list("viewer_id", "viewer__name")
                    .annotate(n=Count("id"), w=Count("id", filter=Q(warm=True)))],
    }


def summary_line(summary: dict) -> str:
    """"Opened in the last 7 days: 41 of 45 warm — 91 %" (the dashboard's headline)."""
    if not summary["plays"]:
        return f"Opened in the last {summary['days']} days: nothing yet"
    return (f"Opened in the last {summary['days']} days: {summary['warm']} of {summary['plays']} warm"
            f" — {round(100 * summary['hit_rate'])} %")


def play_totals() -> dict[bool, int]:
    """Plays recorded, by warm (for /metrics)."""
    counts = dict(Play.objects.order_by().values_list("warm").annotate(n=Count("id")))
    return {True: counts.get(True, 0), False: counts.get(False, 0)}
