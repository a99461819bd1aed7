"""Addons that answer too much: every answer is capped on its decoded size, as it streams in."""

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from addons.client import AddonClient
from addons.manifest import ManifestError
from addons.services import client_limits
from tests.helpers import json_addon

pytestmark = pytest.mark.postgresql

MB = 1024 * 1024


class OversizedAddon:
    """Serves a 6 MB manifest with no Content-Length, a 40 MB answer in 50 KB of gzip, and a small
    answer; counts what it managed to send."""

    def __init__(self):
        self.sent: dict[str, int] = {}
        outer = self
        manifest = {"id": "big", "name": "Big", "version": "1.0.0", "types": ["movie"], "resources": ["stream"],
                    "catalogs": [], "description": "x" * (6 * MB)}
        bomb = gzip.compress(json.dumps({"streams": [{"title": "0" * (40 * MB)}]}).encode())

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # body delimited by closing the connection: no length to check first

            def do_GET(self):
                if self.path == "/big/manifest.json":
                    body, extra = json.dumps(manifest).encode(), {}
                elif self.path == "/bomb/stream/movie/tt1.json":
                    body, extra = bomb, {"Content-Encoding": "gzip"}
                else:
                    body, extra = json.dumps({"streams": [{"title": "fine"}]}).encode(), {}
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                sent = 0
                try:
                    for start in range(0, len(body), 64 * 1024):
                        self.wfile.write(body[start:start + 64 * 1024])
                        sent += min(64 * 1024, len(body) - start)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                outer.sent[self.path] = sent

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.manifest_size = len(json.dumps(manifest))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def oversized():
    server = OversizedAddon()
    yield server
    server.server.shutdown()


async def test_a_manifest_over_the_cap_is_refused_with_a_clear_message(oversized):
    async with AddonClient(timeout_s=10, retries=0) as client:
        with pytest.raises(ManifestError, match=r"answer larger than 5 MB"):
            await client.fetch_manifest(f"{oversized.base}/big/manifest.json")


async def test_a_compressed_answer_is_capped_on_its_decoded_size(oversized):
    async with AddonClient(timeout_s=10, retries=0) as client:
        result = await client.get_json(f"{oversized.base}/bomb/stream/movie/tt1.json")
        assert not result.ok and result.error == "answer larger than 20 MB" and result.attempts == 1
        fine = await client.get_json(f"{oversized.base}/ok/stream/movie/tt2.json")
        assert fine.ok and fine.data == {"streams": [{"title": "fine"}]}


async def test_the_caps_are_settings(oversized, settings):
    settings.ADDON_MAX_ANSWER_MB = 0.5
    async with AddonClient(timeout_s=10, retries=0, limits=client_limits()) as client:
        result = await client.get_json(f"{oversized.base}/big/manifest.json")
    assert result.error == "answer larger than 0.5 MB"


LONG_TYPE = "t" * 60
LONG_CATALOG = "c" * 400
LONG_ID = "tt" + "1" * 348
TOO_LONG_ID = "tt" + "2" * 1200


def long_ids_answer(path: str) -> dict:
    """An addon whose type, catalog id and item ids are longer than any column used to allow."""
    if path == "/manifest.json":
        return {"id": "long", "name": "Long Ids", "version": "1.0.0", "types": [LONG_TYPE],
                "resources": ["catalog", "stream"], "catalogs": [{"type": LONG_TYPE, "id": LONG_CATALOG, "name": "Long"}]}
    if path.startswith("/catalog/"):
        return {"metas": [{"id": LONG_ID, "name": "Long one"}, {"id": TOO_LONG_ID, "name": "Too long"}]}
    return {"streams": [{"title": "ok", "url": "http://127.0.0.1/x"}]}


@pytest.fixture
def long_ids():
    with json_addon(long_ids_answer) as url:
        yield url


@pytest.mark.django_db(transaction=True)
def test_long_types_and_ids_are_stored_and_absurd_ones_refused_one_by_one(long_ids):
    """On PostgreSQL, where length limits used to fail the whole run (run.sh runs this there too)."""
    from addons.models import Catalog
    from addons.services import add_addon, load_catalogs
    from prefetch.models import PrefetchRecord, PrefetchSettings, Run, RunStatus
    from prefetch.runs.execute import execute_run
    from prefetch.runs.lifecycle import create_run

    add_addon(long_ids)
    loaded = load_catalogs()
    assert not loaded["errors"]
    assert list(Catalog.objects.values_list("content_type", "catalog_id")) == [(LONG_TYPE, LONG_CATALOG)]
    PrefetchSettings.objects.update_or_create(pk=1, defaults={"delay_s": 0, "fallback_meta_url": ""})

    run = execute_run(create_run("manual").pk)
    assert run.status == RunStatus.COMPLETED_WITH_FAILURES, run.error  # the run went on; the refused id is a failure
    assert list(PrefetchRecord.objects.values_list("content_type", "video_id")) == [(LONG_TYPE, LONG_ID)]
    assert run.statistics["items_failed"] == 1  # the 1,202-character id, reported instead of stored
    assert "longer than 1000 characters" in "\n".join(Run.objects.get(pk=run.pk).progress["log_tail"])


def many_catalogs(count: int) -> dict:
    return {"id": "many", "name": "Many Catalogs", "version": "1.0.0", "types": ["movie"],
            "resources": ["catalog", "stream"],
            "catalogs": [{"type": "movie", "id": f"catalog-{n}", "name": f"Catalog {n}"} for n in range(count)]}


@pytest.mark.django_db(transaction=True)
def test_many_catalogs_are_capped_and_pages_stay_light(user_client, settings, django_assert_max_num_queries):
    import tracemalloc

    from addons.models import Catalog
    from addons.services import add_addon, load_catalogs

    manifest = many_catalogs(6000)
    settings.ADDON_MAX_CATALOGS = 5000
    with json_addon(lambda path: manifest) as url:
        add_addon(url)
        loaded = load_catalogs()
    assert Catalog.objects.count() == 5000
    assert loaded["errors"][0]["error"] == (
        "It declares 6000 catalogs; only the first 5000 are loaded (ADDON_MAX_CATALOGS).")

    tracemalloc.start()
    try:
        with django_assert_max_num_queries(12):  # not one query per catalog
            page = user_client.get("/catalogs/")
        api = user_client.get("/api/catalogs/selection")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert page.status_code == 200 and api.status_code == 200 and len(api.json()["catalogs"]) == 5000
    assert peak < 200 * 1024 * 1024  # it was 3.6 GB: the manifest (5,000 catalogs) parsed once per row
