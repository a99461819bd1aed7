"""The Content-Security-Policy header: strict on every page, exceptions only where they are needed."""

import pytest

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {name: sources for name, *sources in parts}


def test_pages_get_the_strict_policy(admin_client):
    for path in ("/login/", "/", "/settings/", "/admin/"):  # the admin too: no inline script left there
        policy = directives(admin_client.get(path))
        assert policy["default-src"] == ["'self'"], path
        assert policy["script-src"] == ["'self'"], path
        assert policy["style-src"] == ["'self'"], path
        assert policy["connect-src"] == ["'self'"], path
        assert policy["img-src"] == ["'self'", "data:", "https:"], path
        assert policy["frame-ancestors"] == ["'none'"], path
        assert policy["object-src"] == ["'none'"], path
        assert "worker-src" not in policy, path


def test_api_docs_pages_allow_inline_style_but_no_inline_script(admin_client):
    for path in ("/api/docs", "/api/redoc"):
        policy = directives(admin_client.get(path))
        assert policy["style-src"] == ["'self'", "'unsafe-inline'"], path
        assert policy["worker-src"] == ["blob:"], path
        assert policy["script-src"] == ["'self'"], path
