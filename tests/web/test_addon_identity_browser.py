"""Addon identity: two configurations of one addon read apart everywhere they are named
(addons page, catalogs, live and completion tables, records) by a display name and a non-secret
fingerprint; a new addon's manifest is previewed before it is saved. Real peer, real Chromium."""

import pytest
from playwright.sync_api import expect

from addons import services
from addons.models import Addon
from prefetch.models import PrefetchSettings, RunTrigger
from prefetch.runs.execute import execute_run
from prefetch.runs.lifecycle import create_run
from tests.browser import add_addon, assert_fits, looks, off_the_browser_thread

pytestmark = [pytest.mark.django_db(transaction=True)]


def config_url(peer, secret):
    return f"{peer.base}/{secret}/manifest.json"


def test_preview_api_fetches_without_saving_and_refuses_bad_input(api, peer):
    answer = api.post("/api/addon/manifest", {"url": config_url(peer, "key-123")}, format="json")
    assert answer.status_code == 200
    body = answer.json()
    manifest = peer.get("/manifest.json")
    assert (body["name"], body["version"], body["types"]) == (manifest["name"], manifest["version"], manifest["types"])
    assert body["catalogs"] == len(manifest["catalogs"]) and "stream" in body["resources"]
    assert body["url"] == f"{peer.base}/***/manifest.json" and "key-123" not in answer.content.decode()
    assert len(body["fingerprint"]) == 6 and body["duplicate"] is False
    assert not Addon.objects.exists()

    services.add_addon(config_url(peer, "key-123"))
    again = api.post("/api/addon/manifest", {"url": config_url(peer, "key-123")}, format="json").json()
    assert again["duplicate"] is True and again["fingerprint"] == Addon.objects.get().fingerprint

    refused = api.post("/api/addon/manifest", {"url": "not a url"}, format="json")
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["url"]
    too_long = api.patch(f"/api/addons/{Addon.objects.get().pk}", {"display_name": "x" * 201}, format="json")
    assert too_long.status_code == 400 and list(too_long.json()["errors"]) == ["display_name"]


def test_rename_and_blank_goes_back_to_the_manifest_name(api, peer):
    addon = services.add_addon(config_url(peer, "a"), display_name="  Home  ")
    assert addon.display_name == "Home" and addon.label == f"Home · {addon.fingerprint}"
    body = api.patch(f"/api/addons/{addon.pk}", {"display_name": ""}, format="json").json()["addon"]
    assert body["display_name"] is None and body["title"] == "Peer Test Addon"
    assert body["label"] == f"Peer Test Addon · {addon.fingerprint}"


@pytest.mark.browser
def test_two_configurations_read_apart_on_every_page(guarded_page, peer):
    page = guarded_page
    page.goto("/addons/")
    page.fill("#add-url", config_url(peer, "first-secret"))
    page.click("#add-preview")
    box = page.locator("#add-preview-box")
    expect(box.locator("#preview-name")).to_have_text("Peer Test Addon")
    expect(box.locator("#preview-catalogs")).to_have_text(str(len(peer.get("/manifest.json")["catalogs"])))
    expect(box.locator("#preview-resources")).to_contain_text("stream")
    assert not Addon.objects.exists(), "a preview saves nothing"
    page.click("#add-submit")
    expect(box).to_be_hidden()  # saved: the form is cleared only then
    add_addon(page, config_url(peer, "second-secret"), "stream", display_name="Second")
    first, second = Addon.objects.order_by("pk")
    assert first.fingerprint != second.fingerprint and second.display_name == "Second"

    # Rename the first in place.
    row = page.locator(f".addon-row[data-id='{first.pk}']")
    row.locator("button[data-action=rename]").click()
    row.locator(".edit-form input[name=display_name]").fill("Main")
    row.locator(".edit-form button[type=submit]").click()
    expect(page.locator(f".addon-row[data-id='{first.pk}'] .addon-name")).to_contain_text(f"Main {first.fingerprint}")
    first.refresh_from_db()  # after the page shows the rename: the request has been answered
    for _look in looks(page, "/addons/"):
        names = [name.inner_text() for name in page.locator(".addon-name").all()]
        assert any("Main" in n and first.fingerprint in n for n in names)
        assert any("Second" in n and second.fingerprint in n for n in names)
        assert "first-secret" not in page.content() and "second-secret" not in page.content()
        assert_fits(page)

    # A real run: the completion tables and the records name both configurations apart.
    off_the_browser_thread(services.load_catalogs)
    PrefetchSettings.objects.update_or_create(pk=1, defaults={"movies_global_limit": 2, "series_global_limit": 0,
                                                             "fallback_meta_url": ""})
    run = off_the_browser_thread(execute_run, create_run(RunTrigger.MANUAL).pk, worker="test-worker")
    page.goto(f"/runs/{run.pk}/")
    addon_cells = page.locator("#addon-table tbody tr td:first-child")
    expect(addon_cells).to_have_count(2)
    assert sorted(addon_cells.all_inner_texts()) == sorted([first.label, second.label])
    expect(page.locator("#catalog-table tbody tr td:nth-child(2)").first).to_have_text(first.label)
    page.goto("/records/")
    expect(page.locator("#records-table")).to_contain_text(first.label)
    expect(page.locator("#records-table")).to_contain_text(second.label)
