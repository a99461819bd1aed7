import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, tzinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest

from addons.client import fetch_manifest_sync
from prefetch.engine.plan import AddonSpec, CatalogSpec, EngineSettings, RunPlan

ROOT = Path(__file__).resolve().parent.parent  # the project: manage.py, the compose files, docs/

# Fast, unlimited, never-cached: what most engine tests want unless they say otherwise.
OPEN_SETTINGS = dict(
    movies_global_limit=-1, series_global_limit=-1, movies_per_catalog=-1, series_per_catalog=-1,
    items_per_mixed_catalog=-1, delay_s=0.0, cache_validity_s=0, max_execution_time_s=-1,
    request_timeout_s=5.0, retries=0, include_specials=True, include_unreleased=True, fallback_meta_url="",
    verify_sample_size=0,  # no re-requests after the run, so that tests count the run's own requests
)


def addon(url: str, role: str = "both") -> AddonSpec:
    manifest = fetch_manifest_sync(url)
    return AddonSpec(url, manifest.name, manifest, role in ("both", "catalog"), role in ("both", "stream"))


def without_meta(spec: AddonSpec) -> AddonSpec:
    """The same addon, as if its manifest declared no meta resource."""
    from addons.manifest import Manifest

    data = dict(spec.manifest.data)
    data["resources"] = [r for r in data["resources"] if not (r == "meta" or isinstance(r, dict) and r.get("name") == "meta")]
    spec.manifest = Manifest(data)
    return spec


def plan(addons: list[AddonSpec], catalogs: list[tuple[str, str]] | None = None, extra_values=None, **settings):
    """All catalogs of the catalog addons, or only the (type, id) pairs given, in that order."""
    specs = []
    for spec in addons:
        if not spec.serves_catalogs:
            continue
        for decl in spec.manifest.catalogs():
            specs.append(
                CatalogSpec(spec, decl.type, decl.id, decl.name, decl.extras, dict((extra_values or {}).get((decl.type, decl.id), {})))
            )
    if catalogs is not None:
        order = {key: index for index, key in enumerate(catalogs)}
        specs = sorted((c for c in specs if (c.type, c.id) in order), key=lambda c: order[(c.type, c.id)])
    return RunPlan(addons, specs, EngineSettings(**{**OPEN_SETTINGS, **settings}))


# What configure() saves under a test's own settings: a quick run that walks every item of the
# catalogs, without waits, retries, Cinemeta or re-requests to verify (the model's defaults otherwise,
# among them a cache validity of 7 days).
QUICK_RUN = dict(
    movies_global_limit=-1, series_global_limit=-1, movies_per_catalog=-1, series_per_catalog=-1,
    items_per_mixed_catalog=-1, delay_s=0.0, max_execution_time_s=-1, request_timeout_s=10.0, retries=0,
    fallback_meta_url="", verify_sample_size=0,
)


def configure(addon_url: str, catalogs: list[tuple[str, str]], **settings):
    """The saved configuration, as the Addons and Catalogs pages would leave it: the addon at
    `addon_url` in both roles, the (type, id) catalogs of its manifest in the order given, and
    QUICK_RUN with `settings` over it. Returns the Addon."""
    from django.utils import timezone

    from addons.models import Addon, Catalog
    from prefetch.models import PrefetchSettings

    manifest = fetch_manifest_sync(addon_url)
    addon = Addon(url=addon_url, role="both", position=0)
    addon.apply_manifest(manifest, timezone.now())
    addon.save()
    for decl in manifest.catalogs():
        if (decl.type, decl.id) in catalogs:
            Catalog.objects.create(
                addon=addon, content_type=decl.type, catalog_id=decl.id, name=decl.name,
                position=catalogs.index((decl.type, decl.id)), extras=[extra.as_dict() for extra in decl.extras],
            )
    PrefetchSettings.objects.update_or_create(pk=1, defaults={**QUICK_RUN, **settings})
    return addon


def finished(run_id: int):
    """The run once it has come to an end (FINISHED_STATUSES), else None."""
    from prefetch.models import FINISHED_STATUSES, Run

    run = Run.objects.get(pk=run_id)
    return run if run.status in FINISHED_STATUSES else None


def insert_records(count: int, *, addon_key: str = "filler", content_type: str = "movie",
                   video_id: str = "tt{:09d}", title: str = "", succeeded_at: datetime | None = None) -> None:
    """Insert `count` prefetch records quickly (raw batched INSERTs, not one ORM object each):
    video ids from `video_id.format(n)`, succeeded at `succeeded_at` (default now)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from prefetch.models import PrefetchRecord

    at = connection.ops.adapt_datetimefield_value(succeeded_at or timezone.now())
    sql = (f"INSERT INTO {PrefetchRecord._meta.db_table} (addon_key, addon_name, content_type, video_id, title,"
           " last_attempt, last_success, last_error) VALUES (%s, %s, %s, %s, %s, %s, %s, '')")
    batch = 50_000
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, count, batch):
            cursor.executemany(sql, [(addon_key, addon_key, content_type, video_id.format(n), title, at, at)
                                     for n in range(start, min(count, start + batch))])


def wait_until(condition, timeout: float = 10.0, interval: float = 0.02, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


def next_whole_minute(zone: tzinfo, margin_s: float = 8.0) -> datetime:
    """The next minute boundary in `zone`, or the one after when fewer than `margin_s` seconds are
    left to set up a schedule for it (beat must see the schedule before the minute comes)."""
    now = datetime.now(zone)
    minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return minute if (minute - now).total_seconds() >= margin_s else minute + timedelta(minutes=1)


def cron_weekday(moment: datetime) -> int:
    """A schedule's day number for this date: 0 = Sunday, as in cron."""
    return (moment.weekday() + 1) % 7


def send_json(handler, data) -> None:
    """Answer a BaseHTTPRequestHandler request with 200 and a JSON body (for tiny local test servers)."""
    body = json.dumps(data).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@contextmanager
def local_server(handler: type[BaseHTTPRequestHandler]):
    """Serve `handler` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@contextmanager
def json_addon(answer):
    """A tiny local addon: `answer(path)` gives the JSON for each GET. Yields its manifest URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            send_json(self, answer(self.path))

        def log_message(self, *args):
            pass

    with local_server(Handler) as base:
        yield f"{base}/manifest.json"


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: to start a server on, or to be refused at."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def tcp_server(handle):
    """A TCP service on a free port: `handle(connection)` runs for each accepted connection, which is
    closed when it returns. Yields the port."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            handle(self.request)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


class Receiver:
    """A webhook on 127.0.0.1 that keeps what it is POSTed and answers with the status it is told."""

    def __init__(self, status: int = 200):
        self.received: list[dict] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                receiver.received.append({
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type", ""),
                    "body": json.loads(self.rfile.read(length) or b"null"),
                })
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/s3cret-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def refused(response, field: str) -> list:
    """The API's 400 answer: the `success` envelope, with `errors` naming `field`; returns its messages."""
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert body["success"] is False and body["error"].startswith(f"{field}: "), body
    assert field in body["errors"], body
    return body["errors"][field]


def samples(text: str) -> dict[str, float]:
    """/metrics as `name{label="value",...}` (values unescaped, labels in exposition order) -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        sample.name + ("{" + ",".join(f'{k}="{v}"' for k, v in sample.labels.items()) + "}" if sample.labels else ""):
        sample.value
        for family in text_string_to_metric_families(text) for sample in family.samples
    }


def command(name: str, *args) -> tuple[int, str, str]:
    """A management command that ends with an exit status (prefetch, prefetch_releases), run in this
    process: (the status, stdout, stderr)."""
    from django.core.management import call_command

    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command(name, *args, stdout=out, stderr=err)
    return exit_info.value.code, out.getvalue(), err.getvalue()


def prefetch_json(peer, *args) -> dict:
    """`manage.py prefetch --json` against the peer's movies (no series or mixed items), no delay,
    nothing valid from before; `args` add to or override that. The summary it prints."""
    code, out, err = command(
        "prefetch", "--addon", f"both={peer.url}", "--delay", "0", "--cache-validity", "0",
        "--series-per-catalog", "0", "--items-per-mixed-catalog", "0", "--json", *args,
    )
    assert code == 0, err
    return json.loads(out)


def app_env(data_dir, **env) -> dict:
    """The environment of a process of the app started by a test: a data folder, hence a SQLite
    database, of its own (not the test database), and `env`."""
    inherited = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    return {**inherited, "DATA_DIR": str(data_dir), **env}


def manage(*args, data_dir, **env) -> subprocess.CompletedProcess:
    """`manage.py *args` in a process of its own (app_env), its output kept as text."""
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=app_env(data_dir, **env),
                          capture_output=True, text=True, timeout=120)


def migrated(data_dir, **env) -> dict:
    """app_env() of a data folder whose database is migrated: ready for `manage.py prefetch`."""
    environment = app_env(data_dir, **env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=environment, check=True,
                   timeout=120)
    return environment


def settings_post_data(**overrides):
    """What the Settings form posts for the current row, with some fields changed."""
    from prefetch.models import PrefetchSettings
    from prefetch.web.forms import SettingsForm

    form = SettingsForm(instance=PrefetchSettings.load())
    data = {}
    for name, field in form.fields.items():
        bound = form[name]
        value = bound.value()
        widget = field.widget
        if hasattr(widget, "decompress"):
            parts = widget.decompress(value)
            for suffix, part in zip(("value", "unit", "unlimited"), parts):
                if suffix == "unlimited":
                    if part:
                        data[f"{name}_unlimited"] = "on"
                elif part is not None:
                    data[f"{name}_{suffix}"] = part
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = "" if value is None else value
    data.update(overrides)
    return data
