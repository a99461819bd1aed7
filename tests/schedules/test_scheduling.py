"""Scheduling as beat sees it: every entry loads through django-celery-beat's own scheduler, the
next run shown is the one beat's crontab makes (DST included), identical schedules are refused, the
scheduler's start-up catch-up and tick duties (heartbeat, orphaned runs) never stop beat, and a real
`celery beat` process fires a schedule for the next minute that a worker process runs."""

import logging
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import ModelEntry
from rest_framework.test import APIClient

from prefetch.models import Run, RunStatus, RunTrigger
from prefetcher_site.configuration import export_config, import_config
from schedules import services
from schedules.liveness import last_heartbeat, scheduler_status
from schedules.models import DUPLICATE_SCHEDULE, NO_RHYTHM, TOO_OFTEN, Schedule, SchedulerHeartbeat
from schedules.scheduler import Scheduler
from tests.helpers import configure, cron_weekday, finished, next_whole_minute, wait_until
from tests.worker_process import wait_for

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]
EVERY_DAY = list(range(7))


def minute_from_now(minutes: int) -> time:
    return (timezone.localtime() + timedelta(minutes=minutes)).time().replace(second=0, microsecond=0)


# --- beat loads every entry (PeriodicTask.schedule was hidden by a reverse accessor) --
def test_every_beat_entry_loads_through_django_celery_beats_own_scheduler(celery_app):
    # django-celery-beat only loads crontabs within two hours of the current hour: schedules near now.
    schedules = [services.create_schedule(time=minute_from_now(minutes), days=EVERY_DAY) for minutes in (10, 70)]
    interval = services.create_schedule(every_s=6 * 3600)
    scheduler = Scheduler(app=celery_app)  # as `celery beat` builds it: housekeeping entries installed
    entries = scheduler.schedule
    expected = {"prune-history", "warm-releases", "probe-addon-health", "follow-sync",
                f"prefetch-schedule-{interval.pk}", *(f"prefetch-schedule-{schedule.pk}" for schedule in schedules)}
    assert set(entries) == expected == set(PeriodicTask.objects.values_list("name", flat=True))
    releases = entries.pop("warm-releases")  # release-day warming: an interval, RELEASE_WARM_INTERVAL_S
    assert releases.task == "prefetch.tasks.warm_releases" and releases.schedule.run_every == timedelta(seconds=900)
    health = entries.pop("probe-addon-health")  # the addon health probe: ADDON_HEALTH_INTERVAL_S
    assert health.task == "prefetch.tasks.probe_addon_health" and health.schedule.run_every == timedelta(seconds=300)
    follow = entries.pop("follow-sync")  # reading the watched accounts: FOLLOW_SYNC_INTERVAL_S
    assert follow.task == "prefetch.follow.tasks.sync" and follow.schedule.run_every == timedelta(seconds=900)
    every_6_h = entries.pop(f"prefetch-schedule-{interval.pk}")
    assert every_6_h.task == "prefetch.tasks.scheduled_run" and every_6_h.schedule.run_every == timedelta(hours=6)
    due, next_check_s = every_6_h.is_due()
    assert due is False and abs(next_check_s - 6 * 3600) < 5  # counted from the save, as the page says
    shown = services.next_occurrence(Schedule.objects.get(pk=interval.pk))
    assert abs((shown - timezone.now()).total_seconds() - 6 * 3600) < 5
    for entry in entries.values():
        assert isinstance(entry.schedule, crontab), entry
        due, next_check_s = entry.is_due()
        assert due is False and 0 < next_check_s <= 24 * 3600, entry
    # What beat waits for is what the pages show as the next run.
    first = entries[f"prefetch-schedule-{schedules[0].pk}"]
    shown = services.next_occurrence(Schedule.objects.get(pk=schedules[0].pk))
    assert abs((timezone.now() + timedelta(seconds=first.is_due()[1]) - shown).total_seconds()) < 5
    assert 0 < scheduler.tick() <= 5  # nothing due; beat's loop goes on


# --- the next run is the run beat's crontab makes, DST included ----------------------------------
def beat_firings(task: PeriodicTask, start: datetime, count: int) -> list[datetime]:
    """When beat fires this task from `start` on, by the crontab's own is_due as beat's tick calls it."""
    schedule = task.crontab.schedule  # django-celery-beat's TzAwareCrontab, as ModelEntry loads it
    moment = last_run = start.astimezone(dt_timezone.utc)  # beat's clock: real time, not wall time
    schedule.nowfun = lambda: moment  # reads the loop's current moment
    fired = []
    while len(fired) < count:
        due, wait_s = schedule.is_due(last_run)
        if due:
            fired.append(moment)
            last_run = moment
        else:
            moment += timedelta(seconds=wait_s)
    return fired


@pytest.mark.parametrize("dst_change, firings_utc", [
    # Spring: 02:30 does not exist on the 29th; beat fires at 03:30 CEST.
    (date(2026, 3, 29), ["2026-03-28 01:30", "2026-03-29 01:30", "2026-03-30 00:30"]),
    # Autumn: 02:30 happens twice on the 25th; beat fires once, at the first.
    (date(2026, 10, 25), ["2026-10-24 00:30", "2026-10-25 00:30", "2026-10-26 01:30"]),
])
def test_next_run_is_the_run_beat_makes_across_a_dst_change(settings, dst_change, firings_utc):
    settings.TIME_ZONE = "Europe/Berlin"
    zone = ZoneInfo("Europe/Berlin")
    schedule = services.create_schedule(time=time(2, 30), days=EVERY_DAY)
    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    start = datetime.combine(dst_change - timedelta(days=2), time(12, 0), tzinfo=zone)
    fired = beat_firings(task, start, 3)
    assert [f"{when:%Y-%m-%d %H:%M}" for when in fired] == firings_utc

    def shown(asked: datetime) -> datetime:
        # In UTC: Python never calls a repeated wall time equal to an instant in another zone.
        return services.next_occurrence(schedule, asked).astimezone(dt_timezone.utc)

    previous = start
    for when in fired:
        # Beat's last run written back (as its sync does), then asked at moments up to the firing.
        PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=previous)
        schedule = Schedule.objects.select_related("periodic_task__crontab").get(pk=schedule.pk)
        asked = previous + timedelta(seconds=1)
        while asked < when:  # every 10 min: through the skipped or repeated hour too
            assert shown(asked) == when, asked
            asked += timedelta(minutes=10)
        assert shown(when - timedelta(seconds=1)) == when
        previous = when


def test_editing_a_schedule_never_makes_beat_fire_a_time_already_past(celery_app):
    created = services.create_schedule(time=minute_from_now(30), days=EVERY_DAY)
    PeriodicTask.objects.filter(pk=created.periodic_task_id).update(last_run_at=timezone.now() - timedelta(days=1))
    schedule = Schedule.objects.get(pk=created.pk)  # beat ran it yesterday
    services.update_schedule(schedule, time=minute_from_now(-30))  # earlier today: already past
    entry = Scheduler(app=celery_app).schedule[f"prefetch-schedule-{schedule.pk}"]
    due, next_check_s = entry.is_due()
    assert due is False and next_check_s > 22 * 3600  # tomorrow, as the page says
    assert services.next_occurrence(schedule) > timezone.now() + timedelta(hours=22)


# --- interval schedules -------------------------------------------------------------------------------
def test_an_interval_schedule_is_taken_shown_and_checked_by_the_api_and_the_page(client, owner):
    api = APIClient()
    api.force_authenticate(owner)
    for entry, field in (({"every_s": 600}, "every_s"), ({"every_s": 3600, "time": "03:00", "days": [1]}, "every_s"),
                         ({"every_s": "6h"}, "every_s"), ({"enabled": True}, "time")):
        refused = api.post("/api/schedule", {"schedules": [entry]}, format="json")
        assert refused.status_code == 400 and field in refused.json()["errors"]["schedules"]["0"], refused.json()
    assert refused.json()["errors"]["schedules"]["0"]["time"] == [NO_RHYTHM]
    too_often = api.post("/api/schedule", {"schedules": [{"every_s": 600}]}, format="json").json()
    assert too_often["errors"]["schedules"]["0"]["every_s"] == [TOO_OFTEN]
    assert Schedule.objects.count() == 0

    saved = api.post("/api/schedule", {"schedules": [{"every_s": 6 * 3600}, {"time": "03:00", "days": [1, 3]}]},
                     format="json")
    assert saved.status_code == 200
    interval = next(entry for entry in saved.json()["schedule"]["schedules"] if entry["every_s"])
    assert (interval["when"], interval["time"], interval["days"], interval["last_run"]) == ("every 6 h", None, [], None)
    next_run = datetime.fromisoformat(interval["next_run"])
    assert abs((next_run - timezone.now()).total_seconds() - 6 * 3600) < 10  # an interval from the save

    client.force_login(owner)
    too_often = client.post("/schedules/new/", {"kind": "interval", "every_s_value": "5", "every_s_unit": "m", "enabled": "on"})
    assert too_often.status_code == 200 and too_often.context["form"].errors == {"every_s": [TOO_OFTEN]}
    added = client.post("/schedules/new/", {"kind": "interval", "every_s_value": "90", "every_s_unit": "m", "enabled": "on"})
    assert added.status_code == 302 and Schedule.objects.filter(every_s=5400, time=None, days=[]).exists()
    page = client.get("/schedules/").content.decode()
    assert "every 6 h" in page and "every 1 h 30 min" in page

    exported = export_config()  # an interval travels in the configuration export as it is
    assert {"every_s": 6 * 3600, "enabled": True} in exported["scheduling"]["schedules"]
    import_config(exported)
    assert sorted(Schedule.objects.exclude(every_s=None).values_list("every_s", flat=True)) == [5400, 6 * 3600]


# --- identical schedules --------------------------------------------------------------------------------
def test_identical_schedules_are_refused_everywhere_with_a_field_error(client, owner):
    services.create_schedule(time=time(2, 30), days=[1, 3])
    with pytest.raises(ValidationError) as refused:
        services.create_schedule(time=time(2, 30), days=[3, 1])  # the same days, another order
    assert refused.value.message_dict == {"time": [DUPLICATE_SCHEDULE]}
    services.create_schedule(time=time(2, 30), days=[1])  # other days: fine

    client.force_login(owner)
    page = client.post("/schedules/new/", {"time": "02:30", "days": ["3", "1"], "enabled": "on"})
    assert page.status_code == 200 and page.context["form"].errors == {"time": [DUPLICATE_SCHEDULE]}
    admin = client.post("/admin/schedules/schedule/add/", {"time": "02:30", "days": "[3, 1]", "enabled": "on"})
    assert admin.status_code == 200 and admin.context["adminform"].form.errors == {"time": [DUPLICATE_SCHEDULE]}

    api = APIClient()
    api.force_authenticate(owner)
    twice = {"schedules": [{"time": "04:00", "days": [5]}, {"time": "04:00", "days": [5]}]}
    response = api.post("/api/schedule", twice, format="json")
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": f"time: {DUPLICATE_SCHEDULE}",
                               "errors": {"time": [DUPLICATE_SCHEDULE]}}
    assert Schedule.objects.count() == 2  # the refused replacement changed nothing


# --- the scheduler: start-up catch-up, heartbeat, orphaned runs --------------------------------------------
def test_beat_start_runs_a_missed_schedule_once_and_beat_does_not_fire_it_again(celery_app):
    missed_at = timezone.localtime() - timedelta(minutes=20)
    schedule = services.create_schedule(time=missed_at.time().replace(second=0, microsecond=0),
                                        days=[(missed_at.weekday() + 1) % 7])
    PeriodicTask.objects.filter(pk=schedule.periodic_task_id).update(last_run_at=timezone.now() - timedelta(days=2))
    entries = Scheduler(app=celery_app).schedule
    run = Run.objects.get()
    assert run.trigger == RunTrigger.SCHEDULE and run.options == {"schedule_id": schedule.pk, "profile": {}}
    assert entries[f"prefetch-schedule-{schedule.pk}"].is_due()[0] is False  # not a second time by beat
    Scheduler(app=celery_app)  # a beat restart
    assert Run.objects.count() == 1


def test_beat_fires_an_interval_schedule_when_due_and_a_restart_keeps_its_rhythm(celery_app):
    waiting = services.create_schedule(every_s=3600)
    overdue = services.create_schedule(every_s=900)
    PeriodicTask.objects.filter(pk=overdue.periodic_task_id).update(last_run_at=timezone.now() - timedelta(minutes=20))
    waiting_since = PeriodicTask.objects.get(pk=waiting.periodic_task_id).last_run_at
    entry = ModelEntry(PeriodicTask.objects.get(pk=overdue.periodic_task_id), app=celery_app)
    assert entry.is_due()[0] is True  # beat fires it on its next tick

    entries = Scheduler(app=celery_app).schedule  # beat (re)starts: due 5 min ago, it runs once now
    run = Run.objects.get()
    assert (run.trigger, run.schedule_id) == (RunTrigger.SCHEDULE, overdue.pk)
    due, next_check_s = entries[f"prefetch-schedule-{overdue.pk}"].is_due()
    assert due is False and abs(next_check_s - 900) < 5  # the next one an interval later
    # Not due yet: the restart leaves its last run, so it still fires an hour after the save.
    assert PeriodicTask.objects.get(pk=waiting.periodic_task_id).last_run_at == waiting_since
    Scheduler(app=celery_app)
    assert Run.objects.count() == 1


def test_heartbeat_on_the_first_tick_then_at_its_interval_and_beat_wakes_up_for_it(celery_app, settings):
    settings.SCHEDULER_HEARTBEAT_S = 3600.0
    scheduler = Scheduler(app=celery_app)
    assert last_heartbeat() is None  # written by ticks, not by start-up
    delay = scheduler.tick()
    first = last_heartbeat()
    assert first is not None and first.pid > 0 and first.hostname
    assert 0 < delay <= min(scheduler.max_interval, settings.SCHEDULER_HEARTBEAT_S, settings.RUN_REAP_INTERVAL_S)
    scheduler.tick()
    assert last_heartbeat().last_tick == first.last_tick  # not before the interval

    settings.SCHEDULER_HEARTBEAT_S = 0.05
    scheduler = Scheduler(app=celery_app)
    scheduler.tick()
    written = last_heartbeat().last_tick
    wait_until(lambda: scheduler.tick() is not None and last_heartbeat().last_tick > written, timeout=10,
               message="a heartbeat one interval later")


def test_a_database_error_writing_the_heartbeat_never_stops_beat(celery_app, settings, caplog):
    settings.SCHEDULER_HEARTBEAT_S = 0.05
    scheduler = Scheduler(app=celery_app)
    table = SchedulerHeartbeat._meta.db_table
    with connection.schema_editor() as editor:
        editor.alter_db_table(SchedulerHeartbeat, table, f"{table}_gone")
    try:
        with caplog.at_level(logging.ERROR, logger="schedules.scheduler"):
            assert scheduler.tick() >= 0
        assert "writing the heartbeat failed" in caplog.text
    finally:
        with connection.schema_editor() as editor:
            editor.alter_db_table(SchedulerHeartbeat, f"{table}_gone", table)
    wait_until(lambda: scheduler.tick() is not None and last_heartbeat() is not None, timeout=10,
               message="the heartbeat once the table is back")


# --- a real beat process fires a schedule for the next minute --------------------------
@pytest.mark.realtime
@pytest.mark.worker
def test_a_beat_process_fires_a_schedule_for_the_next_minute_and_a_worker_runs_it(
    peer, start_beat, start_worker, redis_broker
):
    configure(peer.url, [("movie", "peer-dual")])
    beat = start_beat()
    worker = start_worker()
    wait_for(lambda: scheduler_status()["ok"], timeout=30, message="beat's first heartbeat", worker=beat)
    at = next_whole_minute(services.server_zone())
    schedule = services.create_schedule(time=at.time(), days=[cron_weekday(at)])

    def finished_scheduled_run():
        return finished(run.pk) if (run := Run.objects.filter(trigger=RunTrigger.SCHEDULE).first()) else None

    wait_s = (at - timezone.now()).total_seconds()
    run = wait_for(finished_scheduled_run, timeout=wait_s + 30, message=f"beat to fire the schedule at {at:%H:%M}", worker=beat)
    assert run.status == RunStatus.COMPLETED and run.options == {"schedule_id": schedule.pk, "profile": {}}, run.error
    assert run.created_at >= at and run.worker == worker.hostname  # fired at the minute, by beat
    assert run.schedule_id == schedule.pk and services.with_last_runs()[0].last_run == run  # its last run
    assert scheduler_status()["ok"] is True
