"""Hostile input, second pass: malformed URLs, NUL characters, unbounded numbers and
durations, and command-line bad input are a 400 naming the field (or one line and exit 2 on the
command line), never a 500 or a traceback. Database-facing: run on PostgreSQL too (tests/run.sh)."""

import pytest

from tests.helpers import command, free_port, manage, refused

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]


# --- malformed URLs -----------------------------------------------------------------------------------
MALFORMED_URLS = ["http://[::1", "http://[::1/manifest.json", "http://a:99999/manifest.json", "http://a:x/"]


@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_a_malformed_addon_url_is_a_400_naming_the_field(api, url):
    refused(api.post("/api/addon/manifest", {"url": url}, format="json"), "url")
    refused(api.post("/api/addons", {"url": url}, format="json"), "url")


@pytest.mark.parametrize("field", ["fallback_meta_url", "proxy_url"])
@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_a_malformed_fallback_or_proxy_url_is_a_400_naming_the_field(api, field, url):
    refused(api.patch("/api/config", {field: url}, format="json"), field)


# --- upper bounds of number and duration settings -----------------------------------------------------
# (field, the largest value taken, one past it): delays and timeouts at most a day.
BOUNDS = [
    ("delay_s", 86400, 86400.5),
    ("request_timeout_s", 86400, 86401),
    ("max_execution_time_s", 86400, 86401),
    ("release_delay_s", 86400, 86401),
    ("cache_validity_s", 365 * 86400, 365 * 86400 + 1),
    ("movies_global_limit", 1_000_000, 1_000_001),
    ("episodes_per_series", 1_000_000, 1_000_001),
    ("concurrency", 64, 65),
    ("retries", 10, 11),
    ("max_pages_per_catalog", 10_000, 10_001),
    ("cache_requests_per_item", 100, 101),
    ("cache_requests_global", 1_000_000, 1_000_001),
    ("cached_streams_threshold", 1000, 1001),
    ("verify_sample_size", 10_000, 10_001),
    ("run_retention_days", 3650, 3651),
]


@pytest.mark.parametrize("field, largest, too_big", BOUNDS)
def test_settings_past_their_bound_are_a_400_naming_the_field_and_the_bound_is_taken(api, field, largest, too_big):
    from prefetch.models import PrefetchSettings

    message = refused(api.patch("/api/config", {field: too_big}, format="json"), field)
    assert "or less" in " ".join(message)
    assert getattr(PrefetchSettings.load(), field) != too_big
    response = api.patch("/api/config", {field: largest}, format="json")
    assert response.status_code == 200, response.content[:300]
    assert getattr(PrefetchSettings.load(), field) == largest


@pytest.mark.parametrize("field, value", [("delay_s", 10**30), ("delay_s", 1e308), ("request_timeout_s", 1e308)])
def test_huge_delays_and_timeouts_are_a_400_naming_the_field(api, field, value):
    refused(api.patch("/api/config", {field: value}, format="json"), field)


def export_with(tmp_path, **settings) -> str:
    import json
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("export_config", stdout=out)
    data = json.loads(out.getvalue())
    data["settings"].update(settings)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize("field, value", [("delay_s", 1e308), ("request_timeout_s", 10**30), ("delay_s", float("nan")),
                                          ("retries", 11)])
def test_import_config_refuses_values_past_a_bound_naming_the_field(tmp_path, field, value):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from prefetch.models import PrefetchSettings

    with pytest.raises(CommandError, match=field) as error:
        call_command("import_config", export_with(tmp_path, **{field: value}), stdout=StringIO(), stderr=StringIO())
    assert error.value.returncode == 2
    assert PrefetchSettings.load().delay_s == 2.0 and PrefetchSettings.load().retries == 2


def test_the_settings_page_refuses_a_delay_past_a_day_and_keeps_the_saved_one(client, owner):
    from prefetch.models import PrefetchSettings
    from tests.helpers import settings_post_data

    client.force_login(owner)
    data = settings_post_data(delay_s_value="172800", delay_s_unit="s", request_timeout_s_value="90000", request_timeout_s_unit="s")
    page = client.post("/settings/", data)
    assert page.status_code == 400
    errors = page.context["form"].errors
    assert "delay_s" in errors and "request_timeout_s" in errors and "86400 or less" in errors["delay_s"][0]
    assert PrefetchSettings.load().delay_s == 2.0


# --- command line: bad input is one line and exit 2 ---------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--release-delay", "1000000000000000000000000000000"], "--release-delay"),
    (["--release-delay", "2d"], "--release-delay"),
    (["--release-delay", "1" + "0" * 400], "--release-delay"),
])
def test_prefetch_releases_bad_delay_is_one_line_and_exit_two(args, message):
    code, _, err = command("prefetch_releases", *args)
    assert code == 2
    text = err.strip()
    assert message in text and "\n" not in text and "Traceback" not in text


def test_parse_duration_refuses_what_would_overflow():
    from prefetch.engine.durations import parse_duration

    for text in ["1" + "0" * 400, "1" + "0" * 30, "99999999999w"]:
        with pytest.raises(ValueError, match="too long"):
            parse_duration(text)
    assert parse_duration("1d") == 86400


def test_import_config_of_json_nested_100000_deep_is_one_line_and_exit_two(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    bad_bytes = tmp_path / "bytes.json"
    bad_bytes.write_bytes(b"\xff\xfe{")
    for file in (path, bad_bytes):
        done = manage("import_config", str(file), data_dir=tmp_path)
        assert done.returncode == 2, done.stderr[-500:]
        text = done.stderr.strip()
        assert "Traceback" not in text and "\n" not in text and str(file) in text, text[-500:]


def test_prefetch_releases_huge_delay_from_the_shell_is_one_line_and_exit_two(tmp_path):
    done = manage("prefetch_releases", "--release-delay", "1000000000000000000000000000000", data_dir=tmp_path)
    assert done.returncode == 2, done.stderr[-500:]
    text = done.stderr.strip()
    assert "Traceback" not in text and "\n" not in text and "--release-delay" in text, text



@pytest.mark.parametrize("args, message", [
    (["export_config", "--output", "/nonexistent/dir/config.json"], "Cannot write /nonexistent/dir/config.json"),
    (["export_config", "--output", "/"], "Cannot write /: Is a directory"),
    (["export_config", "--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["healthcheck", "--port", "abc"], "--port: not a port number"),
    (["healthcheck", "--http", "--port", "99999"], "--port: not a port number"),
    (["serve", "--port", "99999"], "--port: not a port number"),  # uvicorn listened on another port
    (["serve", "--host", "no.such.host.invalid"], "--host: cannot resolve"),  # after starting the worker
    # never migrated: "no such table: prefetch_run" from the worker's start, a traceback
    (["serve"], "The database has unapplied migrations: run `python manage.py migrate` first."),
    (["import_config", "--no-such-option", "x.json"], "unrecognized arguments"),
])
def test_bad_input_to_the_site_commands_is_one_line_and_exit_two(tmp_path, args, message):
    if "--output" in args:  # the export reads the configuration before it writes
        manage("migrate", "-v0", data_dir=tmp_path)
    done = manage(*args, data_dir=tmp_path)
    assert done.returncode == 2, done.stderr[-500:]
    text = done.stderr.strip()
    assert message in text and "\n" not in text and "Traceback" not in text, text[-500:]


def test_serve_with_the_database_down_is_one_line_naming_it_and_never_the_password(tmp_path):
    url = f"postgres://prefetcher:s3cret-word@127.0.0.1:{free_port()}/prefetcher"  # nothing listens there
    done = manage("serve", data_dir=tmp_path, DATABASE_URL=url)
    assert done.returncode == 2, done.stderr[-500:]
    text = done.stderr.strip()
    assert text.startswith("CommandError: Cannot reach the database (") and "DATABASE_URL" in text, text[-500:]
    assert "\n" not in text and "Traceback" not in text and "s3cret-word" not in text, text[-500:]


# --- NUL characters (PostgreSQL text and jsonb cannot hold them) --------------------------------------
@pytest.mark.parametrize("body", [
    {"fallback_meta_url": "http://a/\u0000m.json"},
    {"cache_request_hosts": "\u0000"},
    {"proxy_url": "http://u:p@\u0000/"},
    {"cached_stream_regex": "\u0000"},
    {"skip_stream_regex": "a\u0000"},
])
def test_nul_in_a_setting_is_a_400_naming_the_field(api, body):
    from prefetch.models import PrefetchSettings

    (field,) = body
    before = getattr(PrefetchSettings.load(), field)
    message = refused(api.patch("/api/config", body, format="json"), field)
    assert "NUL" in " ".join(message)
    assert getattr(PrefetchSettings.load(), field) == before


def test_nul_in_an_addon_url_is_a_400_naming_the_field(api):
    refused(api.post("/api/addons", {"url": "http://a.example/\u0000/manifest.json"}, format="json"), "url")
    refused(api.post("/api/addon/manifest", {"url": "http://a\u0000.example/"}, format="json"), "url")


def test_nul_in_an_imported_setting_is_refused_naming_it(tmp_path):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="cached_stream_regex"):
        call_command("import_config", export_with(tmp_path, cached_stream_regex="\u0000"), stdout=StringIO(),
                     stderr=StringIO())


def test_a_nul_in_the_records_search_is_a_400_with_the_message(client, owner):
    client.force_login(owner)
    page = client.get("/records/?q=%00")
    assert page.status_code == 400
    assert "NUL" in page.content.decode()
    assert client.get("/records/?q=a%00b&status=ok").status_code == 400
    assert client.get("/api/records?q=%00").status_code == 400


def nul_answer(path: str) -> dict:
    """An addon whose names, catalog names, titles and one id carry NUL characters."""
    if path == "/manifest.json":
        return {"id": "nul", "name": "Nul\u0000 Addon", "version": "1.0.0", "types": ["movie"],
                "description": "a\u0000b", "resources": ["catalog", "stream"],
                "catalogs": [{"type": "movie", "id": "top", "name": "Top\u0000 movies",
                              "extra": [{"name": "genre\u0000", "options": ["x\u0000"]}]}]}
    if path.startswith("/catalog/"):
        return {"metas": [{"id": "tt1", "name": "Title\u0000 one"}, {"id": "tt\u00002", "name": "Bad id"}]}
    return {"streams": [{"title": "ok\u0000", "url": "http://127.0.0.1/x"}]}


@pytest.mark.django_db(transaction=True)
def test_nul_from_an_addon_is_stripped_from_names_and_titles_and_an_id_with_one_refused():
    from addons.models import Addon, Catalog
    from addons.services import add_addon, load_catalogs
    from prefetch.models import PrefetchRecord, PrefetchSettings, RunStatus
    from prefetch.runs.execute import execute_run
    from prefetch.runs.lifecycle import create_run
    from tests.helpers import json_addon

    with json_addon(nul_answer) as url:
        add_addon(url)
        assert not load_catalogs()["errors"]
        addon = Addon.objects.get()
        assert addon.name == "Nul Addon" and "\u0000" not in str(addon.manifest)
        assert list(Catalog.objects.values_list("name", flat=True)) == ["Top movies"]
        PrefetchSettings.objects.update_or_create(pk=1, defaults={"delay_s": 0, "fallback_meta_url": ""})
        run = execute_run(create_run("manual").pk)
    assert run.status == RunStatus.COMPLETED_WITH_FAILURES, run.error
    assert list(PrefetchRecord.objects.values_list("video_id", "title")) == [("tt1", "Title one")]
    assert PrefetchRecord.objects.get().addon_name.startswith("Nul Addon")
    assert run.statistics["items_failed"] == 1  # the id with a NUL: reported, not stored


def test_nul_anywhere_in_an_imported_file_is_refused_naming_where(tmp_path):
    import json
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from addons.models import Addon

    path = export_with(tmp_path)
    data = json.loads(open(path).read())
    data["addons"] = [{"url": "https://a.example/manifest.json", "role": "both", "name": "A\u0000"}]
    open(path, "w").write(json.dumps(data))
    with pytest.raises(CommandError, match=r"addons\[0\]\.name: Remove the NUL") as error:
        call_command("import_config", path, stdout=StringIO(), stderr=StringIO())
    assert error.value.returncode == 2
    assert not Addon.objects.exists()


# --- stream regex settings: no catastrophic backtracking ----------------------------------------------
@pytest.mark.parametrize("field", ["skip_stream_regex", "cached_stream_regex"])
@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=cached)", "("])
def test_a_regex_only_a_backtracking_engine_runs_is_a_400_naming_the_field(api, field, pattern):
    from prefetch.models import PrefetchSettings

    message = refused(api.patch("/api/config", {field: pattern}, format="json"), field)
    assert "Not a valid regular expression" in " ".join(message)
    assert getattr(PrefetchSettings.load(), field) != pattern


def test_a_catastrophic_pattern_cannot_hang_a_run_on_a_hostile_title(api):
    """`(a+)+$` on 40 a's and a '!' takes Python's re hours (2^40 ways to split the a's); the settings'
    patterns run on RE2, in linear time. Matched in a child process that is killed past 60 s."""
    import subprocess
    import sys

    assert api.patch("/api/config", {"skip_stream_regex": "(a+)+$"}, format="json").status_code == 200
    title = "a" * 40 + "!"
    match = subprocess.run(
        [sys.executable, "-c", "import sys; from prefetch.engine.plan import EngineSettings; "
         "skip = EngineSettings(skip_stream_regex=sys.argv[1]).compiled_regexes()[1]; "
         "print(skip.search(sys.argv[2]) is None)", "(a+)+$", title],
        capture_output=True, text=True, timeout=60,
    )
    assert match.stdout.strip() == "True", match.stderr


# --- /metrics label values -----------------------------------------------------------------------------
def test_long_addon_names_are_cut_in_metrics_labels_and_two_of_them_stay_two_series(client, owner):
    from django.utils import timezone

    from prefetch.models import MetricTotal, PrefetchRecord
    from prefetcher_site.prometheus import LABEL_MAX_CHARS, label_value

    assert len(label_value("N" * 10_000)) == LABEL_MAX_CHARS  # a 10 kB manifest name
    names = ["N" * 197 + "one", "N" * 197 + "two"]  # the database keeps 200 characters of a name
    for name in names:
        PrefetchRecord.objects.create(addon_key=name[-3:], addon_name=name, content_type="movie", video_id="tt1",
                                      last_attempt=timezone.now())
        MetricTotal.objects.create(metric="stream_requests", addon_name=name, label="ok", value=3)
        MetricTotal.objects.create(metric="stream_latency_bucket", addon_name=name, label="0.05", value=3)
    client.force_login(owner)
    lines = [line for line in client.get("/metrics").content.decode().splitlines() if "NNN" in line]
    addon_labels = {line.split('"')[1] for line in lines}
    assert lines and max(len(label) for label in addon_labels) == LABEL_MAX_CHARS
    for metric in ("prefetcher_records{", "prefetcher_stream_requests_total{",
                   "prefetcher_stream_request_latency_seconds_count{"):
        assert len({line.split('"')[1] for line in lines if line.startswith(metric)}) == 2, metric


# --- the API docs load nothing from another host ----------------------------------------------------------
def test_the_redoc_page_and_its_bundle_ask_no_other_host(client, owner):
    import re

    client.force_login(owner)
    page = client.get("/api/redoc").content.decode()
    addresses = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert addresses and all(address.startswith("/") for address in addresses), addresses
    bundle = client.get(next(address for address in addresses if address.endswith(".js")))
    assert bundle.status_code == 200 and bundle["Content-Type"].startswith("text/javascript")
    assert b"Redoc" in bundle.content and b"cdn.redoc.ly" not in bundle.content
    client.logout()
    assert client.get("/api/redoc/redoc.standalone.js").status_code == 302  # to the sign-in page


# --- lone surrogates (JSON's \udcff: not Unicode, no database or encoder takes it) ---------------------
def _raw_json(api, method: str, path: str, body) -> object:
    """Encoded here with \\u escapes: the test client's encoder cannot encode a lone surrogate."""
    import json

    return api.generic(method, path, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("method, path, body, field", [
    ("PATCH", "/api/config", {"cache_request_hosts": "a\udcff"}, "cache_request_hosts"),
    ("PATCH", "/api/config", {"skip_stream_regex": "\ud800"}, "skip_stream_regex"),
    ("PATCH", "/api/config", {"fallback_meta_url": "http://a/\udcffm.json"}, "fallback_meta_url"),
    ("POST", "/api/addons", {"url": "http://a\udcff/manifest.json", "type": "both"}, "url"),
    ("POST", "/api/schedule", {"time": "10:00", "days": ["mon\udcff"]}, "days"),
])
def test_a_lone_surrogate_in_an_api_body_is_a_400_naming_the_field(api, method, path, body, field):
    message = refused(_raw_json(api, method, path, body), field)
    assert "lone surrogate" in " ".join(message)


def test_a_lone_surrogate_in_an_imported_file_is_refused_naming_where(tmp_path):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from prefetch.models import PrefetchSettings

    path = export_with(tmp_path, cache_request_hosts="x\udcff")  # written as the escape \udcff
    with pytest.raises(CommandError, match=r"settings\.cache_request_hosts: Not valid text: it holds a lone surrogate"):
        call_command("import_config", path, stdout=StringIO(), stderr=StringIO())
    assert PrefetchSettings.load().cache_request_hosts == ""


def surrogate_answer(path: str) -> dict:
    """An addon whose manifest, catalog, meta and streams carry lone surrogates (sent as \\udcff)."""
    if path == "/manifest.json":
        return {"id": "sur", "name": "Sur\udcff Addon", "version": "1.0.0", "types": ["series"],
                "resources": ["catalog", "stream", "meta"], "idPrefixes": ["tt"],
                "catalogs": [{"type": "series", "id": "top", "name": "Top\ud800"}]}
    if path.startswith("/catalog/"):
        return {"metas": [{"id": "tt1", "type": "series", "name": "Title\udcff one"}]}
    if path.startswith("/meta/"):
        return {"meta": {"id": "tt1", "type": "series", "name": "Title\udcff one", "videos": [
            {"id": "tt1:1:1", "season": 1, "episode": 1, "title": "Pilot\udcff", "released": "2020-01-01T00:00:00Z"}]}}
    return {"streams": [{"title": "ok\udcff", "url": "http://127.0.0.1/x"}]}


@pytest.mark.django_db(transaction=True)
def test_lone_surrogates_from_an_addon_are_replaced_and_the_addon_and_its_run_are_stored():
    from addons.models import Addon, Catalog
    from addons.services import add_addon, load_catalogs
    from prefetch.models import PrefetchRecord, PrefetchSettings, RunStatus
    from prefetch.runs.execute import execute_run
    from prefetch.runs.lifecycle import create_run
    from tests.helpers import json_addon

    with json_addon(surrogate_answer) as url:
        add_addon(url)  # it was a 500: the name could not be encoded for the database
        assert not load_catalogs()["errors"]
        PrefetchSettings.objects.update_or_create(pk=1, defaults={"delay_s": 0, "fallback_meta_url": ""})
        run = execute_run(create_run("manual").pk)
    assert run.status == RunStatus.COMPLETED, run.error
    assert Addon.objects.get().name == "Sur\ufffd Addon" and Catalog.objects.get().name == "Top\ufffd"
    record = PrefetchRecord.objects.get()
    assert record.video_id == "tt1:1:1" and record.addon_name.startswith("Sur\ufffd Addon")
