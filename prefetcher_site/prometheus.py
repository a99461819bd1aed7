"""Prometheus metrics for `/metrics`, with honest types.

Counters and the latency histogram read the monotonic totals the engine keeps (prefetch.metric_totals);
everything else is a gauge of the current state (runs kept, records, the scheduler).
"""

from django.db.models import Count
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from prefetch.metric_totals import LATENCY_BUCKET, LATENCY_BUCKETS_S, LATENCY_SUM, OVERFLOW, STREAM_REQUESTS
from prefetch.models import ACTIVE_STATUSES, FINISHED_STATUSES, MetricTotal, PrefetchRecord, Run, RunStatus
from schedules.liveness import scheduler_status


class DatabaseCollector(Collector):
    """Reads everything at each scrape (the web process holds no state of its own)."""

    def collect(self):
        yield from self._runs()
        yield from self._stream_requests()
        yield from self._records()
        yield from self._scheduler()

    def _runs(self):
        by_status = dict(Run.objects.order_by().values_list("status").annotate(n=Count("id")))
        runs = GaugeMetricFamily("prefetcher_runs", "Runs kept in the history, by status.", labels=["status"])
        for status in RunStatus.values:
            runs.add_metric([status], by_status.get(status, 0))
        yield runs

        last = GaugeMetricFamily("prefetcher_run_last_finished_timestamp_seconds",
                                 "When the latest run with this status ended (Unix time).", labels=["status"])
        for status in FINISHED_STATUSES:
            run = Run.objects.filter(status=status, finished_at__isnull=False).order_by("-finished_at").first()
            if run:
                last.add_metric([status], run.finished_at.timestamp())
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
            requests.add_metric([addon, outcome], count)
        yield requests

        latency = HistogramMetricFamily("prefetcher_stream_request_latency_seconds",
                                        "How long stream requests took to answer (or fail), by addon.",
                                        labels=["addon"])
        for addon in sorted({addon for addon, _ in totals[LATENCY_BUCKET]}):
            cumulative, buckets = 0.0, []
            for label in [*map(str, LATENCY_BUCKETS_S), OVERFLOW]:
                cumulative += totals[LATENCY_BUCKET].get((addon, label), 0)
                buckets.append((label, cumulative))
            latency.add_metric([addon], buckets, totals[LATENCY_SUM].get((addon, ""), 0.0))
        yield latency

    def _records(self):
        records = GaugeMetricFamily("prefetcher_records", "Prefetch records (remembered addon + video pairs), by addon.",
                                    labels=["addon"])
        rows = PrefetchRecord.objects.order_by("addon_name").values_list("addon_name").annotate(n=Count("id"))
        for addon, count in rows:
            records.add_metric([addon or "unknown"], count)
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


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(DatabaseCollector())


def render_metrics() -> bytes:
    """The Prometheus text format (0.0.4)."""
    return generate_latest(REGISTRY)
