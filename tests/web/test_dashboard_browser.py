"""The dashboard when nothing runs, in Chromium, both themes, desktop and phone widths:
the first-run checklist ticks itself off step by step, "Run now" without addons says where to
fix it, and after real runs against the test peer the idle overview shows the last run, the next
scheduled run in the server's zone, services, records per addon and trends."""

import re
from datetime import time

import pytest
from django.conf import settings
from playwright.sync_api import expect

from addons import services
from addons.models import Addon
from prefetch.models import PrefetchRecord, RunStatus, RunTrigger
from prefetch.runs.execute import execute_run
from prefetch.runs.lifecycle import create_run
from schedules.services import create_schedule
from tests.browser import add_addon, assert_fits, looks, off_the_browser_thread
from tests.helpers import configure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def step_states(page) -> dict:
    return {step.get_attribute("data-step"): step.get_attribute("data-done") == "true"
            for step in page.locator("#first-run .step").all()}


def test_first_run_checklist_ticks_itself_off_and_run_now_links_to_the_fix(guarded_page, peer):
    page = guarded_page
    for _look in looks(page, "/"):
        assert step_states(page) == {"catalog-addon": False, "stream-addon": False, "catalogs": False, "schedule": False}
        assert [link.get_attribute("href") for link in page.locator("#first-run .step a").all()] == [
            "/addons/", "/addons/", "/catalogs/", "/schedules/"]
        assert_fits(page)

    page.click("#run-now")
    toast = page.locator(".toast", has_text="No catalog addon is configured.")
    expect(toast).to_be_visible()
    toast.get_by_role("link", name="Add one on the Addons page").click()
    page.wait_for_url("**/addons/")

    add_addon(page, peer.url, "catalog")
    expect(page.locator("#group-catalog .addon-row")).to_have_count(1)
    page.goto("/")
    assert step_states(page) == {"catalog-addon": True, "stream-addon": False, "catalogs": False, "schedule": False}
    page.click("#run-now")
    expect(page.locator(".toast", has_text="No stream addon is configured.")).to_be_visible()

    Addon.objects.update(role="both")
    off_the_browser_thread(services.load_catalogs)
    page.goto("/")
    assert step_states(page) == {"catalog-addon": True, "stream-addon": True, "catalogs": True, "schedule": False}

    create_schedule(time=time(3, 30), days=[0, 1, 2, 3, 4, 5, 6])
    page.goto("/")
    expect(page.locator("#first-run")).to_have_count(0)


def test_idle_overview_after_real_runs(guarded_page, make_peer):
    page = guarded_page
    peer = make_peer(PEER_COLD_STREAM_MS=150)  # a first answer per video takes longer: a scraper's cold cache
    off_the_browser_thread(configure, peer.url, [("movie", "peer-popular")], movies_global_limit=3, verify_sample_size=2)
    runs = [off_the_browser_thread(execute_run, create_run(RunTrigger.MANUAL).pk, worker="test-worker") for _ in range(2)]
    assert [run.status for run in runs] == [RunStatus.COMPLETED, RunStatus.COMPLETED]
    create_schedule(time=time(3, 30), days=[0, 1, 2, 3, 4, 5, 6])
    last = runs[-1]
    addon = Addon.objects.get()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    for theme, width in looks(page, "/"):
        expect(page.locator("#screen-idle")).to_be_visible()  # nothing to dismiss first
        line = page.locator("#last-run")
        expect(line.get_by_role("link", name=f"Run #{last.pk}")).to_have_attribute("href", f"/runs/{last.pk}/")
        expect(line.locator(".status")).to_have_text("completed")
        expect(line).to_contain_text(f"{settings.TIME_ZONE}")
        expect(page.locator("h2, h3", has_text="Last run")).to_have_count(0)  # a line, not a card
        # the value first: above the services and the trends, and in view without scrolling on a desktop
        expect(page.locator("#warm-videos")).to_have_text("6")  # 3 new movies a run (the global limit), one addon
        expect(page.locator("#warm-addons")).to_have_text("1")
        expect(page.locator("#warm-expiring")).to_have_text("0")
        effect = page.locator("#measured-effect .effect")
        expect(effect).to_have_count(1)
        expect(effect).to_have_attribute("data-addon", addon.label)
        expect(effect.locator(".effect-line")).to_have_text(re.compile(r"^cold p50 \d+ ms → warm p50 \d+ ms "))
        expect(effect.locator(".speedup")).to_have_text(re.compile(r"^\d+(\.\d)?× faster$"))
        expect(effect.locator("svg.spark rect")).to_have_count(2)  # one bar a run
        value_top = page.locator("#value-cards").bounding_box()["y"]
        assert value_top < page.locator("#services").bounding_box()["y"]
        if width > 1000:
            assert value_top + 100 < 900, "the value is in the first screen"
        expect(page.locator("#next-run")).to_contain_text(f"03:30 {settings.TIME_ZONE}")
        expect(page.locator("#worker-state")).to_contain_text("answering")
        expect(page.locator("#scheduler-state")).to_contain_text("not running")  # no beat in this test
        expect(page.locator("#success-rate")).to_have_text("100%")
        expect(page.locator("#trends svg.spark").first.locator("rect")).to_have_count(2)
        row = page.locator("#record-counts tbody tr")
        expect(row).to_have_count(1)
        expect(row.locator("td").first).to_have_text(addon.label)
        expect(row.locator("td").nth(1)).to_have_text(str(PrefetchRecord.objects.count()))
        expect(page.locator("#first-run")).to_have_count(0)
        assert_fits(page)
    assert errors == []

    # The history chart: status-coloured bars whose legend says the status, lines drawn above the
    # bars, colours from the theme (and again after switching it), one date and duration format.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/runs/")
    datasets = """() => Chart.getChart(document.getElementById('history-chart')).data.datasets.map(
        (d) => ({label: d.label, type: d.type, order: d.order, color: d.backgroundColor}))"""
    theme = "() => getComputedStyle(document.documentElement).getPropertyValue('--ok').trim()"
    for _ in range(2):
        drawn = page.evaluate(datasets)
        bars = [d for d in drawn if d["type"] == "bar"]
        lines = [d for d in drawn if d["type"] == "line"]
        assert [b["label"] for b in bars] == ["Duration, completed (min)"] and bars[0]["color"] == page.evaluate(theme)
        assert all(line["order"] < bars[0]["order"] for line in lines)
        assert len({line["color"] for line in lines} | {bars[0]["color"]}) == 4
        page.click("#theme-toggle")
    assert drawn != page.evaluate(datasets)  # repainted in the other theme's colours
    expect(page.locator("#runs-table tbody tr").first.locator("td").nth(3)).to_contain_text(settings.TIME_ZONE)
    expect(page.locator("#runs-table tbody tr").first.locator("td").nth(4)).to_have_text(re.compile(r"^(\d+m )?\d+s$"))
