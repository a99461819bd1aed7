"""Screenshots of the pages for the README.

    SCREENSHOTS=1 DATA_DIR=$(mktemp -d) .venv/bin/python -m pytest tests/web/test_config_screenshots.py

writes docs/screenshots/*.png (skipped otherwise, so the suite does not rewrite tracked files)."""

import os
from datetime import time

import pytest
from playwright.sync_api import expect

from prefetch.models import Run, RunStatus
from tests.browser import off_the_browser_thread
from tests.helpers import ROOT, configure

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("SCREENSHOTS"), reason="set SCREENSHOTS=1 to refresh docs/screenshots"),
]

OUT = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def shoot(page, name: str, full_page: bool = True) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=full_page)


def test_screenshots(signed_in_page, peer):
    from addons import services
    from schedules.services import create_schedule

    OUT.mkdir(parents=True, exist_ok=True)
    page = signed_in_page
    page.set_viewport_size(DESKTOP)
    page.evaluate("localStorage.setItem('theme', 'dark')")  # picked: not the headless browser's light OS setting
    page.goto("/")
    shoot(page, "dashboard-first-run", full_page=False)
    off_the_browser_thread(services.add_addon, peer.url, "both")
    off_the_browser_thread(services.add_addon, peer.base + "/%7B%22token%22%3A%22abc%22%7D/manifest.json", "stream",
                           display_name="Peer, token abc")
    off_the_browser_thread(services.load_catalogs)
    create_schedule(time=time(2, 30), days=[1, 3, 5])  # a full run, three nights a week
    create_schedule(time=time(14, 0), days=list(range(7)), movies_global_limit=20,  # a light one every day
                    new_episodes_only=True, cache_validity_auto=True)
    for name, path in (("addons", "/addons/"), ("catalogs", "/catalogs/"), ("settings", "/settings/"), ("schedules", "/schedules/")):
        page.goto(path)
        shoot(page, name, full_page=name != "settings")
    page.evaluate("localStorage.setItem('theme', 'light')")
    page.goto("/catalogs/")
    shoot(page, "catalogs-light", full_page=False)
    page.evaluate("localStorage.setItem('theme', 'dark')")


def test_run_screenshots(signed_in_page, make_peer, embedded_worker):
    OUT.mkdir(parents=True, exist_ok=True)
    page = signed_in_page
    page.set_viewport_size(DESKTOP)
    page.evaluate("localStorage.setItem('theme', 'dark')")
    # Every 9th stream request fails: a run that completes with failures, as a real flaky addon makes.
    # A first answer per video takes 150 ms more (a scraper's cold cache): the measured effect shows it.
    faulty = make_peer(PEER_STREAM_LATENCY_MS=20, PEER_COLD_STREAM_MS=150, PEER_FAIL_EVERY=9)
    off_the_browser_thread(configure, faulty.url, [("movie", "peer-popular"), ("series", "peer-series"), ("movie", "peer-new")],
              movies_per_catalog=40, series_per_catalog=6, concurrency=8, concurrency_mode="adaptive", retries=0,
              verify_sample_size=10)
    page.goto("/")
    page.click("#run-now")
    expect(page.locator("#screen-running")).to_be_visible()
    page.wait_for_function(
        "() => parseInt(document.querySelector('#counters .stat[data-counter=\"Movies\"] .value')?.textContent) > 10")
    shoot(page, "dashboard-running", full_page=False)
    expect(page.locator("#screen-idle")).to_be_visible(timeout=120_000)
    run = Run.objects.get()
    assert run.status == RunStatus.COMPLETED_WITH_FAILURES
    page.goto(f"/runs/{run.pk}/")
    shoot(page, "run-statistics")
    page.goto("/runs/")
    shoot(page, "history", full_page=False)
    page.goto("/records/")
    shoot(page, "records", full_page=False)
    page.goto("/")
    expect(page.locator("#measured-effect .effect")).to_have_count(1)
    shoot(page, "dashboard-overview", full_page=False)
    page.evaluate("localStorage.setItem('theme', 'light')")
    page.goto("/")
    shoot(page, "dashboard-overview-light", full_page=False)
    page.evaluate("localStorage.setItem('theme', 'dark')")
    page.set_viewport_size(PHONE)
    page.goto("/")
    shoot(page, "mobile-dashboard")
    page.goto("/records/")
    shoot(page, "mobile-records", full_page=False)
    page.goto(f"/runs/{run.pk}/")
    shoot(page, "mobile-run", full_page=False)


def test_health_and_tasks_screenshots(signed_in_page, make_peer):
    from datetime import timedelta

    from django.utils import timezone

    from addons import health, services
    from prefetch.models import RunTrigger
    from prefetch.tasks import probe_addon_health
    from schedules.liveness import record_heartbeat
    from schedules.services import create_schedule

    OUT.mkdir(parents=True, exist_ok=True)
    page = signed_in_page
    page.set_viewport_size(DESKTOP)
    record_heartbeat("beat", 7)  # a scheduler that runs, as in a real install
    off_the_browser_thread(services.add_addon, make_peer().url, "both")
    flaky = off_the_browser_thread(services.add_addon, make_peer().url, "stream", display_name="Busy scraper")
    stopped = make_peer()
    off_the_browser_thread(services.add_addon, stopped.url, "stream", display_name="Stopped scraper")
    stopped.stop()
    off_the_browser_thread(probe_addon_health)
    ended = timezone.now() - timedelta(minutes=42)
    run = Run.objects.create(trigger=RunTrigger.SCHEDULE, status=RunStatus.COMPLETED_WITH_FAILURES,
                             started_at=ended - timedelta(seconds=754), finished_at=ended, statistics={"active_s": 754})
    health.record_run(run.pk, ended, [{"key": flaky.key, "requests": 45, "failed": 5, "last_error": "HTTP 500"}])
    page.goto("/addons/")
    shoot(page, "addon-health", full_page=False)

    every_6_h = create_schedule(every_s=6 * 3600, new_episodes_only=True, movies_global_limit=20)
    create_schedule(time=time(2, 30), days=[1, 3, 5])
    Run.objects.filter(pk=run.pk).update(schedule_id=every_6_h.pk)
    page.goto("/schedules/")
    shoot(page, "schedules-tasks")
