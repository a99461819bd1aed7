"""Real processes for worker tests: a Celery worker (`celery -A prefetcher_site worker`) and a
private redis-server, both on 127.0.0.1, started and stopped by the tests.

The worker talks to the same database as the test (the pytest-django test database: a file for
SQLite, the test_ database for PostgreSQL) and to the Redis given; the test process enqueues
through the same Redis (see `use_broker`). Each test session uses its own queue name, so workers
of other sessions sharing the Redis never take our tasks.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import kombu.pools
from django.db import connection

from tests.helpers import ROOT, free_port, wait_until


def database_url() -> str:
    """The URL of the database the tests are using right now (pytest-django's test database)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        name = str(db["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            raise RuntimeError("worker tests need a file test database (TEST.NAME in settings)")
        return f"sqlite:///{Path(name).resolve()}"
    if db["ENGINE"] == "django.db.backends.postgresql":
        auth = quote(db["USER"] or "", safe="")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"], safe="")
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        return f"postgres://{auth}@{host}:{port}/{quote(db['NAME'], safe='')}"
    raise RuntimeError(f"no worker test support for {db['ENGINE']}")


def redis_ping(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


class RedisServer:
    """A private, throw-away redis-server (no persistence) that a test may stop and start again."""

    def __init__(self, port: int | None = None):
        if not shutil.which("redis-server"):
            raise RuntimeError("redis-server is not installed")
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = Path(tempfile.mkdtemp(prefix="redis-"))
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: redis_ping(self.url), timeout=10, message=f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


class CeleryProcess:
    """`celery -A prefetcher_site <args>` on the test database and a queue of its own, logging to a file."""

    def __init__(self, name: str, args: list[str], broker_url: str, queue: str, db_url: str, log_dir: Path,
                 extra_env: dict | None = None):
        self.broker_url = broker_url
        self.log_path = log_dir / f"{name}.log"
        env = {
            **{key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            "REDIS_URL": broker_url,
            "DATABASE_URL": db_url,
            "CELERY_QUEUE": queue,
            "DJANGO_SETTINGS_MODULE": "prefetcher_site.settings",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "prefetcher_site", *args, "--loglevel=INFO"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no cleanup, exactly what an OOM kill or `docker kill` does."""
        if self.alive:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


class BeatProcess(CeleryProcess):
    """`celery -A prefetcher_site beat` with the app's own scheduler (settings.CELERY_BEAT_SCHEDULER)."""

    def __init__(self, broker_url: str, queue: str, db_url: str, log_dir: Path, extra_env: dict | None = None):
        self.workdir = Path(tempfile.mkdtemp(prefix="beat-", dir=log_dir))
        super().__init__("beat", ["beat", "--pidfile", str(self.workdir / "beat.pid")], broker_url, queue, db_url,
                         log_dir, extra_env)


class WorkerProcess(CeleryProcess):
    """`celery -A prefetcher_site worker --pool=solo` under a unique node name; `queues`: those it
    consumes (default: the session's queue)."""

    def __init__(self, broker_url: str, queue: str, db_url: str, log_dir: Path, extra_env: dict | None = None,
                 hostname: str | None = None, queues: list[str] | None = None):
        self.hostname = hostname or f"test-{uuid.uuid4().hex[:8]}@localhost"
        super().__init__(
            f"{self.hostname.split('@')[0]}-{uuid.uuid4().hex[:4]}",
            ["worker", "--pool=solo", "--without-mingle", "--without-gossip", "--hostname", self.hostname,
             *(["--queues", ",".join(queues)] if queues else [])],
            broker_url, queue, db_url, log_dir, extra_env,
        )

    def wait_ready(self, app, timeout: float = 60.0) -> None:
        """Ready when it answers a control ping (its worker_ready handlers have run by then). A deadline,
        not a wait: starting Celery and Django takes a second alone, 20 s and more on a loaded machine."""

        def answered():
            if not self.alive:
                raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log()}")
            return app.control.ping(destination=[self.hostname], timeout=0.5)

        try:
            wait_until(answered, timeout=timeout, interval=0.1, message=f"worker {self.hostname} to answer a ping")
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- worker log ---\n{self.log()}") from None


@contextmanager
def use_broker(app, broker_url: str, queue: str):
    """Point this process's Celery app at `broker_url` / `queue`, dropping pooled connections."""

    def reset_pools():
        kombu.pools.reset()  # closes and forgets every pooled connection and producer
        app._pool = None
        app.amqp._producer_pool = None

    saved = {key: app.conf[key] for key in ("broker_url", "task_default_queue", "broker_connection_timeout")}
    reset_pools()
    app.conf.update(broker_url=broker_url, task_default_queue=queue, broker_connection_timeout=2)
    try:
        yield
    finally:
        reset_pools()
        app.conf.update(saved)


def wait_for(condition, timeout: float, message: str, worker: WorkerProcess | None = None):
    """wait_until, with the worker's log in the failure message."""
    try:
        return wait_until(condition, timeout=timeout, interval=0.05, message=message)
    except AssertionError as error:
        detail = f"\n--- worker log ---\n{worker.log()[-6000:]}" if worker else ""
        raise AssertionError(f"{error}{detail}") from None


def time_left(deadline: float) -> float:
    return max(0.1, deadline - time.monotonic())
