"""Hostile input is a 400 naming the field, never a 500: JSON nested past Python's recursion limit on
every JSON write endpoint, integers past any database column in ids, offsets and limits (on SQLite
and on PostgreSQL, whose `integer` overflows first), and a cap on the number of schedules."""

import json
from datetime import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from addons.models import Addon
from addons.web.api_conventions import MAX_INT
from addons.web.json_parser import MAX_JSON_DEPTH, too_deep_field
from prefetch.models import Run, RunStatus
from schedules import services as schedule_services
from schedules.models import Schedule
from tests.helpers import refused

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]

HUGE = 10**30
TOO_DEEP = f"JSON nested deeper than {MAX_JSON_DEPTH} levels."


@pytest.fixture
def addon(db):
    return Addon.objects.create(url="https://addon.example.com/manifest.json", name="Addon")


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


# --- JSON bodies: nesting -------------------------------------------------------------------------------
JSON_WRITES = [
    ("post", "/api/records/invalidate", "filter"),
    ("post", "/api/schedule", "schedules"),
    ("post", "/api/config", "delay_s"),
    ("patch", "/api/config", "delay_s"),
    ("post", "/api/addons", "url"),
    ("patch", "/api/addons/{addon}", "url"),
    ("post", "/api/addons/reorder", "groups"),
    ("post", "/api/addon/manifest", "url"),
    ("post", "/api/catalogs/selection", "catalogs"),
]


@pytest.mark.parametrize("method, url, field", JSON_WRITES)
def test_json_nested_past_the_recursion_limit_is_a_400_naming_the_field(api, addon, method, url, field):
    body = '{"%s": %s}' % (field, nested(2000))
    response = getattr(api, method)(url.format(addon=addon.pk), body, content_type="application/json")
    assert refused(response, field) == [TOO_DEEP]


@pytest.mark.parametrize("method, url, field", JSON_WRITES)
def test_nesting_up_to_the_limit_reaches_the_endpoints_own_validation(api, addon, method, url, field):
    body = '{"%s": %s}' % (field, nested(MAX_JSON_DEPTH - 1))
    response = getattr(api, method)(url.format(addon=addon.pk), body, content_type="application/json")
    assert refused(response, field) != [TOO_DEEP]


def test_the_depth_scan_counts_brackets_outside_strings_only():
    assert too_deep_field(nested(MAX_JSON_DEPTH).encode()) is None
    assert too_deep_field(nested(MAX_JSON_DEPTH + 1).encode()) == "non_field_errors"
    brackets_in_strings = json.dumps({"q": "[{" * 100, "say \"[": ["]]]", "[[["]})
    assert too_deep_field(brackets_in_strings.encode()) is None
    second_key = '{"a": [1], "b": {"c": %s}}' % nested(MAX_JSON_DEPTH)
    assert too_deep_field(second_key.encode()) == "b"


def test_a_body_that_is_not_json_is_a_415(api):
    response = api.post("/api/addon/manifest", {"url": "https://x.example.com"}, format="multipart")
    assert response.status_code == 415 and response.json()["success"] is False


# --- integers: ids, offsets, limits ---------------------------------------------------------------------
@pytest.mark.parametrize("url, field", [
    ("/api/records?offset={n}", "offset"), ("/api/records?limit={n}", "limit"),
    ("/api/runs?limit={n}", "limit"), ("/api/logs?offset={n}", "offset"), ("/api/logs?limit={n}", "limit"),
    ("/api/job/output?run={n}", "run"), ("/api/job/output?from_line={n}", "from_line"),
    ("/api/logs/run-1.log?offset={n}", "offset"), ("/api/logs/run-1.log?limit={n}", "limit"),
    ("/api/logs/run-1.log?tail={n}", "tail"),
])
@pytest.mark.parametrize("value", [HUGE, -HUGE, "12abc"])
def test_query_integers_out_of_range_or_malformed_are_a_400_naming_the_parameter(api, url, field, value):
    refused(api.get(url.format(n=value)), field)


@pytest.mark.parametrize("url, body, field", [
    ("/api/records/invalidate", {"ids": [HUGE]}, "ids"),
    ("/api/addons/reorder", {"groups": {"both": [HUGE]}}, "groups"),
    ("/api/catalogs/selection", {"catalogs": [{"id": HUGE}]}, "catalogs"),
])
@pytest.mark.parametrize("too_big", [HUGE, MAX_INT + 1])
def test_ids_past_the_database_integer_are_a_400_naming_the_field(api, url, body, field, too_big):
    body = json.loads(json.dumps(body).replace(str(HUGE), str(too_big)))
    refused(api.post(url, body, format="json"), field)


def test_ids_at_the_bound_reach_the_database_and_are_unknown(api):
    """MAX_INT fits PostgreSQL's `integer`: the query runs and answers 'no such id'."""
    assert api.post("/api/records/invalidate", {"ids": [MAX_INT]}, format="json").json()["invalidated"] == 0
    assert "Unknown addon" in refused(api.post("/api/addons/reorder", {"groups": {"both": [MAX_INT]}}, format="json"),
                                      "groups")[0]
    assert "Unknown catalog" in refused(api.post("/api/catalogs/selection", {"catalogs": [{"id": MAX_INT}]},
                                                 format="json"), "catalogs")[0]


@pytest.mark.parametrize("url", ["/api/runs/{n}", "/api/addons/{n}"])
def test_huge_ids_in_api_paths_are_a_404(api, url):
    response = api.get(url.format(n=HUGE))
    assert response.status_code == 404 and response.json()["success"] is False


@pytest.mark.parametrize("url, status", [
    ("/runs/{n}/", 404), ("/schedules/{n}/edit/", 404), ("/runs/?page={n}", 200), ("/records/?page={n}", 200),
])
def test_pages_take_huge_ids_and_page_numbers_without_an_error(client, owner, url, status):
    client.force_login(owner)
    assert client.get(url.format(n=HUGE)).status_code == status


# --- schedules: a cap on their number --------------------------------------------------------------------
@pytest.fixture
def cap(monkeypatch):
    monkeypatch.setattr(schedule_services, "MAX_SCHEDULES", 3)
    return 3


def entries(count: int) -> list[dict]:
    return [{"time": f"{hour:02d}:00", "days": [1]} for hour in range(count)]


def test_schedule_api_takes_up_to_the_cap_and_refuses_more_changing_nothing(api, cap):
    assert api.post("/api/schedule", {"schedules": entries(cap)}, format="json").status_code == 200
    response = api.post("/api/schedule", {"schedules": entries(cap + 1)}, format="json")
    assert refused(response, "schedules") == [f"At most {cap} schedules: delete one before adding another."]
    assert Schedule.objects.count() == cap


def test_schedule_page_refuses_one_past_the_cap_with_the_message(client, owner, cap):
    for entry in entries(cap):
        schedule_services.create_schedule(time=time.fromisoformat(entry["time"]), days=entry["days"])
    client.force_login(owner)
    page = client.post("/schedules/new/", {"time": "23:00", "days": ["1"], "enabled": "on"})
    assert page.status_code == 200
    assert page.context["form"].non_field_errors() == [f"At most {cap} schedules: delete one before adding another."]
    assert Schedule.objects.count() == cap


def test_config_import_past_the_cap_is_refused_and_changes_nothing(tmp_path, cap):
    out = StringIO()
    call_command("export_config", stdout=out)
    data = json.loads(out.getvalue())
    data["scheduling"]["schedules"] = [{**entry, "enabled": True} for entry in entries(cap + 1)]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CommandError, match=f"At most {cap} schedules"):
        call_command("import_config", str(path), stdout=StringIO(), stderr=StringIO())
    assert not Schedule.objects.exists()


def test_the_admin_cannot_add_past_the_cap_either(client, owner, cap):
    client.force_login(owner)
    assert client.get("/admin/schedules/schedule/add/").status_code == 200
    for entry in entries(cap):
        schedule_services.create_schedule(time=time.fromisoformat(entry["time"]), days=entry["days"])
    assert client.get("/admin/schedules/schedule/add/").status_code == 403


# --- list filters: the API refuses what the pages ignore --------------------------------------------------
@pytest.mark.parametrize("url, field", [
    ("/api/runs?status=bogus", "status"), ("/api/runs?trigger=bogus", "trigger"),
    ("/api/records?status=bogus", "status"), ("/api/records?addon=nothex", "addon"), ("/api/records?run=0", "run"),
])
def test_a_list_filter_with_a_wrong_value_is_a_400_naming_it(api, url, field):
    refused(api.get(url), field)


def test_every_wrong_list_parameter_is_named_at_once(api):
    response = api.get(f"/api/records?limit=0&offset=-1&run={HUGE}&status=bogus")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"limit", "offset", "run", "status"}


def test_the_runs_list_pages_with_limit_and_offset_and_counts_the_total(api):
    Run.objects.bulk_create([Run(status=RunStatus.COMPLETED, trigger="manual") for _ in range(3)])
    page = api.get("/api/runs?limit=1&offset=1").json()
    assert page["success"] is True and page["total"] == 3 and len(page["runs"]) == 1
    assert page["runs"][0]["id"] == list(Run.objects.values_list("pk", flat=True))[1]  # newest first, as ever
