"""Run lifecycle: create, claim, execute with the engine, record the outcome.

Both the Celery task and `manage.py prefetch` call `execute_run`; the web layer calls
`request_run`, `request_cancel` and friends. The one-active-run rule lives in the database.
"""

import itertools
import logging
import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, close_old_connections, connections, transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from addons import health
from addons.manifest import Manifest, ManifestError
from addons.models import Addon, Catalog
from addons.retry import RetryPolicy
from addons.services import client_limits

from .engine import PrefetchEngine
from .engine.plan import AddonSpec, CatalogSpec, EngineSettings, RunPlan, merge_addons
from .follow.warming import followed_catalog
from .models import ACTIVE_STATUSES, EXECUTING_STATUSES, PrefetchSettings, Run, RunStatus, RunTrigger
from .notifications import notify_run_finished
from .record_store import DatabaseRecordStore
from .releases import listed_catalog, mark_warmed
from .run_logs import observe_run

logger = logging.getLogger("prefetch.runs")

EXECUTE_RUN_TASK = "prefetch.tasks.execute_run"
# A run that keeps losing its worker (killed for memory, say) ends instead of looping forever.
MAX_RESUMES = 3


class RunRefused(Exception):
    """A run cannot start now; the message says why, for the user, and `fix` (href, label) where
    to put it right when a page can."""

    def __init__(self, message: str, fix: tuple[str, str] | None = None):
        super().__init__(message)
        self.fix = fix


def active_run() -> Run | None:
    return Run.objects.filter(status__in=ACTIVE_STATUSES).first()


def create_run(trigger: str, options: dict | None = None, schedule_id: int | None = None) -> Run:
    try:
        with transaction.atomic():
            _take_configuration_lock()  # never between a configuration change's check and its write
            return Run.objects.create(trigger=trigger, options=options or {}, schedule_id=schedule_id)
    except IntegrityError:
        raise RunRefused("A run is already active.") from None


def request_run(trigger: str = RunTrigger.MANUAL, options: dict | None = None, schedule_id: int | None = None) -> Run:
    """Create a queued run and hand it to a worker once the row is committed; `schedule_id`: the
    schedule it runs for."""
    run = create_run(trigger, options, schedule_id)
    transaction.on_commit(lambda: enqueue(run.pk))
    return run


def enqueue(run_id: int) -> None:
    """Send the run's task (by name: the tasks module imports this one)."""
    result = current_app.send_task(EXECUTE_RUN_TASK, args=[run_id])
    Run.objects.filter(pk=run_id).update(celery_task_id=result.id or "")


def resend_queued_runs() -> int:
    """Embedded start-up: queued runs' messages lived in the previous process's memory broker."""
    queued = list(Run.objects.filter(status=RunStatus.QUEUED).values_list("pk", flat=True))
    for run_id in queued:
        enqueue(run_id)
    return len(queued)


def record_skipped_trigger(trigger: str, reason: str, schedule_id: int | None = None) -> Run:
    now = timezone.now()
    return Run.objects.create(
        trigger=trigger, status=RunStatus.SKIPPED, stop_reason=reason[:200], started_at=now, finished_at=now,
        schedule_id=schedule_id,
    )


def request_cancel(run: Run) -> bool:
    """A queued run ends at once (no worker needs to be up); an executing one is asked to stop and
    its worker stops within a second (or the reaper ends it if that worker is gone)."""
    now = timezone.now()
    if Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
        status=RunStatus.CANCELLED, cancel_requested=True, stop_reason="cancelled before it started", finished_at=now
    ):
        logger.info("Run %s cancelled while queued", run.pk)
        return True
    return bool(Run.objects.filter(pk=run.pk, status__in=EXECUTING_STATUSES).update(cancel_requested=True))


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


def recover_orphaned_runs(starting_worker: str | None = None, now: datetime | None = None) -> list[int]:
    """Runs whose worker is gone: resumed on another worker, or ended when they cannot be.

    A run is orphaned when its heartbeat is older than RUN_STALE_AFTER_S, or (at a worker's start)
    when the starting worker has the name of the one that held it: that worker restarted. Queued
    runs are never touched: their message is still waiting for a worker. Called by beat every
    RUN_REAP_INTERVAL_S and by each worker at start-up; the compare-and-set on the claim token
    lets only one of them act on a run. Returns the ids acted on.
    """
    now = now or timezone.now()
    stale = Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - timedelta(seconds=settings.RUN_STALE_AFTER_S))
    if starting_worker:
        stale |= Q(worker=starting_worker)
    recovered = []
    for run in Run.objects.filter(stale, status__in=EXECUTING_STATUSES):
        if _recover(run, _orphan_reason(run, starting_worker, now), now):
            recovered.append(run.pk)
    return recovered


def held(run_id: int, claim_token: str):
    """The run, while it executes under this claim: every end or hand-over writes through this."""
    return Run.objects.filter(pk=run_id, claim_token=claim_token, status__in=EXECUTING_STATUSES)


def _queue_again(run: Run, reason: str, now: datetime) -> bool:
    """Give the run back to the queue for the next worker to resume, if `run` still holds it."""
    entry = {"at": now.isoformat(), "from_worker": run.worker, "reason": reason}
    with transaction.atomic():
        queued = held(run.pk, run.claim_token).update(
            status=RunStatus.QUEUED, worker="", claim_token="", heartbeat_at=None, handover_requested=False,
            resumes=[*run.resumes, entry],
        )
        if queued:
            transaction.on_commit(lambda: enqueue(run.pk))
    if queued:
        logger.warning("Run %s will resume on the next free worker: %s", run.pk, reason)
    return bool(queued)


def request_handover(worker: str) -> int:
    """A worker shutting down asks its run to stop and go back to the queue (see RunControl)."""
    return Run.objects.filter(worker=worker, status__in=EXECUTING_STATUSES).update(handover_requested=True)


def _orphan_reason(run: Run, starting_worker: str | None, now: datetime) -> str:
    worker = run.worker or "unknown"
    if starting_worker and run.worker == starting_worker:
        return f"worker {worker} restarted while running it"
    if run.heartbeat_at is None:
        return f"worker {worker} never reported a heartbeat"
    return f"worker {worker} stopped responding (no heartbeat for {(now - run.heartbeat_at).total_seconds():.0f} s)"


def _recover(run: Run, reason: str, now: datetime) -> bool:
    owned = held(run.pk, run.claim_token)
    ending = {"finished_at": now, "pause_requested": False, "claim_token": ""}
    if run.cancel_requested:
        changed = owned.update(status=RunStatus.CANCELLED, stop_reason="cancelled", error=reason, **ending)
    elif run.trigger == RunTrigger.CLI:  # its plan lived in that command's process
        changed = owned.update(status=RunStatus.ABORTED, stop_reason="aborted", error=reason, **ending)
    elif len(run.resumes) >= MAX_RESUMES:
        changed = owned.update(status=RunStatus.ABORTED, stop_reason="aborted",
                               error=f"{reason}; not resumed again after {MAX_RESUMES} resumes", **ending)
    else:
        return _queue_again(run, reason, now)
    if changed:
        logger.warning("Run %s ended: %s", run.pk, reason)
        notify_run_finished(Run.objects.get(pk=run.pk))
    return bool(changed)


# --- building the plan ---------------------------------------------------------------------------
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
    options = run.options
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


# --- executing ------------------------------------------------------------------------------------
class RunControl:
    """What the engine polls: the run row's flags, plus a local cancel (Ctrl-C in the CLI).

    Each poll also proves this worker alive: every RUN_HEARTBEAT_S it refreshes the run's heartbeat.
    When the row no longer carries this claim's token (deleted, or resumed elsewhere after this
    worker was presumed dead), the run is `lost` and the engine is told to stop; when the worker is
    shutting down, the engine is told to stop and the run is `handed_over` to the queue.
    """

    def __init__(self, run_id: int, claim_token: str, local_cancel: threading.Event | None = None, clock=None):
        self.run_id = run_id
        self.claim_token = claim_token
        self.local_cancel = local_cancel or threading.Event()
        self.clock = clock or timezone.now
        self.last_heartbeat = self.clock()  # the claim itself wrote the first one
        self.lost = False
        self.handed_over = False

    def poll(self) -> tuple[bool, bool]:
        owned = Run.objects.filter(pk=self.run_id, claim_token=self.claim_token)
        now = self.clock()
        if (now - self.last_heartbeat).total_seconds() >= settings.RUN_HEARTBEAT_S:
            owned.update(heartbeat_at=now)
            self.last_heartbeat = now
        flags = owned.values("cancel_requested", "pause_requested", "handover_requested").first()
        if flags is None:
            self.lost = True
            return True, False
        self.handed_over = flags["handover_requested"] and not flags["cancel_requested"]
        return flags["cancel_requested"] or self.handed_over or self.local_cancel.is_set(), flags["pause_requested"]


class ProgressRecorder:
    """Keeps the run row's snapshot and state current; extra listeners (CLI bar, channel layer) follow."""

    def __init__(self, run_id: int, claim_token: str, listeners=()):
        self.run_id = run_id
        self.claim_token = claim_token
        self.listeners = list(listeners)

    def __call__(self, snapshot: dict, event: str) -> None:
        update = {"progress": snapshot}
        runs = Run.objects.filter(pk=self.run_id, claim_token=self.claim_token)
        if event == "paused":
            runs.filter(status=RunStatus.PAUSING).update(status=RunStatus.PAUSED)
        elif event == "resumed":
            runs.filter(status__in=[RunStatus.PAUSING, RunStatus.PAUSED]).update(status=RunStatus.RUNNING)
        runs.update(**update)
        for listener in self.listeners:
            listener(snapshot, event)


def this_process_worker() -> str:
    """The worker name of a run executed outside Celery (the CLI)."""
    return f"cli@{socket.gethostname()}:{os.getpid()}"


def claim_run(run_id: int, worker: str) -> str | None:
    """queued -> running for this worker, exactly once even if the task were delivered twice.

    Returns the claim token that the rest of the execution writes under, or None when the run is
    not queued (already claimed, cancelled, or finished). A resumed run keeps its first start time.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = Run.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        # A run paused before its worker died resumes paused.
        status=Case(When(pause_requested=True, then=Value(RunStatus.PAUSING)), default=Value(RunStatus.RUNNING)),
        started_at=Coalesce(F("started_at"), Value(now, output_field=DateTimeField())),
        worker=worker[:255], claim_token=token, heartbeat_at=now,
    )
    if not claimed:
        return None
    run = Run.objects.get(pk=run_id)
    if run.resumes and "worker" not in run.resumes[-1]:
        resumes = [*run.resumes[:-1], {**run.resumes[-1], "worker": worker}]
        Run.objects.filter(pk=run_id, claim_token=token).update(resumes=resumes)
    return token


def execute_run(
    run_id: int,
    *,
    worker: str | None = None,
    plan: RunPlan | None = None,
    local_cancel: threading.Event | None = None,
    listeners=(),
    engine_options: dict | None = None,
) -> Run:
    token = claim_run(run_id, worker or this_process_worker())
    if token is None:
        logger.warning("Run %s is not queued any more; not starting it", run_id)
        return Run.objects.get(pk=run_id)
    with observe_run(run_id) as observer:  # live progress, log tail and per-run log file
        return _execute_claimed(run_id, token, plan, local_cancel, listeners, engine_options, observer)


def database_engine(plan: RunPlan, store: DatabaseRecordStore | None = None, **options) -> PrefetchEngine:
    """The engine wired to the database: records kept in PrefetchRecord, a connection broken by a
    database restart dropped so the next call reconnects, the engine thread's connection closed."""
    return PrefetchEngine(
        plan, store=store or DatabaseRecordStore(), on_db_error=close_old_connections, on_db_thread_exit=connections.close_all,
        outage_errors=(OperationalError, InterfaceError), **options,
    )


def _execute_claimed(run_id, token, plan, local_cancel, listeners, engine_options, observer) -> Run:
    run = Run.objects.get(pk=run_id)
    control = RunControl(run_id, token, local_cancel)
    if run.resumes:
        logger.warning("Resuming run %s on %s (%s); streams it already requested are not requested again",
                       run_id, run.worker, run.resumes[-1]["reason"])
    try:
        plan = plan or plan_for_run(run)
        validate_plan(plan)
        engine = database_engine(
            plan,
            poll_control=control.poll,
            on_progress=observer.wrap(ProgressRecorder(run_id, token, listeners)),
            log=logger,
            resume_since=run.started_at if run.resumes else None,
            **(engine_options or {}),
        )
        report = engine.run()
    except RunRefused as refusal:
        return _finish(run_id, token, RunStatus.FAILED, error=str(refusal))
    except Exception as error:  # the run fails with its real error text, never silently
        logger.exception("Run %s failed", run_id)
        return _finish(run_id, token, RunStatus.FAILED, error=f"{error.__class__.__name__}: {error}")
    if control.lost:
        logger.warning("Run %s was handed to another worker while this one was presumed dead; stopping here", run_id)
        return Run.objects.get(pk=run_id)
    if control.handed_over:
        run = Run.objects.get(pk=run_id)
        _queue_again(run, f"worker {run.worker} shut down while running it", timezone.now())
        return Run.objects.get(pk=run_id)
    status = final_status(report)
    if run.trigger == RunTrigger.RELEASE and status in (RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_FAILURES):
        mark_warmed(run.options["releases"])
    return _finish(run_id, token, status, report=report, error=report["failure"])


def final_status(report: dict) -> str:
    """The engine decided the outcome (prefetch.engine.outcome.decide); its values are run statuses."""
    return RunStatus(report["outcome"])


# A short database outage at the very end must not leave the run active; if the database stays
# away longer, the run's heartbeat goes stale and the reaper resumes it (nothing is requested twice).
FINISH_RETRY = RetryPolicy(base_s=0.5, max_s=10.0)
FINISH_RETRY_FOR_S = 60.0


def _finish(run_id: int, token: str, status: str, *, report: dict | None = None, error: str = "") -> Run:
    """Record the end, only while this claim still holds the run (never over another worker's)."""
    started = time.monotonic()
    for attempt in itertools.count(1):
        try:
            return _record_end(run_id, token, status, report=report, error=error)
        except OperationalError as failure:
            if time.monotonic() - started >= FINISH_RETRY_FOR_S:
                raise
            logger.warning("Recording the end of the run failed (%s); retrying", failure)
            close_old_connections()  # a connection broken by a database restart is replaced
            time.sleep(FINISH_RETRY.wait_s(attempt))


def _record_end(run_id: int, token: str, status: str, *, report: dict | None, error: str) -> Run:
    fields = {"status": status, "finished_at": timezone.now(), "error": error, "pause_requested": False}
    if report:
        fields.update(
            statistics=report["statistics"],
            catalogs=report["catalogs"],
            addons=report["addons"],
            verification=report["verification"] or {},
            stop_reason=report["stop_reason"],
        )
    else:
        fields["stop_reason"] = "failed"
    ended = held(run_id, token).update(**fields)
    run = Run.objects.get(pk=run_id)
    if not ended:
        logger.warning("Run %s is no longer held by this worker (%s); its end is not recorded here", run_id, run.status)
        return run
    logger.info("Run %s ended: %s %s", run_id, status, error)
    if report:
        health.record_run(run.pk, run.finished_at, report["addons"])
    notify_run_finished(run)
    return run


class ConfigLocked(Exception):
    """Configuration cannot change now (a run is active); the message says why."""


# "No configuration change while a run is active" must hold when a run is created between the
# check and the write. So the check and the write share one transaction that first takes the
# configuration lock, and `create_run` takes the same lock before it inserts the run: whichever
# comes second waits for the other to commit, then sees its work (a run: refused; a change: done
# before the run). PostgreSQL: a transaction-scoped advisory lock, released at commit or rollback;
# no row that a reset could delete or a fresh database could lack. SQLite: every transaction begins
# IMMEDIATE (settings.DATABASES), which takes the database's single write lock before the first
# read, so the two transactions already run one after the other.
CONFIGURATION_LOCK = 0x5354524D  # any number, the same on both sides


def _take_configuration_lock() -> None:
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CONFIGURATION_LOCK])


@contextmanager
def configuration_change(action: str = "Settings cannot change"):
    """The one guard of every configuration writer: yields inside a transaction in which no run is
    active and none can be created until it ends; raises ConfigLocked (nothing written) otherwise.
    Keep network calls (manifest fetches, DNS checks) before it: they would hold the lock."""
    with transaction.atomic():
        _take_configuration_lock()
        run = active_run()
        if run is not None:
            raise ConfigLocked(
                f"{action} while run #{run.pk} is {run.get_status_display().lower()}. "
                "Wait for it to finish or cancel it on the Dashboard."
            )
        yield
