"""Fixtures for tests that run a real Celery worker process against a real Redis.

    def test_x(start_worker, redis_broker):    # redis_broker: this process enqueues through Redis
        worker = start_worker()                 # a worker on the same Redis and test database
        request_run()                           # ... the worker runs it

TEST_REDIS_URL (exported by tests/run.sh) names the shared Redis; without it a private
redis-server is started for the session. Also `embedded_worker`: a worker in the test process, on
the memory:// broker, as `make run` has it.
"""

import os
import threading
import time

import pytest

from tests.helpers import wait_until
from tests.worker_process import BeatProcess, RedisServer, WorkerProcess, database_url, use_broker


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url
        return
    server = RedisServer()
    yield server.url
    server.close()


@pytest.fixture(scope="session")
def celery_queue():
    """One queue per test process (tests/process_isolation.py names it): other processes' workers on
    the same Redis never see our tasks."""
    from django.conf import settings

    return settings.CELERY_TASK_DEFAULT_QUEUE


@pytest.fixture
def celery_app():
    from prefetcher_site.celery import app

    return app


@pytest.fixture
def redis_broker(celery_app, redis_url, celery_queue):
    """This test process publishes (request_run) and pings through Redis instead of memory://."""
    with use_broker(celery_app, redis_url, celery_queue):
        yield redis_url


@pytest.fixture
def celery_log_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("celery-processes")


@pytest.fixture
def start_worker(transactional_db, celery_app, redis_url, celery_queue, celery_log_dir):
    """Start real worker processes (same test database, Redis given or the session's); all are
    stopped after the test. The returned worker has answered a ping, so it is consuming."""
    started: list[WorkerProcess] = []

    def start(broker_url: str | None = None, wait: bool = True, hostname: str | None = None,
              queues: list[str] | None = None, **extra_env):
        url = broker_url or redis_url
        worker = WorkerProcess(url, celery_queue, database_url(), celery_log_dir, extra_env, hostname=hostname,
                               queues=queues)
        started.append(worker)
        if wait:
            with use_broker(celery_app, url, celery_queue):
                worker.wait_ready(celery_app)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def start_beat(transactional_db, redis_url, celery_queue, celery_log_dir):
    """Start a real `celery beat` process on the test database and the session's queue."""
    started: list[BeatProcess] = []

    def start(**extra_env) -> BeatProcess:
        beat = BeatProcess(redis_url, celery_queue, database_url(), celery_log_dir, extra_env)
        started.append(beat)
        return beat

    yield start
    for beat in started:
        beat.stop()


@pytest.fixture
def private_redis():
    """A redis-server of this test's own, which the test may stop and restart."""
    server = RedisServer()
    yield server
    server.close()


@pytest.fixture
def embedded_worker(transactional_db):
    """A Celery worker in this process, as `manage.py serve` runs it (threads, the memory:// broker):
    runs requested from a browser test's pages are executed. Stops what still runs at the end."""
    from celery.app.trace import reset_worker_optimizations

    from prefetch.models import Run, RunStatus
    from prefetcher_site.celery import app
    from prefetcher_site.management.commands.serve import embedded_worker as make_embedded_worker

    assert app.conf.broker_url.startswith("memory://"), app.conf.broker_url
    worker = make_embedded_worker(app, f"embedded-test-{time.monotonic_ns()}@localhost", concurrency=2)
    thread = threading.Thread(target=worker.start, name="test-celery-worker", daemon=True)
    thread.start()
    yield worker
    for run in Run.objects.filter(status__in=[RunStatus.RUNNING, RunStatus.PAUSED, RunStatus.PAUSING]):
        Run.objects.filter(pk=run.pk).update(cancel_requested=True)
    wait_until(lambda: not Run.objects.filter(status__in=["running", "pausing", "paused"]).exists(), timeout=10,
               message="runs to stop before the worker")
    worker.stop(in_sighandler=False)
    thread.join(timeout=10)
    reset_worker_optimizations(app)
