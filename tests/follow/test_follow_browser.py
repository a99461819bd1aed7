"""The Follow page in Chromium: the companion URL with its install link and the HTTPS note, a new
secret, Stremio's sign-in (the service's refusal shown, then connected as the account), Trakt's device
code shown and polled until connected as the account, reading the accounts into the targets list, a
pasted authKey, and the hit rate; a second viewer added, chosen, shown with their own companion URL
and deleted."""

import os
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from prefetch.follow.models import Play, Viewer
from prefetch.follow.services import default_viewer
from prefetch.follow.sources.stremio_account import StremioAccount
from tests.browser import assert_fits, looks, off_the_browser_thread
from tests.helpers import ROOT, configure
from tests.watch_standin import CLIENT_ID, CLIENT_SECRET, EMAIL, PASSWORD, SCENARIO, TRAKT_USER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_follow_page_connects_both_accounts_and_lists_what_is_kept_warm(signed_in_page, make_peer, make_standin,
                                                                       settings, asgi_server):
    page = signed_in_page
    peer = make_peer()
    off_the_browser_thread(configure, peer.url, [("series", "peer-series")], cache_validity_s=7 * 86400)
    standin = make_standin(SCENARIO, meta_url=peer.base)
    settings.STREMIO_API_URL = settings.TRAKT_API_URL = standin.url
    settings.TRAKT_CLIENT_ID, settings.TRAKT_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    viewer = default_viewer()
    Play.objects.create(viewer=viewer, content_type="movie", video_id="tt9100001", at=timezone.now(), warm=True,
                        warmed_by="catalog")
    Play.objects.create(viewer=viewer, content_type="movie", video_id="tt9100002", at=timezone.now(), warm=False,
                        miss_reason="expired")

    page.goto("/follow/")
    url = page.locator("#companion-url")
    expect(url).to_have_value(f"{asgi_server.url}/watch/{viewer.companion_secret}/manifest.json")
    expect(page.locator("#install-link")).to_have_attribute(
        "href", f"stremio://{asgi_server.url.split('://')[1]}/watch/{viewer.companion_secret}/manifest.json")
    expect(page.locator("#https-note")).to_contain_text("HTTPS only")
    expect(page.locator("#hit-rate")).to_have_text("Opened in the last 7 days: 1 of 2 warm — 50 %")
    expect(page.locator("#miss-table")).to_contain_text("expired")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#regenerate")
    expect(url).not_to_have_value(re.compile(re.escape(viewer.companion_secret)))  # the new one is saved
    regenerated = Viewer.objects.get().companion_secret
    assert regenerated != viewer.companion_secret
    expect(url).to_have_value(f"{asgi_server.url}/watch/{regenerated}/manifest.json")

    page.fill("#stremio-form input[name=email]", EMAIL)
    page.fill("#stremio-form input[name=password]", "wrong")
    page.click("#stremio-connect")
    expect(page.locator(".toast-error")).to_contain_text("Wrong passphrase")
    page.fill("#stremio-form input[name=password]", PASSWORD)
    page.click("#stremio-connect")
    expect(page.locator("#stremio-state")).to_contain_text(f"Stremio: connected as {EMAIL}")
    expect(page.locator("#stremio-form")).to_be_hidden()

    page.click("#trakt-connect")
    expect(page.locator("#trakt-code")).to_be_visible()
    expect(page.locator("#trakt-user-code")).not_to_be_empty()
    expect(page.locator("#trakt-state")).to_have_text(f"Trakt: connected as {TRAKT_USER}, not read yet",
                                                      timeout=15_000)  # polled

    page.click("#sync-now")
    expect(page.locator("#target-table")).to_contain_text("tt9200003:1:4")
    expect(page.locator("#target-table")).to_contain_text("tt9100030")  # Trakt's paused movie
    expect(page.locator("#stremio-state")).to_contain_text("library read")
    expect(page.locator("#trakt-state")).to_contain_text(f"Trakt: connected as {TRAKT_USER}, read")
    for _look in looks(page, "/follow/"):
        assert_fits(page)
    if os.environ.get("SCREENSHOTS"):  # the README's picture (SCREENSHOTS=1 refreshes it)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.evaluate("localStorage.setItem('theme', 'dark')")
        page.goto("/follow/")
        page.screenshot(path=str(ROOT / "docs/screenshots/follow.png"),
                        full_page=True)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/follow/")
    page.click("#stremio-disconnect")
    expect(page.locator("#stremio-state")).to_have_text("Stremio: not connected")
    pasted = StremioAccount(standin.url).sign_in(EMAIL, PASSWORD).auth_key  # as copied from a Stremio app
    page.fill("#stremio-form input[name=auth_key]", pasted)
    page.click("#stremio-connect")
    expect(page.locator("#stremio-state")).to_have_text(f"Stremio: connected as {EMAIL}, library not read yet")


def test_a_second_viewer_is_added_chosen_and_deleted_with_their_own_companion_url(signed_in_page, asgi_server):
    page = signed_in_page
    first = default_viewer()
    page.goto("/follow/")
    page.fill("#add-viewer input[name=name]", first.name.upper())
    page.click("#add-viewer-submit")
    expect(page.locator(".toast-error")).to_contain_text("Another viewer has this name.")
    page.fill("#add-viewer input[name=name]", "Alex")
    page.click("#add-viewer-submit")
    expect(page.locator("#viewer-name")).to_have_text("Alex")  # the page switched to the new viewer
    alex = Viewer.objects.get(name="Alex")
    assert page.url.endswith(f"/follow/?viewer={alex.pk}")
    expect(page.locator("#companion-url")).to_have_value(f"{asgi_server.url}/watch/{alex.companion_secret}/manifest.json")
    expect(page.locator("#stremio-state")).to_have_text("Stremio: not connected")
    for viewer in (first, alex):  # the list shows every viewer's own
        expect(page.get_by_label(f"Companion URL of {viewer.name}")).to_have_value(
            f"{asgi_server.url}/watch/{viewer.companion_secret}/manifest.json")
    assert_fits(page)

    page.click(f"#viewer-table a:text-is('{first.name}')")
    expect(page.locator("#viewer-name")).to_have_text(first.name)
    expect(page.locator("#companion-url")).to_have_value(f"{asgi_server.url}/watch/{first.companion_secret}/manifest.json")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"#viewer-table tr[data-viewer-id='{alex.pk}'] .delete-viewer")
    expect(page.locator("#viewer-table tbody tr")).to_have_count(1)
    assert not Viewer.objects.filter(pk=alex.pk).exists()
