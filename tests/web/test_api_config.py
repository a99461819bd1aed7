"""JSON API for configuration: auth everywhere, validation, redaction, catalogs, schedules, reset."""

import json
import logging
import re
import urllib.parse

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from addons.models import Addon, Catalog
from prefetch.models import PrefetchRecord, PrefetchSettings, Run, RunStatus
from prefetch.runs.plan import plan_from_database
from schedules.models import Schedule, SchedulingSettings

pytestmark = pytest.mark.django_db




def post(client, url, body=None, method="post"):
    return getattr(client, method)(url, body if body is not None else {}, format="json")


# --- authentication -------------------------------------------------------------------------------
def _concrete_paths(patterns=None, prefix=""):
    """Every route of the project as a concrete path (placeholders filled with harmless values)."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith(("admin/", "^static", "static/")):
                continue
            yield from _concrete_paths(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            full = prefix + route
            if full.startswith("^") or "(?P" in full:
                continue
            full = re.sub(r"<int:[^>]+>", "1", full)
            full = re.sub(r"<(?:str|slug|path):?[^>]*>", "x.txt", full)
            yield "/" + full


PUBLIC = {"/api/health", "/login/", "/logout/", "/setup/", "/favicon.ico"}
# The companion addon Stremio installs: public apart from its secret (a wrong one is a 404).
COMPANION = {"/watch/x.txt/manifest.json", "/watch/x.txt/stream/x.txt/x.txt.json"}


def test_anonymous_is_refused_everywhere_but_health(owner):
    client = APIClient()
    paths = sorted(set(_concrete_paths()) - PUBLIC - COMPANION)
    assert COMPANION <= set(_concrete_paths())
    for path in COMPANION:
        assert client.get(path).status_code == 404, path
    assert "/api/config" in paths and "/api/schedule" in paths and "/addons/" in paths
    assert "/api/addons/health/check" in paths and "/api/schedules/1/run" in paths
    for path in paths:
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            if method == "post" and response.status_code == 405:
                continue  # refused before anything happens; the GET above covers access
            if response.status_code in (401, 403):
                assert path.startswith("/api/") or path == "/metrics", (method, path)
            else:
                assert response.status_code == 302 and "/login/" in response["Location"], (method, path)
    assert client.get("/api/health").status_code != 401


def test_token_authentication_works(owner):
    token = Token.objects.create(user=owner)
    client = APIClient()
    assert client.get("/api/config").status_code in (401, 403)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get("/api/config")
    assert response.status_code == 200 and response.json()["success"] is True
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/api/config").status_code in (401, 403)


def test_session_writes_need_csrf(owner):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post("/api/config", {"delay_s": 1}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["error"]
    assert PrefetchSettings.load().delay_s == 2.0


# --- /api/config ------------------------------------------------------------------------------------
def test_config_get_has_defaults_and_redacts_secrets(api):
    settings_row = PrefetchSettings.load()
    settings_row.proxy_url = "http://user:hunter2@proxy.local:8080"
    settings_row.save()
    Addon.objects.create(url="http://127.0.0.1:9/abcdefSECRETtoken1234567890/manifest.json", name="Secret addon")
    body = api.get("/api/config").json()
    assert body["success"] is True
    config = body["config"]
    assert config["movies_per_catalog"] == 50 and config["series_per_catalog"] == 3 and config["delay_s"] == 2.0
    assert config["cache_validity_s"] == 604800 and config["max_execution_time_s"] == 5400
    text = json.dumps(body)
    assert "hunter2" not in text and "SECRETtoken" not in text
    assert config["addon_urls"][0]["name"] == "Secret addon" and "***" in config["addon_urls"][0]["url"]


def test_config_partial_update_and_original_key_names(api):
    response = post(api, "/api/config", {"movies_per_catalog": 10, "delay": 0.5})
    assert response.status_code == 200, response.json()
    row = PrefetchSettings.load()
    assert row.movies_per_catalog == 10 and row.delay_s == 0.5 and row.series_per_catalog == 3
    response = post(api, "/api/config", {"randomize_catalogs": True}, method="patch")
    assert response.status_code == 200 and PrefetchSettings.load().randomize_catalogs is True


def test_config_validation_errors_are_per_field_and_nothing_is_saved(api):
    response = post(api, "/api/config", {"movies_per_catalog": -5, "delay_s": 1, "cached_stream_regex": "(", "proxy_url": "ftp://x"})
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["error"]
    assert set(body["errors"]) == {"movies_per_catalog", "cached_stream_regex", "proxy_url"}
    assert "-1" in body["errors"]["movies_per_catalog"][0]
    assert PrefetchSettings.load().delay_s == 2.0  # the valid field was not saved either


@pytest.mark.parametrize("body", [{"no_such_key": 1}, {"addon_urls": []}, [], {}, {"delay": 1, "delay_s": 2}])
def test_config_refuses_unknown_keys_and_bad_bodies(api, body):
    response = post(api, "/api/config", body)
    assert response.status_code == 400
    assert response.json()["success"] is False


def test_config_refused_while_a_run_is_active(api):
    Run.objects.create(status=RunStatus.RUNNING)
    response = post(api, "/api/config", {"movies_per_catalog": 10})
    assert response.status_code == 409
    assert "while run" in response.json()["error"]
    assert PrefetchSettings.load().movies_per_catalog == 50
    assert post(api, "/api/config/reset").status_code == 409


def test_redacted_proxy_sent_back_keeps_the_real_one(api):
    row = PrefetchSettings.load()
    row.proxy_url = "http://user:hunter2@proxy.local:8080"
    row.save()
    config = api.get("/api/config").json()["config"]
    assert post(api, "/api/config", {"proxy_url": config["proxy_url"]}).status_code == 200
    assert PrefetchSettings.load().proxy_url == "http://user:hunter2@proxy.local:8080"


def test_reset_clears_configuration_but_keeps_records(api, settings, tmp_path):
    from django.utils import timezone

    settings.LOG_DIR = tmp_path
    (tmp_path / "run-1.log").write_text("old log")
    row = PrefetchSettings.load()
    row.movies_per_catalog = 7
    row.save()
    addon = Addon.objects.create(url="http://127.0.0.1:9/manifest.json", name="A")
    Catalog.objects.create(addon=addon, content_type="movie", catalog_id="top")
    post(api, "/api/schedule", {"enabled": True, "schedules": [{"time": "02:00", "days": [1, 3]}]})
    PrefetchRecord.objects.create(addon_key="k", content_type="movie", video_id="tt1", last_attempt=timezone.now())
    response = post(api, "/api/config/reset")
    assert response.status_code == 200 and response.json()["config"]["movies_per_catalog"] == 50
    assert not Addon.objects.exists() and not Catalog.objects.exists()
    assert not Schedule.objects.exists() and not PeriodicTask.objects.filter(task="prefetch.tasks.scheduled_run").exists()
    assert not list(tmp_path.iterdir())
    assert PrefetchRecord.objects.count() == 1


# --- addons -----------------------------------------------------------------------------------------
def test_add_addon_normalises_fetches_and_refuses_duplicates(api, peer):
    response = post(api, "/api/addons", {"url": peer.base + "/configure/", "type": "catalog"})
    assert response.status_code == 201, response.json()
    addon = response.json()["addon"]
    assert addon["name"] == "Peer Test Addon" and addon["type"] == "catalog" and addon["catalogs"] == 8
    assert Addon.objects.get().url == peer.url
    again = post(api, "/api/addons", {"url": peer.base.replace("http://", "HTTP://") + "/manifest.json/", "type": "stream"})
    assert again.status_code == 400 and "already configured" in again.json()["errors"]["url"][0]
    bad = post(api, "/api/addons", {"url": "ftp://example"})
    assert bad.status_code == 400 and "http" in bad.json()["errors"]["url"][0]
    unknown = post(api, "/api/addons", {"url": peer.url, "extra": 1})
    assert unknown.status_code == 400 and "extra" in unknown.json()["errors"]


def test_the_same_addon_twice_is_named_with_the_group_it_is_really_in(api, peer):
    first = post(api, "/api/addons", {"url": peer.url, "type": "both"})
    assert first.status_code == 201 and first.json()["warning"] == ""
    again = post(api, "/api/addons", {"url": peer.base + "/", "type": "stream"})
    message = again.json()["errors"]["url"][0]
    assert again.status_code == 400 and "in “Both (catalog + stream)”" in message
    assert "already used for catalogs and streams" in message and "move it" not in message

    # An addon that accepts any config segment: a typo is a second "Peer Test Addon" in the same role.
    typo = post(api, "/api/addons", {"url": peer.base + "/nope.json/manifest.json", "type": "stream"})
    assert typo.status_code == 201
    warning = typo.json()["warning"]
    assert warning.startswith(f"Peer Test Addon ({peer.base}/manifest.json, “Both (catalog + stream)”) is the same addon")
    assert "org.peer.testaddon" in warning
    other_role = post(api, "/api/addons", {"url": peer.base + "/other/manifest.json", "type": "catalog"})
    assert "is the same addon" in other_role.json()["warning"]  # Both also walks its catalogs
    Addon.objects.exclude(url=peer.url).delete()
    Addon.objects.filter(url=peer.url).update(role="catalog")
    streams_only = post(api, "/api/addons", {"url": peer.base + "/s/manifest.json", "type": "stream"})
    assert streams_only.json()["warning"] == ""  # catalogs from one URL, streams from another: no overlap
    moved = post(api, "/api/addons", {"url": peer.url, "type": "stream"})
    assert "To use it for catalogs and streams too, move it to “Both”" in moved.json()["errors"]["url"][0]


def test_configuration_required_and_unreachable_are_refused_with_clear_text(api, make_peer):
    needs_config = make_peer(PEER_CONFIG_REQUIRED="1")
    response = post(api, "/api/addons", {"url": needs_config.url})
    assert response.status_code == 400 and "configured first" in response.json()["errors"]["url"][0]
    check = post(api, "/api/addon/manifest", {"url": needs_config.url})
    assert check.status_code == 400
    port = needs_config.port
    needs_config.stop()
    gone = post(api, "/api/addons", {"url": f"http://127.0.0.1:{port}/manifest.json"})
    assert gone.status_code == 400 and "Could not fetch the manifest" in gone.json()["errors"]["url"][0]
    assert not Addon.objects.exists()


def test_a_bug_while_fetching_a_manifest_is_logged_and_answered_clearly(api, peer, monkeypatch, caplog):
    def broken_parser(data):
        raise TypeError("a bug in manifest parsing")

    monkeypatch.setattr("addons.client.Manifest", broken_parser)
    with caplog.at_level(logging.ERROR, logger="addons.services"):
        response = post(api, "/api/addon/manifest", {"url": peer.url})
    assert response.status_code == 400
    assert "an internal error" in response.json()["errors"]["url"][0]
    [logged] = caplog.records
    assert logged.exc_info[0] is TypeError and "a bug in manifest parsing" in caplog.text  # with its traceback


def test_secret_urls_are_redacted_and_revealed_on_request(api, peer):
    config = urllib.parse.quote(json.dumps({"token": "SuperSecretDebridKey"}, separators=(",", ":")), safe="")
    url = f"{peer.base}/{config}/manifest.json"
    check = post(api, "/api/addon/manifest", {"url": url}).json()
    assert check["name"] == "Peer Test Addon" and "SuperSecret" not in check["url"]
    created = post(api, "/api/addons", {"url": url}).json()["addon"]
    listing = api.get("/api/addons").content.decode()
    assert "SuperSecret" not in listing and "SuperSecret" not in json.dumps(created)
    revealed = post(api, f"/api/addons/{created['id']}/reveal").json()
    assert revealed["url"] == url


def test_reorder_moves_addons_between_groups(api):
    a = Addon.objects.create(url="http://127.0.0.1:1/manifest.json", role="both", position=0)
    b = Addon.objects.create(url="http://127.0.0.1:2/manifest.json", role="both", position=1)
    c = Addon.objects.create(url="http://127.0.0.1:3/manifest.json", role="stream", position=0)
    response = post(api, "/api/addons/reorder", {"groups": {"both": [b.pk], "stream": [a.pk, c.pk]}})
    assert response.status_code == 200
    a.refresh_from_db(), b.refresh_from_db(), c.refresh_from_db()
    assert (b.role, b.position) == ("both", 0)
    assert (a.role, a.position, c.position) == ("stream", 0, 1)
    assert post(api, "/api/addons/reorder", {"groups": {"nope": [a.pk]}}).status_code == 400
    assert post(api, "/api/addons/reorder", {"groups": {"both": [999]}}).status_code == 400


# --- catalogs ---------------------------------------------------------------------------------------
def test_load_catalogs_merges_and_the_engine_follows_the_order(api, peer):
    post(api, "/api/addons", {"url": peer.url, "type": "both"})
    addon = Addon.objects.get()
    ghost = Catalog.objects.create(addon=addon, content_type="movie", catalog_id="gone", name="Gone", position=99)
    loaded = post(api, "/api/catalogs/load").json()
    assert loaded["total_addons"] == 1 and loaded["errors"] == [] and loaded["added"] == 8 and loaded["missing"] == 1
    by_key = {(c["type"], c["catalog_id"]): c for c in loaded["catalogs"]}
    assert by_key[("movie", "peer-search")]["search_only"] and not by_key[("movie", "peer-search")]["enabled"]
    assert not by_key[("movie", "peer-by-genre")]["enabled"]  # needs a genre first
    assert by_key[("other", "peer-mixed")]["kind"] == "mixed"
    assert by_key[("movie", "gone")]["missing"]
    ghost.refresh_from_db()
    assert ghost.missing

    # Reverse the order, disable one, choose a genre.
    ids = [c["id"] for c in loaded["catalogs"]][::-1]
    genre = by_key[("movie", "peer-by-genre")]["id"]
    new = by_key[("movie", "peer-new")]["id"]
    entries = [{"id": pk} for pk in ids]
    for entry in entries:
        if entry["id"] == genre:
            entry.update(enabled=True, extra_values={"genre": "Drama"})
        if entry["id"] == new:
            entry["enabled"] = False
    response = post(api, "/api/catalogs/selection", {"catalogs": entries})
    assert response.status_code == 200, response.json()
    saved = api.get("/api/catalogs/selection").json()["catalogs"]
    assert [c["id"] for c in saved] == ids
    plan = plan_from_database()
    expected = [(c["type"], c["catalog_id"]) for c in saved if c["enabled"] and not c["missing"]]
    assert [(c.type, c.id) for c in plan.catalogs] == expected
    assert ("movie", "peer-by-genre") in expected and ("movie", "peer-new") not in expected

    # Reloading keeps choices and order.
    post(api, "/api/catalogs/load")
    again = api.get("/api/catalogs/selection").json()["catalogs"]
    assert [c["id"] for c in again] == ids
    assert {c["id"]: c["enabled"] for c in again} == {c["id"]: c["enabled"] for c in saved}
    assert next(c for c in again if c["id"] == genre)["extra_values"] == {"genre": "Drama"}


def test_selection_validation(api, peer):
    post(api, "/api/addons", {"url": peer.url})
    catalogs = post(api, "/api/catalogs/load").json()["catalogs"]
    genre = next(c for c in catalogs if c["catalog_id"] == "peer-by-genre")["id"]
    search = next(c for c in catalogs if c["catalog_id"] == "peer-search")["id"]
    cases = [
        {"catalogs": [{"id": genre, "extra_values": {"genre": "Not a genre"}}]},
        {"catalogs": [{"id": genre, "extra_values": {"colour": "x"}}]},
        {"catalogs": [{"id": search, "enabled": True}]},
        {"catalogs": [{"id": 99999}]},
        {"catalogs": [{"id": genre}, {"id": genre}]},
        {"catalogs": [{"id": genre, "order": 3}]},
        {"selection": []},
    ]
    for body in cases:
        response = post(api, "/api/catalogs/selection", body)
        assert response.status_code == 400, body
        assert response.json()["success"] is False
    assert post(api, "/api/catalogs/load", {}).status_code == 200


def test_load_without_catalog_addons_is_a_clear_400(api):
    response = post(api, "/api/catalogs/load")
    assert response.status_code == 400 and "catalog addon" in response.json()["error"]


# --- schedules --------------------------------------------------------------------------------------
def test_schedule_api_keeps_one_periodic_task_per_schedule(api, settings):
    body = {"enabled": True, "schedules": [{"time": "02:30", "days": [5, 1]}, {"time": "14:00", "days": [0, 1, 2, 3, 4, 5, 6]}]}
    response = post(api, "/api/schedule", body)
    assert response.status_code == 200, response.json()
    state = response.json()
    assert [s["time"] for s in state["schedule"]["schedules"]] == ["02:30", "14:00"]
    assert state["schedule"]["schedules"][0]["days"] == [1, 5]
    assert state["timezone"] == settings.TIME_ZONE and state["next_run_time"]
    tasks = PeriodicTask.objects.filter(task="prefetch.tasks.scheduled_run")
    assert tasks.count() == 2
    crontab = Schedule.objects.get(time="02:30").periodic_task.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_week) == ("30", "2", "1,5")
    post(api, "/api/schedule", {"enabled": False})
    assert not PeriodicTask.objects.filter(enabled=True, task="prefetch.tasks.scheduled_run").exists()
    assert api.get("/api/schedule").json()["next_run_time"] is None
    # Replacing leaves no orphan rows behind.
    post(api, "/api/schedule", {"schedules": [{"time": "03:00", "days": [2]}]})
    assert PeriodicTask.objects.filter(task="prefetch.tasks.scheduled_run").count() == 1
    assert CrontabSchedule.objects.count() == 1
    assert post(api, "/api/schedule", method="delete").status_code == 200
    assert not Schedule.objects.exists() and not PeriodicTask.objects.filter(task="prefetch.tasks.scheduled_run").exists()
    assert SchedulingSettings.load().enabled is False


@pytest.mark.parametrize(
    "entry",
    [{"time": "25:00", "days": [1]}, {"time": "2pm", "days": [1]}, {"time": "02:00", "days": [7]},
     {"time": "02:00", "days": []}, {"time": "02:00", "days": [1, 1]}, {"time": "02:00", "days": [1], "cron": "*"},
     {"days": [1]}],
)
def test_schedule_validation(api, entry):
    response = post(api, "/api/schedule", {"schedules": [entry]})
    assert response.status_code == 400 and response.json()["errors"]
    assert not Schedule.objects.exists()


# --- schema -----------------------------------------------------------------------------------------
def test_openapi_schema_lists_the_configuration_api(api):
    response = api.get("/api/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    for path in ("/api/config", "/api/config/reset", "/api/catalogs/load", "/api/catalogs/selection",
                 "/api/addon/manifest", "/api/schedule", "/api/addons"):
        assert path in schema["paths"], path
    assert {"get", "post", "delete"} <= set(schema["paths"]["/api/schedule"])


def test_every_delete_is_documented_with_the_body_it_answers(api):
    """Every DELETE of the API answers 200 with the envelope; drf-spectacular reads a bare
    `responses=` on a delete as 204 without a body, which would tell clients there is nothing to read."""
    schema = json.loads(api.get("/api/schema", HTTP_ACCEPT="application/json").content)
    deletes = {path: operation["responses"] for path, operations in schema["paths"].items()
               for method, operation in operations.items() if method == "delete"}
    assert len(deletes) >= 5
    for path, responses in deletes.items():
        assert "200" in responses and "204" not in responses, path
        assert "content" in responses["200"], path


def test_openapi_schema_is_valid_and_describes_every_view_without_a_warning(tmp_path):
    # A warning means a view the generator had to guess at (an untyped field or parameter): its
    # part of the schema is wrong or missing.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/addons/{id}" in (tmp_path / "schema.yaml").read_text()


def test_docs_page_is_served_without_a_cdn(owner, client):
    client.force_login(owner)
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html and "cdn" not in html.lower()


def test_catalog_changes_during_a_run_say_which_run_they_apply_to(api, peer):
    from addons import services

    services.add_addon(peer.url)
    loaded = api.post("/api/catalogs/load").json()
    assert "note" not in loaded
    run = Run.objects.create(status=RunStatus.RUNNING)
    entries = [{"id": c["id"], "enabled": False} for c in loaded["catalogs"]]
    saved = api.post("/api/catalogs/selection", {"catalogs": entries}, format="json").json()
    assert saved["note"] == f"Run #{run.pk} keeps the catalogs it started with; this applies from the next run."
    assert not Catalog.objects.filter(enabled=True).exists()
