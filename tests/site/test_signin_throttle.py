"""Sign-in throttling (django-axes): a username + address pair is locked out after
AXES_FAILURE_LIMIT wrong passwords, on the app's sign-in page and the admin's alike."""

import logging

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token

PASSWORD = "correct-horse-battery-staple"
WRONG = "wrong-password-1234"
LOCKED = "Sign-in locked"

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return get_user_model().objects.create_superuser("alice", password=PASSWORD)


def sign_in(username, password, path="/login/", address="127.0.0.1", **headers):
    """POST the sign-in form from a fresh browser; the response and whether it signed in."""
    client = Client()
    response = client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)
    return response, "_auth_user_id" in client.session


def fail_until_locked(username, path="/login/", address="127.0.0.1", **headers):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert not sign_in(username, WRONG, path, address, **headers)[1]


def test_right_password_refused_after_the_failure_limit(alice):
    assert settings.AXES_FAILURE_LIMIT == 5
    fail_until_locked("alice")
    response, signed_in = sign_in("alice", PASSWORD)
    assert not signed_in
    assert response.status_code == 429
    body = response.content.decode()
    assert LOCKED in body and "15 minutes" in body and "Traceback" not in body


def test_one_failure_short_of_the_limit_still_signs_in(alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in("alice", WRONG)
    response, signed_in = sign_in("alice", PASSWORD)
    assert signed_in and response.status_code == 302


def test_lockout_spares_other_users_and_other_addresses(alice):
    get_user_model().objects.create_user("bob", password=PASSWORD)
    fail_until_locked("alice", address="203.0.113.7")
    assert sign_in("bob", PASSWORD, address="203.0.113.7")[1]
    assert sign_in("alice", PASSWORD, address="198.51.100.2")[1]
    assert not sign_in("alice", PASSWORD, address="203.0.113.7")[1]


def test_successful_sign_in_resets_the_count(alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in("alice", WRONG)
    assert sign_in("alice", PASSWORD)[1]
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in("alice", WRONG)
    assert sign_in("alice", PASSWORD)[1]


def test_admin_sign_in_is_throttled_too(alice):
    fail_until_locked("alice", path="/admin/login/")
    response, signed_in = sign_in("alice", PASSWORD, path="/admin/login/")
    assert not signed_in and response.status_code == 429 and LOCKED in response.content.decode()
    # One count per pair, whichever page the failures came from.
    assert not sign_in("alice", PASSWORD, path="/login/")[1]


def test_forwarded_for_from_an_untrusted_client_does_not_change_the_address(alice):
    """Only the ASGI server applies X-Forwarded-For (from FORWARDED_ALLOW_IPS): a client naming a new
    address in each attempt is still counted under its own."""
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in("alice", WRONG, address="203.0.113.7", HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt}")
    assert not sign_in("alice", PASSWORD, address="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.99")[1]


def test_failure_is_logged_without_the_password(alice, caplog):
    with caplog.at_level(logging.WARNING):
        sign_in("alice", WRONG, address="203.0.113.7")
    failures = [r for r in caplog.records if r.levelno == logging.WARNING and "login failure" in r.getMessage()]
    assert len(failures) == 1
    line = failures[0].getMessage()
    assert '"alice"' in line and "203.0.113.7" in line and "/login/" in line
    assert WRONG not in caplog.text


def test_token_api_unaffected_by_a_lockout(alice):
    token = Token.objects.create(user=alice)
    fail_until_locked("alice")
    response = Client().get("/api/config", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200 and response.json()["success"] is True


def test_axes_reset_unlocks(alice):
    fail_until_locked("alice")
    call_command("axes_reset", verbosity=0)
    assert sign_in("alice", PASSWORD)[1]
