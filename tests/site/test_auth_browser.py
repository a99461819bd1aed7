import re

import pytest
from playwright.sync_api import expect

from tests.browser import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_first_run_page_creates_the_admin_account(page):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup/$"))
    page.fill("input[name=username]", "owner")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("text=Sign out")).to_be_visible()
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.get(username="owner").is_superuser


def test_sign_in_is_required_and_works(page, admin_account):
    page.goto("/admin/")
    assert "/login/" in page.url
    page.goto("/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_be_visible()
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("text=Sign out")).to_be_visible()
