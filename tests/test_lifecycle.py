"""Run lifecycle in prefetch.runs, driven in-process (the Celery task is a one-line wrapper)."""

import threading

import pytest
from django.utils import timezone

from addons.client import fetch_manifest_sync
from addons.models import Addon, Catalog
from prefetch.models import PrefetchRecord, PrefetchSettings, Run, RunStatus, RunTrigger
from prefetch.runs import (
    RunRefused,
    abort_orphaned_runs,
    create_run,
    execute_run,
    request_cancel,
    request_pause,
    request_resume,
)
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def configure(peer_url: str, catalogs: list[tuple[str, str]], **settings):
    manifest = fetch_manifest_sync(peer_url)
    addon = Addon(url=peer_url, role="both")
    addon.apply_manifest(manifest, timezone.now())
    addon.save()
    for position, decl in enumerate(d for d in manifest.catalogs() if (d.type, d.id) in catalogs):
        Catalog.objects.create(
            addon=addon, content_type=decl.type, catalog_id=decl.id, name=decl.name,
            extras=[e.as_dict() for e in decl.extras], position=catalogs.index((decl.type, decl.id)),
        )
    PrefetchSettings.objects.update_or_create(pk=1, defaults={
        "delay_s": 0, "cache_validity_s": 0, "fallback_meta_url": "", **settings,
    })
    return addon


def test_the_database_allows_one_active_run():
    first = create_run(RunTrigger.MANUAL)
    with pytest.raises(RunRefused):
        create_run(RunTrigger.API)
    Run.objects.filter(pk=first.pk).update(status=RunStatus.COMPLETED)
    assert create_run(RunTrigger.API).status == RunStatus.QUEUED


def test_saved_configuration_runs_in_the_users_catalog_order(peer):
    peer.reset()
    configure(peer.url, [("movie", "peer-new"), ("movie", "peer-popular")], movies_per_catalog=2)
    run = execute_run(create_run(RunTrigger.MANUAL).pk)
    assert run.status == RunStatus.COMPLETED
    assert [c["id"] for c in run.catalogs] == ["peer-new", "peer-popular"]
    assert run.statistics["movies_prefetched"] == 4
    assert [e["id"] for e in peer.requests("catalog")] == ["peer-new", "peer-popular"]
    assert PrefetchRecord.objects.filter(last_success__isnull=False).count() == 4
    assert run.started_at and run.finished_at and run.progress["seq"] >= 1


def test_a_run_that_cannot_start_fails_with_its_reason():
    run = execute_run(create_run(RunTrigger.MANUAL).pk)
    assert run.status == RunStatus.FAILED
    assert run.error == "No catalog addon is configured."


def test_a_run_executes_once_even_if_delivered_twice(peer):
    configure(peer.url, [("movie", "peer-dual")])
    run = create_run(RunTrigger.MANUAL)
    execute_run(run.pk)
    peer.reset()
    again = execute_run(run.pk)
    assert again.status == RunStatus.COMPLETED
    assert peer.requests() == []


def test_pause_resume_and_cancel_through_the_run_row(make_peer):
    slow = make_peer(PEER_STREAM_LATENCY_MS=40, PEER_DUAL=50)
    configure(slow.url, [("movie", "peer-dual")], concurrency=1)
    run = create_run(RunTrigger.MANUAL)
    thread = threading.Thread(target=execute_run, args=[run.pk])
    thread.start()
    wait_until(lambda: len(slow.requests("stream")) >= 2, message="streams")
    assert request_pause(run)
    wait_until(lambda: Run.objects.get(pk=run.pk).status == RunStatus.PAUSED, message="paused")
    assert request_resume(run)
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING
    assert request_cancel(run)
    thread.join(timeout=5)
    final = Run.objects.get(pk=run.pk)
    assert final.status == RunStatus.CANCELLED and final.stop_reason == "cancelled"
    assert 0 < final.statistics["stream_requests"] < 50


def test_orphaned_runs_are_aborted_with_a_reason():
    run = create_run(RunTrigger.SCHEDULE)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    assert abort_orphaned_runs() == 1
    run.refresh_from_db()
    assert run.status == RunStatus.ABORTED and "worker stopped" in run.error


def test_daily_housekeeping_prunes_old_runs_without_waiting_for_a_run(settings):
    from datetime import timedelta

    from prefetch.tasks import prune_history_task

    old = Run.objects.create(status=RunStatus.COMPLETED)
    Run.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=91))
    recent = Run.objects.create(status=RunStatus.COMPLETED)
    prune_history_task()
    assert list(Run.objects.values_list("pk", flat=True)) == [recent.pk]
    assert settings.CELERY_BEAT_SCHEDULE["prune-history"]["task"] == prune_history_task.name
