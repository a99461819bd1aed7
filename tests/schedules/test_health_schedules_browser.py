"""In a real browser, both themes, desktop and phone width: addon health on the Addons page (and
"Check now" there and on the dashboard), and interval schedules with their last run and the Tasks
list on the Schedules page."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from addons import services as addon_services
from prefetch.models import Run, RunStatus, RunTrigger
from prefetch.tasks import probe_addon_health
from schedules import services
from schedules.models import Schedule
from tests.browser import assert_fits, looks, off_the_browser_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_addon_health_shows_on_the_addons_page(guarded_page, make_peer):
    page = guarded_page
    running, stopped = make_peer(), make_peer()
    off_the_browser_thread(addon_services.add_addon, running.url, "both")
    off_the_browser_thread(addon_services.add_addon, stopped.url, "stream", display_name="Stopped addon")
    stopped.stop()
    off_the_browser_thread(probe_addon_health)
    for _theme, _width in looks(page, "/addons/"):
        down = page.locator(".addon-row", has_text="Stopped addon").locator(".addon-health")
        expect(down.locator(".health")).to_have_text("Down")
        expect(down.locator(".health-message")).to_have_text("connection refused — is the addon running?")
        expect(down).to_contain_text("checked ")
        expect(page.locator("#group-both .addon-health .health")).to_have_text("OK")
        assert_fits(page)
    page.goto("/")  # the dashboard's list uses the same badge
    expect(page.locator(".addon-health-line", has_text="Stopped addon").locator(".health")).to_have_text("Down")


def test_check_now_shows_that_it_checks_then_the_fresh_health_or_why_it_failed(guarded_page, make_peer, webhook):
    page = guarded_page
    peer = make_peer()
    off_the_browser_thread(addon_services.add_addon, peer.url, "both", display_name="Checked addon")
    page.goto("/addons/")
    badge = page.locator(".addon-row", has_text="Checked addon").locator(".addon-health")
    expect(badge.locator(".health")).to_have_text("Not checked yet")

    # The request is held here until released: meanwhile the button says so, and a double click
    # started one check only.
    held = []
    page.route("**/api/addons/health/check", lambda route: held.append(route))
    button = page.locator("#check-health")
    with page.expect_request("**/api/addons/health/check"):
        button.dblclick()
    expect(button).to_be_disabled()
    expect(button).to_have_text("Checking…")
    held[0].continue_()
    expect(badge.locator(".health")).to_have_text("OK")  # drawn from the answer, no reload
    expect(badge).to_contain_text("checked ")
    expect(button).to_be_enabled()
    expect(button).to_have_text("Check health now")
    assert len(held) == 1

    page.unroute("**/api/addons/health/check")
    page.route("**/api/addons/health/check", lambda route: route.fulfill(status=502, body="Bad gateway"))
    button.click()
    expect(page.locator(".toast-error")).to_have_text("The health check failed: HTTP 502")
    expect(button).to_be_enabled()
    expect(badge.locator(".health")).to_have_text("OK")
    page.unroute("**/api/addons/health/check")

    # The dashboard's health card has the button too; the change is notified as beat's probe would.
    peer.stop()
    page.goto("/")
    line = page.locator(".addon-health-line", has_text="Checked addon")
    expect(line.locator(".health")).to_have_text("OK")
    page.locator("#addon-health").get_by_role("button", name="Check now").click()
    expect(line.locator(".health")).to_have_text("Down")
    expect(line.locator(".health-message")).to_have_text("connection refused — is the addon running?")
    assert [hit["body"]["event"] for hit in webhook.received] == ["addon.down"]


def test_interval_schedules_with_their_last_run_and_the_tasks_list(guarded_page):
    page = guarded_page
    every_6_h = services.create_schedule(every_s=6 * 3600, new_episodes_only=True)
    services.create_schedule(time=timezone.localtime().time().replace(hour=3, minute=0, second=0, microsecond=0),
                             days=[1, 3, 5])
    ended = timezone.now() - timedelta(minutes=20)
    run = Run.objects.create(trigger=RunTrigger.SCHEDULE, status=RunStatus.COMPLETED, schedule_id=every_6_h.pk,
                             started_at=ended - timedelta(seconds=754), finished_at=ended, statistics={"active_s": 754})
    probe_addon_health()  # a periodic task that ran: the Tasks list shows it
    for _theme, _width in looks(page, "/schedules/"):
        row = page.locator(f'tr[data-schedule="{every_6_h.pk}"]')
        expect(row.locator(".schedule-when")).to_have_text("every 6 h")
        last_run = row.locator(".schedule-last-run")
        expect(last_run.get_by_role("link", name=f"#{run.pk}")).to_have_attribute("href", f"/runs/{run.pk}/")
        expect(last_run).to_contain_text("completed")
        expect(last_run).to_contain_text("took 12m 34s")
        expect(row.locator(".schedule-next-run time")).to_be_attached()
        expect(row.get_by_role("button", name="Run now")).to_be_attached()
        health = page.locator('#tasks tr[data-task="probe-addon-health"]')
        expect(health.locator(".task-every")).to_have_text("every 5 min")
        expect(health.locator(".task-last-run")).to_contain_text("done")
        expect(page.locator('#tasks tr[data-task="warm-releases"] .task-last-run')).to_have_text("not yet")
        assert_fits(page)

    # Adding one from the page: the interval's fields only show for "Every …".
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/schedules/")
    form = page.locator("#add-schedule")
    expect(form.locator(".schedule-interval")).to_be_hidden()
    form.get_by_label("Every …").check()
    expect(form.locator("[data-kind=daily]").first).to_be_hidden()
    form.locator("input[name=every_s_value]").fill("2")
    form.locator("select[name=every_s_unit]").select_option("h")
    form.get_by_role("button", name="Add schedule").click()
    added = Schedule.objects.get(every_s=7200)
    expect(page.locator(f'tr[data-schedule="{added.pk}"] .schedule-when')).to_have_text("every 2 h")
