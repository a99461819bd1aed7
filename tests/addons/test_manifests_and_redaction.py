"""Pure logic: URL handling, encoding, redaction, durations, manifests, episode policy."""

import logging
import sys
from datetime import datetime, timezone

import pytest

from addons.manifest import AddonUrlError, CatalogExtra, Manifest, ManifestError, normalize_addon_url, resource_url
from addons.redaction import RedactingFilter, redact_url
from prefetch.engine import catalog_extra, encode_component
from prefetch.engine.durations import parse_duration
from prefetch.engine.episodes import Video, select_episodes, videos_from_meta
from prefetch.engine.plan import CatalogSpec


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("https://comet.example/", "https://comet.example/manifest.json"),
        ("https://comet.example/abc/configure", "https://comet.example/abc/manifest.json"),
        ("https://comet.example/abc/manifest.json/", "https://comet.example/abc/manifest.json"),
        ("https://comet.example/abc/stream/movie/tt1.json", "https://comet.example/abc/manifest.json"),
        (" http://10.0.0.2:7000/manifest.json?x=1 ", "http://10.0.0.2:7000/manifest.json?x=1"),
    ],
)
def test_normalize_addon_url(raw, expected):
    assert normalize_addon_url(raw) == expected


@pytest.mark.parametrize("raw", ["", "comet.example", "ftp://x/manifest.json", "javascript:alert(1)"])
def test_normalize_refuses_non_http(raw):
    with pytest.raises(AddonUrlError):
        normalize_addon_url(raw)


def test_resource_url_keeps_config_and_query():
    base = "https://h/%7B%22k%22%3A1%7D/manifest.json?x=1"
    assert resource_url(base, "stream", "movie", "tt1") == "https://h/%7B%22k%22%3A1%7D/stream/movie/tt1.json?x=1"


def test_extras_are_encoded_like_encode_uri_component():
    assert encode_component("tt1:2:3") == "tt1%3A2%3A3"
    assert encode_component("Comédie") == "Com%C3%A9die"
    catalog = CatalogSpec(None, "movie", "c", "C", (CatalogExtra("genre", True, ()), CatalogExtra("skip", False, ())),
                          {"genre": "Sci-Fi & Fantasy+"})
    assert catalog_extra(catalog, 0) == "genre=Sci-Fi%20%26%20Fantasy%2B"
    assert catalog_extra(catalog, 100) == "genre=Sci-Fi%20%26%20Fantasy%2B&skip=100"


@pytest.mark.parametrize(
    "url, secret",
    [
        ("https://comet.example/eyJkZWJyaWRBcGlLZXkiOiJBQkMxMjMifQ==/manifest.json", "eyJkZWJyaWRBcGlLZXkiOiJBQkMxMjMifQ"),
        ("https://aio.example/stremio/2f0b6e8a-1b7c-4a4e-9b1d-2c3d4e5f6a7b/abcDEF123/manifest.json", "2f0b6e8a"),
        ("https://user:pa55@host.example/manifest.json", "pa55"),
        ("https://host.example/manifest.json?apikey=123456", "123456"),
    ],
)
def test_redaction_hides_secrets_and_keeps_the_host(url, secret):
    redacted = redact_url(url)
    assert secret not in redacted
    assert "host.example" in redacted or "comet.example" in redacted or "aio.example" in redacted


@pytest.mark.parametrize(
    "url, shown",
    [
        # A secret may look like a route word: everything before the addon's routes is masked.
        ("https://h.example/lowsecretkey1234/manifest.json", "https://h.example/***/manifest.json"),
        ("https://h.example/stremio/stream/series/tt1:1:2.json", "https://h.example/***/stream/series/tt1:1:2.json"),
        ("https://h.example/a/b/c/catalog/movie/top.json", "https://h.example/***/catalog/movie/top.json"),
        ("https://c.example/playback/abc/def", "https://c.example/***"),  # no addon route: all of it
        ("https://v3-cinemeta.strem.io/manifest.json", "https://v3-cinemeta.strem.io/manifest.json"),  # bare host
        ("https://h.example/stream/movie/tt1.json", "https://h.example/stream/movie/tt1.json"),
        ("http://[::1]:7000/key/manifest.json", "http://[::1]:7000/***/manifest.json"),
    ],
)
def test_redaction_masks_the_whole_configuration_and_keeps_the_routes(url, shown):
    assert redact_url(url) == shown


def test_tokens_in_access_log_lines_are_redacted_even_with_gunicorns_handlers():
    import io

    access = logging.getLogger("uvicorn.access")
    saved = access.handlers, access.propagate
    stream = io.StringIO()
    access.handlers, access.propagate = [logging.StreamHandler(stream)], False  # what uvicorn_worker does
    try:
        access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.2:5123", "GET", "/api/job/status?token=abcd1234ef&x=1", "1.1", 401)
    finally:
        access.handlers, access.propagate = saved
    assert "abcd1234ef" not in stream.getvalue() and "/api/job/status?token=***&x=1" in stream.getvalue()


def test_logging_filter_redacts_urls_in_messages():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "fetching %s", ("https://h/SECRETTOKEN123456/manifest.json",), None)
    RedactingFilter().filter(record)
    assert "SECRETTOKEN" not in record.getMessage()


def test_logging_filter_redacts_urls_in_tracebacks():
    try:
        raise ValueError("cannot open https://h/SECRETTOKEN123456/manifest.json")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    RedactingFilter().filter(record)
    shown = logging.Formatter().format(record)
    assert "SECRETTOKEN" not in shown and "https://h/***/manifest.json" in shown and "ValueError" in shown


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


def manifest(**overrides):
    data = {"id": "x", "name": "X", "version": "1.0.0", "types": ["movie", "series"], "catalogs": [],
            "resources": ["catalog", {"name": "stream", "types": ["movie"], "idPrefixes": ["tt"]}, "meta"],
            "idPrefixes": ["kitsu:"]}
    data.update(overrides)
    return Manifest(data)


def test_manifest_resource_matching_follows_stremio_core():
    m = manifest()
    assert m.supports("stream", "movie", "tt1") and not m.supports("stream", "series", "tt1")
    assert not m.supports("stream", "movie", "kitsu:1")
    assert m.supports("meta", "series", "kitsu:1") and not m.supports("meta", "series", "tt1")  # manifest-level prefixes
    assert not m.supports("subtitles", "movie", "tt1")


def test_manifest_validation_and_legacy_extras():
    with pytest.raises(ManifestError):
        Manifest({"name": "no id"})
    with pytest.raises(ManifestError):
        Manifest(["not", "an", "object"])
    m = manifest(catalogs=[{"type": "movie", "id": "s", "extraRequired": ["search"], "extraSupported": ["search"]},
                           {"type": "movie", "id": "s"}])
    catalogs = m.catalogs()
    assert len(catalogs) == 1 and catalogs[0].search_only


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


def test_one_status_answer_is_shared_for_its_max_age_and_refreshed_on_demand():
    from prefetch.status_cache import SharedAnswer

    now, computed = [0.0], []
    answer = SharedAnswer(lambda: computed.append(now[0]) or {"n": len(computed)}, max_age_s=0.5, clock=lambda: now[0])
    assert answer.get() == answer.get() == {"n": 1}
    now[0] = 0.49
    assert answer.get() == {"n": 1}
    now[0] = 0.5
    assert answer.get() == {"n": 2}
    assert answer.refresh() == {"n": 3}  # a change made here is seen at once
    answer.forget()
    assert answer.get() == {"n": 4} and computed == [0.0, 0.5, 0.5, 0.5]
