"""`manage.py healthcheck`: exit 0 when healthy, 1 otherwise (the containers' health checks), 2 bad input.

    healthcheck            database and broker (any process that only needs those)
    healthcheck --http     the web server answers /api/health on $PORT with 200
    healthcheck --worker   and a Celery worker answers a control ping
    healthcheck --beat     and the scheduler's heartbeat is fresh (SCHEDULER_STALE_AFTER_S)
"""

import json
import urllib.error
import urllib.request

from django.conf import settings
from django.core.management.base import CommandError

from prefetcher_site.management.bad_input import OneLineUsageCommand, port_number
from prefetcher_site.ops import health_report


def _probe_host() -> str:
    """A Host header the app accepts: the first allowed host that is a plain name."""
    for host in settings.ALLOWED_HOSTS:
        host = host.lstrip(".")
        if host and "*" not in host:
            return host
    return "localhost"


class Command(OneLineUsageCommand):
    help = "Exit 0 when this process's dependencies are healthy, 1 otherwise."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--http", action="store_true", help="ask the running web server's /api/health")
        group.add_argument("--worker", action="store_true", help="also require a worker to answer a ping")
        group.add_argument("--beat", action="store_true", help="also require a fresh scheduler heartbeat")
        parser.add_argument("--port", type=port_number, default=settings.PORT)

    def handle(self, *args, http, worker, beat, port, **options):
        if http:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/health",
                headers={"Host": _probe_host(), "X-Forwarded-Proto": "https"},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    body = json.loads(response.read())
            except (urllib.error.URLError, OSError, ValueError) as error:
                raise CommandError(f"web server not healthy: {error}") from None
        else:
            body, status = health_report(include_worker=worker)
            required = [name for name, wanted in (("worker", worker), ("scheduler", beat)) if wanted]
            if status != 200 or not all(body["checks"][name]["ok"] for name in required):
                raise CommandError(f"not healthy: {json.dumps(body['checks'])}")
        self.stdout.write(json.dumps(body))
