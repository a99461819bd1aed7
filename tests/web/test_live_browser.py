"""In a real browser: a run started from the dashboard shows live progress, survives a reload,
ends on the completion statistics with the catalog timeline and appears in the history; cancel
from the page takes effect within 2 s; the run page of an active run is live as well, with Pause
and Cancel, and turns into its completion report; the debug panel opens on a long press.

The web server (uvicorn) and an embedded Celery worker (threads pool, memory:// broker) run in
the test process, as `manage.py serve` does in the single-process default.
"""

import re
import time

import pytest
from playwright.sync_api import expect

from prefetch.models import Run, RunStatus
from tests.browser import counter, off_the_browser_thread, ws_progress_messages
from tests.helpers import configure, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_run_from_the_dashboard_live_reload_completion_history(signed_in_page, make_peer, embedded_worker):
    page = signed_in_page
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    peer = make_peer(PEER_STREAM_LATENCY_MS=40)
    off_the_browser_thread(configure, peer.url, [("movie", "peer-popular"), ("movie", "peer-new")], movies_per_catalog=50, concurrency=1)
    page.goto("/")
    expect(page.locator("#screen-idle")).to_be_visible()
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live")
    page.click("#run-now")
    started = time.monotonic()
    expect(page.locator("#screen-running")).to_be_visible(timeout=2000)
    wait_until(lambda: counter(page, "Movies") > 0, timeout=5, message="the movies counter to move")
    assert time.monotonic() - started < 5
    first = counter(page, "Movies")
    wait_until(lambda: counter(page, "Movies") > first, timeout=5, message="the movies counter to move again")
    bar = page.locator("#progress-catalog")  # a progressbar for assistive technology, not only a width
    assert (bar.get_attribute("role"), bar.get_attribute("aria-valuemin"), bar.get_attribute("aria-valuemax")) == (
        "progressbar", "0", "100")
    wait_until(lambda: int(bar.get_attribute("aria-valuenow")) > 0, timeout=5, message="the catalog bar's value")
    expect(page.locator('#counters .stat[data-counter="Cache requests"]')).to_have_count(0)  # that feature is off
    expect(page.locator("#counters")).not_to_contain_text("null")  # nor a "null" in its place
    expect(page.locator("#now-title")).not_to_have_text(re.compile(r"^(Starting|Waiting)"))
    expect(page.locator("#log-tail")).to_contain_text("Run started")
    expect(page.locator("#run-worker")).to_have_text(f"Worker: {embedded_worker.hostname}")
    assert ws_progress_messages(page) > 0, "progress must arrive over the WebSocket, not only by polling"

    run = Run.objects.get()
    assert run.status == RunStatus.RUNNING, "the run must still be going for the reload to mean something"
    before_reload = counter(page, "Movies")
    page.reload()
    expect(page.locator("#screen-running")).to_be_visible()
    assert counter(page, "Movies") >= before_reload
    wait_until(lambda: counter(page, "Movies") > before_reload, timeout=5, message="counters after the reload")

    # The dashboard goes back to its overview, the finished run in one line; its statistics are on its page.
    expect(page.locator("#screen-idle")).to_be_visible(timeout=30_000)
    expect(page.locator("#last-run")).to_contain_text(f"Run #{run.pk} completed")
    expect(page.locator("#completion")).to_have_count(0)
    expect(page.locator("#warm-videos")).to_have_text("100")  # the overview was read again
    page.locator("#last-run").get_by_role("link", name=f"Run #{run.pk}").click()
    expect(page.locator("#completion #timeline-chart")).to_be_visible()
    expect(page.locator("#catalog-table tbody tr")).to_have_count(2)
    expect(page.locator("#summary-stats")).to_contain_text("100")  # 2 × 50 movies
    chart_bars = page.evaluate("Chart.getChart('timeline-chart').data.datasets[0].data.length")
    assert chart_bars == 2

    page.goto("/runs/")
    row = page.locator(f'#runs-table tr[data-run="{run.pk}"]')
    expect(row).to_contain_text("completed")
    expect(row).to_contain_text("manual")
    row.locator("a").click()
    expect(page).to_have_url(re.compile(rf"/runs/{run.pk}/$"))
    expect(page.locator("#timeline-chart")).to_be_visible()
    expect(page.locator("#addon-table")).to_contain_text("Peer")
    page.goto("/records/?q=tt91")
    expect(page.locator("#records-table tbody tr")).to_have_count(100)  # the first page: 100 videos, one addon each
    page.goto("/logs/")
    expect(page.locator("#log-list")).to_contain_text("No log files.")
    assert errors == []


def test_cancel_from_the_page_takes_effect_within_two_seconds(signed_in_page, make_peer, embedded_worker):
    page = signed_in_page
    peer = make_peer(PEER_STREAM_LATENCY_MS=100)
    off_the_browser_thread(configure, peer.url, [("movie", "peer-popular")], concurrency=1)
    page.goto("/")
    page.click("#run-now")
    expect(page.locator("#screen-running")).to_be_visible(timeout=2000)
    wait_until(lambda: counter(page, "Movies") > 0, timeout=5, message="the run to be under way")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-run")
    clicked = time.monotonic()
    wait_until(lambda: Run.objects.get().status == RunStatus.CANCELLED, timeout=2, interval=0.05,
               message="the run to be cancelled within 2 s")
    assert time.monotonic() - clicked < 2
    expect(page.locator("#screen-idle")).to_be_visible(timeout=2000)
    expect(page.locator("#last-run .status")).to_have_text("cancelled")
    assert Run.objects.get().statistics["movies_prefetched"] < 250


def test_pause_and_resume_from_the_page(signed_in_page, make_peer, embedded_worker):
    page = signed_in_page
    peer = make_peer(PEER_STREAM_LATENCY_MS=60)
    off_the_browser_thread(configure, peer.url, [("movie", "peer-popular")], movies_per_catalog=40, concurrency=1)
    page.goto("/")
    page.click("#run-now")
    wait_until(lambda: counter(page, "Movies") > 0, timeout=5, message="the run to be under way")
    page.click("#pause-resume")
    expect(page.locator("#run-status")).to_have_text("paused", timeout=2000)
    expect(page.locator("#pause-resume")).to_have_text("Resume")
    paused_at = Run.objects.get().progress["statistics"]["stream_requests"]
    page.click("#pause-resume")
    expect(page.locator("#run-status")).to_have_text("running", timeout=2000)
    wait_until(lambda: Run.objects.get().progress["statistics"]["stream_requests"] > paused_at + 1, timeout=5,
               message="requests to continue after resume")
    expect(page.locator("#screen-idle")).to_be_visible(timeout=20_000)


def stat_value(page, label) -> int:
    return int(page.locator(f'#counters .stat[data-counter="{label}"] .value').inner_text().split("/")[0])


def test_the_run_page_of_an_active_run_is_live_with_pause_and_cancel(signed_in_page, make_peer, embedded_worker):
    page = signed_in_page
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    peer = make_peer(PEER_STREAM_LATENCY_MS=100)  # 250 movies, one at a time: about 25 s, cancelled long before
    off_the_browser_thread(configure, peer.url, [("movie", "peer-popular")], concurrency=1)
    page.goto("/")
    page.click("#run-now")
    expect(page.locator("#screen-running")).to_be_visible()
    run = Run.objects.get()

    page.goto(f"/runs/{run.pk}/")
    expect(page.locator("#screen-running")).to_be_visible()
    expect(page.locator("#completion")).to_be_hidden()
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live")
    counter_above = ("([label, n]) => parseInt(document.querySelector("
                     "`#counters .stat[data-counter=\"${label}\"] .value`)?.textContent) > n")
    page.wait_for_function(counter_above, arg=["Stream requests", 0])
    first = stat_value(page, "Stream requests")
    page.wait_for_function(counter_above, arg=["Stream requests", first])  # it keeps counting, live
    page.wait_for_function(counter_above, arg=["Movies", 0])
    expect(page.locator("#pause-resume")).to_be_visible()
    expect(page.locator("#pause-resume")).to_have_text("Pause")
    expect(page.locator("#cancel-run")).to_be_visible()
    expect(page.locator("#run-page-status")).to_have_text("running")
    expect(page.locator("#run-worker")).to_have_text(f"Worker: {embedded_worker.hostname}")
    # Cache requests are off: no tile for them, and no "null" where it would have been.
    expect(page.locator('#counters .stat[data-counter="Cache requests"]')).to_have_count(0)
    expect(page.locator("#counters")).not_to_contain_text("null")
    expect(page.locator("#eta")).to_have_text(re.compile(r"^ETA: (about \d.*|estimating…)$"))
    assert ws_progress_messages(page) > 0, "progress must arrive over the WebSocket, not only by polling"
    # The ETA is the engine's (progress.eta_s), rendered by one function for the dashboard and this page.
    eta = "(progress) => ProgressView.etaText({status: 'running', progress})"
    assert page.evaluate(eta, {"eta_s": 75}) == "ETA: about 1m 15s"
    assert page.evaluate(eta, {"eta_s": None}) == "ETA: estimating…"
    assert page.evaluate("ProgressView.etaText({status: 'paused', progress: {eta_s: 75}})") == "Paused."

    page.evaluate("window.notReloaded = true")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-run")
    expect(page.locator("#run-page-status")).to_have_text("cancelled")
    expect(page.locator("#screen-running")).to_be_hidden()
    expect(page.locator("#completion #summary-stats")).to_be_visible()
    expect(page.locator("#completion #catalog-table tbody tr")).to_have_count(1)  # the detail, fetched on its own
    expect(page.locator("#completion")).to_contain_text("Last log lines")
    assert page.evaluate("window.notReloaded") is True
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert page.locator("#summary-stats .stat", has_text="Movies").locator(".value").inner_text() == str(
        run.statistics["movies_prefetched"])
    assert errors == []


def test_the_report_names_not_found_failed_catalogs_and_not_reached_items(signed_in_page):
    page = signed_in_page
    stats = {"catalogs_processed": 2, "catalogs_failed": 1, "movies_prefetched": 3, "items_prefetched": 3,
             "items_not_reached": 2, "stream_requests": 9, "stream_requests_ok": 4, "stream_requests_not_found": 3,
             "stream_requests_failed": 2}
    catalog = {"name": "Broken", "type": "movie", "kind": "movie", "addon": "Peer", "prefetched": 0,
               "items_not_reached": 2, "not_reached": False, "error": "HTTP 500", "stop_reason": "error"}
    run = Run.objects.create(status=RunStatus.COMPLETED_WITH_FAILURES, statistics=stats, catalogs=[catalog],
                             started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:01:00Z")
    page.goto(f"/runs/{run.pk}/")
    summary = page.locator("#summary-stats")
    expect(summary).to_contain_text("4 ok · 3 not found (404) · 2 failed after retries")
    failed = summary.locator(".stat", has_text="Catalogs failed")
    expect(failed.locator(".value")).to_have_text("1")
    expect(failed).to_have_class(re.compile(r"\bstat-bad\b"))
    expect(summary.locator(".stat", has_text="Not prefetched")).to_contain_text("2 not reached (stopped)")
    row = page.locator("#catalog-table tbody tr")
    expect(row.locator('[data-reason="not_reached"]')).to_have_text("2 not reached (stopped)")
    expect(row.locator(".catalog-error")).to_have_text("failed: HTTP 500")
    page.goto("/runs/")
    expect(page.locator(f'#runs-table tr[data-run="{run.pk}"]')).to_contain_text("1 catalog failed")

    quiet = Run.objects.create(status=RunStatus.COMPLETED, statistics={"stream_requests": 2, "stream_requests_ok": 2},
                               started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:01:00Z")
    page.goto(f"/runs/{quiet.pk}/")  # none of them happened: nothing said about them
    expect(page.locator("#summary-stats")).to_contain_text("2 ok · 0 failed after retries")
    expect(page.locator("#summary-stats")).not_to_contain_text("not found")
    expect(page.locator("#summary-stats")).not_to_contain_text("not reached")
    expect(page.locator("#summary-stats")).not_to_contain_text("Catalogs failed")


def test_debug_panel_opens_on_long_press_and_logs_api_calls(signed_in_page):
    page = signed_in_page
    page.goto("/")
    expect(page.locator("#debug-panel")).to_have_count(0)  # off by default
    bolt = page.locator("#debug-bolt")
    bolt.click(delay=300)  # a short press just follows the link
    expect(page.locator("#debug-panel")).to_have_count(0)
    box = bolt.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    expect(page.locator("#debug-panel")).to_be_visible(timeout=3000)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"/$"))
    page.evaluate("App.api('/api/job/status')")
    expect(page.locator("#debug-log")).to_contain_text("API GET /api/job/status -> 200")
    expect(page.locator("#debug-log")).to_contain_text("socket live")
    page.reload()
    expect(page.locator("#debug-panel")).to_be_visible()  # the state survives a reload
    page.goto("/logs/")
    page.evaluate("window.__copied = null; navigator.clipboard.writeText = async (t) => { window.__copied = t; }")
    page.click("#debug-copy")
    assert "page /logs/ loaded" in page.evaluate("window.__copied")


def test_a_run_completed_with_failures_is_shown_as_such_with_its_failed_records(
    signed_in_page, make_peer, embedded_worker
):
    page = signed_in_page
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    faulty = make_peer(PEER_FAIL_EVERY=6, PEER_DUAL=30)
    off_the_browser_thread(configure, faulty.url, [("movie", "peer-dual")], concurrency=2)
    page.goto("/")
    page.click("#run-now")
    # The overview is on screen before the run too: wait for the run's own line on it.
    expect(page.locator("#last-run")).to_contain_text("completed with failures", timeout=30_000)
    expect(page.locator("#screen-idle")).to_be_visible()
    run = Run.objects.get()
    failed = run.statistics["stream_requests_failed"]
    assert run.status == RunStatus.COMPLETED_WITH_FAILURES and failed > 0
    expect(page.locator("#last-run")).to_contain_text(f"Run #{run.pk} completed with failures")
    heading = page.locator("#last-run .status")
    amber = page.evaluate("""() => {
        const probe = document.createElement("i");
        probe.style.color = "var(--warn)";
        document.body.append(probe);
        const color = getComputedStyle(probe).color;
        probe.remove();
        return color;
    }""")
    assert heading.evaluate("e => getComputedStyle(e).color") == amber
    page.goto(f"/runs/{run.pk}/")
    expect(page.locator("#summary-stats")).to_contain_text(f"{failed} failed after retries")

    Run.objects.create(status=RunStatus.COMPLETED, started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:01:00Z")
    page.goto("/runs/?status=completed_with_failures")
    expect(page.locator("#runs-table tbody tr")).to_have_count(1)  # the filter leaves the plain completed run out
    row = page.locator(f'#runs-table tr[data-run="{run.pk}"]')
    expect(row.locator(".status")).to_have_text("completed with failures")
    row.get_by_role("link", name="records").click()
    expect(page.locator("#records-table tbody tr")).to_have_count(failed)

    page.goto(f"/runs/{run.pk}/")
    expect(page.locator("h1 + .status")).to_have_text("completed with failures")
    page.locator("#failed-records a").click()
    expect(page.locator("#records-table tbody tr")).to_have_count(failed)
    assert errors == []
