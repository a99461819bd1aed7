"""Prometheus metrics for `/metrics`, with honest types.

Counters and the latency histogram read the monotonic totals the engine keeps (prefetch.metric_totals);
everything else is a gauge of the current state (runs kept, records, the scheduler).
"""

import hashlib

from django.db.models import Count
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from addons.health import enabled_addons_health
from addons.models import HealthStatus
from prefetch.follow.plays import play_totals
from prefetch.metric_totals import (
    LATENCY_BUCKET,
    LATENCY_BUCKETS_S,
    LATENCY_SUM,
    OVERFLOW,
    STREAM_REQUESTS,
)
from prefetch.models import ACTIVE_STATUSES, FINISHED_STATUSES, MetricTotal, PrefetchRecord, Run, RunStatus
from schedules.liveness import scheduler_status

# An addon's name is whatever its manifest says; a 10 kB one would weigh on every scrape and every
# series of the time-series database.
LABEL_MAX_CHARS = 100


def label_value(text: str) -> str:
    """A label value as exposed, at most LABEL_MAX_CHARS: a longer one is cut and ends with a hash of
    the whole, so two names that differ only past the cut stay two series."""
    if len(text) <= LABEL_MAX_CHARS:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{text[: LABEL_MAX_CHARS - len(digest) - 1]}…{digest}"


def add_sample(family, labels: list[str], *values) -> None:
    """Every labelled sample goes through here, so no label value escapes the cap."""
    family.add_metric([label_value(text) for text in labels], *values)


class DatabaseCollector(Collector):
    """Reads everything at each scrape (the web process holds no state of its own)."""

    def collect(self):
        yield from self._runs()
        yield from self._stream_requests()
        yield from self._records()
        yield from self._scheduler()
        yield from self._plays()
        yield from self._addon_health()

    def _runs(self):
        by_status = dict(Run.objects.order_by().values_list("status").annotate(n=Count("id")))
        runs = GaugeMetricFamily("prefetcher_runs", "Runs kept in the history, by status.", labels=["status"])
        for status in RunStatus.values:
            add_sample(runs, [status], by_status.get(status, 0))
        yield runs

        last = GaugeMetricFamily("prefetcher_run_last_finished_timestamp_seconds",
                                 "When the latest run with this status ended (Unix time).", labels=["status"])
        for status in FINISHED_STATUSES:
            run = Run.objects.filter(status=status, finished_at__isnull=False).order_by("-finished_at").first()
            if run:
                add_sample(last, [status], run.finished_at.timestamp())
        yield last

        yield GaugeMetricFamily("prefetcher_active_run", "1 while a run is queued, running or paused.",
                                value=int(Run.objects.filter(status__in=ACTIVE_STATUSES).exists()))

    def _stream_requests(self):
        totals: dict[str, dict[tuple[str, str], float]] = {STREAM_REQUESTS: {}, LATENCY_BUCKET: {}, LATENCY_SUM: {}}
        for metric, addon, label, value in MetricTotal.objects.values_list("metric", "addon_name", "label", "value"):
            totals[metric][(addon, label)] = value

        requests = CounterMetricFamily("prefetcher_stream_requests",
                                       "Stream requests made, by addon and outcome.", labels=["addon", "outcome"])
        for (addon, outcome), count in sorted(totals[STREAM_REQUESTS].items()):
            add_sample(requests, [addon, outcome], count)
        yield requests

        latency = HistogramMetricFamily("prefetcher_stream_request_latency_seconds",
                                        "How long stream requests took to answer (or fail), by addon.",
                                        labels=["addon"])
        for addon in sorted({addon for addon, _ in totals[LATENCY_BUCKET]}):
            cumulative, buckets = 0.0, []
            for label in [*map(str, LATENCY_BUCKETS_S), OVERFLOW]:
                cumulative += totals[LATENCY_BUCKET].get((addon, label), 0)
                buckets.append((label, cumulative))
            add_sample(latency, [addon], buckets, totals[LATENCY_SUM].get((addon, ""), 0.0))
        yield latency

    def _records(self):
        records = GaugeMetricFamily("prefetcher_records", "Prefetch records (remembered addon + video pairs), by addon.",
                                    labels=["addon"])
        rows = PrefetchRecord.objects.order_by("addon_name").values_list("addon_name").annotate(n=Count("id"))
        for addon, count in rows:
            add_sample(records, [addon or "unknown"], count)
        yield records

    def _scheduler(self):
        scheduler = scheduler_status()
        yield GaugeMetricFamily(
            "prefetcher_scheduler_up",
            "1 while the scheduler (celery beat) ticks, 0 once its heartbeat is older than SCHEDULER_STALE_AFTER_S.",
            value=int(scheduler["ok"]),
        )
        age = scheduler["age_s"]
        yield GaugeMetricFamily("prefetcher_scheduler_heartbeat_age_seconds",
                                "Seconds since the scheduler's last tick; +Inf if it never ticked.",
                                value=float("inf") if age is None else age)

    def _plays(self):
        plays = CounterMetricFamily("prefetcher_plays", "Titles opened in Stremio (companion addon), by whether every "
                                    "stream addon serving them was warm.", labels=["warm"])
        for warm, count in play_totals().items():
            add_sample(plays, [str(warm).lower()], count)
        yield plays

    def _addon_health(self):
        health = GaugeMetricFamily(
            "prefetcher_addon_health",
            "1 for each enabled addon's current health (ok, degraded, down; unknown before the first check), 0 for "
            "the other statuses.", labels=["addon", "status"],
        )
        for addon, state in enabled_addons_health():
            for status in HealthStatus.values:
                add_sample(health, [addon, status], int(state["status"] == status))
        yield health


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(DatabaseCollector())


def render_metrics() -> bytes:
    """The Prometheus text format (0.0.4)."""
    return generate_latest(REGISTRY)
