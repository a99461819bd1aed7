"""/api/health and /metrics, and the `healthcheck` command the containers use."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from prefetch.models import PrefetchRecord, Run, RunStatus
from schedules.liveness import record_heartbeat
from schedules.models import SchedulerHeartbeat
from tests.worker_process import free_port, use_broker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def account():
    return get_user_model().objects.create_user("ops", password="a-long-password-1")


def samples(text: str) -> dict[str, float]:
    """`name{labels}` -> value, from Prometheus text; checks every line is well formed."""
    found = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        match = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_]\w*="(?:[^"\\]|\\.)*",?)*\})? (\S+)', line)
        assert match, f"not a Prometheus sample line: {line!r}"
        found[match[1] + (match[2] or "")] = float(match[3])
    return found


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
    report = [
        {"name": "Comet", "requests": 10, "ok": 8, "empty": 2, "failed": 2, "skipped": 0},
        {"name": 'Odd "name"', "requests": 1, "ok": 1, "empty": 0, "failed": 0, "skipped": 0},
    ]
    Run.objects.create(status=RunStatus.COMPLETED, addons=report, started_at=now - timedelta(minutes=5), finished_at=now)
    Run.objects.create(status=RunStatus.COMPLETED, addons=report[:1], finished_at=now)
    Run.objects.create(status=RunStatus.FAILED, finished_at=now, error="boom")
    for index, latency in enumerate([30.0, 80.0, 400.0, 4000.0, None]):
        PrefetchRecord.objects.create(
            addon_key="k", addon_name="Comet", content_type="movie", video_id=f"tt{index}", last_attempt=now,
            last_success=now if latency else None, latency_ms=latency,
        )


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


def test_metrics_for_a_signed_in_user_report_runs_requests_latency_and_records(client, account, history):
    client.force_login(account)
    response = client.get("/metrics")
    assert response.status_code == 200
    values = samples(response.content.decode())

    assert values['prefetcher_runs{status="completed"}'] == 2
    assert values['prefetcher_runs{status="failed"}'] == 1
    assert values['prefetcher_runs{status="aborted"}'] == 0
    assert values['prefetcher_active_run'] == 0
    # "ok" without the empty answers, which are counted apart; summed over both runs.
    assert values['prefetcher_stream_requests_total{addon="Comet",outcome="ok"}'] == 12
    assert values['prefetcher_stream_requests_total{addon="Comet",outcome="empty"}'] == 4
    assert values['prefetcher_stream_requests_total{addon="Comet",outcome="failed"}'] == 4
    assert values['prefetcher_stream_requests_total{addon="Odd \\"name\\"",outcome="ok"}'] == 1
    # Histogram: cumulative buckets in seconds, over records with a latency.
    bucket = 'prefetcher_stream_request_latency_seconds_bucket{{addon="Comet",le="{}"}}'
    assert values[bucket.format("0.05")] == 1
    assert values[bucket.format("0.1")] == 2
    assert values[bucket.format("0.5")] == 3
    assert values[bucket.format("2.5")] == 3
    assert values[bucket.format("5.0")] == 4
    assert values[bucket.format("+Inf")] == 4
    assert values['prefetcher_stream_request_latency_seconds_count{addon="Comet"}'] == 4
    assert values['prefetcher_stream_request_latency_seconds_sum{addon="Comet"}'] == pytest.approx(4.51)
    assert values['prefetcher_records{addon="Comet"}'] == 5
    assert values["prefetcher_records_total"] == 5
    assert values['prefetcher_run_last_finished_timestamp_seconds{status="failed"}'] > 0
    # The scheduler has never ticked in this test: down, infinitely old.
    assert values["prefetcher_scheduler_up"] == 0
    assert values["prefetcher_scheduler_heartbeat_age_seconds"] == float("inf")
    record_heartbeat("beat-host", 7)
    age_heartbeat(12)
    values = samples(client.get("/metrics").content.decode())
    assert values["prefetcher_scheduler_up"] == 1
    assert 12 <= values["prefetcher_scheduler_heartbeat_age_seconds"] < 60
