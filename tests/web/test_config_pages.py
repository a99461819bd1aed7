"""Server-side behaviour of the configuration pages: settings form, schedules, missed-run catch-up."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django_celery_beat.models import PeriodicTask

from prefetch.models import PrefetchSettings, Run, RunStatus, RunTrigger
from prefetch.tasks import scheduled_run
from schedules import services
from schedules.models import Schedule
from tests.helpers import settings_post_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client):
    user = get_user_model().objects.create_superuser("owner", password="x-very-long-password")
    client.force_login(user)
    return client


def test_settings_page_round_trips_every_field_unchanged(signed_in):
    before = {f.name: getattr(PrefetchSettings.load(), f.name) for f in PrefetchSettings._meta.fields}
    response = signed_in.post("/settings/", settings_post_data())
    assert response.status_code == 302
    after = {f.name: getattr(PrefetchSettings.load(), f.name) for f in PrefetchSettings._meta.fields}
    assert after == before


def test_secret_urls_are_shown_masked_and_kept_when_sent_back(signed_in):
    row = PrefetchSettings.load()
    row.proxy_url = "http://user:S3cretPass@proxy.local:8080"
    row.fallback_meta_url = "https://meta.example/lowsecretkey1234/manifest.json"
    row.save()
    page = signed_in.get("/settings/").content.decode()
    api = signed_in.get("/api/config").content.decode()
    for shown in (page, api):
        assert "S3cretPass" not in shown and "lowsecretkey1234" not in shown
        assert "https://meta.example/***/manifest.json" in shown

    assert signed_in.post("/settings/", settings_post_data()).status_code == 302  # as shown: masked
    kept = PrefetchSettings.load()
    assert (kept.proxy_url, kept.fallback_meta_url) == (row.proxy_url, row.fallback_meta_url)
    changed = settings_post_data(fallback_meta_url="https://other.example/manifest.json")
    assert signed_in.post("/settings/", changed).status_code == 302
    assert PrefetchSettings.load().fallback_meta_url == "https://other.example/manifest.json"


def test_settings_units_and_unlimited(signed_in):
    data = settings_post_data(
        delay_s_value="500", delay_s_unit="ms", cache_validity_s_value="3", cache_validity_s_unit="d",
        max_execution_time_s_unlimited="on", movies_per_catalog_value="-1",
    )
    assert signed_in.post("/settings/", data).status_code == 302
    row = PrefetchSettings.load()
    assert row.delay_s == 0.5 and row.cache_validity_s == 3 * 86400 and row.max_execution_time_s == -1
    page = signed_in.get("/settings/").content.decode()
    assert 'name="cache_validity_s_value" value="3"' in page


def test_invalid_settings_show_messages_and_save_nothing(signed_in):
    data = settings_post_data(movies_per_catalog_value="-5", delay_s_value="1", cached_stream_regex="(",
                              series_per_catalog_value="", cache_requests_enabled="on")
    response = signed_in.post("/settings/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Use -1 for unlimited, or 0 or more." in html and "Not a valid regular expression" in html
    assert "Enter a number or tick" in html
    row = PrefetchSettings.load()
    assert row.delay_s == 2.0 and row.movies_per_catalog == 50


def test_settings_refused_while_a_run_is_active(signed_in):
    Run.objects.create(status=RunStatus.PAUSED)
    response = signed_in.post("/settings/", settings_post_data(movies_per_catalog_value="7"))
    assert response.status_code == 400 and "cannot change while run" in response.content.decode()
    assert PrefetchSettings.load().movies_per_catalog == 50
    assert signed_in.post("/settings/reset/", {"confirm": "reset"}).status_code == 302
    assert Run.objects.filter(status=RunStatus.PAUSED).exists()


def test_reset_needs_confirmation_and_token_regenerates(signed_in):
    row = PrefetchSettings.load()
    row.movies_per_catalog = 9
    row.save()
    signed_in.post("/settings/reset/", {})
    assert PrefetchSettings.load().movies_per_catalog == 9
    signed_in.post("/settings/reset/", {"confirm": "Reset"})
    assert PrefetchSettings.load().movies_per_catalog == 50
    from rest_framework.authtoken.models import Token

    signed_in.get("/settings/")
    first = Token.objects.get().key
    signed_in.post("/settings/token/")
    assert Token.objects.get().key != first


# --- schedules ---------------------------------------------------------------------------------------
def test_schedule_pages_keep_beat_in_sync(signed_in):
    response = signed_in.post("/schedules/new/", {"time": "14:05", "days": ["1", "3"], "enabled": "on"})
    assert response.status_code == 302
    schedule = Schedule.objects.get()
    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    assert (task.crontab.hour, task.crontab.minute, task.crontab.day_of_week, task.enabled) == ("14", "5", "1,3", True)
    page = signed_in.get("/schedules/").content.decode()
    assert "14:05" in page and "Mon" in page and "Wed" in page
    signed_in.post(f"/schedules/{schedule.pk}/edit/", {"time": "07:00", "days": ["0"]})
    task.refresh_from_db(), task.crontab.refresh_from_db()
    assert (task.crontab.hour, task.crontab.day_of_week, task.enabled) == ("7", "0", False)
    bad = signed_in.post("/schedules/new/", {"time": "", "days": []})
    assert bad.status_code == 200 and "Pick at least one day." in bad.content.decode()
    signed_in.post("/schedules/toggle/", {"enabled": "0"})
    signed_in.post(f"/schedules/{schedule.pk}/edit/", {"time": "07:00", "days": ["0"], "enabled": "on"})
    assert not PeriodicTask.objects.get(pk=task.pk).enabled  # globally off wins
    signed_in.post("/schedules/clear/")
    assert not Schedule.objects.exists() and not PeriodicTask.objects.filter(pk=task.pk).exists()


def test_next_occurrence_uses_the_server_zone(settings):
    settings.TIME_ZONE = "Europe/Paris"
    zone = ZoneInfo("Europe/Paris")
    schedule = services.create_schedule(time=time(2, 0), days=[1])  # Mondays 02:00
    now = datetime(2026, 11, 30, 1, 0, tzinfo=zone)  # a Monday, 01:00
    assert services.next_occurrence(schedule, now) == datetime(2026, 11, 30, 2, 0, tzinfo=zone)
    assert services.next_occurrence(schedule, now + timedelta(hours=1)) == datetime(2026, 12, 7, 2, 0, tzinfo=zone)


def _due_schedule(minutes_late: int) -> tuple[Schedule, datetime]:
    now = datetime.now(ZoneInfo("UTC")).replace(second=0, microsecond=0)
    due = now - timedelta(minutes=minutes_late)
    local = due.astimezone(services.server_zone())
    schedule = services.create_schedule(time=local.time(), days=[(local.weekday() + 1) % 7])
    return schedule, now


def test_missed_schedule_runs_once_at_start_up_when_less_than_an_hour_late():
    schedule, now = _due_schedule(30)
    PeriodicTask.objects.filter(pk=schedule.periodic_task_id).update(last_run_at=now - timedelta(days=3))
    assert services.catch_up_missed(now) == schedule.pk
    run = Run.objects.get()
    assert run.trigger == RunTrigger.SCHEDULE and run.options == {"schedule_id": schedule.pk, "profile": {}}
    # Beat would otherwise fire the stale crontab itself: its last run is now "just now".
    assert PeriodicTask.objects.get(pk=schedule.periodic_task_id).last_run_at == now
    # A second start-up (or a beat restart) never runs it again.
    Run.objects.update(status=RunStatus.COMPLETED)
    assert services.catch_up_missed(now + timedelta(minutes=5)) is None
    assert Run.objects.count() == 1


def test_missed_schedule_more_than_an_hour_late_is_not_run():
    _due_schedule(61)
    assert services.catch_up_missed() is None
    assert not Run.objects.exists()


def test_catch_up_respects_the_global_switch():
    _due_schedule(10)
    services.set_global_enabled(False)
    assert services.catch_up_missed() is None and not Run.objects.exists()


def test_schedule_firing_during_an_active_run_is_recorded_as_skipped():
    schedule, now = _due_schedule(5)
    active = Run.objects.create(status=RunStatus.RUNNING, trigger=RunTrigger.MANUAL)
    kwargs = __import__("json").loads(PeriodicTask.objects.get(pk=schedule.periodic_task_id).kwargs)
    scheduled_run(**kwargs)  # what beat sends for this schedule
    skipped = Run.objects.exclude(pk=active.pk).get()
    assert skipped.status == RunStatus.SKIPPED and skipped.trigger == RunTrigger.SCHEDULE
    assert "another run was active" in skipped.stop_reason
    # ...and the start-up catch-up does not try again for that occurrence.
    active.status = RunStatus.COMPLETED
    active.save()
    assert services.catch_up_missed(now) is None
