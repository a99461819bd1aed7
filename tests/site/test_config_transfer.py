"""`manage.py export_config` / `import_config`: round trip, secrets redacted unless asked, all or nothing."""

import json
import stat
from datetime import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_celery_beat.models import PeriodicTask

from addons.models import Addon, Catalog
from prefetch.models import PrefetchSettings, Run, RunStatus
from schedules import services as schedule_services
from schedules.models import Schedule, SchedulingSettings

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

SECRET = "Zx9eyJkZWJyaWQiOiJzZWNyZXQtYXBpLWtleSJ9"
COMET_URL = f"https://comet.example.com/{SECRET}/manifest.json"
CINEMETA_URL = "https://v3-cinemeta.strem.io/manifest.json"
MANIFEST = {"id": "org.comet", "name": "Comet", "version": "1.0.0", "resources": ["stream"], "types": ["movie"]}


@pytest.fixture
def configured():
    settings = PrefetchSettings.load()
    settings.movies_per_catalog = 120
    settings.delay_s = 0.5
    settings.proxy_url = "http://user:proxy-pass@proxy.example.com:3128"
    settings.save()
    cinemeta = Addon.objects.create(url=CINEMETA_URL, role="catalog", position=0, name="Cinemeta", manifest=MANIFEST)
    comet = Addon.objects.create(url=COMET_URL, role="stream", position=1, name="Comet", manifest=MANIFEST,
                                 enabled=False)
    Catalog.objects.create(addon=cinemeta, content_type="series", catalog_id="top", name="Popular", position=1)
    Catalog.objects.create(addon=cinemeta, content_type="movie", catalog_id="top", name="Popular", position=0,
                           extras=[{"name": "genre", "isRequired": False, "options": ["Drama"]}],
                           extra_values={"genre": "Drama"})
    Catalog.objects.create(addon=cinemeta, content_type="movie", catalog_id="imdbRating", position=2, enabled=False)
    schedule_services.create_schedule(time=time(3, 30), days=[1, 3, 5])
    schedule_services.create_schedule(time=time(22, 0), days=list(range(7)), enabled=False)
    return cinemeta, comet


def export(*args) -> dict:
    out = StringIO()
    call_command("export_config", *args, stdout=out)
    return json.loads(out.getvalue())


def wipe():
    schedule_services.clear_all()
    Addon.objects.all().delete()
    PrefetchSettings.objects.all().delete()
    SchedulingSettings.objects.all().delete()


def comparable(data: dict) -> dict:
    return {key: value for key, value in data.items() if key != "exported_at"}


def test_export_redacts_secrets_unless_asked(configured):
    data = export()
    text = json.dumps(data)
    assert SECRET not in text and "proxy-pass" not in text
    assert data["secrets_included"] is False
    assert [a["url"] for a in data["addons"]] == [CINEMETA_URL, "https://comet.example.com/***/manifest.json"]
    assert data["settings"]["movies_per_catalog"] == 120
    assert data["settings"]["proxy_url"].startswith("http://***@proxy.example.com")
    cinemeta = data["addons"][0]
    assert cinemeta["role"] == "catalog"
    assert [(c["type"], c["id"], c["enabled"]) for c in cinemeta["catalogs"]] == [
        ("movie", "top", True), ("series", "top", True), ("movie", "imdbRating", False)
    ]
    assert cinemeta["catalogs"][0]["extra_values"] == {"genre": "Drama"}
    assert data["scheduling"] == {"enabled": True, "schedules": [
        {"time": "03:30", "days": [1, 3, 5], "enabled": True},
        {"time": "22:00", "days": [0, 1, 2, 3, 4, 5, 6], "enabled": False},
    ]}

    full = export("--include-secrets")
    assert full["secrets_included"] is True
    assert full["addons"][1]["url"] == COMET_URL
    assert full["settings"]["proxy_url"] == "http://user:proxy-pass@proxy.example.com:3128"


def test_round_trip_with_secrets_restores_everything(configured, tmp_path):
    path = tmp_path / "config.json"
    call_command("export_config", "--include-secrets", "--output", str(path), stderr=StringIO())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds secrets
    before = json.loads(path.read_text())
    wipe()
    assert not Addon.objects.exists() and not Schedule.objects.exists()

    out = StringIO()
    call_command("import_config", str(path), stdout=out, stderr=StringIO())
    assert "2 new" in out.getvalue() and "2 schedules" in out.getvalue()
    assert comparable(export("--include-secrets")) == comparable(before)
    # Schedules were mirrored into beat, not just stored.
    tasks = sorted(PeriodicTask.objects.filter(task="prefetch.tasks.scheduled_run"), key=lambda t: int(t.crontab.hour))
    assert [(t.crontab.hour, t.crontab.minute, t.enabled) for t in tasks] == [("3", "30", True), ("22", "0", False)]


def test_redacted_addons_update_their_match_or_are_skipped(configured, tmp_path):
    data = export()
    data["addons"][1]["enabled"] = True
    data["settings"]["delay_s"] = 3.0
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))

    call_command("import_config", str(path), stdout=StringIO(), stderr=StringIO())
    comet = Addon.objects.get(url=COMET_URL)  # matched by its redacted URL, secret kept
    assert comet.enabled is True
    settings = PrefetchSettings.load()
    assert settings.delay_s == 3.0
    assert settings.proxy_url == "http://user:proxy-pass@proxy.example.com:3128"  # redacted: kept

    wipe()
    err = StringIO()
    call_command("import_config", str(path), stdout=StringIO(), stderr=err)
    assert list(Addon.objects.values_list("url", flat=True)) == [CINEMETA_URL]
    assert "Comet skipped" in err.getvalue()
    assert PrefetchSettings.load().proxy_url == ""


@pytest.mark.parametrize("breakage, message", [
    (lambda d: d.update(format="something-else"), "Not a streams-prefetcher-config file"),
    (lambda d: d.update(version=99), "Unsupported version"),
    (lambda d: d["settings"].update(delay_s=-5), "Invalid settings"),
    (lambda d: d["addons"][0].update(role="both-ish"), "Role must be one of both, catalog, stream"),
    (lambda d: d["addons"][0].update(url="ftp://example.com/x"), "Addon"),
    (lambda d: d["addons"][0]["catalogs"][0].pop("type"), "Addon Cinemeta, catalog top: A catalog needs “type”"),
    (lambda d: d["addons"][0]["catalogs"][0].update(extras="oops"), "catalog top: Extras must be a list"),
    (lambda d: d["addons"][0]["catalogs"][0].update(extra_values={"genre": "Horror"}), "not one of the options"),
    (lambda d: d["addons"][0]["catalogs"][0].update(enabled="yes"), "“enabled” must be true or false"),
    (lambda d: d["addons"][0]["catalogs"][0].update(
        extras=[{"name": "search", "isRequired": True, "options": []}], extra_values={}), "is search-only"),
    (lambda d: d["addons"][0].update(catalogs="oops"), "“catalogs” must be a list"),
    (lambda d: d["addons"][0].update(position="first"), "“position” must be a whole number"),
    (lambda d: d["addons"][0].update(url="http://169.254.169.254/manifest.json"), "not allowed"),
    (lambda d: d["settings"].update(proxy_url="ftp://proxy"), "Use an http:// or https:// proxy URL"),
    (lambda d: d["scheduling"]["schedules"][0].update(days=[9]), "Invalid schedule"),
    (lambda d: d["scheduling"]["schedules"][0].update(time="25h"), "not HH:MM"),
])
def test_invalid_files_change_nothing(configured, tmp_path, breakage, message):
    data = export("--include-secrets")
    before = comparable(json.loads(json.dumps(data)))
    data["settings"]["movies_per_catalog"] = 7  # a valid change that must be rolled back too
    breakage(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CommandError, match=message):
        call_command("import_config", str(path), stdout=StringIO(), stderr=StringIO())
    assert comparable(export("--include-secrets")) == before


def test_unreadable_input_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_config", str(tmp_path / "missing.json"))
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(CommandError, match="is not JSON"):
        call_command("import_config", str(tmp_path / "junk.json"))


def test_import_is_refused_during_a_run_and_changes_nothing(configured, tmp_path):
    data = export("--include-secrets")
    before = comparable(json.loads(json.dumps(data)))
    data["settings"]["movies_per_catalog"] = 7
    data["addons"][0]["enabled"] = False
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    Run.objects.create(status=RunStatus.PAUSED)
    with pytest.raises(CommandError, match="Import is refused while run #.* is paused"):
        call_command("import_config", str(path), stdout=StringIO(), stderr=StringIO())
    assert comparable(export("--include-secrets")) == before


def test_imported_catalogs_are_shown_by_the_catalogs_page(configured, tmp_path, admin_client):
    data = export("--include-secrets")
    data["addons"][0]["catalogs"][0]["extras"] = [{"name": "genre", "isRequired": True}]  # options optional
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    call_command("import_config", str(path), stdout=StringIO(), stderr=StringIO())
    catalog = Catalog.objects.get(catalog_id="top", content_type="movie")
    assert catalog.extras == [{"name": "genre", "isRequired": True, "options": []}]
    assert admin_client.get("/catalogs/").status_code == 200
