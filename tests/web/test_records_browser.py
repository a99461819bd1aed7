"""Records page, after a real run of two configurations of the test peer: one row per
video with each addon's status, sortable, filterable by addon, and invalidation says what it did."""

import pytest
from playwright.sync_api import expect

from addons.models import Addon
from prefetch.models import PrefetchRecord
from tests.browser import assert_fits, looks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_grouped_by_video_sortable_filterable_and_invalidation_says_what_it_did(guarded_page, two_configurations_run):
    page = guarded_page
    first, second = two_configurations_run
    videos = set(PrefetchRecord.objects.values_list("content_type", "video_id"))
    assert len(videos) >= 2 and PrefetchRecord.objects.count() == 2 * len(videos)

    for _look in looks(page, "/records/"):
        rows = page.locator("#records-table tbody tr")
        expect(rows).to_have_count(len(videos))  # each video once
        for row in rows.all():
            chips = row.locator(".record-chip")
            assert sorted(chips.locator(".chip-addon").all_inner_texts()) == sorted([first.label, second.label])
            assert set(chips.evaluate_all("(nodes) => nodes.map((n) => n.dataset.state)")) == {"ok"}
        assert_fits(page)

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/records/?sort=title")
    titles = page.locator("#records-table tbody tr td:first-child").all_inner_texts()
    assert titles == sorted(titles)
    page.select_option("#records-addon", first.key)
    page.click("#records-filter button[type=submit]")
    expect(page.locator("#records-count")).to_contain_text(f"{len(videos)} records")
    assert "addon=" + first.key in page.url and "sort=title" in page.url

    page.goto("/records/")
    row = page.locator("#records-table tbody tr").first
    title = row.locator("td").first.inner_text()
    chip = row.locator(".record-chip", has_text="Two")
    chip.locator(".invalidate-one").click()
    expect(page.locator(".toast-success")).to_have_text(f"Invalidated {title} for {second.label}: the next run requests it again.")
    expect(row.locator(".record-chip")).to_have_count(1)
    assert PrefetchRecord.objects.count() == 2 * len(videos) - 1

    page.on("dialog", lambda dialog: dialog.accept())
    page.select_option("#records-addon", first.key)
    page.click("#records-filter button[type=submit]")
    page.click("#invalidate-filter")
    expect(page.locator(".toast-success")).to_have_text(f"{len(videos)} records invalidated: the next run requests them again.")
    assert not PrefetchRecord.objects.filter(addon_key=first.key).exists()
    assert Addon.objects.count() == 2
