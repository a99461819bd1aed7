"""Items whose every video carries its own streams are counted as `items_own_streams` / `own_streams`
("embedded" names the one-process mode): stored runs are migrated, and for one release the API and
the `--json` summary also answer the old names (prefetch/deprecated_names.py)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from prefetch.management.commands.prefetch import run_summary
from prefetch.models import Run, RunStatus

BEFORE = [("prefetch", "0012_first_answer_time")]
RENAMED = [("prefetch", "0013_own_streams_counts")]


def migrate(target) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    return executor


def stored(run_id: int) -> tuple:
    run = Run.objects.get(pk=run_id)
    return run.statistics, run.catalogs, run.progress


@pytest.mark.django_db(transaction=True)
def test_stored_runs_are_migrated_to_the_new_names_and_back():
    old_statistics = {"items_excluded": 1, "items_embedded": 2, "items_duplicates": 0}
    old_catalogs = [{"name": "Top", "embedded": 2, "samples": {"embedded": ["ts1", "ts2"], "excluded": ["ts3"]}},
                    {"name": "Empty", "embedded": 0, "samples": {}}]
    old_progress = {"seq": 9, "statistics": {"items_embedded": 2}, "log_tail": []}
    try:
        historical = migrate(BEFORE).loader.project_state(BEFORE).apps.get_model("prefetch", "Run")
        run = historical.objects.create(status="completed", statistics=old_statistics, catalogs=old_catalogs,
                                        progress=old_progress)
        untouched = historical.objects.create(status="failed", statistics={}, catalogs=[], progress={})

        migrate(RENAMED)
        assert stored(run.pk) == (
            {"items_excluded": 1, "items_own_streams": 2, "items_duplicates": 0},
            [{"name": "Top", "own_streams": 2, "samples": {"own_streams": ["ts1", "ts2"], "excluded": ["ts3"]}},
             {"name": "Empty", "own_streams": 0, "samples": {}}],
            {"seq": 9, "statistics": {"items_own_streams": 2}, "log_tail": []},
        )
        assert stored(untouched.pk) == ({}, [], {})

        migrate(BEFORE)  # reversed
        assert stored(run.pk) == (old_statistics, old_catalogs, old_progress)
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.fixture
def finished_run(db):
    return Run.objects.create(
        status=RunStatus.COMPLETED, statistics={"items_own_streams": 3, "items_prefetched": 5},
        catalogs=[{"name": "Top", "own_streams": 3, "samples": {"own_streams": ["a", "b", "c"]}}],
        progress={"statistics": {"items_own_streams": 3}},
    )


def test_the_api_and_the_json_summary_answer_the_old_names_too_for_one_release(api, finished_run):
    detail = api.get(f"/api/runs/{finished_run.pk}").json()["run"]
    assert detail["statistics"]["items_own_streams"] == detail["statistics"]["items_embedded"] == 3
    assert detail["catalogs"][0]["own_streams"] == detail["catalogs"][0]["embedded"] == 3
    assert detail["catalogs"][0]["samples"] == {"own_streams": ["a", "b", "c"], "embedded": ["a", "b", "c"]}
    assert detail["progress"]["statistics"] == {"items_own_streams": 3, "items_embedded": 3}
    listed = api.get("/api/runs").json()["runs"][0]
    assert listed["statistics"]["items_embedded"] == 3
    status = api.get("/api/job/status").json()["status"]
    assert status["summary"]["items_embedded"] == status["statistics"]["items_embedded"] == 3
    summary = run_summary(finished_run)
    assert summary["statistics"]["items_embedded"] == summary["catalogs"][0]["embedded"] == 3
    assert Run.objects.get().statistics == {"items_own_streams": 3, "items_prefetched": 5}  # answered, not stored


def test_the_openapi_schema_marks_the_old_names_deprecated(api):
    schema = api.get("/api/schema", HTTP_ACCEPT="application/json").json()["components"]["schemas"]
    statistics = schema["RunDetail"]["properties"]["statistics"]["properties"]
    catalog = schema["RunDetail"]["properties"]["catalogs"]["items"]["properties"]
    assert statistics["items_embedded"]["deprecated"] and "items_own_streams" in statistics["items_embedded"]["description"]
    assert catalog["embedded"]["deprecated"] and not catalog["own_streams"].get("deprecated")
    assert schema["RunRow"]["properties"]["statistics"]["properties"]["items_embedded"]["deprecated"]
