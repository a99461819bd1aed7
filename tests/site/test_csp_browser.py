"""Every page works under the Content-Security-Policy in Chromium: no violation, no script error."""

from datetime import timedelta

import pytest
from django.utils import timezone

from addons.models import Addon
from prefetch.models import Run, RunStatus
from tests.helpers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOGO = "https://logos.example/addon.png"
# 1×1 transparent PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
# Recorded from the page itself (the event fires for violations of any origin, console or not).
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective}: ${event.blockedURI}`);
});
"""


@pytest.fixture
def watched_page(signed_in_page):
    """The signed-in page with every CSP report and script error collected in `problems`."""
    page = signed_in_page
    page.problems = []
    page.on("console", lambda message: "Content Security Policy" in message.text and page.problems.append(message.text))
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.add_init_script(RECORD_VIOLATIONS)
    # Remote addon logos, served here instead of the network.
    page.route("https://logos.example/**", lambda route: route.fulfill(body=PNG, content_type="image/png"))
    return page


def visit(page, path):
    page.goto(path)
    page.wait_for_load_state("networkidle")
    violations = page.evaluate("window.cspViolations")
    assert (page.problems, violations) == ([], []), path


def test_every_page_works_under_the_policy(watched_page):
    page = watched_page
    addon = Addon.objects.create(url="http://127.0.0.1:9/manifest.json", name="Logo Addon", logo=LOGO)
    started = timezone.now() - timedelta(minutes=2)
    run = Run.objects.create(
        status=RunStatus.COMPLETED, started_at=started, finished_at=started + timedelta(seconds=90),
        catalogs=[{"name": "Popular", "type": "movie", "kind": "movie", "prefetched": 3,
                   "started_at": started.isoformat(), "finished_at": (started + timedelta(seconds=60)).isoformat()}],
    )

    with page.expect_websocket() as socket:  # the dashboard's progress socket: connect-src allows it
        visit(page, "/")
    assert socket.value.url.endswith("/ws/progress/") and not socket.value.is_closed()
    visit(page, "/runs/")
    visit(page, f"/runs/{run.pk}/")
    assert page.locator("#completion canvas").count() == 1  # the chart rendered from json_script data
    visit(page, "/records/")
    visit(page, "/logs/")
    visit(page, "/addons/")
    assert page.evaluate("document.querySelector('img.addon-logo').naturalWidth") == 1  # remote https logo shown
    visit(page, "/catalogs/")
    visit(page, "/schedules/")
    visit(page, "/schedules/new/")
    visit(page, "/settings/")
    visit(page, "/admin/")
    visit(page, f"/admin/addons/addon/{addon.pk}/change/")
    visit(page, f"/admin/prefetch/run/{run.pk}/change/")
    visit(page, "/api/docs")
    assert page.locator(".swagger-ui .opblock").count() > 0  # the UI started from its script file
    # Redoc's vendor logo (from a CDN in its bundle) is no longer asked for: nothing is refused.
    page.goto("/api/redoc")
    page.wait_for_load_state("networkidle")
    assert page.locator("#redoc-container, redoc").first.inner_text().strip()  # its menu drawn, after the load
    assert page.problems == [] and page.evaluate("window.cspViolations") == []
    # The menu button works without its former inline handler (narrow screen).
    page.set_viewport_size({"width": 500, "height": 900})
    visit(page, "/")
    assert page.get_attribute("#nav-toggle", "aria-expanded") == "false"
    page.click("#nav-toggle")
    assert page.evaluate("document.body.classList.contains('nav-open')")
    assert page.get_attribute("#nav-toggle", "aria-expanded") == "true"


def test_inline_script_is_refused_and_reported(watched_page):
    """The detector itself: an injected inline script does not run, and the violation is seen."""
    page = watched_page
    page.goto("/")
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.inlineRan = true";
        document.body.append(script);
    }""")
    assert page.evaluate("window.inlineRan") is None
    wait_until(lambda: page.evaluate("window.cspViolations").count("script-src-elem: inline") == 1,
               message="the violation event")
