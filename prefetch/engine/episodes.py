"""Which videos of a meta to warm: pure functions, no I/O."""

from dataclasses import dataclass
from datetime import datetime, timezone


@dataclass(frozen=True)
class Video:
    id: str
    label: str = ""  # "S01E02" for episodes
    season: int | None = None
    episode: int | None = None
    released: datetime | None = None


def parse_time(value) -> datetime | None:
    """An ISO 8601 time as addons and watch services write it (`…Z`), aware (UTC when it says no zone);
    None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _as_int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class MetaVideos:
    """What a meta says to request: `videos` (ids verbatim, de-duplicated), how many videos carry
    their own `streams` (players never ask addons for those), and whether the meta names no video
    at all (Stremio then plays the meta's own id, or `behaviorHints.defaultVideoId`)."""

    videos: list[Video]
    own_streams: int = 0


def meta_in(answer) -> dict | None:
    """The meta object of a meta request's answer (a FetchResult), or None when the answer failed or
    holds no meta with an id."""
    meta = answer.data.get("meta") if answer.ok and isinstance(answer.data, dict) else None
    return meta if isinstance(meta, dict) and meta.get("id") else None


def videos_from_meta(meta: dict, item_id: str) -> MetaVideos:
    """The videos a stream request is made for. A series is asked for by its own id only when the meta
    says so: `behaviorHints.defaultVideoId`, or no videos at all (as Stremio does)."""
    videos, seen, own_streams = [], set(), 0
    for raw in meta.get("videos") or []:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
            continue
        if raw["id"] in seen:
            continue
        seen.add(raw["id"])
        if raw.get("streams"):
            own_streams += 1
            continue
        season, episode = _as_int(raw.get("season")), _as_int(raw.get("episode"))
        label = f"S{season:02d}E{episode:02d}" if season is not None and episode is not None else ""
        videos.append(Video(raw["id"], label, season, episode, parse_time(raw.get("released"))))
    hints = meta.get("behaviorHints") if isinstance(meta.get("behaviorHints"), dict) else {}
    default_id = hints.get("defaultVideoId")
    if isinstance(default_id, str) and default_id and default_id not in seen:
        videos.append(Video(default_id))
    elif not seen:
        videos.append(Video(item_id))
    return MetaVideos(videos, own_streams)


def select_episodes(
    videos: list[Video], *, include_specials: bool, include_unreleased: bool, cap: int, now: datetime,
    released_since: datetime | None = None,
) -> list[Video]:
    """Apply the episode policy. With a cap, the newest episodes are kept and come first. With
    `released_since` ("new episodes only"), only episodes released since then (dated ones)."""
    chosen = [
        video
        for video in videos
        if (include_specials or video.season != 0)
        and (include_unreleased or video.released is None or video.released <= now)
        and (released_since is None or (video.released is not None and video.released >= released_since))
    ]
    if cap < 0 or cap >= len(chosen):
        return chosen
    oldest_first = sorted(
        chosen,
        key=lambda v: (
            v.season if v.season is not None else -1,
            v.episode if v.episode is not None else -1,
            v.released or datetime.min.replace(tzinfo=timezone.utc),
        ),
    )
    return list(reversed(oldest_first))[:cap]


def announced(videos: list[Video], *, include_specials: bool, now: datetime) -> list[Video]:
    """Episodes with a release time still to come (specials only if enabled): what release-day
    warming remembers, whatever the unreleased policy of the run."""
    return [
        video
        for video in videos
        if video.released is not None and video.released > now and (include_specials or video.season != 0)
    ]
