"""Real-browser fixtures: the ASGI app served by uvicorn in a thread, Playwright driving Debian's Chromium.

The server runs in the test process, so it shares the pytest-django test database; browser tests
therefore use `django_db(transaction=True)` (the server's threads only see committed rows).
"""

import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import uvicorn

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
PASSWORD = "correct-horse-battery-staple"


class LiveServer:
    def __init__(self):
        from prefetcher_site.asgi import application

        # Bound here and handed to uvicorn: no other test process can take the port in between.
        listening = socket.create_server(("127.0.0.1", 0))
        self.port = listening.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(application, log_config=None, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [listening]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=5)


def off_the_browser_thread(call, *args, **kwargs):
    """`call(*args, **kwargs)` on a thread of its own. Playwright's sync API marks an event loop as
    running in the test's thread, where asgiref's async_to_sync (a manifest fetch, a run) refuses to
    start; tests that fetch manifests or run the engine while a browser is open go through this."""
    from django.db import connection

    def isolated():
        try:
            return call(*args, **kwargs)
        finally:
            connection.close()  # this thread's own database connection

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="beside-the-browser") as pool:
        return pool.submit(isolated).result()


@pytest.fixture
def asgi_server(transactional_db):
    server = LiveServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium():
    """Per module: Playwright's sync API keeps an event loop in this thread while it lives, which
    asyncio.run and pytest-asyncio tests in other modules must not inherit."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in the test thread; the test's own ORM calls are
    # still plain sync code (pytest-django's documented setting for Playwright).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # never leak into subprocesses of later tests


@pytest.fixture
def page(chromium, asgi_server):
    context = chromium.new_context(base_url=asgi_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def admin_account(transactional_db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("admin", password=PASSWORD)


@pytest.fixture
def signed_in_page(page, admin_account):
    page.goto("/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


# Each theme at a desktop and a phone width: the page under test is (re)loaded per look.
LOOKS = [("dark", 1366, 900), ("light", 1366, 900), ("dark", 390, 844), ("light", 390, 844)]


def looks(page, path):
    """Load `path` in every look; yields (theme, width) with the page loaded and its theme applied."""
    for theme, width, height in LOOKS:
        page.set_viewport_size({"width": width, "height": height})
        page.evaluate("(theme) => localStorage.setItem('theme', theme)", theme)
        page.goto(path)
        assert page.evaluate("document.documentElement.dataset.theme") == theme
        yield theme, width


def assert_fits(page):
    """Nothing sticks out sideways: wide tables scroll inside their own box instead."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the window"


@pytest.fixture
def guarded_page(signed_in_page, asgi_server):
    """The signed-in page, failing the test on any script error, console error, failed page or
    asset load (GET), or request to another host than the app's own."""
    from urllib.parse import urlsplit

    page = signed_in_page
    own = urlsplit(asgi_server.url).netloc
    page.problems = []

    def console(message):
        # A refused API call (400) is logged by Chromium too; those are checked by status instead.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            page.problems.append(f"console: {message.text}")

    def foreign(url):
        parts = urlsplit(url)
        return parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != own

    # A request counts once it left the browser: answered, or failed for any reason but the page's
    # own Content-Security-Policy refusing it (then it was never sent).
    def failed(request):
        if foreign(request.url) and request.failure != "csp":  # Chromium says "csp" for a refused one
            page.problems.append(f"request to another host: {request.url} ({request.failure})")

    def response(answer):
        if foreign(answer.url):
            page.problems.append(f"request to another host: {answer.url}")
        if answer.request.method == "GET" and answer.status >= 400:
            page.problems.append(f"GET {answer.url} -> {answer.status}")

    page.on("console", console)
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on("requestfailed", failed)
    page.on("response", response)
    yield page
    assert page.problems == []


def add_addon(page, url, role, display_name=""):
    """On the Addons page, as a user does it: preview the manifest, then add what was previewed."""
    from playwright.sync_api import expect

    page.fill("#add-url", url)
    page.fill("#add-display-name", display_name)
    page.select_option("#add-type", role)
    page.click("#add-preview")
    expect(page.locator("#add-preview-box")).to_be_visible()
    page.click("#add-submit")
    expect(page.locator("#add-preview-box")).to_be_hidden()


def ws_progress_messages(page) -> int:
    return page.evaluate("window.debugLog.lines.filter((line) => line.includes(' ws progress: ')).length")


def counter(page, label):
    text = page.locator(f'#counters .stat[data-counter="{label}"] .value').inner_text()
    return int(text.split("/")[0].strip())
