"""`make run`'s single process: web server, Celery worker and beat in one process, no Redis."""

import gzip
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.deployment import EmbeddedApp
from tests.helpers import ROOT, cron_weekday, next_whole_minute, wait_until

TZ = "Europe/Berlin"  # not UTC: a schedule's HH:MM is in the server's zone


@pytest.fixture
def embedded_app(peer, tmp_path):
    app = EmbeddedApp(peer, tmp_path, TZ)
    yield app
    app.stop()


def test_one_process_serves_the_app_and_executes_a_run(peer, embedded_app):
    peer.reset()
    embedded_app.call("/api/config", method="PATCH", body={"logging_enabled": True})
    started = embedded_app.call("/api/job/run", method="POST")
    assert started["success"] is True
    status = wait_until(
        lambda: (s := embedded_app.call("/api/job/status")["status"])["status"] == "completed" and s,
        timeout=30, message="the run to complete in the embedded worker",
    )
    assert status["id"] is not None
    assert len(peer.requests("stream")) == 50
    # what else the web server sends: a page, the static files it names, the run's log file to download
    login = embedded_app.get("/login/").decode()
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', login)
    assert any(asset.endswith(".css") for asset in assets) and any(asset.endswith(".js") for asset in assets), assets
    for asset in assets:
        assert embedded_app.get(asset), asset
    (log_file,) = [entry["filename"] for entry in embedded_app.call("/api/logs")["logs"]]
    download = embedded_app.get(f"/api/logs/{log_file}?download=1")
    assert download == (embedded_app.data_dir / "logs" / log_file).read_bytes() and b"Run finished" in download
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status reports it
    assert embedded_app.stop() in (0, -signal.SIGTERM)
    output = Path(embedded_app.log_path).read_text()
    assert "Streams Prefetcher on http://" in output
    for alarming in ("No hostname was supplied", "'lifespan' protocol appears unsupported"):  # configured, not silenced
        assert alarming not in output
    # no Python warning either, such as Django's about a static file or a download sent from a sync
    # iterator under ASGI (which it reads whole into memory first)
    assert [line for line in output.splitlines() if "Warning" in line] == []


def test_collected_static_files_are_sent_compressed_and_hashed_ones_cached_for_good(peer, tmp_path):
    """As in the image, which runs collectstatic at build time: hashed names (the pages name them) are
    cached for a year and immutable, any other name for a minute; gzip when the browser takes it."""
    static_root = tmp_path / "static"
    collect = {**os.environ, "DATA_DIR": str(tmp_path / "build"), "STATIC_ROOT": str(static_root), "STATIC_MANIFEST": "true"}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=collect,
                   check=True, timeout=120)
    app = EmbeddedApp(peer, tmp_path / "data", TZ, STATIC_ROOT=str(static_root))
    try:
        hashed = re.search(r'href="/static/(css/app\.[0-9a-f]{12}\.css)"', app.get("/login/").decode())
        assert hashed, "the login page names no hashed stylesheet"
        headers, body = app.fetch(f"/static/{hashed.group(1)}", **{"Accept-Encoding": "gzip"})
        assert headers["Cache-Control"] == "max-age=315360000, public, immutable"
        assert headers["Content-Encoding"] == "gzip" and headers["Vary"] == "Accept-Encoding"
        assert gzip.decompress(body) == (static_root / hashed.group(1)).read_bytes()
        assert headers["X-Content-Type-Options"] == "nosniff"  # the security middleware's, as on pages
        headers, body = app.fetch("/static/css/app.css")
        assert headers["Cache-Control"] == "max-age=60, public" and "Content-Encoding" not in headers
        assert body == (ROOT / "static" / "css" / "app.css").read_bytes()
    finally:
        app.stop()
    assert [line for line in app.log_path.read_text().splitlines() if "Warning" in line] == []


@pytest.mark.realtime
def test_a_schedule_for_the_next_minute_fires_in_the_one_process(embedded_app):
    wait_until(lambda: embedded_app.call("/api/health")["checks"]["scheduler"]["ok"], timeout=30,
               message="the embedded beat's first heartbeat")
    at = next_whole_minute(ZoneInfo(TZ))
    schedule = {"time": f"{at:%H:%M}", "days": [cron_weekday(at)]}
    embedded_app.call("/api/schedule", method="POST", body={"enabled": True, "schedules": [schedule]})

    def finished_scheduled_run():
        runs = embedded_app.call("/api/runs?trigger=schedule")["runs"]
        return runs and not runs[0]["active"] and runs[0]

    wait_s = (at - datetime.now(ZoneInfo(TZ))).total_seconds()
    run = wait_until(finished_scheduled_run, timeout=wait_s + 30, interval=0.5,
                     message=f"a scheduled run at {at:%H:%M} ({TZ}) to finish; log: {embedded_app.log_path}")
    assert (run["status"], run["trigger"]) == ("completed", "schedule")
    assert datetime.fromisoformat(run["created_at"]) >= at  # fired by beat at the minute, not before
    assert embedded_app.call("/api/health")["checks"]["scheduler"]["ok"] is True


def test_a_run_cut_off_by_a_crash_resumes_when_the_process_is_back(make_peer, tmp_path):
    peer = make_peer(PEER_STREAM_LATENCY_MS=200)  # 50 movies, two at a time: about 5 s of stream requests
    app = EmbeddedApp(peer, tmp_path, TZ)
    try:
        peer.reset()
        run_id = app.call("/api/job/run", method="POST")["status"]["id"]
        wait_until(lambda: len(peer.requests("stream")) >= 10, timeout=20, message="the run to be under way")
        app.kill()
        requested_before = Counter(entry["id"] for entry in peer.requests("stream"))
        assert len(requested_before) < 50, "the crash must land mid-run"

        app.start()  # its worker has the same name: it picks the run up at once
        run = wait_until(lambda: (r := app.call(f"/api/runs/{run_id}")["run"])["status"] == "completed" and r,
                         timeout=40, interval=0.5, message=f"the resumed run to finish; log: {app.log_path}")
        assert [(r["from_worker"], r["worker"]) for r in run["resumes"]] == [("embedded@localhost",) * 2]
        assert "restarted" in run["resumes"][0]["reason"]
        requested = Counter(entry["id"] for entry in peer.requests("stream"))
        assert len(requested) == 50
        repeated = [video for video, count in requested.items() if count > 1]
        assert len(repeated) <= 2 + 4, repeated  # in flight (2) plus answers of the last 0.2 s save tick
        assert run["statistics"]["movies_prefetched"] == 50
    finally:
        app.stop()
