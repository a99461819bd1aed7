"""`manage.py serve`: the web server, plus (embedded mode) a Celery worker and beat in the same process.

Embedded mode (no REDIS_URL) is for a single small install: the in-memory broker and channel
layer only work inside one process, so worker and beat run here as threads. With REDIS_URL set,
this serves only the web; run `celery -A prefetcher_site worker` and `… beat` apart.
"""

import logging

import uvicorn
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.db.migrations.executor import MigrationExecutor

from prefetcher_site.management.bad_input import OneLineUsageCommand, bad_input, port_number, resolvable_host

logger = logging.getLogger("prefetch.serve")
EMBEDDED_WORKER = "embedded@localhost"


class Command(OneLineUsageCommand):
    help = "Serve the app (HTTP + WebSockets); in embedded mode also run a worker and beat inside."

    def add_arguments(self, parser):
        parser.add_argument("--host", type=resolvable_host, default="127.0.0.1",
                            help="bind address (0.0.0.0 in a container)")
        parser.add_argument("--port", type=port_number, default=settings.PORT)

    def handle(self, *args, host, port, **options):
        try:
            behind = unapplied_migrations()
        except OperationalError as error:  # the message names host and port, never the password
            raise bad_input(f"Cannot reach the database ({str(error).strip().splitlines()[0]}): "
                            "check DATABASE_URL and that the server is running.") from error
        if behind:
            raise bad_input("The database has unapplied migrations: run `python manage.py migrate` first.")
        background = start_embedded_worker_and_beat() if settings.EMBEDDED else []
        logger.info("Streams Prefetcher on http://%s:%d (%s mode)", host, port,
                    "embedded" if settings.EMBEDDED else "web-only")
        try:
            uvicorn.run(
                "prefetcher_site.asgi:application",
                host=host,
                port=port,
                log_config=None,  # keep Django's logging (with URL redaction)
                lifespan="off",  # the app has no start-up or shutdown work (Django has no lifespan handler)
                proxy_headers=True,
                forwarded_allow_ips=settings.FORWARDED_ALLOW_IPS,
            )
        finally:
            for service in background:
                service.stop()


def unapplied_migrations() -> bool:
    """What `migrate --check` looks at: migrations of the code that the database has not applied
    (all of them on a new database). Checked before the worker starts: it reads the runs' table."""
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def start_embedded_worker_and_beat() -> list:
    import threading

    from celery.beat import EmbeddedService

    from prefetch.runs.claim import recover_orphaned_runs
    from prefetch.runs.lifecycle import resend_queued_runs
    from prefetcher_site.celery import app

    # The previous process's worker had this name, and its memory broker lost the queued messages:
    # its runs resume here (WorkController sends no worker_ready, so this is done before it starts).
    resumed = recover_orphaned_runs(starting_worker=EMBEDDED_WORKER)
    resent = resend_queued_runs()
    if resumed or resent:
        logger.warning("Runs left by the previous process: %d resumed, %d queued again", len(resumed), resent)
    worker = embedded_worker(app, EMBEDDED_WORKER)
    threading.Thread(target=worker.start, name="celery-worker", daemon=True).start()
    beat = EmbeddedService(app, thread=True, scheduler_cls=settings.CELERY_BEAT_SCHEDULER)
    beat.start()
    return [worker, beat]


def embedded_worker(app, hostname: str, concurrency: int = 4):
    """The in-process worker. Threads pool: one slot runs a prefetch, the others still record
    schedule triggers and take the companion's lane (its queue too) meanwhile. The set-up `celery worker` does first makes task requests carry
    this worker's name (without it they carry the machine's host name), which owns the runs."""
    from celery.app.trace import setup_worker_optimizations

    from prefetch.follow.tasks import lane_queue

    setup_worker_optimizations(app, hostname)
    return app.WorkController(
        pool_cls="threads", concurrency=concurrency, without_heartbeat=True, without_mingle=True,
        without_gossip=True, hostname=hostname, loglevel=settings.LOG_LEVEL,
        queues=[app.conf.task_default_queue, lane_queue()],
    )
