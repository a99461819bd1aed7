"""Run lifecycle: create, claim, execute with the engine, record the outcome.

Both the Celery task and `manage.py prefetch` call `execute_run`; the web layer calls
`request_run`, `request_cancel` and friends. The one-active-run rule lives in the database.
"""

import logging
import threading

from django.db import IntegrityError, transaction
from django.utils import timezone

from addons.manifest import CatalogExtra, Manifest, ManifestError
from addons.models import Addon, Catalog

from .engine import STOP_CANCELLED, PrefetchEngine
from .models import ACTIVE_STATUSES, PrefetchSettings, Run, RunStatus, RunTrigger
from .notifications import notify_run_finished, notify_runs_finished
from .plan import AddonSpec, CatalogSpec, EngineSettings, RunPlan
from .run_logs import observe_run

logger = logging.getLogger("prefetch.runs")


class RunRefused(Exception):
    """A run cannot start now; the message says why, for the user."""


def active_run() -> Run | None:
    return Run.objects.filter(status__in=ACTIVE_STATUSES).first()


def create_run(trigger: str, options: dict | None = None) -> Run:
    try:
        with transaction.atomic():
            return Run.objects.create(trigger=trigger, options=options or {})
    except IntegrityError:
        raise RunRefused("A run is already active.") from None


def request_run(trigger: str = RunTrigger.MANUAL, options: dict | None = None) -> Run:
    """Create a queued run and hand it to a worker once the row is committed."""
    from .tasks import execute_run_task

    run = create_run(trigger, options)
    transaction.on_commit(lambda: _enqueue(run, execute_run_task))
    return run


def _enqueue(run: Run, task) -> None:
    result = task.apply_async(args=[run.pk])
    Run.objects.filter(pk=run.pk).update(celery_task_id=result.id or "")


def record_skipped_trigger(trigger: str, reason: str) -> Run:
    now = timezone.now()
    return Run.objects.create(
        trigger=trigger, status=RunStatus.SKIPPED, stop_reason=reason[:200], started_at=now, finished_at=now
    )


def request_cancel(run: Run) -> bool:
    return bool(Run.objects.filter(pk=run.pk, status__in=ACTIVE_STATUSES).update(cancel_requested=True))


def request_pause(run: Run) -> bool:
    return bool(
        Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(pause_requested=True, status=RunStatus.PAUSING)
    )


def request_resume(run: Run) -> bool:
    return bool(
        Run.objects.filter(pk=run.pk, status__in=[RunStatus.PAUSING, RunStatus.PAUSED]).update(
            pause_requested=False, status=RunStatus.RUNNING
        )
    )


def abort_orphaned_runs(reason: str = "the worker stopped while the run was active") -> int:
    """At worker start-up: no run can be running, so any active row was left by a dead worker."""
    now = timezone.now()
    aborted = Run.objects.filter(status__in=ACTIVE_STATUSES).update(
        status=RunStatus.ABORTED, error=reason, stop_reason="aborted", finished_at=now
    )
    notify_runs_finished(Run.objects.filter(status=RunStatus.ABORTED, finished_at=now))
    return aborted


# --- building the plan ---------------------------------------------------------------------------
def addon_spec(addon: Addon) -> AddonSpec:
    return AddonSpec(
        url=addon.url,
        name=addon.name or addon.redacted_url,
        manifest=Manifest(addon.manifest),
        serves_catalogs=addon.serves_catalogs,
        serves_streams=addon.serves_streams,
    )


def plan_from_database(overrides: dict | None = None) -> RunPlan:
    """The saved configuration: enabled addons and the user's catalog selection, in the user's order."""
    settings = EngineSettings.from_model(PrefetchSettings.load(), overrides)
    specs = {}
    for addon in Addon.objects.filter(enabled=True):
        try:
            specs[addon.pk] = addon_spec(addon)
        except ManifestError:
            logger.warning("Addon %s has no usable cached manifest; reload it on the Addons page", addon)
    catalogs = [
        CatalogSpec(
            addon=specs[catalog.addon_id],
            type=catalog.content_type,
            id=catalog.catalog_id,
            name=catalog.name or catalog.catalog_id,
            extras=tuple(
                CatalogExtra(e["name"], bool(e.get("isRequired")), tuple(e.get("options") or ())) for e in catalog.extras
            ),
            extra_values=dict(catalog.extra_values),
        )
        for catalog in Catalog.objects.filter(enabled=True, missing=False).select_related("addon")
        if catalog.addon_id in specs and specs[catalog.addon_id].serves_catalogs
    ]
    return RunPlan(addons=list(specs.values()), catalogs=catalogs, settings=settings)


def plan_from_addons(addons: list[AddonSpec], overrides: dict | None = None) -> RunPlan:
    """The CLI's `--addon` form: exactly these addons, all their catalogs in manifest order."""
    settings = EngineSettings.from_model(PrefetchSettings.load(), overrides)
    catalogs = [
        CatalogSpec(addon=addon, type=decl.type, id=decl.id, name=decl.name, extras=decl.extras)
        for addon in addons
        if addon.serves_catalogs
        for decl in addon.manifest.catalogs()
    ]
    return RunPlan(addons=addons, catalogs=catalogs, settings=settings)


def validate_plan(plan: RunPlan) -> None:
    if not any(addon.serves_catalogs for addon in plan.addons):
        raise RunRefused("No catalog addon is configured.")
    if not plan.stream_addons:
        raise RunRefused("No stream addon is configured.")
    if not plan.catalogs:
        raise RunRefused("No catalog is selected.")


# --- executing ------------------------------------------------------------------------------------
class RunControl:
    """What the engine polls: the run row's flags, plus a local cancel (Ctrl-C in the CLI)."""

    def __init__(self, run_id: int, local_cancel: threading.Event | None = None):
        self.run_id = run_id
        self.local_cancel = local_cancel or threading.Event()

    def poll(self) -> tuple[bool, bool]:
        flags = Run.objects.filter(pk=self.run_id).values("cancel_requested", "pause_requested").first()
        if flags is None:  # the row was deleted: nothing to report to any more
            return True, False
        return flags["cancel_requested"] or self.local_cancel.is_set(), flags["pause_requested"]


class ProgressRecorder:
    """Keeps the run row's snapshot and state current; extra listeners (CLI bar, channel layer) follow."""

    def __init__(self, run_id: int, listeners=()):
        self.run_id = run_id
        self.listeners = list(listeners)

    def __call__(self, snapshot: dict, event: str) -> None:
        update = {"progress": snapshot}
        runs = Run.objects.filter(pk=self.run_id)
        if event == "paused":
            runs.filter(status=RunStatus.PAUSING).update(status=RunStatus.PAUSED)
        elif event == "resumed":
            runs.filter(status__in=[RunStatus.PAUSING, RunStatus.PAUSED]).update(status=RunStatus.RUNNING)
        runs.update(**update)
        for listener in self.listeners:
            listener(snapshot, event)


def claim_run(run_id: int) -> bool:
    """queued -> running, exactly once, even if the task were delivered twice."""
    return bool(
        Run.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=timezone.now()
        )
    )


def execute_run(
    run_id: int,
    *,
    plan: RunPlan | None = None,
    local_cancel: threading.Event | None = None,
    listeners=(),
    engine_options: dict | None = None,
) -> Run:
    if not claim_run(run_id):
        logger.warning("Run %s is not queued any more; not starting it", run_id)
        return Run.objects.get(pk=run_id)
    with observe_run(run_id) as observer:  # live progress, log tail and per-run log file
        return _execute_claimed(run_id, plan, local_cancel, listeners, engine_options, observer)


def _execute_claimed(run_id, plan, local_cancel, listeners, engine_options, observer) -> Run:
    run = Run.objects.get(pk=run_id)
    try:
        plan = plan or plan_from_database(run.options.get("settings"))
        validate_plan(plan)
        engine = PrefetchEngine(
            plan,
            poll_control=RunControl(run_id, local_cancel).poll,
            on_progress=observer.wrap(ProgressRecorder(run_id, listeners)),
            log=logger,
            **(engine_options or {}),
        )
        report = engine.run()
    except RunRefused as refusal:
        return _finish(run_id, RunStatus.FAILED, error=str(refusal))
    except Exception as error:  # the run fails with its real error text, never silently
        logger.exception("Run %s failed", run_id)
        return _finish(run_id, RunStatus.FAILED, error=f"{error.__class__.__name__}: {error}")
    status = RunStatus.CANCELLED if report["stop_reason"] == STOP_CANCELLED else RunStatus.COMPLETED
    return _finish(run_id, status, report=report)


def _finish(run_id: int, status: str, *, report: dict | None = None, error: str = "") -> Run:
    fields = {"status": status, "finished_at": timezone.now(), "error": error, "pause_requested": False}
    if report:
        fields.update(
            statistics=report["statistics"],
            catalogs=report["catalogs"],
            addons=report["addons"],
            stop_reason=report["stop_reason"],
        )
    else:
        fields["stop_reason"] = "failed"
    Run.objects.filter(pk=run_id).update(**fields)
    run = Run.objects.get(pk=run_id)
    logger.info("Run %s ended: %s %s", run_id, status, error)
    notify_run_finished(run)
    return run
