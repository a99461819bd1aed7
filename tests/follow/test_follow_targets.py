"""The rules that turn what Stremio and Trakt say into targets to warm: hand-built answers, a fixed
now, no network (the same rules run against the stand-in in test_follow_sources.py)."""

from datetime import datetime, timedelta, timezone

from prefetch.engine.episodes import Video
from prefetch.follow.sources.service import SIGNED_OUT, ServiceError
from prefetch.follow.sources.stremio_account import LibraryItem, SignedIn
from prefetch.follow.sources.targets import (
    Target,
    Upcoming,
    collect_targets,
    merge,
    next_episodes,
    series_of,
    stremio_targets,
    trakt_upcoming,
)
from prefetch.follow.sources.trakt import (
    Airing,
    DeviceCode,
    Episode,
    Paused,
    Progress,
    Title,
    TraktTokens,
    WatchedShow,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
AIRED = NOW - timedelta(days=400)
SHOW = "tt0000001"


def episode(season: int, number: int, released: datetime | None = AIRED, series: str = SHOW) -> Video:
    return Video(f"{series}:{season}:{number}", f"S{season:02d}E{number:02d}", season, number, released)


# Listed out of order, with specials and an unaired finale, as metas can be.
SHOW_VIDEOS = [
    episode(2, 1), episode(1, 3), episode(0, 1), episode(1, 1), episode(1, 2), episode(2, 2, released=None),
    episode(0, 2), episode(2, 3, released=NOW + timedelta(days=3)),
]


def series_videos(series_id: str) -> list[Video]:
    return SHOW_VIDEOS if series_id == SHOW else []


def ids(videos) -> list[str]:
    return [video.id for video in videos]


def test_next_episodes_cross_seasons_in_order_without_specials_or_unaired_ones():
    assert ids(next_episodes(SHOW_VIDEOS, f"{SHOW}:1:2", 2, NOW)) == [f"{SHOW}:1:3", f"{SHOW}:2:1"]
    # an episode with no release date counts as aired (as in a run); the dated future one does not
    assert ids(next_episodes(SHOW_VIDEOS, f"{SHOW}:1:3", 5, NOW)) == [f"{SHOW}:2:1", f"{SHOW}:2:2"]
    assert ids(next_episodes(SHOW_VIDEOS, f"{SHOW}:2:2", 2, NOW)) == []
    # from a special, the season's own episodes follow
    assert ids(next_episodes(SHOW_VIDEOS, f"{SHOW}:0:2", 1, NOW)) == [f"{SHOW}:1:1"]
    # a video the meta does not list: its position comes from the id
    assert ids(next_episodes(SHOW_VIDEOS, f"{SHOW}:1:9", 1, NOW)) == [f"{SHOW}:2:1"]
    assert next_episodes(SHOW_VIDEOS, f"{SHOW}:1:1", 0, NOW) == []
    assert series_of(f"{SHOW}:1:2") == SHOW and series_of("tt0000009") == "tt0000009"


def item(id_: str, type_: str, *, video_id=None, progress=0.0, removed=False, temp=False,
         days_ago: float = 1) -> LibraryItem:
    return LibraryItem(id_, type_, id_, removed, temp, NOW - timedelta(days=days_ago),
                       int(2_700_000 * progress), 2_700_000, video_id)


def test_stremio_keeps_what_is_under_way_in_the_window_and_the_episodes_after_it():
    library = [
        item(SHOW, "series", video_id=f"{SHOW}:1:3", progress=0.42),
        item("tt0000002", "movie", progress=0.3),
        item("tt0000003", "movie", progress=0),  # not started: nothing to continue
        item("tt0000004", "movie", progress=0.5, removed=True),  # removed from the library
        item("tt0000005", "movie", progress=0.5, removed=True, temp=True),  # played without adding: kept
        item("tt0000006", "movie", progress=0.5, days_ago=31),  # out of the window
        item("tt0000007", "other", progress=0.5),
    ]
    assert stremio_targets(library, series_videos, NOW, k=2) == [
        Target("series", f"{SHOW}:1:3", "stremio", "continue watching, paused at 42 %"),
        Target("series", f"{SHOW}:2:1", "stremio", "next episode after S1E3"),
        Target("series", f"{SHOW}:2:2", "stremio", "2nd episode after S1E3"),
        Target("movie", "tt0000002", "stremio", "continue watching, paused at 30 %"),
        Target("movie", "tt0000005", "stremio", "continue watching, paused at 50 %"),
    ]


def test_stremio_series_finished_episode_warms_only_the_ones_after_it():
    library = [item(SHOW, "series", video_id=f"{SHOW}:1:2", progress=0)]
    assert stremio_targets(library, series_videos, NOW, k=1) == [
        Target("series", f"{SHOW}:1:3", "stremio", "next episode after S1E2")]
    assert stremio_targets(library, series_videos, NOW, k=1, window_days=0) == []


class TraktAnswers:
    """A Trakt session's answers, hand-built (the real client is tested against the stand-in)."""

    def __init__(self, *, playback=(), watched=(), progress=None, movies=(), shows=(), calendar=(), failure=None):
        self.answers = {"playback": list(playback), "watched_shows": list(watched), "watchlist_movies": list(movies),
                        "watchlist_shows": list(shows), "calendar_shows": list(calendar)}
        self.progress = progress or {}
        self.failure = failure
        self.calendar_asked = None

    def __getattr__(self, name):
        def answer(*args):
            if self.failure:
                raise self.failure
            if name == "calendar_shows":
                self.calendar_asked = args
            return self.answers[name]
        return answer

    def show_progress(self, show: Title) -> Progress:
        return self.progress[show.imdb]


def title(imdb: str | None) -> Title:
    return Title(imdb or "no imdb", imdb, 1)


def test_trakt_paused_next_episodes_and_watchlist():
    session = TraktAnswers(
        playback=[Paused(title(SHOW), Episode(1, 1), 37.5, NOW - timedelta(days=2)),
                  Paused(title("tt0000010"), None, 61.0, NOW - timedelta(days=3)),
                  Paused(title("tt0000011"), None, 20.0, NOW - timedelta(days=40))],  # out of the window
        watched=[WatchedShow(title(SHOW), NOW - timedelta(days=1)),
                 WatchedShow(title("tt0000020"), NOW - timedelta(days=45)),  # out of the window
                 WatchedShow(title(None), NOW)],  # no IMDb id: no Stremio id to warm
        progress={SHOW: Progress(Episode(1, 2), Episode(1, 1))},
        movies=[title("tt0000012"), title(None)],
        shows=[title(SHOW)],
    )
    collected = collect_targets(stremio=None, trakt=session, series_videos=series_videos, now=NOW, k=3)
    assert collected.errors == {}
    assert collected.targets == [
        Target("series", f"{SHOW}:1:1", "trakt", "paused at 38 %; first episode, show on the watchlist"),
        Target("movie", "tt0000010", "trakt", "paused at 61 %"),
        Target("series", f"{SHOW}:1:2", "trakt", "next episode after S1E1"),
        Target("series", f"{SHOW}:1:3", "trakt", "2nd episode after S1E1"),
        Target("series", f"{SHOW}:2:1", "trakt", "3rd episode after S1E1"),
        Target("movie", "tt0000012", "trakt", "on the watchlist"),
    ]


def test_trakt_show_fully_watched_has_no_next_episode():
    session = TraktAnswers(watched=[WatchedShow(title(SHOW), NOW)], progress={SHOW: Progress(None, Episode(2, 2))})
    assert collect_targets(stremio=None, trakt=session, series_videos=series_videos, now=NOW, k=2).targets == []


def test_a_video_named_by_both_services_is_one_target_naming_both():
    stremio = [Target("series", "tt1:1:2", "stremio", "next episode after S1E1"),
               Target("movie", "tt2", "stremio", "continue watching, paused at 40 %")]
    trakt = [Target("series", "tt1:1:2", "trakt", "next episode after S1E1"),
             Target("movie", "tt2", "trakt", "paused at 41 %"), Target("movie", "tt3", "trakt", "on the watchlist")]
    assert merge(trakt[:1] + stremio + trakt[1:]) == [
        Target("series", "tt1:1:2", "stremio+trakt", "next episode after S1E1"),
        Target("movie", "tt2", "stremio+trakt", "continue watching, paused at 40 %; paused at 41 %"),
        Target("movie", "tt3", "trakt", "on the watchlist"),
    ]


class Library:
    def __init__(self, items=(), failure=None):
        self.items, self.failure, self.keys = list(items), failure, []

    def library(self, auth_key):
        self.keys.append(auth_key)
        if self.failure:
            raise self.failure
        return self.items


def test_one_source_failing_keeps_the_other_ones_targets():
    refused = ServiceError("Trakt", "token refused — connect again", SIGNED_OUT, 401)
    account = Library([item("tt0000002", "movie", progress=0.3)])
    collected = collect_targets(stremio=(account, "key"), trakt=TraktAnswers(failure=refused),
                                series_videos=series_videos, now=NOW, k=2)
    assert account.keys == ["key"]
    assert collected.targets == [Target("movie", "tt0000002", "stremio", "continue watching, paused at 30 %")]
    assert collected.errors == {"trakt": refused} and collected.upcoming == []

    gone = ServiceError("Stremio", "signed out: sign in again", SIGNED_OUT)
    collected = collect_targets(stremio=(Library(failure=gone), "key"),
                                trakt=TraktAnswers(movies=[title("tt0000012")]), series_videos=series_videos,
                                now=NOW, k=2)
    assert collected.targets == [Target("movie", "tt0000012", "trakt", "on the watchlist")]
    assert collected.errors == {"stremio": gone}


def test_upcoming_is_the_next_48_hours_of_followed_shows():
    def airing(hours: float, season: int = 1, number: int = 1):
        return Airing(title(SHOW), Episode(season, number), NOW + timedelta(hours=hours))

    session = TraktAnswers(calendar=[airing(47, 1, 5), airing(-1, 1, 1), airing(2, 1, 2), airing(49, 1, 6),
                                     airing(3, 0, 3)])
    assert trakt_upcoming(session, NOW) == [Upcoming(SHOW, f"{SHOW}:1:2", NOW + timedelta(hours=2)),
                                            Upcoming(SHOW, f"{SHOW}:1:5", NOW + timedelta(hours=47))]
    assert session.calendar_asked == (NOW.date(), 3)  # 12:00 + 48 h ends two days later: three UTC days


def test_secrets_stay_out_of_reprs():
    shown = repr([TraktTokens("access-secret", "refresh-secret", 1.0),
                  DeviceCode("device-secret", "ABCD", "https://trakt.tv/activate", 600, 5),
                  SignedIn("auth-key-secret", "viewer@example.com")])
    assert "secret" not in shown and "ABCD" in shown and "viewer@example.com" in shown
