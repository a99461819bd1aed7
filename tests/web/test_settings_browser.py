"""Settings page, in Chromium: locked with a banner while a run is active (also when
the run starts or ends with the page open), errors summarised at the top with the first invalid
field focused, custom wording only, and an invalid value inside the switched-off cache-requests
group does not block saving."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from prefetch.models import PrefetchSettings, Run, RunStatus
from tests.browser import assert_fits, looks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_locked_during_a_run_and_unlocked_when_it_ends(guarded_page):
    page = guarded_page
    run = Run.objects.create(status=RunStatus.RUNNING, started_at=timezone.now(), worker="elsewhere")
    for _look in looks(page, "/settings/"):
        expect(page.locator("#settings-lock")).to_be_visible()
        expect(page.locator("#settings-lock")).to_contain_text(f"Run #{run.pk} is running")
        expect(page.locator("#id_retries")).to_be_disabled()
        expect(page.locator("#save-settings")).to_be_disabled()
        assert_fits(page)

    Run.objects.filter(pk=run.pk).update(status=RunStatus.COMPLETED, finished_at=timezone.now())
    expect(page.locator("#settings-lock")).to_be_hidden(timeout=8000)  # the page polls every 3 s
    expect(page.locator("#id_retries")).to_be_enabled()
    expect(page.locator("#save-settings")).to_be_enabled()

    second = Run.objects.create(status=RunStatus.QUEUED)
    expect(page.locator("#settings-lock")).to_contain_text(f"Run #{second.pk} is queued", timeout=8000)
    expect(page.locator("#id_retries")).to_be_disabled()


def test_errors_summarised_first_focused_switched_off_group_does_not_block(guarded_page):
    page = guarded_page
    before = PrefetchSettings.load()
    page.goto("/settings/")
    expect(page.locator("#id_cache_requests_enabled")).not_to_be_checked()
    page.fill("#id_cached_stream_regex", "(unclosed")
    page.fill("#id_retries", "-3")
    page.fill("#id_concurrency", "0")
    page.click("#save-settings")

    summary = page.locator("#form-errors")
    expect(summary).to_contain_text("Nothing was saved: 2 fields need fixing.")
    expect(summary.locator("li")).to_have_count(2)
    assert summary.locator("a").all_inner_texts() == ["Parallel requests per addon", "Retries"]  # page order
    # the smallest value each allows, at once (parallel requests said "Use 0 or more." and then refused 0)
    expect(summary.locator("li").first).to_have_text("Parallel requests per addon: Use 1 or more.")
    expect(summary.locator("li").nth(1)).to_have_text("Retries: Use 0 or more.")
    assert "Ensure this value" not in page.content()
    focused = page.evaluate("document.activeElement.id")
    first = summary.locator("a").first.get_attribute("data-field")
    assert focused == f"id_{first}"
    summary.locator("a").nth(1).click()
    assert page.evaluate("document.activeElement.id") == f"id_{summary.locator('a').nth(1).get_attribute('data-field')}"

    page.fill("#id_retries", "2")
    page.fill("#id_concurrency", "3")
    page.click("#save-settings")
    expect(page.locator(".toast-success")).to_contain_text("kept the saved value")
    saved = PrefetchSettings.load()
    assert (saved.retries, saved.concurrency) == (2, 3)
    assert saved.cached_stream_regex == before.cached_stream_regex  # the invalid regex was not stored

    # Switched on, the same invalid regex blocks the save with its own message.
    page.check("#id_cache_requests_enabled")
    page.fill("#id_cached_stream_regex", "(unclosed")
    page.click("#save-settings")
    expect(page.locator("#form-errors")).to_contain_text("Not a valid regular expression")
    assert page.evaluate("document.activeElement.id") == "id_cached_stream_regex"
    assert PrefetchSettings.load().cache_requests_enabled is False
