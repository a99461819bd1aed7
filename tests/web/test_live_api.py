"""Job control API, SSE stream and run history API."""

import json
import threading
import time

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from prefetch.models import Run, RunStatus
from prefetch.runs.execute import execute_run
from prefetch.runs.lifecycle import create_run
from tests.helpers import configure

pytestmark = pytest.mark.django_db(transaction=True)


def test_job_api_needs_authentication():
    get_user_model().objects.create_user("someone", password="irrelevant-password-123")
    anonymous = Client()
    for method, url in [("get", "/api/job/status"), ("post", "/api/job/run"), ("post", "/api/job/cancel"),
                        ("get", "/api/job/output"), ("get", "/api/logs"), ("get", "/api/events"), ("get", "/api/runs")]:
        response = getattr(anonymous, method)(url)
        assert response.status_code in (401, 403), url  # DRF: 403 when session auth is listed first
        assert response.json()["success"] is False


def test_one_status_answer_is_shared_for_its_max_age_and_refreshed_on_demand():
    from prefetch.status_cache import SharedAnswer

    now, computed = [0.0], []
    answer = SharedAnswer(lambda: computed.append(now[0]) or {"n": len(computed)}, max_age_s=0.5, clock=lambda: now[0])
    assert answer.get() == answer.get() == {"n": 1}
    now[0] = 0.49
    assert answer.get() == {"n": 1}
    now[0] = 0.5
    assert answer.get() == {"n": 2}
    assert answer.refresh() == {"n": 3}  # a change made here is seen at once
    answer.forget()
    assert answer.get() == {"n": 4} and computed == [0.0, 0.5, 0.5, 0.5]


def test_status_idle_then_run_refused_without_configuration(user_client):
    body = user_client.get("/api/job/status").json()
    assert body["success"] and body["status"]["status"] == "idle" and body["status"]["active"] is False
    refused = user_client.post("/api/job/run")
    assert refused.status_code == 400 and refused.json()["error"] == "No catalog addon is configured."
    assert refused.json()["fix"] == {"href": "/addons/", "label": "Add one on the Addons page"}
    assert not Run.objects.exists()


def test_run_pause_resume_cancel_through_the_api(user_client, peer):
    configure(peer.url, [("movie", "peer-popular")])
    started = user_client.post("/api/job/run")
    assert started.status_code == 200 and started.json()["message"] == "Job started successfully"
    run = Run.objects.get()
    assert run.status == RunStatus.QUEUED and run.trigger == "manual"
    again = user_client.post("/api/job/run")
    assert again.status_code == 400 and again.json()["error"] == "A run is already active."
    assert user_client.post("/api/job/pause").json()["error"] == "Job is not running"  # still queued
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    paused = user_client.post("/api/job/pause").json()
    assert paused["message"] == "Pause requested" and paused["status"]["status"] == "pausing"
    assert user_client.post("/api/job/resume").json()["status"]["status"] == "running"
    assert user_client.post("/api/job/resume").json()["error"] == "Job is not paused"
    cancelled = user_client.post("/api/job/cancel").json()
    assert cancelled["message"] == "Job cancelled" and cancelled["status"]["cancel_requested"] is True
    assert Run.objects.get().cancel_requested
    Run.objects.update(status=RunStatus.CANCELLED)
    assert user_client.post("/api/job/cancel").json()["error"] == "No running job to cancel"


def test_token_authenticated_runs_are_api_triggered(peer):
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.create_user("script", password="irrelevant-password-123")
    token = Token.objects.create(user=user)
    configure(peer.url, [("movie", "peer-popular")])
    response = Client().post("/api/job/run", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert Run.objects.get().trigger == "api"


def test_a_finished_run_reports_statistics_output_and_history(user_client, peer):
    configure(peer.url, [("movie", "peer-popular")], movies_per_catalog=5)
    run = create_run("manual")
    execute_run(run.pk)
    status = user_client.get("/api/job/status").json()["status"]
    assert status["id"] == run.pk and status["status"] == "completed"
    assert status["summary"]["movies_prefetched"] == 5
    assert status["catalogs"][0]["id"] == "peer-popular" and status["catalogs"][0]["started_at"]
    output = user_client.get("/api/job/output").json()["output"]
    assert any("Run finished" in line for line in output["lines"])
    assert user_client.get("/api/job/output?from_line=1").json()["output"]["from_line"] == 1
    history = user_client.get("/api/runs?status=completed").json()["runs"]
    assert [r["id"] for r in history] == [run.pk]
    assert user_client.get("/api/runs?status=failed").json()["runs"] == []
    detail = user_client.get(f"/api/runs/{run.pk}").json()["run"]
    assert detail["addons"][0]["requests"] == 5
    page = user_client.get(f"/runs/{run.pk}/")
    assert page.status_code == 200 and b"run-detail" in page.content
    assert user_client.get("/runs/?trigger=manual").status_code == 200


def test_a_failed_run_shows_its_real_error(user_client):
    run = Run.objects.create(status=RunStatus.FAILED, error="ConnectionError: the database went away",
                             started_at=timezone.now(), finished_at=timezone.now())
    assert user_client.get("/api/job/status").json()["status"]["error"] == "ConnectionError: the database went away"
    assert b"ConnectionError: the database went away" in user_client.get(f"/runs/{run.pk}/").content


def test_a_resumed_run_says_when_from_which_worker_to_which_and_why(user_client):
    resume = {"at": "2026-11-29T03:01:05+00:00", "from_worker": "worker@a1", "worker": "worker@b2",
              "reason": "worker worker@a1 stopped responding (no heartbeat for 75 s)"}
    run = Run.objects.create(status=RunStatus.COMPLETED, worker="worker@b2", resumes=[resume])
    page = user_client.get(f"/runs/{run.pk}/").content.decode()
    assert "Resumed 1 time after losing its worker" in page
    assert "worker worker@a1 stopped responding (no heartbeat for 75 s)" in page and "resumed on worker@b2" in page
    detail = user_client.get(f"/api/runs/{run.pk}").json()["run"]
    assert detail["resumes"] == [resume] and detail["worker"] == "worker@b2"


def test_cancelling_a_queued_run_through_the_api_ends_it(user_client):
    run = create_run("manual")
    answer = user_client.post("/api/job/cancel").json()
    assert answer["success"] and answer["status"]["status"] == "cancelled"
    assert Run.objects.get(pk=run.pk).status == RunStatus.CANCELLED


def _session_cookies(user_client) -> dict:
    return {"sessionid": user_client.cookies["sessionid"].value}


def _sse_messages(response):
    data = []
    for raw in response.iter_lines(decode_unicode=True):
        if raw and raw.startswith("data: "):
            data.append(json.loads(raw[6:]))
            yield data[-1]


def test_sse_stream_refuses_a_page_of_another_site_like_the_websocket(asgi_server, user_client):
    cookies = _session_cookies(user_client)
    for origin in ("http://evil.example", "null", asgi_server.url.replace("127.0.0.1", "localhost")):
        foreign = requests.get(f"{asgi_server.url}/api/events", cookies=cookies, headers={"Origin": origin}, timeout=5)
        assert foreign.status_code == 403 and foreign.json()["error"] == "Cross-site request refused.", origin
    # this site's own page (a same-site EventSource sends no Origin at all, a script neither)
    for headers in ({"Origin": asgi_server.url}, {}):
        with requests.get(f"{asgi_server.url}/api/events", cookies=cookies, headers=headers, stream=True,
                          timeout=10) as response:
            assert response.status_code == 200 and next(_sse_messages(response))["event"] == "connected"


def test_sse_stream_carries_status_then_the_runs_messages(asgi_server, user_client, make_peer):
    peer = make_peer(PEER_STREAM_LATENCY_MS=10)
    configure(peer.url, [("movie", "peer-popular")], movies_per_catalog=30, concurrency=1)
    unauthenticated = requests.get(f"{asgi_server.url}/api/events", timeout=5)
    assert unauthenticated.status_code == 401
    run = create_run("manual")
    with requests.get(f"{asgi_server.url}/api/events", cookies=_session_cookies(user_client), stream=True, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        messages = _sse_messages(response)
        assert next(messages)["event"] == "connected"
        status = next(messages)
        assert status["event"] == "status" and status["data"]["id"] == run.pk and status["data"]["status"] == "queued"
        threading.Thread(target=execute_run, args=(run.pk,), daemon=True).start()
        seen = []
        deadline = time.monotonic() + 30
        for message in messages:
            seen.append(message)
            if message["event"] == "finished" or time.monotonic() > deadline:
                break
    events = [m["event"] for m in seen]
    assert events[0] == "started" and events[-1] == "finished", events
    assert seen[-1]["data"]["status"] == "completed"
    assert seen[-1]["data"]["progress"]["statistics"]["movies_prefetched"] == 30
    seqs = [m["data"]["seq"] for m in seen]
    assert seqs == sorted(seqs)
