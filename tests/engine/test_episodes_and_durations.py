"""The engine's plain rules on their own: catalog extras encoded as Stremio encodes them, durations as
the settings and the command line write them, and which episodes of a series are warmed."""

from datetime import datetime, timezone

import pytest

from addons.manifest import CatalogExtra
from prefetch.engine import catalog_extra, encode_component
from prefetch.engine.durations import parse_duration
from prefetch.engine.episodes import Video, select_episodes, videos_from_meta
from prefetch.engine.plan import CatalogSpec


def test_extras_are_encoded_like_encode_uri_component():
    assert encode_component("tt1:2:3") == "tt1%3A2%3A3"
    assert encode_component("Comédie") == "Com%C3%A9die"
    catalog = CatalogSpec(None, "movie", "c", "C", (CatalogExtra("genre", True, ()), CatalogExtra("skip", False, ())),
                          {"genre": "Sci-Fi & Fantasy+"})
    assert catalog_extra(catalog, 0) == "genre=Sci-Fi%20%26%20Fantasy%2B"
    assert catalog_extra(catalog, 100) == "genre=Sci-Fi%20%26%20Fantasy%2B&skip=100"


@pytest.mark.parametrize(
    "text, seconds",
    [("0", 0), ("-1", -1), ("500ms", 0.5), ("2s", 2), ("90m", 5400), ("12h", 43200), ("7d", 604800), ("1w", 604800), ("1.5", 1.5)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-2", "5y", "1 m s"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError):
        parse_duration(text)


NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)


def test_episode_policy():
    meta = {"videos": [
        {"id": "a:0:1", "season": 0, "episode": 1, "released": "2020-01-01T00:00:00Z"},
        {"id": "a:1:1", "season": 1, "episode": 1, "released": "2020-01-02T00:00:00Z"},
        {"id": "a:1:2", "season": 1, "episode": 2, "released": "2020-01-09T00:00:00Z"},
        {"id": "a:2:1", "season": 2, "episode": 1, "released": "2021-01-01T00:00:00Z"},
        {"id": "a:2:2", "season": 2, "episode": 2, "released": "2099-01-01T00:00:00Z"},
        {"id": "a:2:2", "season": 2, "episode": 2},
        {"id": "own-streams", "streams": [{"url": "x"}]},
    ]}
    listed = videos_from_meta(meta, "a")
    videos = listed.videos
    assert [v.id for v in videos] == ["a:0:1", "a:1:1", "a:1:2", "a:2:1", "a:2:2"] and listed.own_streams == 1
    default = select_episodes(videos, include_specials=False, include_unreleased=False, cap=-1, now=NOW)
    assert [v.id for v in default] == ["a:1:1", "a:1:2", "a:2:1"]
    capped = select_episodes(videos, include_specials=True, include_unreleased=True, cap=2, now=NOW)
    assert [v.id for v in capped] == ["a:2:2", "a:2:1"]  # newest first
    assert videos[1].label == "S01E01"
    assert select_episodes([Video("x")], include_specials=False, include_unreleased=False, cap=0, now=NOW) == []


def test_a_series_is_asked_for_by_its_own_id_only_when_its_meta_says_so():
    def ids(meta):
        return [video.id for video in videos_from_meta(meta, "s").videos]

    assert ids({}) == ids({"videos": []}) == ["s"]  # no videos at all: Stremio plays the meta's id
    assert ids({"videos": [], "behaviorHints": {"defaultVideoId": "s:main"}}) == ["s:main"]
    assert ids({"videos": [{"id": "s:1:1"}], "behaviorHints": {"defaultVideoId": "s:1:1"}}) == ["s:1:1"]
    own_streams_only = videos_from_meta({"videos": [{"id": "s:1:1", "streams": [{"url": "x"}]}]}, "s")
    assert (own_streams_only.videos, own_streams_only.own_streams) == ([], 1)  # nothing to warm, not the series id
