"""Run-end notifications against a real HTTP server on 127.0.0.1 (webhook, and Apprise's json://)."""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from prefetch.models import Run, RunStatus, RunTrigger
from prefetch.runs.claim import recover_orphaned_runs
from prefetch.runs.execute import execute_run
from prefetch.runs.lifecycle import create_run
from tests.helpers import addon, plan
from tests.worker_process import free_port

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


class Receiver:
    """A tiny HTTP server that keeps what it is POSTed and answers with the status it is told."""

    def __init__(self, status: int = 200):
        self.received: list[dict] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                receiver.received.append({
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type", ""),
                    "body": json.loads(self.rfile.read(length) or b"null"),
                })
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/s3cret-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def notify(settings, receiver):
    settings.NOTIFY_WEBHOOK_URL = receiver.url
    settings.NOTIFY_APPRISE_URL = ""
    settings.NOTIFY_ON = "failure"
    settings.NOTIFY_TIMEOUT_S = 5
    return settings


def failing_run() -> Run:
    """Nothing configured: the run fails with a reason (RunRefused), through the real lifecycle."""
    run = create_run(RunTrigger.MANUAL)
    return execute_run(run.pk)


def completed_run(peer) -> Run:
    run = create_run(RunTrigger.CLI)
    return execute_run(run.pk, plan=plan([addon(peer.url)], catalogs=[("movie", "peer-new")], movies_per_catalog=3))


def test_a_failed_run_posts_its_reason_to_the_webhook(notify, receiver):
    run = failing_run()
    assert run.status == RunStatus.FAILED
    assert len(receiver.received) == 1  # sent before execute_run returned
    hit = receiver.received[0]
    assert hit["path"] == "/hook/s3cret-token"
    assert hit["content_type"] == "application/json"
    body = hit["body"]
    assert body["event"] == "run.finished"
    assert body["run"]["id"] == run.pk
    assert body["run"]["status"] == "failed"
    assert body["run"]["error"] == "No catalog addon is configured."
    assert "failed" in body["summary"] and "No catalog addon" in body["summary"]


def test_failures_only_by_default_and_every_run_when_asked(notify, receiver, peer):
    run = completed_run(peer)
    assert run.status == RunStatus.COMPLETED
    assert receiver.received == []  # NOTIFY_ON=failure: a completed run says nothing

    notify.NOTIFY_ON = "always"
    run = completed_run(peer)
    assert len(receiver.received) == 1
    body = receiver.received[0]["body"]
    assert body["run"]["status"] == "completed" and body["run"]["trigger"] == "cli"
    assert body["run"]["statistics"]["movies_prefetched"] == 3
    assert body["run"]["addons"][0]["name"] == run.addons[0]["name"]
    assert peer.url not in json.dumps(body)  # addon URLs (possible secrets) never leave


def test_a_run_that_cannot_be_resumed_after_losing_its_worker_is_notified(notify, receiver):
    run = create_run(RunTrigger.CLI)  # a command-line run's plan died with its process
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, worker="cli@host:1", heartbeat_at=None)
    assert recover_orphaned_runs() == [run.pk]
    assert [hit["body"]["run"]["status"] for hit in receiver.received] == ["aborted"]
    assert receiver.received[0]["body"]["run"]["id"] == run.pk
    assert "cli@host:1" in receiver.received[0]["body"]["run"]["error"]


def test_an_unreachable_or_failing_webhook_never_changes_the_outcome(notify, receiver, caplog):
    receiver.status = 500
    with caplog.at_level(logging.ERROR, logger="prefetch.notifications"):
        assert failing_run().status == RunStatus.FAILED
    assert len(receiver.received) == 1
    assert "did not take the notification of run" in caplog.text and "HTTP 500" in caplog.text
    assert "s3cret-token" not in caplog.text  # the webhook URL is redacted in logs

    caplog.clear()
    notify.NOTIFY_WEBHOOK_URL = f"http://127.0.0.1:{free_port()}/nobody-listens"
    with caplog.at_level(logging.ERROR, logger="prefetch.notifications"):
        run = failing_run()
    assert Run.objects.get(pk=run.pk).status == RunStatus.FAILED
    assert "did not take the notification" in caplog.text and "ConnectionError" in caplog.text
    assert "nobody-listens" not in caplog.text  # requests puts the URL's path in its messages


def test_apprise_url_delivers_through_apprise(notify, receiver):
    pytest.importorskip("apprise")
    notify.NOTIFY_WEBHOOK_URL = ""
    notify.NOTIFY_APPRISE_URL = receiver.url.replace("http://", "json://")
    run = failing_run()
    assert len(receiver.received) == 1
    body = receiver.received[0]["body"]  # Apprise's own JSON format
    assert body["title"] == "Streams Prefetcher: run failed"
    assert f"Run #{run.pk} failed: No catalog addon is configured." in body["message"]
    assert body["type"] == "failure"


def test_apprise_missing_is_a_warning_not_a_crash(notify, receiver, monkeypatch, caplog):
    import builtins

    real_import = builtins.__import__

    def no_apprise(name, *args, **kwargs):
        if name == "apprise":
            raise ImportError("No module named 'apprise'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_apprise)
    notify.NOTIFY_APPRISE_URL = "json://127.0.0.1:1/"
    with caplog.at_level(logging.WARNING, logger="prefetch.notifications"):
        assert failing_run().status == RunStatus.FAILED
    assert "apprise package is not installed" in caplog.text
    assert len(receiver.received) == 1  # the webhook still went out


def test_a_run_that_warms_nothing_is_told_like_a_failure(notify, receiver, make_peer):
    empty = make_peer(PEER_NEW_MOVIES=0)  # a catalog with nothing in it: the run completes, nothing is warm
    run = execute_run(create_run(RunTrigger.CLI).pk, plan=plan([addon(empty.url)], catalogs=[("movie", "peer-new")]))
    assert run.status == RunStatus.COMPLETED and run.statistics["stream_requests_ok"] == 0
    [hit] = receiver.received  # NOTIFY_ON=failure, yet told
    assert hit["body"]["warmed_nothing"] is True
    assert hit["body"]["summary"] == f"Run #{run.pk} completed but warmed nothing: 0 stream requests, none answered"
