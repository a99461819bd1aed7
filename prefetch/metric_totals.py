"""Monotonic totals behind the Prometheus counters and the latency histogram of `/metrics`.

The engine adds to them when it saves stream answers, in a worker process; the web process reads
them (prefetcher_site/prometheus.py). They live in the database (MetricTotal) so that pruning the run
history never lowers a counter.
"""

from bisect import bisect_left
from collections import Counter

from django.db import connection

from .models import MetricTotal

# Seconds; stream answers of self-hosted addons range from a few ms (cached) to tens of seconds.
LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
OVERFLOW = "+Inf"
# MetricTotal.metric values. Buckets are stored per bucket (not cumulative) and summed when read.
STREAM_REQUESTS = "stream_requests"
LATENCY_BUCKET = "stream_latency_bucket"
LATENCY_SUM = "stream_latency_sum_s"
ADDON_LABEL_CHARS = 200  # an addon's label as a metric label: MetricTotal.addon_name's length


def outcome_of(outcome) -> str:
    """The outcome label: ok and empty apart, as the UI shows them; failed for any error."""
    if not outcome.ok:
        return "failed"
    return "empty" if outcome.stream_count == 0 else "ok"


def bucket_of(seconds: float) -> str:
    """The label of the smallest bucket whose upper bound is at least `seconds`."""
    index = bisect_left(LATENCY_BUCKETS_S, seconds)
    return str(LATENCY_BUCKETS_S[index]) if index < len(LATENCY_BUCKETS_S) else OVERFLOW


def add_stream_outcomes(outcomes) -> None:
    """Count these stream requests (each a StreamOutcome) into the totals. Call it in the transaction
    that saves them: one upsert adds to the current values, whichever process wrote them last."""
    totals: Counter = Counter()
    for outcome in outcomes:
        addon = outcome.addon_name[:ADDON_LABEL_CHARS]
        seconds = outcome.latency_ms / 1000
        totals[(STREAM_REQUESTS, addon, outcome_of(outcome))] += 1
        totals[(LATENCY_BUCKET, addon, bucket_of(seconds))] += 1
        totals[(LATENCY_SUM, addon, "")] += seconds
    if not totals:
        return
    table = connection.ops.quote_name(MetricTotal._meta.db_table)
    # INSERT ... ON CONFLICT DO UPDATE reads the same on SQLite and PostgreSQL; the ORM cannot add.
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (metric, addon_name, label, value) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT (metric, addon_name, label) DO UPDATE SET value = {table}.value + excluded.value",
            [(*key, value) for key, value in totals.items()],
        )
