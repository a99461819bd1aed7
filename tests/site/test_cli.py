"""`manage.py prefetch`: its interface is a contract other tools rely on."""

import json
from collections import Counter

import pytest

from prefetch.models import Run
from tests.helpers import command, json_addon, manage, migrated

pytestmark = pytest.mark.postgresql


def test_json_summary_on_stdout_and_exit_zero(peer, tmp_path):
    migrated(tmp_path)
    done = manage(
        "prefetch", "--addon", f"both={peer.url}", "--delay", "0", "--cache-validity", "0", "--movies-per-catalog", "3",
        "--series-per-catalog", "1", "--items-per-mixed-catalog", "2", "--json", data_dir=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)  # stdout holds the JSON object and nothing else
    assert summary["status"] == "completed"
    stats = summary["statistics"]
    for key in ("catalogs_processed", "pages_fetched", "movies_prefetched", "series_prefetched",
                "episodes_prefetched", "stream_requests", "stream_requests_ok", "stream_requests_failed",
                "already_prefetched"):
        assert isinstance(stats[key], int), key
    assert stats["series_prefetched"] >= 1
    catalog = summary["catalogs"][0]
    assert {"addon", "type", "id", "name", "prefetched", "failed", "already_prefetched", "pages", "stop_reason"} <= set(catalog)
    assert catalog["prefetched"] == 3 and catalog["stop_reason"] == "catalog limit reached"
    addon = summary["addons"][0]
    assert {"name", "requests", "ok", "failed", "latency_ms_p50", "latency_ms_p95"} <= set(addon)
    assert addon["requests"] == stats["stream_requests"]
    assert summary["timing"]["duration_s"] > 0
    assert "Run started" in done.stderr  # progress and logs go to stderr


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "args, message",
    [
        (["--addon", "player=http://127.0.0.1:1/manifest.json"], "expected ROLE=URL"),
        (["--addon", "both=ftp://example.org/manifest.json"], "http:// or https://"),
        (["--addon", "both=http://127.0.0.1:9/manifest.json"], "Could not fetch the manifest"),
        (["--delay", "soon"], "--delay"),
        (["--timeout", "-1"], "--timeout"),
        (["--movies-global-limit", "-5"], "--movies-global-limit"),
        # past their upper bound (tests/web/test_hardening.py has the bounds' other writers)
        (["--delay", "2d"], "--delay"),
        (["--delay", "1" + "0" * 400], "--delay"),
        (["--timeout", "1e308"], "--timeout"),
        (["--timeout", "25h"], "--timeout"),
        (["--max-execution-time", "2d"], "--max-execution-time"),
        (["--movies-global-limit", str(10**30)], "--movies-global-limit"),
        (["--concurrency", "65"], "--concurrency"),
        (["--verify", "10001"], "--verify"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_two(args, message):
    code, _, err = command("prefetch", *args)
    assert code == 2
    text = err.strip()
    assert message in text and "\n" not in text and "Traceback" not in text
    assert not Run.objects.exists()


@pytest.fixture
def not_an_addon():
    """A local HTTP server answering JSON that is not a manifest."""
    with json_addon(lambda path: {"hello": "world"}) as url:
        yield url


@pytest.mark.django_db(transaction=True)
def test_not_a_manifest_and_configuration_required_are_refused(make_peer, not_an_addon):
    needs_config = make_peer(PEER_CONFIG_REQUIRED=1)
    for url, message in [
        (needs_config.url, "configurationRequired"),
        (not_an_addon, "lacks"),
    ]:
        code, _, err = command("prefetch", "--addon", f"both={url}")
        assert code == 2
        assert message in err


@pytest.mark.django_db(transaction=True)
def test_secret_config_segment_never_reaches_the_output(make_peer):
    locked = make_peer(PEER_REQUIRE_TOKEN="s3cr3t-debrid-key")
    from urllib.parse import quote

    config = quote(json.dumps({"token": "s3cr3t-debrid-key"}, separators=(",", ":")), safe="")
    code, out, err = command(
        "prefetch", "--addon", f"both={locked.base}/{config}/manifest.json", "--delay", "0",
        "--movies-per-catalog", "2", "--series-per-catalog", "1", "--items-per-mixed-catalog", "1", "--json",
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["statistics"]["stream_requests_ok"] > 0  # the token was used...
    assert "s3cr3t" not in out and "s3cr3t" not in err  # ...and never shown


@pytest.mark.django_db(transaction=True)
def test_the_same_addon_twice_is_one_addon_with_both_roles(peer):
    peer.reset()
    code, out, err = command(
        "prefetch", "--addon", f"both={peer.base}/", "--addon", f"stream={peer.url}", "--addon", f"both={peer.url}",
        "--delay", "0", "--cache-validity", "0", "--movies-per-catalog", "5", "--series-per-catalog", "1",
        "--items-per-mixed-catalog", "2", "--verify", "0", "--json",
    )
    assert code == 0
    assert "warning" not in err  # one URL, merged: nothing to warn about
    summary = json.loads(out)
    streams = [(entry["type"], entry["id"]) for entry in peer.requests("stream")]
    assert len(streams) == len(set(streams)) == summary["statistics"]["stream_requests"]  # each stream once
    catalogs = [(entry["type"], entry["id"], entry["extra"]) for entry in peer.requests("catalog")]
    assert len(catalogs) == len(set(catalogs))  # each catalog walked once
    assert len(summary["addons"]) == 1


@pytest.mark.django_db(transaction=True)
def test_text_summary_shows_failures_and_a_run_that_warmed_nothing_exits_one(peer):
    metas = [{"id": f"test:{n}", "type": "movie", "name": f"Test {n}"} for n in range(7)]
    manifest = {"id": "org.test.prefixes", "name": "Test prefixes", "version": "1.0.0", "resources": ["catalog"],
                "types": ["movie"], "idPrefixes": ["test:"], "catalogs": [{"type": "movie", "id": "tests"}]}
    with json_addon(lambda path: manifest if path.endswith("/manifest.json") else {"metas": metas}) as url:
        code, text, _ = command("prefetch", "--addon", f"catalog={url}", "--addon", f"stream={peer.url}",
                                "--delay", "0", "--fallback-meta", "none")
    assert code == 1
    assert " failed in " in text and "Error: no item the catalogs listed could be warmed" in text
    assert "not prefetched: 7 unsupported, 0 without meta" in text
    assert "0 failed after retries" in text and "0 videos failed" in text
    assert Run.objects.get().status == "failed"


@pytest.mark.django_db(transaction=True)
def test_fallback_meta_option():
    code, _, err = command("prefetch", "--fallback-meta", "ftp://meta.example/manifest.json")
    assert code == 2 and "--fallback-meta" in err


# A few titles of each kind: a whole walk in a second or two.
SMALL_PEER = {"PEER_MOVIES": 5, "PEER_NEW_MOVIES": 0, "PEER_SERIES": 3, "PEER_MIXED": 3, "PEER_DUAL": 2,
              "PEER_OTHER": 2, "PEER_MAX_SEASONS": 1, "PEER_MAX_EPISODES": 3}


@pytest.mark.django_db(transaction=True)
def test_two_spellings_of_one_addon_are_both_used_with_a_warning(make_peer):
    small = make_peer(**SMALL_PEER)
    localhost = f"http://localhost:{small.port}/manifest.json"
    code, out, err = command(
        "prefetch", "--addon", f"both={small.url}", "--addon", f"stream={localhost}", "--delay", "0",
        "--cache-validity", "0", "--verify", "0", "--fallback-meta", "none", "--json",
    )
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert small.url in warnings[0] and localhost in warnings[0] and "org.peer.testaddon" in warnings[0]
    summary = json.loads(out)
    assert len(summary["addons"]) == 2  # warned, not merged: two configurations can be on purpose
    asked = Counter(entry["id"] for entry in small.requests("stream"))
    assert asked and set(asked.values()) == {2}  # every stream once from each spelling
    assert summary["statistics"]["stream_requests"] == sum(asked.values())


def test_two_configurations_of_one_addon_in_other_roles_are_not_the_same_addon():
    from addons.manifest import Manifest
    from prefetch.engine.plan import AddonSpec
    from prefetch.management.commands.prefetch import same_addon_warnings

    manifest = Manifest({"id": "org.x", "name": "X", "version": "1", "resources": ["catalog", "stream"],
                         "types": ["movie"], "catalogs": []})

    def spec(url, catalogs, streams):
        return AddonSpec(url=url, name="X", manifest=manifest, serves_catalogs=catalogs, serves_streams=streams)

    assert same_addon_warnings([spec("http://a/manifest.json", True, False), spec("http://b/manifest.json", False, True)]) == []
    (warning,) = same_addon_warnings([spec("http://a/k1/manifest.json", False, True),
                                      spec("http://b/k2/manifest.json", False, True)])
    assert "org.x" in warning and "k1" not in warning and "k2" not in warning  # redacted
