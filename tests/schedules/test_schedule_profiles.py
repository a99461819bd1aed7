"""Schedule profiles: a schedule's own limits, catalog subset, cache validity and "new episodes only"."""

import json
import re
from datetime import datetime, timezone

import pytest
from django.test import Client
from django_celery_beat.models import PeriodicTask
from rest_framework.authtoken.models import Token

from addons.models import Catalog
from prefetch.models import Run, RunStatus, RunTrigger
from prefetch.profiles import last_success
from prefetch.runs.execute import execute_run
from prefetch.tasks import scheduled_run
from schedules import services
from schedules.models import Schedule
from tests.helpers import configure

pytestmark = pytest.mark.django_db(transaction=True)
NIGHT = {"time": "03:00", "days": [0, 1, 2, 3, 4, 5, 6]}


def fire(schedule: Schedule) -> Run:
    """What beat does at the schedule's time: the task with the kwargs of its periodic task."""
    scheduled_run(**json.loads(PeriodicTask.objects.get(pk=schedule.periodic_task_id).kwargs))
    return Run.objects.filter(trigger=RunTrigger.SCHEDULE).latest("created_at")


def catalog(catalog_id: str) -> Catalog:
    return Catalog.objects.get(catalog_id=catalog_id)


def test_the_api_takes_shows_and_checks_a_profile(api, peer):
    configure(peer.url, [("movie", "peer-popular"), ("movie", "peer-new")])
    Catalog.objects.update(enabled=True)
    light = {**NIGHT, "time": "04:00", "movies_per_catalog": 5, "catalog_ids": [catalog("peer-new").pk],
             "cache_validity_auto": True, "new_episodes_only": True}
    answer = api.post("/api/schedule", {"schedules": [NIGHT, light]}, format="json")
    assert answer.status_code == 200, answer.content
    full, hourly = answer.json()["schedule"]["schedules"]
    assert full["profile"] == "full run (saved settings)" and full["movies_per_catalog"] is None
    assert hourly["movies_per_catalog"] == 5 and hourly["catalog_ids"] == [catalog("peer-new").pk]
    assert hourly["cache_validity_auto"] is True and hourly["new_episodes_only"] is True
    assert hourly["profile"] == "new episodes only, 1 catalog, movies per catalog 5, validity auto"
    schema = api.get("/api/schema", HTTP_ACCEPT="application/json").json()
    entry = schema["components"]["schemas"]["ScheduleEntry"]["properties"]
    assert {"movies_per_catalog", "catalog_ids", "cache_validity_s", "cache_validity_auto", "new_episodes_only",
            "profile"} <= set(entry)

    Catalog.objects.filter(catalog_id="peer-popular").update(enabled=False)
    refused = api.post("/api/schedule", {"schedules": [{**NIGHT, "catalog_ids": [catalog("peer-popular").pk]}]},
                       format="json")
    assert refused.status_code == 400 and "Not among the selected catalogs" in refused.json()["errors"]["catalog_ids"][0]
    bad_limit = api.post("/api/schedule", {"schedules": [{**NIGHT, "movies_per_catalog": -2}]}, format="json")
    assert bad_limit.status_code == 400 and "movies_per_catalog" in json.dumps(bad_limit.json()["errors"])
    assert Schedule.objects.count() == 2  # nothing replaced by a refused request


def test_a_scheduled_run_uses_its_profile_and_records_it(peer, user_client):
    configure(peer.url, [("movie", "peer-popular"), ("movie", "peer-new")], movies_per_catalog=50)
    subset = [catalog("peer-new").pk]
    schedule = services.create_schedule(time=datetime(2026, 1, 1, 4).time(), days=[1], movies_per_catalog=3,
                                        catalog_ids=subset, cache_validity_s=0)
    peer.reset()
    run = execute_run(fire(schedule).pk)

    assert run.status == RunStatus.COMPLETED
    assert run.options["profile"] == {"movies_per_catalog": 3, "catalog_ids": subset, "cache_validity_s": 0}
    assert [(c["id"], c["prefetched"]) for c in run.catalogs] == [("peer-new", 3)]  # its subset, its limit
    assert {e["id"] for e in peer.requests("catalog")} == {"peer-new"}
    assert len(peer.requests("stream")) == 3
    page = user_client.get(f"/runs/{run.pk}/").content.decode()
    assert "Schedule profile: 1 catalog, movies per catalog 3, validity 0s" in page

    # The run is the schedule's last run: in the API and on the Schedules page, with a link to it.
    assert run.schedule_id == schedule.pk
    last_run = user_client.get("/api/schedule").json()["schedule"]["schedules"][0]["last_run"]
    assert (last_run["id"], last_run["status"]) == (run.pk, "completed")
    assert last_run["finished_at"] == run.finished_at.isoformat().replace("+00:00", "Z") and last_run["duration_s"] >= 0
    row = re.search(r'<tr data-schedule="%d">.*?</tr>' % schedule.pk, user_client.get("/schedules/").content.decode(), re.S)
    assert f'<a href="/runs/{run.pk}/">#{run.pk}</a>' in row.group(0) and "completed" in row.group(0)

    # Run now: a run with the schedule's profile, counted as its run.
    answer = user_client.post(f"/schedules/{schedule.pk}/run/")
    now_run = Run.objects.latest("created_at")
    assert answer.status_code == 302 and answer["Location"] == f"/runs/{now_run.pk}/"
    assert (now_run.trigger, now_run.schedule_id, now_run.options["profile"]) == ("manual", schedule.pk, run.options["profile"])
    assert user_client.get("/api/schedule").json()["schedule"]["schedules"][0]["last_run"]["id"] == now_run.pk


def test_run_now_through_the_api_starts_the_schedules_run_and_says_why_it_is_refused(api, owner, peer):
    configure(peer.url, [("movie", "peer-popular"), ("movie", "peer-new")], movies_per_catalog=50)
    subset = [catalog("peer-new").pk]
    schedule = services.create_schedule(every_s=6 * 3600, movies_per_catalog=3, catalog_ids=subset)
    answer = api.post(f"/api/schedules/{schedule.pk}/run")
    assert answer.status_code == 200, answer.content
    run = Run.objects.get()
    body = answer.json()
    assert body["success"] is True and body["message"] == f"Run #{run.pk} started with the profile of the schedule every 6 h."
    assert (body["run"]["id"], body["run"]["status"], body["run"]["url"]) == (run.pk, "queued", f"/runs/{run.pk}/")
    assert (run.trigger, run.schedule_id) == ("manual", schedule.pk)  # a session: as the page's button
    assert run.options["profile"] == {"movies_per_catalog": 3, "catalog_ids": subset}

    refused = api.post(f"/api/schedules/{schedule.pk}/run")
    assert refused.status_code == 409 and refused.json() == {"success": False, "error": "A run is already active."}
    assert Run.objects.count() == 1

    peer.reset()
    run = execute_run(run.pk)
    assert [(c["id"], c["prefetched"]) for c in run.catalogs] == [("peer-new", 3)]  # its subset, its limit
    assert len(peer.requests("stream")) == 3

    token = Token.objects.create(user=owner)
    by_script = Client().post(f"/api/schedules/{schedule.pk}/run", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert by_script.status_code == 200
    assert (Run.objects.get(pk=by_script.json()["run"]["id"]).trigger, by_script.json()["run"]["trigger"]) == ("api", "api")
    missing = api.post(f"/api/schedules/{schedule.pk + 1}/run")
    assert missing.status_code == 404 and missing.json()["success"] is False

    schema = api.get("/api/schema", HTTP_ACCEPT="application/json").json()
    answer = schema["paths"]["/api/schedules/{id}/run"]["post"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ScheduleRunStarted"}


def test_run_now_of_a_schedule_that_could_not_run_is_refused_with_the_fix_and_queues_nothing(api, user_client, peer):
    # The schedule's one catalog was unticked since: its run would have nothing to walk.
    configure(peer.url, [("movie", "peer-popular"), ("movie", "peer-new")])
    schedule = services.create_schedule(every_s=6 * 3600, catalog_ids=[catalog("peer-new").pk])
    Catalog.objects.filter(catalog_id="peer-new").update(enabled=False)
    answer = api.post(f"/api/schedules/{schedule.pk}/run")
    assert answer.status_code == 400, answer.content
    assert answer.json() == {"success": False, "error": "No catalog is selected.",
                             "fix": {"href": "/catalogs/", "label": "Pick catalogs"}}
    page = user_client.post(f"/schedules/{schedule.pk}/run/", follow=True)
    assert "No catalog is selected." in page.content.decode()
    assert not Run.objects.exists()


def test_new_episodes_only_warms_episodes_released_since_the_schedules_last_successful_run(make_peer):
    peer = make_peer(PEER_SERIES=20)
    configure(peer.url, [("series", "peer-series")])
    schedule = services.create_schedule(time=datetime(2026, 1, 1, 5).time(), days=[2], new_episodes_only=True)
    since = datetime(2015, 1, 1, tzinfo=timezone.utc)  # the peer's episodes aired 1990-2022
    Run.objects.create(trigger=RunTrigger.SCHEDULE, status=RunStatus.COMPLETED, started_at=since,
                       finished_at=since, schedule_id=schedule.pk)
    Run.objects.create(trigger=RunTrigger.MANUAL, status=RunStatus.COMPLETED, started_at=datetime.now(timezone.utc),
                       finished_at=datetime.now(timezone.utc))  # later, but not this schedule's
    peer.reset()
    run = execute_run(fire(schedule).pk)

    assert run.status == RunStatus.COMPLETED and run.options["released_since"] == since.isoformat()
    now = datetime.now(timezone.utc)
    expected, older = set(), set()
    for series in peer.get("/catalog/series/peer-series.json")["metas"]:
        for video in peer.get(f"/meta/series/{series['id']}.json")["meta"]["videos"]:
            released = datetime.fromisoformat(video["released"].replace("Z", "+00:00"))
            if video["season"] != 0 and released <= now:
                (expected if released >= since else older).add(video["id"])
    requested = [e["id"] for e in peer.requests("stream")]
    assert expected and older and sorted(requested) == sorted(expected)
    assert run.statistics["episodes_prefetched"] == len(expected)


def test_the_schedules_page_sets_and_shows_a_profile(user_client, peer):
    configure(peer.url, [("movie", "peer-popular"), ("movie", "peer-new")])
    answer = user_client.post("/schedules/new/", {
        "time": "06:00", "days": ["1", "2"], "enabled": "on", "series_per_catalog": "1",
        "catalog_ids": [str(catalog("peer-new").pk)], "cache_validity_s_value": "2", "cache_validity_s_unit": "h",
        "cache_validity_auto": "false", "new_episodes_only": "on",
    })
    assert answer.status_code == 302, answer.content.decode()
    schedule = Schedule.objects.get()
    assert schedule.profile == {"series_per_catalog": 1, "catalog_ids": [catalog("peer-new").pk],
                                "cache_validity_s": 7200, "cache_validity_auto": False, "new_episodes_only": True}
    assert json.loads(PeriodicTask.objects.get(pk=schedule.periodic_task_id).kwargs)["profile"] == schedule.profile
    page = user_client.get("/schedules/").content.decode()
    assert "new episodes only, 1 catalog, series per catalog 1, validity 2h 0m 0s" in page

    refused = user_client.post(f"/schedules/{schedule.pk}/edit/", {"time": "06:00", "days": ["1"], "movies_per_catalog": "-3"})
    assert refused.status_code == 200 and "Use -1 for unlimited" in refused.content.decode()
    edit = user_client.get(f"/schedules/{schedule.pk}/edit/").content.decode()
    assert re.search(r'<input[^>]*name="new_episodes_only"[^>]*checked', edit)  # the edit page shows the profile
    assert re.search(r'<option value="false" selected>No</option>', edit)


def test_profiles_travel_in_the_configuration_export_except_the_catalog_subset(peer):
    from prefetcher_site.configuration import export_config, import_config

    configure(peer.url, [("movie", "peer-new")])
    services.create_schedule(time=datetime(2026, 1, 1, 7).time(), days=[3], movies_global_limit=-1,
                             catalog_ids=[catalog("peer-new").pk], cache_validity_auto=True, new_episodes_only=True)
    exported = export_config(include_secrets=True)
    import_config(exported)
    assert Schedule.objects.get().profile == {"movies_global_limit": -1, "cache_validity_auto": True,
                                              "new_episodes_only": True}


def test_a_run_completed_with_failures_is_a_successful_run_for_new_episodes_only():
    schedule = services.create_schedule(time=datetime(2026, 1, 1, 5).time(), days=[2], new_episodes_only=True)
    clean = datetime(2026, 1, 1, tzinfo=timezone.utc)
    flaky = datetime(2026, 2, 1, tzinfo=timezone.utc)
    for status, started in ((RunStatus.COMPLETED, clean), (RunStatus.COMPLETED_WITH_FAILURES, flaky)):
        Run.objects.create(trigger=RunTrigger.SCHEDULE, status=status, started_at=started, finished_at=started,
                           schedule_id=schedule.pk)
    Run.objects.create(trigger=RunTrigger.SCHEDULE, status=RunStatus.FAILED, started_at=datetime.now(timezone.utc),
                       schedule_id=schedule.pk)
    assert last_success(schedule.pk) == flaky
