"""Addon health: beat's manifest probe and "Check now" against a real peer that is stopped and started
again, a run with failing titles, what the API and /metrics say, and notifications at the changes only."""

import json
import urllib.parse

import pytest
from django.db import connection

from addons import health as addon_health
from addons.models import Addon
from prefetch.models import PeriodicWork, RunStatus, RunTrigger
from prefetch.runs.execute import execute_run
from prefetch.runs.lifecycle import create_run
from prefetch.tasks import probe_addon_health
from tests.helpers import configure, samples

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]
SECRET = "SuperSecretDebridKey"


def secret_url(peer) -> str:
    """The peer behind a configuration segment holding a secret, as debrid addons' URLs do."""
    config = urllib.parse.quote(json.dumps({"token": SECRET}, separators=(",", ":")), safe="")
    return f"{peer.base}/{config}/manifest.json"


def health(api) -> dict:
    return api.get("/api/addons").json()["addons"][0]["health"]


def test_a_stopped_addon_is_down_at_the_next_probe_and_ok_when_back_notified_at_the_changes_only(
    make_peer, api, webhook, client, owner
):
    peer = make_peer()
    api.post("/api/addons", {"url": secret_url(peer)}, format="json")
    addon = Addon.objects.get()
    assert health(api)["status"] == "unknown"

    probe_addon_health()  # what beat runs every ADDON_HEALTH_INTERVAL_S
    assert (health(api)["status"], health(api)["message"]) == ("ok", "")
    assert webhook.received == []  # not checked yet -> ok: nothing to tell

    port = peer.port
    peer.stop()
    probe_addon_health()  # the next probe after the stop
    down = health(api)
    assert down["status"] == "down" and down["message"].startswith("connection refused"), down
    assert down["checked_at"] is not None
    [told] = webhook.received
    assert told["body"]["event"] == "addon.down"
    assert told["body"]["summary"] == f"{addon.label} is down: {down['message']}"
    probe_addon_health()  # still down: no second notification
    assert len(webhook.received) == 1

    client.force_login(owner)
    metrics = samples(client.get("/metrics").content.decode())
    assert metrics[f'prefetcher_addon_health{{addon="{addon.label}",status="down"}}'] == 1
    assert metrics[f'prefetcher_addon_health{{addon="{addon.label}",status="ok"}}'] == 0

    make_peer(PEER_PORT=port)  # the addon is back, at the same address
    probe_addon_health()
    assert Addon.objects.get().health.status == "ok"
    assert [hit["body"]["event"] for hit in webhook.received] == ["addon.down", "addon.back"]
    assert webhook.received[1]["body"]["summary"] == f"{addon.label} is back (ok)"
    assert SECRET not in json.dumps(webhook.received)  # the configuration segment never leaves
    work = PeriodicWork.objects.get(name="prefetch.tasks.probe_addon_health")  # for the Tasks list
    assert work.error == "" and work.duration_s is not None and work.finished_at >= work.started_at


def test_check_now_probes_at_once_outside_any_transaction_and_notifies_as_beats_probe_does(
    make_peer, api, webhook, monkeypatch
):
    peer = make_peer()
    api.post("/api/addons", {"url": secret_url(peer)}, format="json")
    addon = Addon.objects.get()
    in_transaction = []
    probe_manifests = addon_health.probe_manifests

    def watched(urls, proxy):
        in_transaction.append(connection.in_atomic_block)
        return probe_manifests(urls, proxy)

    monkeypatch.setattr(addon_health, "probe_manifests", watched)

    def check_now() -> dict:
        answer = api.post("/api/addons/health/check")
        assert answer.status_code == 200 and answer.json()["success"] is True, answer.content
        [row] = answer.json()["addons"]
        assert row["id"] == addon.pk
        return row["health"]

    port = peer.port
    peer.stop()
    down = check_now()
    assert down["status"] == "down" and down["message"].startswith("connection refused"), down
    [told] = webhook.received
    assert told["body"]["event"] == "addon.down"
    assert told["body"]["summary"] == f"{addon.label} is down: {down['message']}"
    assert check_now()["status"] == "down" and len(webhook.received) == 1  # still down: told once

    make_peer(PEER_PORT=port)  # back, at the same address
    back = check_now()
    assert (back["status"], back["message"]) == ("ok", "") and back == health(api)  # what is stored now
    assert [hit["body"]["event"] for hit in webhook.received] == ["addon.down", "addon.back"]
    assert check_now()["status"] == "ok" and len(webhook.received) == 2
    assert in_transaction == [False] * 4  # the network waits outside transactions (house rule)
    assert SECRET not in json.dumps(webhook.received)

    schema = api.get("/api/schema", HTTP_ACCEPT="application/json").json()
    answer = schema["paths"]["/api/addons/health/check"]["post"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/AddonList"}


def test_a_run_failing_one_title_in_nine_makes_the_addon_degraded_and_a_clean_run_ok_again(make_peer, api):
    faulty = make_peer(PEER_FAIL_EVERY=9)  # HTTP 500 for about 11 % of the titles
    configure(faulty.url, [("movie", "peer-new")], movies_per_catalog=45, cache_validity_s=86400)
    run = execute_run(create_run(RunTrigger.MANUAL).pk)
    [report] = run.addons
    share = round(100 * report["failed"] / report["requests"])
    assert run.status == RunStatus.COMPLETED_WITH_FAILURES and 5 <= share <= 25, report
    degraded = health(api)
    assert degraded["status"] == "degraded"
    assert degraded["message"] == f"HTTP 500 on {share} % of titles in run #{run.pk}"

    probe_addon_health()  # the manifest answers: still degraded until a run says otherwise
    assert health(api)["status"] == "degraded"

    port = faulty.port
    faulty.stop()
    make_peer(PEER_PORT=port)  # fixed: the titles that failed answer now
    clean = execute_run(create_run(RunTrigger.MANUAL).pk)
    assert clean.status == RunStatus.COMPLETED and clean.addons[0]["failed"] == 0
    assert (health(api)["status"], health(api)["message"]) == ("ok", "")
