"""Operations endpoints: `/api/health` (public) and `/metrics` (Prometheus text, token or sign-in).

The health checks live in plain functions so that `manage.py healthcheck` (the containers'
health checks) and the view report the same thing. Nothing here reveals a URL, a host or an
error message that could carry one: failures are reported by exception class only.
"""

import hmac
import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from schedules.liveness import scheduler_status

from .prometheus import render_metrics

WORKER_PING_TIMEOUT_S = 1.0


def _failure(error: Exception) -> dict:
    return {"ok": False, "error": error.__class__.__name__}


def check_database() -> dict:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure is the answer, not a crash
        return _failure(error)
    return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def _broker_url() -> str:
    from prefetcher_site.celery import app

    return app.conf.broker_url or ""


def check_broker() -> dict:
    url = _broker_url()
    if url.startswith("memory://"):
        return {"ok": True, "transport": "memory"}
    started = time.monotonic()
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as error:
        return _failure(error)
    return {"ok": True, "transport": "redis", "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def check_worker(timeout_s: float = WORKER_PING_TIMEOUT_S, first_only: bool = False) -> dict:
    """Workers answering a Celery control ping within the timeout (in-process in embedded mode).
    A ping waits out its whole timeout to hear every worker; `first_only` stops at the first answer,
    so a page that only asks "is one alive?" is not held up for a second."""
    if _broker_url().startswith("memory://"):
        return {"ok": True, "workers": ["embedded"], "note": "worker runs inside the web process"}
    from prefetcher_site.celery import app

    try:
        replies = app.control.ping(timeout=timeout_s, limit=1 if first_only else None) or []
    except Exception as error:
        return {**_failure(error), "workers": []}
    workers = sorted(name for reply in replies for name in reply)
    return {"ok": bool(workers), "workers": workers}


def check_scheduler() -> dict:
    """Beat's heartbeat (the same in embedded mode, where beat is a thread of the web process)."""
    try:
        return scheduler_status()
    except Exception as error:
        return _failure(error)


def health_report(include_worker: bool = True) -> tuple[dict, int]:
    checks = {"database": check_database(), "broker": check_broker()}
    if include_worker:
        checks["worker"] = check_worker() if checks["broker"]["ok"] else {"ok": False, "workers": []}
    checks["scheduler"] = check_scheduler()
    essential_ok = checks["database"]["ok"] and checks["broker"]["ok"]
    if not essential_ok:
        status = "error"
    elif all(check["ok"] for check in checks.values()):
        status = "ok"
    else:
        # The web still works; runs wait in the queue until a worker is back, schedules until beat is.
        status = "degraded"
    body = {"status": status, "mode": "embedded" if settings.EMBEDDED else "separate", "checks": checks}
    return body, 200 if essential_ok else 503


@login_not_required
@never_cache
@require_GET
def health(request):
    body, status = health_report()
    return JsonResponse(body, status=status)


# --- metrics -------------------------------------------------------------------------------------------
def _metrics_allowed(request) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return True
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@login_not_required
@never_cache
@require_GET
def metrics(request):
    if not _metrics_allowed(request):
        response = HttpResponse("Sign in, or send Authorization: Bearer <METRICS_TOKEN>.\n", status=401,
                                content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
