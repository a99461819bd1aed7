"""Every configuration writer (page, API, admin, import) goes through the same services and the
same guard: no change while a run is active, even when the run is created concurrently."""

import threading

import pytest
from django.db import close_old_connections, connection, transaction

from addons.models import Addon, Catalog
from prefetch.models import PrefetchSettings, Run, RunStatus
from prefetch.runs.active import ConfigLocked, configuration_change
from prefetch.runs.lifecycle import RunRefused, create_run
from prefetch.settings_changes import save_settings
from tests.helpers import wait_until

pytestmark = pytest.mark.postgresql

PEER_DUPLICATE = "This addon is already configured"


def addon_add_form(url: str, role: str = "both") -> dict:
    return {
        "url": url, "role": role, "enabled": "on", "_save": "Save",
        "catalog_set-TOTAL_FORMS": "0", "catalog_set-INITIAL_FORMS": "0",
        "catalog_set-MIN_NUM_FORMS": "0", "catalog_set-MAX_NUM_FORMS": "1000",
    }


def settings_form(row: PrefetchSettings, **changes) -> dict:
    data = {"_save": "Save"}
    for field in PrefetchSettings._meta.fields:
        if field.name in ("id", "proxy_url"):
            continue
        value = changes.get(field.name, getattr(row, field.name))
        if isinstance(value, bool):
            if value:
                data[field.name] = "on"
        else:
            data[field.name] = str(value)
    data["proxy_url"] = changes.get("proxy_url", "")
    return data


# --- admin ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_admin_refuses_a_duplicate_addon_with_the_services_message(admin_client):
    Addon.objects.create(url="http://127.0.0.1:9/Token/manifest.json", name="Existing")
    response = admin_client.post("/admin/addons/addon/add/", addon_add_form("http://127.0.0.1:9/Token/configure"))
    assert response.status_code == 200 and PEER_DUPLICATE in response.content.decode()
    assert Addon.objects.count() == 1


@pytest.mark.django_db
def test_admin_adds_and_edits_addons_through_the_services(admin_client, peer):
    Addon.objects.create(url="http://127.0.0.1:9/a/manifest.json", name="A", role="stream", position=0)
    response = admin_client.post("/admin/addons/addon/add/", addon_add_form(peer.url + "/", role="catalog"))
    assert response.status_code == 302, response.content.decode()[:2000]
    added = Addon.objects.get(role="catalog")
    assert added.url == peer.url and added.name and added.manifest["catalogs"]  # normalised, manifest fetched

    change = addon_add_form("", role="stream")
    del change["url"]
    assert admin_client.post(f"/admin/addons/addon/{added.pk}/change/", change).status_code == 302
    added.refresh_from_db()
    assert (added.role, added.position) == ("stream", 1)  # moved last into its new group, as the page does


@pytest.mark.django_db
def test_admin_checks_catalog_choices_like_the_catalogs_page(admin_client):
    addon = Addon.objects.create(url="http://127.0.0.1:9/manifest.json", name="A")
    search = Catalog.objects.create(addon=addon, content_type="movie", catalog_id="search", name="Search",
                                    enabled=False, extras=[{"name": "search", "isRequired": True, "options": []}])
    genre = Catalog.objects.create(addon=addon, content_type="movie", catalog_id="genre", name="Genre", position=1,
                                   extras=[{"name": "genre", "isRequired": True, "options": ["Drama"]}])
    response = admin_client.post(f"/admin/addons/catalog/{search.pk}/change/", {"enabled": "on", "position": "0",
                                                                         "extra_values": "{}", "_save": "Save"})
    assert response.status_code == 200 and "search-only and cannot be prefetched" in response.content.decode()
    response = admin_client.post(f"/admin/addons/catalog/{genre.pk}/change/", {"enabled": "on", "position": "1",
                                                                        "extra_values": '{"genre": "Horror"}', "_save": "Save"})
    assert response.status_code == 200 and "is not one of the options" in response.content.decode()
    assert not Catalog.objects.get(pk=search.pk).enabled and Catalog.objects.get(pk=genre.pk).extra_values == {}


@pytest.mark.django_db
def test_admin_settings_are_validated_and_refused_during_a_run(admin_client):
    row = PrefetchSettings.load()
    row.proxy_url = "http://user:hunter2@proxy.local:8080"
    row.save()
    page = f"/admin/prefetch/prefetchsettings/{row.pk}/change/"

    response = admin_client.post(page, settings_form(row, proxy_url="ftp://nope", cache_request_hosts="a.com/x"))
    assert response.status_code == 200
    assert "Use an http:// or https:// proxy URL" in response.content.decode()
    assert "Host names only" in response.content.decode()

    assert admin_client.post(page, settings_form(row, movies_per_catalog=7)).status_code == 302
    saved = PrefetchSettings.load()
    assert saved.movies_per_catalog == 7 and saved.proxy_url == "http://user:hunter2@proxy.local:8080"  # kept

    assert admin_client.post(page, settings_form(saved, proxy_url="-")).status_code == 302
    assert PrefetchSettings.load().proxy_url == ""  # "-" removes it

    Run.objects.create(status=RunStatus.RUNNING)
    response = admin_client.post(page, settings_form(row, movies_per_catalog=9), follow=True)
    assert "cannot change while run" in response.content.decode()
    assert PrefetchSettings.load().movies_per_catalog == 7


# --- the guard under concurrency ------------------------------------------------------------------
def in_thread(target):
    """Run `target` on its own database connection; the thread's outcome is kept in the result."""
    result = {}

    def run():
        try:
            result["value"] = target()
        except Exception as error:  # noqa: BLE001 - handed to the test
            result["error"] = error
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def waiting_for_the_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cursor.fetchone()[0] == 1


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite has one write lock and begins every transaction IMMEDIATE (see the next test)",
)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_run_created_while_settings_are_saved_waits_for_the_change():
    PrefetchSettings.load()
    release = threading.Event()
    inside = threading.Event()

    def change():
        with configuration_change():
            row = PrefetchSettings.load()
            row.movies_per_catalog = 11
            row.save()
            inside.set()
            release.wait(10)

    changing, changed = in_thread(change)
    assert inside.wait(10)
    starting, started = in_thread(lambda: create_run("manual"))
    wait_until(waiting_for_the_lock, message="the run creation to wait for the configuration lock")
    assert not Run.objects.exists()  # it cannot slip in between the check and the write
    release.set()
    changing.join(10)
    starting.join(10)
    assert "error" not in changed and "error" not in started
    assert PrefetchSettings.load().movies_per_catalog == 11 and Run.objects.filter(status=RunStatus.QUEUED).count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_settings_saved_while_a_run_is_being_created_are_refused():
    PrefetchSettings.load()
    release = threading.Event()
    created = threading.Event()

    def start():
        with transaction.atomic():
            run = create_run("manual")
            created.set()
            release.wait(10)
        return run

    starting, started = in_thread(start)
    assert created.wait(10)

    def change():
        row = PrefetchSettings.load()
        row.movies_per_catalog = 12
        return save_settings(row)

    changing, changed = in_thread(change)
    wait_until(waiting_for_the_lock, message="the settings change to wait for the configuration lock")
    release.set()
    starting.join(10)
    changing.join(10)
    assert "error" not in started
    assert isinstance(changed.get("error"), ConfigLocked) and "while run" in str(changed["error"])
    assert PrefetchSettings.load().movies_per_catalog == 50


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
def test_sqlite_transactions_take_the_write_lock_first():
    """What the guard relies on with SQLite: a transaction holds the one write lock from its start."""
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


@pytest.mark.django_db
def test_a_second_run_is_still_refused_by_the_database():
    create_run("manual")
    with pytest.raises(RunRefused):
        create_run("manual")
