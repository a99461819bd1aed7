"""Every page in Chromium: no script or console error, no failed asset, no request to
any host but the app's own (API docs included: their assets are served locally); the styled 404;
the favicon; the admin's branding without django-celery-beat's raw tables."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from prefetch.models import Run, RunStatus
from tests.browser import assert_fits, looks

pytestmark = [pytest.mark.django_db(transaction=True)]

PAGES = ["/", "/addons/", "/catalogs/", "/settings/", "/schedules/", "/schedules/new/", "/runs/", "/records/",
         "/logs/", "/admin/", "/admin/prefetch/run/", "/api/docs", "/api/redoc"]


def test_favicon_and_beat_tables_out_of_the_admin(admin_client):
    answer = admin_client.get("/favicon.ico")
    assert answer.status_code == 301 and answer["Location"].endswith(".svg")
    index = admin_client.get("/admin/").content.decode()
    assert "Streams Prefetcher administration" in index and "Periodic tasks" not in index
    for model in ("clockedschedule", "crontabschedule", "intervalschedule", "solarschedule", "periodictask"):
        assert admin_client.get(f"/admin/django_celery_beat/{model}/").status_code == 404, model


@pytest.mark.browser
def test_every_page_clean_and_local_only(guarded_page):
    page = guarded_page
    started = timezone.now() - timedelta(minutes=3)
    run = Run.objects.create(status=RunStatus.COMPLETED, started_at=started, finished_at=started + timedelta(seconds=47))
    for path in [*PAGES, f"/runs/{run.pk}/"]:
        page.goto(path)
        page.wait_for_load_state("networkidle")
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    page.get_by_role("link", name="← Streams Prefetcher").click()
    page.wait_for_url(lambda url: url.endswith("/"))
    page.goto("/admin/")
    expect(page.locator("#site-name")).to_have_text("Streams Prefetcher administration")
    page.wait_for_load_state("networkidle")  # the admin has no icon link: /favicon.ico is asked for, and found
    assert page.evaluate("fetch('/favicon.ico').then((r) => r.ok && r.headers.get('content-type'))") == "image/svg+xml"


@pytest.mark.browser
def test_styled_404(guarded_page):
    page = guarded_page
    for _look in looks(page, "/no/such/page/"):
        expect(page.locator("#error-404 h1")).to_have_text("Page not found")
        expect(page.locator("#error-404")).to_contain_text("/no/such/page/")
        expect(page.get_by_role("link", name="Go to the Dashboard")).to_have_attribute("href", "/")
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == page.evaluate(
            "getComputedStyle(document.documentElement).getPropertyValue('--bg').trim() && getComputedStyle(document.body).backgroundColor")
        assert page.locator("link[rel=stylesheet]").count() == 1
        assert_fits(page)
    assert {p for p in page.problems if "/no/such/page/" not in p} == set()
    page.problems.clear()
