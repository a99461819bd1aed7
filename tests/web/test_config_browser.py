"""The configuration flow in a real browser: addons, catalogs, settings, schedules; hostile names."""


import pytest
from playwright.sync_api import expect

from addons.models import Addon, Catalog
from prefetch.models import PrefetchSettings
from tests.browser import add_addon
from tests.helpers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = "<img src=x onerror=alert(1)>"


def drag(page, source, target, below=True):
    """Mouse drag in small steps (SortableJS runs in fallback mode, driven by mouse events)."""
    start = source.bounding_box()
    end = target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    y = end["y"] + end["height"] * (0.8 if below else 0.2)
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + 5, steps=3)
    page.mouse.move(end["x"] + 10, y, steps=15)
    page.mouse.up()


def test_add_addon_load_and_reorder_catalogs_settings_and_schedule(guarded_page, peer, make_peer):
    # guarded_page: any script or console error, also during the drags, fails the test.
    page = guarded_page
    # Addons: a refused addon shows its reason next to the input; the peer is added.
    needs_config = make_peer(PEER_CONFIG_REQUIRED="1")
    page.goto("/addons/")
    page.fill("#add-url", needs_config.base + "/configure")
    page.click("#add-preview")
    expect(page.locator("#add-error")).to_contain_text("configured first")
    expect(page.locator("#add-submit")).to_be_disabled()
    add_addon(page, peer.base + "/", "both")
    row = page.locator("#group-both .addon-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Peer Test Addon")
    expect(page.locator("#add-error")).to_be_hidden()
    assert Addon.objects.get().url == peer.url

    # Catalogs: loaded without a click (the addon was just added), then drag the first row below the third.
    page.click("a[href='/catalogs/']")
    expect(page.locator("#load-catalogs")).to_have_text("Reload catalogs")
    expect(page.locator("#load-catalogs")).to_be_enabled()
    rows = page.locator(".catalog-row")
    expect(rows).to_have_count(8)
    expect(page.locator(".catalog-row .badge.mixed")).to_have_count(1)
    before = list(Catalog.objects.order_by("position").values_list("catalog_id", "content_type"))
    first_name = rows.nth(0).locator(".catalog-name").inner_text()
    drag(page, rows.nth(0).locator(".drag-handle"), rows.nth(2))
    expect(page.locator("#save-state")).to_have_text("Saved")
    after = list(Catalog.objects.order_by("position").values_list("catalog_id", "content_type"))
    assert after != before and sorted(after) == sorted(before)
    assert after[0] == before[1] and before[0] in after[1:3]
    expect(rows.nth(0)).not_to_contain_text(first_name.split("\n")[0])
    assert page.problems == []  # a drag used to throw in the change handler
    # Keyboard alternative: ↓ on the focused handle moves the first catalog one down.
    keyboard_before = list(Catalog.objects.order_by("position").values_list("pk", flat=True))
    rows.nth(0).locator(".drag-handle").focus()
    page.keyboard.press("ArrowDown")
    expected = keyboard_before[1::-1] + keyboard_before[2:]
    wait_until(lambda: list(Catalog.objects.order_by("position").values_list("pk", flat=True)) == expected,
               message="the keyboard move to be saved")
    expect(rows.nth(1).locator(".drag-handle")).to_be_focused()
    # Filters hide rows but keep the order.
    page.select_option("#filter-type", "series")
    expect(rows).to_have_count(2)
    page.select_option("#filter-type", "")

    # Settings: an invalid value gets its message next to the field and nothing is saved.
    page.click("a[href='/settings/']")
    heading_y = page.locator("main h1").bounding_box()["y"]
    page.fill("input[name=movies_per_catalog_value]", "-5")
    page.fill("input[name=series_per_catalog_value]", "9")
    page.click("#save-settings")
    expect(page.locator("#field-movies_per_catalog .field-error")).to_contain_text("Use -1 for unlimited")
    expect(page.locator("#field-series_per_catalog .field-error")).to_have_count(0)
    row = PrefetchSettings.load()
    assert (row.movies_per_catalog, row.series_per_catalog) == (50, 3)
    page.fill("input[name=movies_per_catalog_value]", "25")
    page.click("#save-settings")
    expect(page.locator(".toast-success")).to_contain_text("Settings saved")
    assert page.locator("main h1").bounding_box()["y"] == heading_y  # the toast floats: nothing moves
    # `hidden` beats the display of any class (an empty type pill used to show).
    assert page.evaluate("""() => { const pill = document.createElement("span"); pill.className = "badge movie";
        pill.hidden = true; document.body.append(pill); return getComputedStyle(pill).display; }""") == "none"
    assert (PrefetchSettings.load().movies_per_catalog, PrefetchSettings.load().series_per_catalog) == (25, 9)

    # Schedules: add one for weekdays at 14:30 -> one beat task with that crontab.
    page.click("a[href='/schedules/']")
    page.fill("input[name=time]", "14:30")
    page.click("button[data-days=none]")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
        page.locator(".day-pick", has_text=day).locator("input").check()
    page.click("#add-schedule-submit")
    expect(page.locator(".schedule-table tbody tr")).to_have_count(1)
    expect(page.locator(".schedule-when strong")).to_have_text("14:30")
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="prefetch.tasks.scheduled_run")
    assert (task.crontab.hour, task.crontab.minute, task.crontab.day_of_week, task.enabled) == ("14", "30", "1,2,3,4,5", True)
    expect(page.locator("#next-run")).to_contain_text(":30 ")  # 14:30 in the server's zone, named


def test_hostile_manifest_names_render_as_text(signed_in_page):
    page = signed_in_page
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    addon = Addon.objects.create(
        url="http://127.0.0.1:9/manifest.json", name=HOSTILE, version="1<b>2</b>", logo="javascript:alert(2)",
        manifest={"types": [HOSTILE], "catalogs": []},
    )
    Catalog.objects.create(
        addon=addon, content_type="movie", catalog_id="x", name=HOSTILE,
        extras=[{"name": "genre", "isRequired": True, "options": [HOSTILE]}],
    )
    for path, selector in (("/addons/", ".addon-name"), ("/catalogs/", ".catalog-name")):
        page.goto(path)
        expect(page.locator(selector).first).to_contain_text(HOSTILE)
        assert page.locator("img[src=x]").count() == 0
        assert page.locator("main img[src^='javascript']").count() == 0
    expect(page.locator(".catalog-extras option", has_text=HOSTILE)).to_have_count(1)
    assert dialogs == []


def test_reveal_edit_and_timezone_banner(signed_in_page, peer, settings):
    import json
    import urllib.parse

    page = signed_in_page
    config = urllib.parse.quote(json.dumps({"token": "SuperSecretKey"}, separators=(",", ":")), safe="")
    secret_url = f"{peer.base}/{config}/manifest.json"
    page.goto("/addons/")
    add_addon(page, secret_url, "stream")
    row = page.locator("#group-stream .addon-row")
    expect(row).to_contain_text("Peer Test Addon")
    expect(row.locator(".addon-url")).not_to_contain_text("SuperSecret")
    row.locator("button[data-action=reveal]").click()
    expect(row.locator(".addon-url")).to_have_text(secret_url)
    # Editing to a URL that is already there is refused in place.
    add_addon(page, peer.url, "both")
    expect(page.locator("#group-both .addon-row")).to_have_count(1)
    row = page.locator("#group-stream .addon-row")
    row.locator("button[data-action=edit]").click()
    row.locator(".edit-form input[name=url]").fill(peer.base + "/manifest.json")
    row.locator(".edit-form button[type=submit]").click()
    expect(row.locator(".field-error")).to_contain_text("already configured")

    # The server zone differs from the browser's (Playwright default: the machine's zone) -> banner.
    settings.TIME_ZONE = "Pacific/Kiritimati"
    page.goto("/schedules/")
    expect(page.locator("#tz-banner")).to_be_visible()
    expect(page.locator("#tz-banner")).to_contain_text("Pacific/Kiritimati")
