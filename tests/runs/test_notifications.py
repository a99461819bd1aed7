"""Run-end notifications against a real HTTP server on 127.0.0.1 (webhook, and Apprise's json://)."""

import json
import logging

import pytest

from prefetch.models import Run, RunStatus, RunTrigger
from prefetch.runs.claim import recover_orphaned_runs
from prefetch.runs.execute import execute_run
from prefetch.runs.lifecycle import create_run
from tests.helpers import addon, free_port, plan

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def failing_run() -> Run:
    """Nothing configured: the run fails with a reason (RunRefused), through the real lifecycle."""
    run = create_run(RunTrigger.MANUAL)
    return execute_run(run.pk)


def completed_run(peer) -> Run:
    run = create_run(RunTrigger.CLI)
    return execute_run(run.pk, plan=plan([addon(peer.url)], catalogs=[("movie", "peer-new")], movies_per_catalog=3))


def test_a_failed_run_posts_its_reason_to_the_webhook(webhook):
    run = failing_run()
    assert run.status == RunStatus.FAILED
    assert len(webhook.received) == 1  # sent before execute_run returned
    hit = webhook.received[0]
    assert hit["path"] == "/hook/s3cret-token"
    assert hit["content_type"] == "application/json"
    body = hit["body"]
    assert body["event"] == "run.finished"
    assert body["run"]["id"] == run.pk
    assert body["run"]["status"] == "failed"
    assert body["run"]["error"] == "No catalog addon is configured."
    assert "failed" in body["summary"] and "No catalog addon" in body["summary"]


def test_failures_only_by_default_and_every_run_when_asked(webhook, settings, peer):
    run = completed_run(peer)
    assert run.status == RunStatus.COMPLETED
    assert webhook.received == []  # NOTIFY_ON=failure: a completed run says nothing

    settings.NOTIFY_ON = "always"
    run = completed_run(peer)
    assert len(webhook.received) == 1
    body = webhook.received[0]["body"]
    assert body["run"]["status"] == "completed" and body["run"]["trigger"] == "cli"
    assert body["run"]["statistics"]["movies_prefetched"] == 3
    assert body["run"]["addons"][0]["name"] == run.addons[0]["name"]
    assert peer.url not in json.dumps(body)  # addon URLs (possible secrets) never leave


def test_a_run_that_cannot_be_resumed_after_losing_its_worker_is_notified(webhook):
    run = create_run(RunTrigger.CLI)  # a command-line run's plan died with its process
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, worker="cli@host:1", heartbeat_at=None)
    assert recover_orphaned_runs() == [run.pk]
    assert [hit["body"]["run"]["status"] for hit in webhook.received] == ["aborted"]
    assert webhook.received[0]["body"]["run"]["id"] == run.pk
    assert "cli@host:1" in webhook.received[0]["body"]["run"]["error"]


def test_an_unreachable_or_failing_webhook_never_changes_the_outcome(webhook, settings, caplog):
    webhook.status = 500
    with caplog.at_level(logging.ERROR, logger="prefetch.notifications"):
        assert failing_run().status == RunStatus.FAILED
    assert len(webhook.received) == 1
    assert "did not take the notification of run" in caplog.text and "HTTP 500" in caplog.text
    assert "s3cret-token" not in caplog.text  # the webhook URL is redacted in logs

    caplog.clear()
    settings.NOTIFY_WEBHOOK_URL = f"http://127.0.0.1:{free_port()}/nobody-listens"
    with caplog.at_level(logging.ERROR, logger="prefetch.notifications"):
        run = failing_run()
    assert Run.objects.get(pk=run.pk).status == RunStatus.FAILED
    assert "did not take the notification" in caplog.text and "ConnectionError" in caplog.text
    assert "nobody-listens" not in caplog.text  # requests puts the URL's path in its messages


def test_apprise_url_delivers_through_apprise(webhook, settings):
    pytest.importorskip("apprise")
    settings.NOTIFY_WEBHOOK_URL = ""
    settings.NOTIFY_APPRISE_URL = webhook.url.replace("http://", "json://")
    run = failing_run()
    assert len(webhook.received) == 1
    body = webhook.received[0]["body"]  # Apprise's own JSON format
    assert body["title"] == "Streams Prefetcher: run failed"
    assert f"Run #{run.pk} failed: No catalog addon is configured." in body["message"]
    assert body["type"] == "failure"


def test_apprise_missing_is_a_warning_not_a_crash(webhook, settings, monkeypatch, caplog):
    import builtins

    real_import = builtins.__import__

    def no_apprise(name, *args, **kwargs):
        if name == "apprise":
            raise ImportError("No module named 'apprise'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_apprise)
    settings.NOTIFY_APPRISE_URL = "json://127.0.0.1:1/"
    with caplog.at_level(logging.WARNING, logger="prefetch.notifications"):
        assert failing_run().status == RunStatus.FAILED
    assert "apprise package is not installed" in caplog.text
    assert len(webhook.received) == 1  # the webhook still went out


def test_a_run_that_warms_nothing_is_told_like_a_failure(webhook, make_peer):
    empty = make_peer(PEER_NEW_MOVIES=0)  # a catalog with nothing in it: the run completes, nothing is warm
    run = execute_run(create_run(RunTrigger.CLI).pk, plan=plan([addon(empty.url)], catalogs=[("movie", "peer-new")]))
    assert run.status == RunStatus.COMPLETED and run.statistics["stream_requests_ok"] == 0
    [hit] = webhook.received  # NOTIFY_ON=failure, yet told
    assert hit["body"]["warmed_nothing"] is True
    assert hit["body"]["summary"] == f"Run #{run.pk} completed but warmed nothing: 0 stream requests, none answered"
