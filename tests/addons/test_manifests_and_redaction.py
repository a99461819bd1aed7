"""Addon URLs (normalised, resources built on them), redaction of their secrets in text and logs, and
manifests: what they declare and what is refused."""

import logging
import sys

import pytest

from addons.manifest import AddonUrlError, Manifest, ManifestError, normalize_addon_url, resource_url
from addons.redaction import RedactingFilter, redact_url


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
