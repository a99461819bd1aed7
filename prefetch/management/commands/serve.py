"""`manage.py serve`: the web server, plus (embedded mode) a Celery worker and beat in the same process.

Embedded mode (no REDIS_URL) is for a single small install: the in-memory broker and channel
layer only work inside one process, so worker and beat run here as threads. With REDIS_URL set,
this serves only the web; run `celery -A prefetcher_site worker` and `… beat -S django` apart.
"""

import logging

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand

logger = logging.getLogger("prefetch.serve")


class Command(BaseCommand):
    help = "Serve the app (HTTP + WebSockets); in embedded mode also run a worker and beat inside."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="bind address (0.0.0.0 in a container)")
        parser.add_argument("--port", type=int, default=settings.PORT)

    def handle(self, *args, host, port, **options):
        background = start_embedded_worker_and_beat() if settings.EMBEDDED else []
        logger.info("Streams Prefetcher on http://%s:%d (%s mode)", host, port,
                    "embedded" if settings.EMBEDDED else "web-only")
        try:
            uvicorn.run(
                "prefetcher_site.asgi:application",
                host=host,
                port=port,
                log_config=None,  # keep Django's logging (with URL redaction)
                proxy_headers=True,
                forwarded_allow_ips=settings.FORWARDED_ALLOW_IPS,
            )
        finally:
            for service in background:
                service.stop()


def start_embedded_worker_and_beat() -> list:
    import threading

    from celery.beat import EmbeddedService

    from prefetch.runs import abort_orphaned_runs
    from prefetcher_site.celery import app

    aborted = abort_orphaned_runs("the app stopped while the run was active")
    if aborted:
        logger.warning("Marked %d run(s) left active by the previous process as aborted", aborted)
    # Threads pool: one slot runs a prefetch, the others still record schedule triggers meanwhile.
    worker = app.WorkController(
        pool_cls="threads", concurrency=4, without_heartbeat=True, without_mingle=True, without_gossip=True,
        hostname="embedded@localhost", loglevel=settings.LOG_LEVEL,
    )
    threading.Thread(target=worker.start, name="celery-worker", daemon=True).start()
    beat = EmbeddedService(app, thread=True, scheduler_cls=settings.CELERY_BEAT_SCHEDULER)
    beat.start()
    return [worker, beat]
