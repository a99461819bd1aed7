"""End to end with the production topology: Redis (broker and channels_redis layer), a separate
Celery worker process, the ASGI web server, a real Chromium. A run started from the dashboard is
executed by the worker process and its progress reaches the browser over the WebSocket."""


import pytest
from playwright.sync_api import expect

from prefetch import progress
from prefetch.models import Run
from prefetcher_site.settings import redis_channel_layer
from tests.browser import counter, off_the_browser_thread, ws_progress_messages
from tests.helpers import configure, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_worker_process_run_reaches_the_browser_through_redis(
    settings, monkeypatch, redis_url, redis_broker, start_worker, signed_in_page, make_peer
):
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(redis_url, settings.CELERY_TASK_DEFAULT_QUEUE)}
    monkeypatch.setattr(progress, "_publisher_layer", None)
    peer = make_peer(PEER_STREAM_LATENCY_MS=40)
    off_the_browser_thread(configure, peer.url, [("movie", "peer-popular")], movies_per_catalog=60, concurrency=1)
    worker = start_worker()
    page = signed_in_page
    page.goto("/")
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live")
    page.click("#run-now")
    expect(page.locator("#screen-running")).to_be_visible(timeout=3000)
    try:
        wait_until(lambda: counter(page, "Movies") > 0, timeout=10, message="progress from the worker process")
        first = counter(page, "Movies")
        wait_until(lambda: counter(page, "Movies") > first, timeout=5, message="the counter to move")
        assert ws_progress_messages(page) > 0, "progress must arrive over the WebSocket through Redis"
        expect(page.locator("#screen-idle")).to_be_visible(timeout=30_000)
    except AssertionError as error:
        raise AssertionError(f"{error}\n--- worker log ---\n{worker.log()[-4000:]}") from None
    run = Run.objects.get()
    assert run.status == "completed" and run.celery_task_id
    expect(page.locator("#last-run")).to_contain_text(f"Run #{run.pk} completed")
    page.goto(f"/runs/{run.pk}/")
    expect(page.locator("#completion #timeline-chart")).to_be_visible()
