"""Issue 18, the second hardening pass: malformed URLs, NUL characters, unbounded numbers and
durations, and command-line bad input are a 400 naming the field (or one line and exit 2 on the
command line), never a 500 or a traceback. Database-facing: run on PostgreSQL too (tests/run.sh)."""

import pytest

pytestmark = pytest.mark.django_db


def refused(response, field: str) -> list:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert body["success"] is False, body
    assert field in body["errors"], body
    return body["errors"][field]


# --- malformed URLs -----------------------------------------------------------------------------------
MALFORMED_URLS = ["http://[::1", "http://[::1/manifest.json", "http://a:99999/manifest.json", "http://a:x/"]


@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_a_malformed_addon_url_is_a_400_naming_the_field(api, url):
    refused(api.post("/api/addon/manifest", {"url": url}, format="json"), "url")
    refused(api.post("/api/addons", {"url": url}, format="json"), "url")


@pytest.mark.parametrize("field", ["fallback_meta_url", "proxy_url"])
@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_a_malformed_fallback_or_proxy_url_is_a_400_naming_the_field(api, field, url):
    refused(api.patch("/api/config", {field: url}, format="json"), field)
