"""In a real browser: the dashboard and the Schedules page say plainly that schedules will not fire
while the scheduler (celery beat) is not running, and say nothing once it ticks again."""

from datetime import time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from schedules import services
from schedules.liveness import record_heartbeat
from schedules.models import SchedulerHeartbeat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_stopped_scheduler_is_a_banner_while_schedules_exist(signed_in_page):
    page = signed_in_page
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    banner = page.locator("#scheduler-banner")

    page.goto("/")
    expect(page.locator("#screen-idle")).to_be_visible()
    expect(banner).to_be_hidden()  # nothing scheduled: a stopped beat loses nothing

    services.create_schedule(time=time(3, 0), days=list(range(7)))
    page.reload()
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Schedules will not fire: the scheduler (celery beat) has never been seen running.")
    expect(banner).to_contain_text("restart it")  # embedded mode's hint
    page.goto("/schedules/")
    expect(page.locator("#scheduler-banner")).to_contain_text("Schedules will not fire")
    expect(page.locator("#scheduler-status")).to_contain_text("never seen running")

    record_heartbeat("beat-host", 4242)
    SchedulerHeartbeat.objects.update(last_tick=timezone.now() - timedelta(minutes=10))
    page.goto("/")
    expect(banner).to_contain_text("has not been seen for 10 min")

    record_heartbeat("beat-host", 4242)  # beat is back
    page.reload()
    expect(page.locator("#screen-idle")).to_be_visible()
    expect(banner).to_be_hidden()
    page.goto("/schedules/")
    expect(page.locator("#scheduler-banner")).to_have_count(0)
    expect(page.locator("#scheduler-status")).to_contain_text("running")
    expect(page.locator("#scheduler-status")).to_contain_text("beat-host (pid 4242)")
    assert errors == []
