"""The engine's record store on the database: reads and writes the prefetch records in batches."""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from functools import reduce
from operator import or_

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from addons.manifest import strip_nul
from prefetch.engine.records import Announcement, EarlierAttempt, StreamOutcome
from prefetch.metric_totals import add_stream_outcomes
from prefetch.models import PrefetchRecord, UpcomingRelease

LOOKUP_CHUNK = 400  # keeps IN (...) lists well under SQLite's variable limit


def warm_condition(validity_s: int, auto: bool, at: datetime) -> tuple[str, list]:
    """SQL that holds for a record warm at `at`, the one rule of what a run skips: it succeeded
    within the validity window (-1: ever; 0: never); with `auto`, one whose answer gave an expiry is
    warm until then, whatever the window. Never NULL, so it can be negated. `warm_until` says the
    same of one record."""
    adapt = connection.ops.adapt_datetimefield_value
    window, params = "1 = 1", []  # -1: ever
    if validity_s == 0:
        window = "1 = 0"
    elif validity_s > 0:
        window, params = "last_success > %s", [adapt(at - timedelta(seconds=validity_s))]
    if auto:
        window = f"((expires_at IS NOT NULL AND expires_at > %s) OR (expires_at IS NULL AND {window}))"
        params = [adapt(at), *params]
    return f"(last_success IS NOT NULL AND {window})", params


WARM_FOREVER = datetime.max.replace(tzinfo=dt_timezone.utc)


def warm_until(record: PrefetchRecord, validity_s: int, auto: bool) -> datetime | None:
    """Until when `record` is warm (`warm_condition` at an earlier time holds): WARM_FOREVER when it
    does not expire, None when it never was (no success, or a validity of 0)."""
    if record.last_success is None:
        return None
    if auto and record.expires_at is not None:
        return record.expires_at
    if validity_s < 0:
        return WARM_FOREVER
    return record.last_success + timedelta(seconds=validity_s) if validity_s else None


def warm_now(validity_s: int, auto: bool, within_s: int) -> dict:
    """What is warm now: videos and stream addons, and the videos one of whose warm answers stops
    being warm within `within_s` seconds."""
    table = connection.ops.quote_name(PrefetchRecord._meta.db_table)
    now = timezone.now()
    warm, params = warm_condition(validity_s, auto, now)
    later, later_params = warm_condition(validity_s, auto, now + timedelta(seconds=within_s))
    videos = f"SELECT DISTINCT content_type, video_id FROM {table} WHERE {warm}"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({videos}) AS warm_videos", params)
        (video_count,) = cursor.fetchone()
        cursor.execute(f"SELECT COUNT(DISTINCT addon_key) FROM {table} WHERE {warm}", params)
        (addon_count,) = cursor.fetchone()
        cursor.execute(f"SELECT COUNT(*) FROM ({videos} AND NOT {later}) AS expiring_videos", [*params, *later_params])
        (expiring,) = cursor.fetchone()
    return {"videos": video_count, "addons": addon_count, "expiring": expiring}


class DatabaseRecordStore:
    def valid_keys(
        self, addon_keys: list[str], content_type: str, video_ids: list[str], validity_s: int, auto: bool = False
    ) -> set:
        """(addon_key, video_id) pairs that are warm now (`warm_condition`).

        Raw SQL: this runs once per item, and building the ORM query cost 35x the query itself
        (0.5 ms against 15 us on SQLite), CPU time that held the GIL against the engine's event loop."""
        if (validity_s == 0 and not auto) or not addon_keys or not video_ids:
            return set()
        table = connection.ops.quote_name(PrefetchRecord._meta.db_table)
        warm, warm_params = warm_condition(validity_s, auto, timezone.now())
        condition = f"content_type = %s AND {warm}"
        params: list = [content_type, *warm_params]
        found = set()
        with connection.cursor() as cursor:
            for start in range(0, len(video_ids), LOOKUP_CHUNK):
                chunk = video_ids[start : start + LOOKUP_CHUNK]
                cursor.execute(
                    f"SELECT addon_key, video_id FROM {table} WHERE {condition}"
                    f" AND addon_key IN ({', '.join(['%s'] * len(addon_keys))})"
                    f" AND video_id IN ({', '.join(['%s'] * len(chunk))})",
                    [*params, *addon_keys, *chunk],
                )
                found.update(cursor.fetchall())
        return found

    def attempted_since(
        self, addon_keys: list[str], content_type: str, video_ids: list[str], since: datetime
    ) -> dict[tuple[str, str], EarlierAttempt]:
        found = {}
        base = Q(addon_key__in=addon_keys, content_type=content_type, last_attempt__gte=since)
        for start in range(0, len(video_ids), LOOKUP_CHUNK):
            chunk = video_ids[start : start + LOOKUP_CHUNK]
            rows = PrefetchRecord.objects.filter(base, video_id__in=chunk)
            for key, video_id, attempt, success, status, count in rows.values_list(
                "addon_key", "video_id", "last_attempt", "last_success", "last_status", "stream_count"
            ):
                found[(key, video_id)] = EarlierAttempt(success == attempt, success == attempt and status == 404, count)
        return found

    def mark_looked_cached(self, addon_key: str, since: datetime, threshold_ms: float) -> None:
        answered = PrefetchRecord.objects.filter(addon_key=addon_key, last_attempt__gte=since, last_error="",
                                                 latency_ms__isnull=False)
        answered.filter(latency_ms__lte=threshold_ms).update(looked_cached=True)
        answered.filter(latency_ms__gt=threshold_ms).update(looked_cached=False)

    def first_answer_times(self, addon_key: str, videos: list[tuple[str, str]]) -> list[float]:
        if not videos:
            return []
        wanted = reduce(or_, (Q(content_type=content_type, video_id=video_id) for content_type, video_id in videos))
        return list(PrefetchRecord.objects.filter(wanted, addon_key=addon_key, first_latency_ms__isnull=False)
                    .values_list("first_latency_ms", flat=True))

    @transaction.atomic  # records and metric totals together: a save that is retried never counts twice
    def save(self, outcomes: list[StreamOutcome]) -> None:
        """Raw SQL (INSERT ... ON CONFLICT reads the same on SQLite and PostgreSQL): bulk_create built
        a model and compiled every row, 0.14 ms each, a third of a fast addon's whole request time,
        spent on the database thread while holding the GIL against the engine's event loop."""
        add_stream_outcomes(outcomes)
        successes = [self._row(o) for o in outcomes if o.ok]
        failures = [self._row(o) for o in outcomes if not o.ok]
        with connection.cursor() as cursor:
            if successes:
                cursor.executemany(_upsert_sql(_SUCCESS_UPDATES), successes)
            if failures:
                cursor.executemany(_upsert_sql(_FAILURE_UPDATES), failures)

    @transaction.atomic
    def remember_announced(self, announcements: list[Announcement]) -> None:
        """New episodes are added; a release time that moved is taken and warmed again at the new one."""
        latest = {(a.content_type, a.video_id): a for a in announcements}
        known = {
            (row.content_type, row.video_id): row
            for content_type in {key[0] for key in latest}
            for row in UpcomingRelease.objects.filter(
                content_type=content_type, video_id__in=[v for t, v in latest if t == content_type]
            )
        }
        for key, announcement in latest.items():
            row = known.get(key)
            names = {"series_name": strip_nul(announcement.series_name)[:400], "label": strip_nul(announcement.label)[:40]}
            if row is None:
                UpcomingRelease.objects.create(
                    content_type=announcement.content_type, series_id=announcement.series_id,
                    video_id=announcement.video_id, released_at=announcement.released_at, **names,
                )
            elif row.released_at != announcement.released_at:  # moved: warmed (again) at the new time
                UpcomingRelease.objects.filter(pk=row.pk).update(
                    released_at=announcement.released_at, warmed_at=None, **names
                )

    @staticmethod
    def _row(outcome: StreamOutcome) -> tuple:
        """Values in _COLUMNS order."""
        at = connection.ops.adapt_datetimefield_value(outcome.at)
        return (
            # names, titles and errors come from addons: NUL stripped (PostgreSQL text cannot hold it);
            # ids and types holding one never get here (manifest.id_too_long refuses them)
            outcome.addon_key, strip_nul(outcome.addon_name)[:200], outcome.content_type, outcome.video_id,
            strip_nul(outcome.title)[:400], at, at if outcome.ok else None, outcome.status,
            strip_nul(outcome.error or "")[:300], outcome.stream_count,
            round(outcome.latency_ms, 2),
            round(outcome.latency_ms, 2) if outcome.ok else None,  # first_latency_ms: kept once set (see _upsert_sql)
            None,  # looked_cached: judged after the run, against the verified warm time
            connection.ops.adapt_datetimefield_value(outcome.expires_at),
        )


_COLUMNS = ("addon_key", "addon_name", "content_type", "video_id", "title", "last_attempt", "last_success",
            "last_status", "last_error", "stream_count", "latency_ms", "first_latency_ms", "looked_cached", "expires_at")
_FAILURE_UPDATES = ("addon_name", "title", "last_attempt", "last_status", "last_error", "latency_ms", "looked_cached")
_SUCCESS_UPDATES = (*_FAILURE_UPDATES, "last_success", "stream_count", "expires_at", "first_latency_ms")
# The first answer recorded for a video is the one no run had warmed: later answers never replace it.
_KEPT_ONCE_SET = ("first_latency_ms",)


def _upsert_sql(updates: tuple[str, ...]) -> str:
    table = connection.ops.quote_name(PrefetchRecord._meta.db_table)

    def assignment(column: str) -> str:
        if column in _KEPT_ONCE_SET:
            return f"{column} = COALESCE({table}.{column}, excluded.{column})"
        return f"{column} = excluded.{column}"

    return (
        f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
        f" ON CONFLICT (addon_key, content_type, video_id)"
        f" DO UPDATE SET {', '.join(assignment(column) for column in updates)}"
    )
