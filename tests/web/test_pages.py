"""Server-rendered list pages keep their filters across pages."""

import pytest

from prefetch.models import Run, RunStatus

pytestmark = pytest.mark.django_db


def test_history_pages_keep_the_filters(user_client):
    Run.objects.bulk_create([Run(status=RunStatus.COMPLETED, trigger="manual") for _ in range(60)])
    page = user_client.get("/runs/", {"status": "completed", "trigger": "manual"}).content.decode()
    assert "?status=completed&amp;trigger=manual&amp;page=2" in page
    second = user_client.get("/runs/", {"status": "completed", "trigger": "manual", "page": 2}).content.decode()
    assert "Page 2 of 2" in second and "page=1" in second


def test_a_server_error_is_the_styled_500_page_without_the_traceback(client, settings, owner):
    settings.ROOT_URLCONF = "tests.error_urls"
    client.force_login(owner)
    client.raise_request_exception = False
    response = client.get("/broken/")
    html = response.content.decode()
    assert response.status_code == 500
    assert 'id="error-500"' in html and "Something went wrong" in html
    assert "RuntimeError" not in html and "a bug" not in html


def test_the_list_pages_ignore_a_filter_value_the_api_refuses(user_client):
    Run.objects.create(status=RunStatus.COMPLETED, trigger="manual")
    history = user_client.get("/runs/", {"status": "bogus"})
    assert history.status_code == 200 and history.context["page"].paginator.count == 1
    assert history.context["status"] == ""
    records = user_client.get("/records/", {"status": "bogus", "run": "x"})
    assert records.status_code == 200 and records.context["state"] == "" and records.context["run_id"] is None
