"""`make run`'s single process: web server, Celery worker and beat in one process, no Redis."""

import os
import signal
import subprocess
import sys
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.deployment import CONFIGURE, api
from tests.helpers import cron_weekday, next_whole_minute, wait_until
from tests.worker_process import free_port

ROOT = Path(__file__).resolve().parent.parent
TZ = "Europe/Berlin"  # not UTC: a schedule's HH:MM is in the server's zone


class EmbeddedApp:
    """`manage.py serve` with no REDIS_URL, on a data folder of its own, configured for the peer."""

    def __init__(self, peer, data_dir: Path):
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
        env.update(DATA_DIR=str(data_dir), ADMIN_USERNAME="admin", ADMIN_PASSWORD="a-long-test-password", TZ=TZ)
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
        self.token = subprocess.run(
            [*manage, "shell", "-c", CONFIGURE], cwd=ROOT, env={**env, "PEER_URL": peer.url}, check=True,
            capture_output=True, text=True, timeout=60,
        ).stdout.strip().splitlines()[-1]
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = data_dir / "serve.log"
        with self.log_path.open("wb") as log:
            self.server = subprocess.Popen([*manage, "serve", "--port", str(port)], cwd=ROOT, env=env,
                                           stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._up, timeout=30, message="the server to answer")

    def _up(self) -> bool:
        try:
            return urllib.request.urlopen(f"{self.base}/login/", timeout=2).status == 200
        except OSError:
            return False

    def call(self, path: str, method: str = "GET", body=None) -> dict:
        return api(self.base, self.token, path, method, body)

    def stop(self) -> int:
        if self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            self.server.wait(timeout=15)
        return self.server.returncode


@pytest.fixture
def embedded_app(peer, tmp_path):
    app = EmbeddedApp(peer, tmp_path)
    yield app
    app.stop()


def test_one_process_serves_the_app_and_executes_a_run(peer, embedded_app):
    peer.reset()
    started = embedded_app.call("/api/job/run", method="POST")
    assert started["success"] is True
    status = wait_until(
        lambda: (s := embedded_app.call("/api/job/status")["status"])["status"] == "completed" and s,
        timeout=30, message="the run to complete in the embedded worker",
    )
    assert status["id"] is not None
    assert len(peer.requests("stream")) == 50
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status reports it
    assert embedded_app.stop() in (0, -signal.SIGTERM)


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
