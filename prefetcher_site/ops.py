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
from django.db.models import Count, Q, Sum
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from prefetch.models import ACTIVE_STATUSES, PrefetchRecord, Run, RunStatus
from schedules.liveness import scheduler_status

WORKER_PING_TIMEOUT_S = 1.0
# Seconds; stream answers of self-hosted addons range from a few ms (cached) to tens of seconds.
LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


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


def check_worker(timeout_s: float = WORKER_PING_TIMEOUT_S) -> dict:
    """Workers answering a Celery control ping within the timeout (in-process in embedded mode)."""
    if _broker_url().startswith("memory://"):
        return {"ok": True, "workers": ["embedded"], "note": "worker runs inside the web process"}
    from prefetcher_site.celery import app

    try:
        replies = app.control.ping(timeout=timeout_s) or []
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


def _label(value) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{name}="{_label(value)}"' for name, value in labels.items()) + "}"


def _number(value) -> str:
    if value == float("inf"):
        return "+Inf"
    if isinstance(value, float) and not value.is_integer():
        return repr(value)
    return str(int(value))


class _Exposition:
    def __init__(self):
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, value, **labels) -> None:
        self.lines.append(f"{name}{_labels(**labels)} {_number(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


STREAM_OUTCOMES = ("ok", "empty", "failed", "skipped")


def stream_request_totals() -> dict[tuple[str, str], int]:
    """(addon name, outcome) -> requests, summed over the per-addon reports of the runs kept."""
    totals: dict[tuple[str, str], int] = {}
    for addons in Run.objects.exclude(addons=[]).values_list("addons", flat=True).iterator(chunk_size=500):
        for entry in addons or ():
            name = entry.get("name") or "unknown"
            for outcome in STREAM_OUTCOMES:
                count = entry.get(outcome) or 0
                if outcome == "ok":
                    count -= entry.get("empty") or 0  # report "ok" and "empty" apart, as the UI does
                if count > 0:
                    totals[(name, outcome)] = totals.get((name, outcome), 0) + count
    return totals


def render_metrics() -> str:
    out = _Exposition()

    out.family("prefetcher_runs", "gauge", "Runs kept in the history, by status.")
    by_status = dict(Run.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    for status in RunStatus.values:
        out.sample("prefetcher_runs", by_status.get(status, 0), status=status)

    out.family("prefetcher_run_last_finished_timestamp_seconds", "gauge",
               "When the latest run with this status ended (Unix time).")
    for status in (RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_FAILURES, RunStatus.FAILED, RunStatus.ABORTED,
                   RunStatus.CANCELLED):
        last = Run.objects.filter(status=status, finished_at__isnull=False).order_by("-finished_at").first()
        if last:
            out.sample("prefetcher_run_last_finished_timestamp_seconds", last.finished_at.timestamp(), status=status)

    out.family("prefetcher_stream_requests_total", "counter",
               "Stream requests by addon and outcome, over the runs kept in the history.")
    for (addon, outcome), count in sorted(stream_request_totals().items()):
        out.sample("prefetcher_stream_requests_total", count, addon=addon, outcome=outcome)

    out.family("prefetcher_stream_request_latency_seconds", "histogram",
               "Latest stream request latency of each remembered (addon, video), by addon.")
    aggregates = {f"le_{index}": Count("id", filter=Q(latency_ms__lte=bound * 1000))
                  for index, bound in enumerate(LATENCY_BUCKETS_S)}
    rows = (
        PrefetchRecord.objects.filter(latency_ms__isnull=False)
        .values("addon_name")
        .annotate(total=Count("id"), **aggregates)
        .order_by("addon_name")
    )
    sums = dict(
        PrefetchRecord.objects.filter(latency_ms__isnull=False)
        .values("addon_name").annotate(s=Sum("latency_ms")).values_list("addon_name", "s")
    )
    for row in rows:
        addon = row["addon_name"] or "unknown"
        for index, bound in enumerate(LATENCY_BUCKETS_S):
            out.sample("prefetcher_stream_request_latency_seconds_bucket", row[f"le_{index}"], addon=addon, le=bound)
        out.sample("prefetcher_stream_request_latency_seconds_bucket", row["total"], addon=addon, le="+Inf")
        out.sample("prefetcher_stream_request_latency_seconds_sum", round((sums.get(row["addon_name"]) or 0) / 1000, 6),
                   addon=addon)
        out.sample("prefetcher_stream_request_latency_seconds_count", row["total"], addon=addon)

    out.family("prefetcher_records", "gauge", "Prefetch records (remembered addon + video pairs), by addon.")
    records = (
        PrefetchRecord.objects.values("addon_name")
        .annotate(total=Count("id"), succeeded=Count("id", filter=Q(last_success__isnull=False)))
        .order_by("addon_name")
    )
    total = 0
    for row in records:
        total += row["total"]
        out.sample("prefetcher_records", row["total"], addon=row["addon_name"] or "unknown")
    out.family("prefetcher_records_total", "gauge", "All prefetch records.")
    out.sample("prefetcher_records_total", total)

    out.family("prefetcher_active_run", "gauge", "1 while a run is queued, running or paused.")
    out.sample("prefetcher_active_run", int(Run.objects.filter(status__in=ACTIVE_STATUSES).exists()))

    scheduler = scheduler_status()
    out.family("prefetcher_scheduler_up", "gauge",
               "1 while the scheduler (celery beat) ticks, 0 once its heartbeat is older than SCHEDULER_STALE_AFTER_S.")
    out.sample("prefetcher_scheduler_up", int(scheduler["ok"]))
    out.family("prefetcher_scheduler_heartbeat_age_seconds", "gauge",
               "Seconds since the scheduler's last tick; +Inf if it never ticked.")
    age = scheduler["age_s"]
    out.sample("prefetcher_scheduler_heartbeat_age_seconds", float("inf") if age is None else age)
    return out.text()


@login_not_required
@never_cache
@require_GET
def metrics(request):
    if not _metrics_allowed(request):
        response = HttpResponse("Sign in, or send Authorization: Bearer <METRICS_TOKEN>.\n", status=401,
                                content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(render_metrics(), content_type="text/plain; version=0.0.4; charset=utf-8")
