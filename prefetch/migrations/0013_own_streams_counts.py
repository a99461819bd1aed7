"""Stored runs count items whose every video carries its own streams as `items_own_streams` (run) and
`own_streams` (catalog, and its samples), no longer as `items_embedded` / `embedded`: "embedded" names
the one-process mode. Reversible."""

from django.db import migrations

RUN_COUNT = ("items_embedded", "items_own_streams")  # (old, new)
CATALOG_COUNT = ("embedded", "own_streams")


def _renamed(counts, old: str, new: str):
    """The dict with key `old` as `new`, in its place; anything else as it was."""
    if not isinstance(counts, dict) or old not in counts:
        return counts
    return {(new if key == old else key): value for key, value in counts.items()}


def _catalog_renamed(catalog, old: str, new: str):
    catalog = _renamed(catalog, old, new)
    if isinstance(catalog, dict) and isinstance(catalog.get("samples"), dict):
        catalog = {**catalog, "samples": _renamed(catalog["samples"], old, new)}
    return catalog


BATCH = 500  # runs written at a time: a long history is never held in memory whole


def rename_counts(apps, run_names: tuple, catalog_names: tuple) -> None:
    Run = apps.get_model("prefetch", "Run")
    fields = ["statistics", "catalogs", "progress"]
    changed = []
    for run in Run.objects.only("id", *fields).iterator(chunk_size=BATCH):
        statistics = _renamed(run.statistics, *run_names)
        catalogs = ([_catalog_renamed(catalog, *catalog_names) for catalog in run.catalogs]
                    if isinstance(run.catalogs, list) else run.catalogs)
        progress = run.progress
        if isinstance(progress, dict) and "statistics" in progress:  # the last live snapshot
            progress = {**progress, "statistics": _renamed(progress["statistics"], *run_names)}
        if (statistics, catalogs, progress) != (run.statistics, run.catalogs, run.progress):
            run.statistics, run.catalogs, run.progress = statistics, catalogs, progress
            changed.append(run)
        if len(changed) == BATCH:
            Run.objects.bulk_update(changed, fields)
            changed = []
    Run.objects.bulk_update(changed, fields)


def to_own_streams(apps, schema_editor):
    rename_counts(apps, RUN_COUNT, CATALOG_COUNT)


def to_embedded(apps, schema_editor):
    rename_counts(apps, RUN_COUNT[::-1], CATALOG_COUNT[::-1])


class Migration(migrations.Migration):

    dependencies = [
        ('prefetch', '0012_first_answer_time'),
    ]

    operations = [
        migrations.RunPython(to_own_streams, to_embedded),
    ]
