"""What the engine remembers between runs: one outcome per (addon, video) stream request, kept by a
record store. The store is a protocol so the engine stays plain Python; the database implementation
is `prefetch.record_store.DatabaseRecordStore`."""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass
class StreamOutcome:
    addon_key: str
    addon_name: str
    content_type: str
    video_id: str
    title: str
    at: datetime
    ok: bool
    status: int | None
    error: str
    stream_count: int | None
    latency_ms: float
    expires_at: datetime | None = None  # from the answer's Cache-Control max-age (see freshness.py)


@dataclass(frozen=True)
class EarlierAttempt:
    """A stream request this run made before it was resumed on another worker."""

    ok: bool  # answered (a list, or 404: nothing there)
    not_found: bool = False
    stream_count: int | None = None


@dataclass
class Announcement:
    """An episode announced with a release time still to come (release-day warming warms it later)."""

    content_type: str
    series_id: str
    series_name: str
    video_id: str
    label: str
    released_at: datetime


class RecordStore(Protocol):
    def valid_keys(
        self, addon_keys: list[str], content_type: str, video_ids: list[str], validity_s: int, auto: bool = False
    ) -> set:
        """(addon_key, video_id) pairs that succeeded within the validity window (-1: ever; 0: never).
        With `auto`, a record whose answer said when it expires is valid until then instead."""

    def attempted_since(
        self, addon_keys: list[str], content_type: str, video_ids: list[str], since: datetime
    ) -> dict[tuple[str, str], EarlierAttempt]:
        """(addon_key, video_id) -> what it got, for pairs last attempted at or after `since`."""

    def mark_looked_cached(self, addon_key: str, since: datetime, threshold_ms: float) -> None:
        """For the addon's records answered successfully since `since`: whether the answer took at most
        `threshold_ms` (about as fast as a warm answer; see verify.py)."""

    def first_answer_times(self, addon_key: str, videos: list[tuple[str, str]]) -> list[float]:
        """The first answer time recorded for each of `videos` ((type, video id)) at the addon, where
        one is (the answer before any run had warmed the video)."""

    def save(self, outcomes: list[StreamOutcome]) -> None:
        """Upsert: a success refreshes everything, a failure never erases the last success."""

    def remember_announced(self, announcements: list[Announcement]) -> None:
        """Upsert by (type, video id): the release time may move; a new time is warmed again."""
