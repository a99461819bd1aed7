"""What a run works on: the saved configuration (or the CLI's addons) as the engine's RunPlan."""

import logging
from datetime import datetime

from django.db import transaction

from addons.manifest import Manifest, ManifestError
from addons.models import Addon, Catalog
from addons.services import client_limits

from .. import progress
from ..engine.plan import AddonSpec, CatalogSpec, EngineSettings, RunPlan, merge_addons
from ..follow.warming import followed_catalog
from ..models import PrefetchSettings, Run
from ..releases import listed_catalog
from .lifecycle import RunRefused, request_run

logger = logging.getLogger(__name__)


def addon_spec(addon: Addon) -> AddonSpec:
    return AddonSpec(
        url=addon.url,
        name=addon.label,
        manifest=Manifest(addon.manifest),
        serves_catalogs=addon.serves_catalogs,
        serves_streams=addon.serves_streams,
    )


def plan_for_run(run: Run) -> RunPlan:
    """What a queued run works on, from what it recorded (so a resumed run does the same)."""
    return plan_from_options(run.options)


def plan_from_options(options: dict) -> RunPlan:
    """The plan of a run's options (request_run's): a schedule's settings and catalog subset, releases
    or follow targets, on the saved configuration."""
    since = options.get("released_since")
    plan = plan_from_database(options.get("settings"), releases=options.get("releases"),
                              catalog_ids=options.get("catalog_ids"), follow_targets=options.get("follow_targets"))
    if "released_since" in options:  # a schedule's "new episodes only"; None: nothing completed yet
        plan.released_since = datetime.fromisoformat(since) if since else None
    return plan


def plan_from_database(
    overrides: dict | None = None, releases: list[int] | None = None, catalog_ids: list[int] | None = None,
    follow_targets: list[list[str]] | None = None,
) -> RunPlan:
    """The saved configuration: enabled addons and the user's catalog selection, in the user's order
    (only `catalog_ids` of it, when given: a schedule's subset); with `releases` (UpcomingRelease
    ids) or `follow_targets` ([type, video id] pairs), those videos instead of the selection: such a
    run needs stream addons only, and is refused (RunRefused) when there is none."""
    settings = EngineSettings.from_model(PrefetchSettings.load(), overrides)
    specs = {}
    for addon in Addon.objects.filter(enabled=True):
        try:
            specs[addon.pk] = addon_spec(addon)
        except ManifestError:
            logger.warning("Addon %s has no usable cached manifest; reload it on the Addons page", addon)
    if releases is not None or follow_targets is not None:
        stream_addons = [spec for spec in specs.values() if spec.serves_streams]
        listed = (listed_catalog(releases, stream_addons) if releases is not None
                  else followed_catalog(follow_targets, stream_addons))
        if listed is None:  # said here: an empty plan would read "No catalog addon" in validate_plan
            raise RunRefused("No stream addon is configured.", fix=("/addons/", "Add one on the Addons page"))
        return RunPlan(addons=list(specs.values()), catalogs=[listed], settings=settings, limits=client_limits())
    catalogs = [
        CatalogSpec(
            addon=specs[catalog.addon_id],
            type=catalog.content_type,
            id=catalog.catalog_id,
            name=catalog.name or catalog.catalog_id,
            extras=catalog.extra_specs,
            extra_values=dict(catalog.extra_values),
        )
        for catalog in Catalog.objects.filter(enabled=True, missing=False)
        if catalog.addon_id in specs and specs[catalog.addon_id].serves_catalogs
        and (catalog_ids is None or catalog.pk in catalog_ids)
    ]
    return RunPlan(addons=list(specs.values()), catalogs=catalogs, settings=settings, limits=client_limits())


def plan_from_addons(
    addons: list[AddonSpec], overrides: dict | None = None, releases: list[int] | None = None
) -> RunPlan:
    """The CLI's `--addon` form: exactly these addons (one per URL, with the union of its roles), all
    their catalogs in manifest order; with `releases`, those episodes instead (as plan_from_database)."""
    settings = EngineSettings.from_model(PrefetchSettings.load(), overrides)
    addons = merge_addons(addons)
    if releases is not None:
        listed = listed_catalog(releases, [addon for addon in addons if addon.serves_streams])
        if listed is None:
            raise RunRefused("No stream addon is given: a release run needs one (--addon stream=URL or both=URL).")
        return RunPlan(addons=addons, catalogs=[listed], settings=settings, limits=client_limits())
    catalogs = [
        CatalogSpec(addon=addon, type=decl.type, id=decl.id, name=decl.name, extras=decl.extras)
        for addon in addons
        if addon.serves_catalogs
        for decl in addon.manifest.catalogs()
    ]
    return RunPlan(addons=addons, catalogs=catalogs, settings=settings, limits=client_limits())


def validate_plan(plan: RunPlan) -> None:
    # A listed catalog (release-day warming) requests nothing from a catalog addon; a plan that walks
    # any catalog needs one, and so does an empty plan (what a new installation is missing first).
    walks = not plan.catalogs or any(catalog.items is None for catalog in plan.catalogs)
    if walks and not any(addon.serves_catalogs for addon in plan.addons):
        raise RunRefused("No catalog addon is configured.", fix=("/addons/", "Add one on the Addons page"))
    if not plan.stream_addons:
        raise RunRefused("No stream addon is configured.", fix=("/addons/", "Add one on the Addons page"))
    if not plan.catalogs:
        raise RunRefused("No catalog is selected.", fix=("/catalogs/", "Pick catalogs"))


def start_checked_run(trigger: str, options: dict | None = None, schedule_id: int | None = None) -> Run:
    """A run somebody starts now (*Run now*, a schedule's *Run now*, the API): refused with the reason
    and its fix (RunRefused) when its plan could not run, rather than queued to fail; else queued and
    announced to live pages at once."""
    validate_plan(plan_from_options(options or {}))
    run = request_run(trigger, options, schedule_id)
    transaction.on_commit(lambda: progress.publish_run(run.pk, "queued"))
    return run
