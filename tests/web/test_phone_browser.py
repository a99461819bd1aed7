"""Phones (390 px), in Chromium, both themes: the rows of Records, Schedules and the live addons
table of a run become cards that keep their key columns in view (a record's status and why it
failed, a schedule's next run and its Edit / Delete, an addon's requests in flight and latency);
the theme follows the OS setting until the user picks one, also on the first-run page."""

from datetime import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from prefetch.models import PrefetchRecord, Run, RunStatus
from schedules.services import create_schedule
from tests.browser import assert_fits, off_the_browser_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def assert_in_view(locator) -> None:
    """Shown whole, inside the window's width (not cut off, not scrolled away sideways)."""
    expect(locator).to_be_visible()
    # Measured in the page in one step: a live table redrawn between two calls has no box to read.
    left, right = locator.evaluate("element => { const box = element.getBoundingClientRect(); return [box.left, box.right]; }")
    assert left >= 0 and right <= PHONE["width"], (left, right)


def phone_looks(page, path):
    page.set_viewport_size(PHONE)
    for theme in ("dark", "light"):
        page.evaluate("(theme) => localStorage.setItem('theme', theme)", theme)
        page.goto(path)
        yield theme


def test_records_keep_the_status_and_why_it_failed_on_a_phone(guarded_page):
    now = timezone.now()
    PrefetchRecord.objects.create(
        addon_key="a1", addon_name="Comet", content_type="movie", video_id="tt0111161", title="A Rather Long Film Title",
        last_attempt=now, last_status=None, last_error="connection refused — is the addon running?", latency_ms=3.0)
    PrefetchRecord.objects.create(
        addon_key="a2", addon_name="MediaFusion", content_type="movie", video_id="tt0111161", title="A Rather Long Film Title",
        last_attempt=now, last_success=now, stream_count=12, latency_ms=2300.0, first_latency_ms=2300.0, looked_cached=False)
    page = guarded_page
    for _theme in phone_looks(page, "/records/"):
        failed = page.locator('.record-chip[data-state="failed"] .chip-state')
        assert_in_view(failed)
        expect(failed).to_have_text("failed · connection refused — is the addon running?")
        warm = page.locator('.record-chip[data-state="ok"]')
        assert_in_view(warm.locator(".chip-state"))
        assert_in_view(warm.locator(".chip-warm"))
        expect(warm).to_contain_text("first answer 2.3 s")
        assert_in_view(page.locator("#records-table td[data-label='Last attempt']"))
        assert_fits(page)
    assert page.problems == []


def test_schedules_keep_the_next_run_and_edit_delete_on_a_phone(guarded_page):
    create_schedule(time=time(3, 30), days=[0, 2, 4], movies_global_limit=20, new_episodes_only=True)
    page = guarded_page
    for _theme in phone_looks(page, "/schedules/"):
        row = page.locator(".schedule-table tbody tr")
        next_run = row.locator("td.schedule-next-run")
        assert_in_view(next_run)
        assert next_run.evaluate("(cell) => getComputedStyle(cell, '::before').content") == '"Next run: "'
        assert_in_view(row.get_by_role("link", name="Edit"))
        assert_in_view(row.get_by_role("button", name="Delete"))
        assert_fits(page)
    assert page.problems == []


def test_the_live_addons_table_keeps_in_flight_and_latency_on_a_phone(guarded_page):
    addon = {"name": "Comet", "requests": 120, "ok": 118, "failed": 2, "pace": "adaptive", "concurrency_limit": 5,
             "concurrency_peak": 8, "concurrency_ceiling": 32, "latency_ms_p50": 240, "latency_ms_p95": 910}
    run = Run.objects.create(status=RunStatus.RUNNING, started_at=timezone.now(), worker="nowhere@test",
                             heartbeat_at=timezone.now(), progress={"seq": 3, "elapsed_s": 60, "addons": [addon]})
    page = guarded_page
    for _theme in phone_looks(page, f"/runs/{run.pk}/"):
        row = page.locator("#addon-rates tbody tr")
        expect(row).to_have_count(1)
        in_flight = row.locator('td[data-label="In flight"]')
        assert_in_view(in_flight)
        expect(in_flight).to_have_text("5 adaptive (peak 8 of 32)")
        latency = row.locator('td[data-label="Latency p50 / p95"]')
        assert_in_view(latency)
        expect(latency).to_have_text("240 ms / 910 ms")
        assert_fits(page)
    assert page.problems == []


def test_the_theme_follows_the_os_until_picked_also_on_the_first_run_page(chromium, asgi_server):
    context = chromium.new_context(base_url=asgi_server.url, viewport=PHONE, color_scheme="light")
    page = context.new_page()
    try:
        page.goto("/setup/")
        theme = "() => document.documentElement.dataset.theme"
        assert page.evaluate(theme) == "light"
        page.emulate_media(color_scheme="dark")
        page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")  # follows a change at once
        toggle = page.locator("#theme-toggle")
        assert_in_view(toggle)
        toggle.click()
        assert page.evaluate(theme) == "light"
        page.emulate_media(color_scheme="dark")
        page.reload()
        assert page.evaluate(theme) == "light"  # picked: the OS setting no longer applies
    finally:
        context.close()


def test_an_addon_just_added_has_its_catalogs_loaded_without_a_click(guarded_page, peer):
    from addons import services

    off_the_browser_thread(services.add_addon, peer.url, "both")
    page = guarded_page
    page.goto("/catalogs/")
    expect(page.locator("#catalog-list .catalog-row").first).to_be_visible()
    assert page.locator("#catalog-list .catalog-row").count() >= 2
    page.reload()  # loaded once: the next visit does not load again
    expect(page.locator("#load-catalogs")).not_to_have_attribute("data-load-at-once", "")
