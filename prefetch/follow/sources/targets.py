"""What to keep warm for a viewer, from what Stremio and Trakt say they watch: pure rules over typed
answers (the clients and the series' episodes are injected), one target per video.

When both services name the same video, the one target says so: its source is "stremio+trakt" and
its reason joins each service's own ("continue watching, paused at 42 %; paused at 40 %")."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prefetch.engine.episodes import Video, select_episodes

from .service import ServiceError
from .stremio_account import LibraryItem, StremioAccount
from .trakt import Paused, Progress, Title, TraktSession, WatchedShow, episode_video_id

STREMIO, TRAKT = "stremio", "trakt"
SOURCES = (STREMIO, TRAKT)  # the order a shared target names them in
WINDOW_DAYS = 30
UPCOMING_HOURS = 48
MOVIE, SERIES = "movie", "series"

SeriesVideos = Callable[[str], list[Video]]


@dataclass(frozen=True)
class Target:
    type: str  # movie | series
    video_id: str
    source: str  # stremio | trakt | stremio+trakt
    reason: str


@dataclass(frozen=True)
class Upcoming:
    """An episode of a followed show airing soon: for release-day warming (warmed when it airs, not now)."""

    series_id: str
    video_id: str
    airs_at: datetime
    source: str = TRAKT


@dataclass
class Collected:
    targets: list[Target] = field(default_factory=list)
    upcoming: list[Upcoming] = field(default_factory=list)
    errors: dict[str, ServiceError] = field(default_factory=dict)  # source -> what failed (the rest still counts)


# --- episodes ------------------------------------------------------------------------------------

def series_of(video_id: str) -> str:
    """The series id of an episode id (`tt0944947:1:2` -> `tt0944947`); the id itself when it names none."""
    position = episode_position(video_id)
    return video_id.rsplit(":", 2)[0] if position else video_id


def episode_position(video_id: str) -> tuple[int, int] | None:
    """(season, episode) of a Stremio episode id `<series>:S:E`, None for any other id."""
    parts = video_id.split(":")
    if len(parts) >= 3 and parts[-1].isdigit() and parts[-2].isdigit():
        return int(parts[-2]), int(parts[-1])
    return None


def _watchable(videos: list[Video], now: datetime) -> list[Video]:
    """Aired, non-special episodes in season and episode order (the run's own episode rule: an
    episode without a release date counts as aired)."""
    aired = select_episodes(videos, include_specials=False, include_unreleased=False, cap=-1, now=now)
    return sorted((v for v in aired if v.season is not None and v.episode is not None),
                  key=lambda v: (v.season, v.episode))


def next_episodes(videos: list[Video], after_video_id: str, k: int, now: datetime) -> list[Video]:
    """The next `k` aired, non-special episodes after `after_video_id`, in season and episode order,
    crossing seasons. The position comes from the meta's video, else from the id (`…:S:E`)."""
    after = next((v for v in videos if v.id == after_video_id and v.season is not None and v.episode is not None),
                 None)
    position = (after.season, after.episode) if after else episode_position(after_video_id)
    if position is None or k <= 0:
        return []
    return [v for v in _watchable(videos, now) if (v.season, v.episode) > position][:k]


def first_episode(videos: list[Video], now: datetime) -> Video | None:
    watchable = _watchable(videos, now)
    return watchable[0] if watchable else None


def _ordinal(n: int) -> str:
    return {1: "next", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _following(videos: list[Video], after_video_id: str, label: str, k: int, now: datetime, source: str,
               start: int = 1) -> list[Target]:
    return [Target(SERIES, video.id, source, f"{_ordinal(n)} episode after {label}")
            for n, video in enumerate(next_episodes(videos, after_video_id, k, now), start)]


def _label(video_id: str) -> str:
    position = episode_position(video_id)
    return f"S{position[0]}E{position[1]}" if position else video_id


def _percent(value: float) -> str:
    return f"{round(value)} %"


def _within(moment: datetime | None, now: datetime, window_days: int) -> bool:
    return moment is not None and moment >= now - timedelta(days=window_days)


# --- Stremio -------------------------------------------------------------------------------------

def stremio_targets(items: list[LibraryItem], series_videos: SeriesVideos, now: datetime, k: int,
                    window_days: int = WINDOW_DAYS) -> list[Target]:
    """Library items kept (not removed, or temp: played without being added), movie or series, watched
    within the window. A series: the video being watched if it is under way, then the next `k` episodes;
    a movie under way: the movie."""
    targets = []
    for item in items:
        if (item.removed and not item.temp) or item.type not in (MOVIE, SERIES):
            continue
        if not _within(item.last_watched, now, window_days):
            continue
        paused = f"continue watching, paused at {_percent(100 * item.time_offset_ms / item.duration_ms)}" \
            if item.time_offset_ms > 0 and item.duration_ms > 0 else "continue watching"
        if item.type == MOVIE:
            if item.time_offset_ms > 0:
                targets.append(Target(MOVIE, item.id, STREMIO, paused))
            continue
        if not item.video_id:
            continue
        if item.time_offset_ms > 0:
            targets.append(Target(SERIES, item.video_id, STREMIO, paused))
        targets += _following(series_videos(series_of(item.video_id)), item.video_id, _label(item.video_id), k,
                              now, STREMIO)
    return targets


# --- Trakt ---------------------------------------------------------------------------------------

def trakt_paused_targets(paused: list[Paused], now: datetime, window_days: int = WINDOW_DAYS) -> list[Target]:
    """Each movie and episode paused on Trakt within the window."""
    targets = []
    for entry in paused:
        if entry.title.imdb is None or not _within(entry.paused_at, now, window_days):
            continue
        reason = f"paused at {_percent(entry.progress)}"
        if entry.episode is None:
            targets.append(Target(MOVIE, entry.title.imdb, TRAKT, reason))
        else:
            targets.append(Target(SERIES, episode_video_id(entry.title.imdb, entry.episode.season,
                                                            entry.episode.number), TRAKT, reason))
    return targets


def trakt_progress_targets(show: Title, progress: Progress, series_videos: SeriesVideos, now: datetime,
                           k: int) -> list[Target]:
    """The show's next episode to watch and the aired, non-special episodes after it: `k` in all."""
    if show.imdb is None or progress.next_episode is None or k <= 0:
        return []
    next_id = episode_video_id(show.imdb, progress.next_episode.season, progress.next_episode.number)
    after = progress.last_episode.label if progress.last_episode else None
    first = Target(SERIES, next_id, TRAKT, f"next episode after {after}" if after else "next episode to watch")
    following = _following(series_videos(show.imdb), next_id, after or progress.next_episode.label, k - 1, now,
                           TRAKT, start=2 if after else 1)
    return [first, *following]


def trakt_watchlist_targets(movies: list[Title], shows: list[Title], series_videos: SeriesVideos,
                            now: datetime) -> list[Target]:
    """Watchlist movies, and the first aired, non-special episode of each watchlist show."""
    targets = [Target(MOVIE, movie.imdb, TRAKT, "on the watchlist") for movie in movies if movie.imdb]
    for show in shows:
        first = first_episode(series_videos(show.imdb), now) if show.imdb else None
        if first:
            targets.append(Target(SERIES, first.id, TRAKT, "first episode, show on the watchlist"))
    return targets


def trakt_targets(session: TraktSession, series_videos: SeriesVideos, now: datetime, k: int,
                  window_days: int = WINDOW_DAYS) -> list[Target]:
    targets = trakt_paused_targets(session.playback(), now, window_days)
    for watched in session.watched_shows():
        if _recent_show(watched, now, window_days):
            targets += trakt_progress_targets(watched.show, session.show_progress(watched.show), series_videos,
                                              now, k)
    return targets + trakt_watchlist_targets(session.watchlist_movies(), session.watchlist_shows(), series_videos, now)


def _recent_show(watched: WatchedShow, now: datetime, window_days: int) -> bool:
    return watched.show.imdb is not None and _within(watched.last_watched_at, now, window_days)


def trakt_upcoming(session: TraktSession, now: datetime, hours: int = UPCOMING_HOURS) -> list[Upcoming]:
    """Episodes of followed shows airing in the next `hours`, soonest first."""
    end = now + timedelta(hours=hours)
    days = (end.date() - now.date()).days + 1  # whole UTC days covering [now, end)
    return sorted((Upcoming(airing.show.imdb, episode_video_id(airing.show.imdb, airing.episode.season,
                                                                airing.episode.number), airing.first_aired)
                   for airing in session.calendar_shows(now.date(), days)
                   if airing.show.imdb and airing.episode.season > 0 and now <= airing.first_aired < end),
                  key=lambda upcoming: (upcoming.airs_at, upcoming.video_id))


# --- the union -----------------------------------------------------------------------------------

def merge(targets: list[Target]) -> list[Target]:
    """One target per video, in the order first named; a video named more than once keeps every source
    (in SOURCES order) and every distinct reason."""
    grouped: dict[str, list[Target]] = {}
    for target in targets:
        grouped.setdefault(target.video_id, []).append(target)
    merged = []
    for video_id, group in grouped.items():
        named = {t.source for t in group}
        reasons = list(dict.fromkeys(t.reason for t in group))
        merged.append(Target(group[0].type, video_id, "+".join(s for s in SOURCES if s in named), "; ".join(reasons)))
    return merged


def collect_targets(*, stremio: tuple[StremioAccount, str] | None, trakt: TraktSession | None,
                    series_videos: SeriesVideos, now: datetime, k: int,
                    window_days: int = WINDOW_DAYS) -> Collected:
    """Everything to keep warm for one viewer. A source that fails is reported in `errors` and the
    other still counts."""
    collected, named = Collected(), []
    if stremio is not None:
        account, auth_key = stremio
        try:
            named += stremio_targets(account.library(auth_key), series_videos, now, k, window_days)
        except ServiceError as error:
            collected.errors[STREMIO] = error
    if trakt is not None:
        try:
            named += trakt_targets(trakt, series_videos, now, k, window_days)
            collected.upcoming = trakt_upcoming(trakt, now)
        except ServiceError as error:
            collected.errors[TRAKT] = error
    collected.targets = merge(named)
    return collected
