"""/api/health and /metrics, and the `healthcheck` command the containers use."""

import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from prefetch.models import PrefetchRecord, Run, RunStatus, RunTrigger
from prefetch.runs.execute import execute_run
from prefetch.runs.lifecycle import create_run
from prefetcher_site.ops import check_worker
from schedules.liveness import record_heartbeat
from schedules.models import SchedulerHeartbeat
from tests.helpers import addon, free_port, plan, samples
from tests.worker_process import use_broker

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def account():
    return get_user_model().objects.create_user("ops", password="a-long-password-1")


def families(text: str) -> dict:
    """name -> metric family, parsed by prometheus_client's own parser (which refuses malformed text)."""
    return {family.name: family for family in text_string_to_metric_families(text)}


# --- health ------------------------------------------------------------------------------------------
def test_health_is_public_even_before_the_first_account(client):
    record_heartbeat("beat-host", 7)  # as the embedded beat thread does on its first tick
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["mode"] == "embedded"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"] == {"ok": True, "transport": "memory"}
    assert body["checks"]["worker"]["ok"] is True
    assert body["checks"]["scheduler"]["ok"] is True
    assert "beat-host" not in response.content.decode()  # public: no host names


def age_heartbeat(seconds: float) -> None:
    SchedulerHeartbeat.objects.update(last_tick=timezone.now() - timedelta(seconds=seconds))


def test_a_scheduler_never_seen_or_stale_degrades_health_without_failing_it(client, settings):
    settings.SCHEDULER_STALE_AFTER_S = 90.0
    body = client.get("/api/health").json()
    assert body["status"] == "degraded"
    assert body["checks"]["scheduler"] == {"ok": False, "last_tick": None, "age_s": None, "stale_after_s": 90.0}
    record_heartbeat("beat-host", 7)
    age_heartbeat(91)
    response = client.get("/api/health")
    scheduler = response.json()["checks"]["scheduler"]
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    assert scheduler["ok"] is False and 91 <= scheduler["age_s"] < 120 and scheduler["last_tick"]
    age_heartbeat(30)
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["checks"]["scheduler"]["ok"] is True


def test_beat_healthcheck_fails_on_a_stale_heartbeat():
    with pytest.raises(CommandError, match="not healthy"):
        call_command("healthcheck", "--beat")  # never ticked
    record_heartbeat("beat-host", 7)
    call_command("healthcheck", "--beat")
    age_heartbeat(3600)
    with pytest.raises(CommandError, match="not healthy"):
        call_command("healthcheck", "--beat")
    call_command("healthcheck")  # the plain check does not care about beat


def test_health_is_public_with_an_account_and_not_cached(client, account):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.parametrize("first_request", [True, False])
def test_health_answers_json_503_when_the_database_is_down_even_for_a_signed_in_browser(
        user_client, monkeypatch, first_request):
    from django.db import OperationalError
    from django.db.backends.base.base import BaseDatabaseWrapper

    if not first_request:
        user_client.get("/api/health")  # the first-run check has found the account already

    def database_down(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(BaseDatabaseWrapper, "_cursor", database_down)
    response = user_client.get("/api/health")  # the session cookie must not send it to the database
    assert response.status_code == 503 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "error" and body["checks"]["database"] == {"ok": False, "error": "OperationalError"}


def test_health_reports_an_unreachable_broker_without_revealing_it(client, account, settings, celery_app):
    port = free_port()  # nothing listens there
    settings.SECRET_KEY = "health-test-secret"
    with use_broker(celery_app, f"redis://:s3cret-pass@127.0.0.1:{port}/0", "unused"):
        response = client.get("/api/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["worker"]["ok"] is False
    text = response.content.decode()
    assert "s3cret-pass" not in text and str(port) not in text and "health-test-secret" not in text


@pytest.mark.worker
def test_health_reports_worker_liveness_over_redis(client, account, start_worker, redis_broker):
    # The session's queue has no worker yet: the web works, runs would wait.
    response = client.get("/api/health")
    body = response.json()
    assert response.status_code == 200
    assert body["checks"]["broker"]["ok"] is True and body["checks"]["broker"]["transport"] == "redis"
    worker = start_worker()
    body = client.get("/api/health").json()
    assert worker.hostname in body["checks"]["worker"]["workers"]
    assert body["checks"]["worker"]["ok"] is True
    # The dashboard asks only "is one alive?": the first answer ends the wait, which would otherwise
    # last the whole timeout (10 s here, far beyond what a loaded machine adds).
    started = time.monotonic()
    assert check_worker(timeout_s=10, first_only=True) == {"ok": True, "workers": [worker.hostname]}
    assert time.monotonic() - started < 8
    worker.stop()
    body = client.get("/api/health").json()
    assert worker.hostname not in body["checks"]["worker"]["workers"]


def test_healthcheck_command_exits_non_zero_when_the_broker_is_down(celery_app):
    call_command("healthcheck")  # embedded: database and in-memory broker are fine
    with use_broker(celery_app, f"redis://127.0.0.1:{free_port()}/0", "unused"):
        with pytest.raises(CommandError, match="not healthy"):
            call_command("healthcheck")
        with pytest.raises(CommandError, match="not healthy"):
            call_command("healthcheck", "--worker")


# --- metrics -----------------------------------------------------------------------------------------
@pytest.fixture
def history():
    now = timezone.now()
    Run.objects.create(status=RunStatus.COMPLETED, started_at=now - timedelta(minutes=5), finished_at=now)
    Run.objects.create(status=RunStatus.COMPLETED, finished_at=now)
    Run.objects.create(status=RunStatus.FAILED, finished_at=now, error="boom")
    for index in range(5):
        PrefetchRecord.objects.create(addon_key="k", addon_name='Odd "name"', content_type="movie",
                                      video_id=f"tt{index}", last_attempt=now)


def test_metrics_need_a_sign_in_or_the_token(client, settings, history):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401  # no token set
    settings.METRICS_TOKEN = "t0ken-for-prometheus"
    response = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    response = client.get("/metrics", headers={"Authorization": "Bearer t0ken-for-prometheus"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")


def test_metrics_gauges_report_runs_records_and_the_scheduler(client, account, history):
    client.force_login(account)
    text = client.get("/metrics").content.decode()
    values = samples(text)
    assert values['prefetcher_runs{status="completed"}'] == 2
    assert values['prefetcher_runs{status="failed"}'] == 1
    assert values['prefetcher_runs{status="aborted"}'] == 0
    assert values['prefetcher_active_run'] == 0
    assert values['prefetcher_records{addon="Odd "name""}'] == 5  # a quote in a label survives the round trip
    assert values['prefetcher_run_last_finished_timestamp_seconds{status="failed"}'] > 0
    # The scheduler has never ticked in this test: down, infinitely old.
    assert values["prefetcher_scheduler_up"] == 0
    assert values["prefetcher_scheduler_heartbeat_age_seconds"] == float("inf")
    # No stream request was ever made: the counter and the histogram have no series yet.
    kinds = {name: family.type for name, family in families(text).items()}
    assert kinds.pop("prefetcher_stream_requests") == "counter"
    assert kinds.pop("prefetcher_stream_request_latency_seconds") == "histogram"
    assert kinds.pop("prefetcher_plays") == "counter"  # titles opened through the companion addon
    assert set(kinds.values()) == {"gauge"}  # everything else is a state
    assert not any(name.startswith("prefetcher_stream_request") for name in values)
    record_heartbeat("beat-host", 7)
    age_heartbeat(12)
    values = samples(client.get("/metrics").content.decode())
    assert values["prefetcher_scheduler_up"] == 1
    assert 12 <= values["prefetcher_scheduler_heartbeat_age_seconds"] < 60


def cli_run(peer) -> Run:
    """A real run (the lifecycle a worker goes through) of one catalog against the peer."""
    return execute_run(create_run(RunTrigger.CLI).pk, plan=plan([addon(peer.url)], [("movie", "peer-popular")]))


def stream_metrics(client, addon_name: str) -> dict[str, float]:
    values = samples(client.get("/metrics").content.decode())
    prefix = ("prefetcher_stream_request_latency_seconds", "prefetcher_stream_requests_total")
    return {key: value for key, value in values.items() if key.startswith(prefix) and f'addon="{addon_name}"' in key}


def test_stream_request_counters_and_latency_histogram_count_every_request_of_a_run(client, account, make_peer):
    peer = make_peer(PEER_MOVIES=60, PEER_EMPTY_EVERY=5, PEER_FAIL_EVERY=7, PEER_STREAM_LATENCY_MS=60)
    run = cli_run(peer)
    stats, name = run.statistics, run.addons[0]["name"]
    made = len(peer.requests("stream"))
    assert made == stats["stream_requests"] == 60 and stats["stream_requests_empty"] and stats["stream_requests_failed"]
    client.force_login(account)
    metric = stream_metrics(client, name)
    counter = 'prefetcher_stream_requests_total{{addon="{}",outcome="{}"}}'
    assert metric[counter.format(name, "ok")] == stats["stream_requests_ok"] - stats["stream_requests_empty"]
    assert metric[counter.format(name, "empty")] == stats["stream_requests_empty"]
    assert metric[counter.format(name, "failed")] == stats["stream_requests_failed"]
    bucket = 'prefetcher_stream_request_latency_seconds_bucket{{addon="{}",le="{}"}}'
    assert metric[f'prefetcher_stream_request_latency_seconds_count{{addon="{name}"}}'] == made
    assert metric[bucket.format(name, "+Inf")] == made
    assert metric[bucket.format(name, "0.05")] == 0  # every answer took at least the peer's 60 ms
    assert metric[bucket.format(name, "30.0")] == made
    # 60 ms each at least, and (on loopback) well under a second each
    assert made * 0.06 <= metric[f'prefetcher_stream_request_latency_seconds_sum{{addon="{name}"}}'] < made * 1.0


def test_pruning_the_history_or_invalidating_records_never_lowers_a_counter(client, account, peer):
    from prefetch.run_logs import prune_history

    peer.reset()
    first = cli_run(peer)
    client.force_login(account)
    name = first.addons[0]["name"]
    after_one = stream_metrics(client, name)
    assert sum(v for k, v in after_one.items() if k.startswith("prefetcher_stream_requests_total")) == 250
    Run.objects.update(created_at=timezone.now() - timedelta(days=2))
    prune_history(retention_days=1)
    assert not Run.objects.exists()
    client.post("/api/records/invalidate", {"all": True}, content_type="application/json")
    assert not PrefetchRecord.objects.exists()
    assert stream_metrics(client, name) == after_one
    cli_run(peer)  # nothing remembered: the same 250 requests again, added to the totals
    after_two = stream_metrics(client, name)
    counts = [key for key in after_one if "_total" in key or "_count" in key or 'le="+Inf"' in key]
    assert {key: after_two[key] for key in counts} == {key: 2 * after_one[key] for key in counts}
    assert all(after_two[key] > after_one[key] for key in after_one if "_sum" in key)
    assert all(after_two[key] >= after_one[key] for key in after_one)
