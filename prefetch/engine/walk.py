"""The prefetch engine: walks catalogs and hands each item to the warmer, politely and in parallel.

Plain Python on asyncio. It gets a `RunPlan` and collaborators (a record store, a run control for
cancel / pause flags, a progress sink: all sync and called on one dedicated database thread; an HTTP
client; a clock and a sleep), so Celery, the CLI and tests drive it the same way. The parts: `gate`
(who may send a request now), `items` (warming one item), `supervisor` (cancel, pause, time, outages,
saving answers), `tally` (the counts and their rules), `outcome` (what the run says), `report`.
"""

import asyncio
import contextvars
import logging
import random
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timezone

from asgiref.sync import async_to_sync

from addons.client import AddonClient, CatalogPage
from addons.manifest import MAX_ID_CHARS, id_too_long, resource_url, strip_nul
from prefetch.engine.episodes import Video
from prefetch.engine.gate import AddonGate, AddonGivenUp, BreakerPolicy, ItemTicket
from prefetch.engine.items import ItemWarmer
from prefetch.engine.outcome import Outcome, Reason, Stop, decide
from prefetch.engine.pace import Pace
from prefetch.engine.plan import AddonSpec, CatalogSpec, RunPlan
from prefetch.engine.records import RecordStore, StreamOutcome
from prefetch.engine.report import RunReporter
from prefetch.engine.supervisor import DatabaseUnavailable, RunClock, Supervisor
from prefetch.engine.tally import PREFETCHED, CatalogResult, Tally, catalog_result
from prefetch.engine.urls import catalog_extra, encode_component
from prefetch.engine.verify import Verifier

ITEM_BATCH = 500  # items of a page made and looked up at a time


@dataclass
class Item:
    type: str
    id: str
    name: str
    # (addon key, video id) pairs still warm, looked up with the item's catalog page; None: not yet.
    valid_pairs: set | None = None
    videos: list[Video] | None = None  # known from the plan (a listed item): no meta request


class PrefetchEngine:
    def __init__(
        self,
        plan: RunPlan,
        *,
        store: RecordStore,
        poll_control: Callable[[], tuple[bool, bool]] | None = None,
        on_progress: Callable[[dict, str], None] | None = None,
        log: logging.Logger | logging.LoggerAdapter | None = None,
        breaker: BreakerPolicy | None = None,
        progress_interval_s: float = 1.0,
        control_interval_s: float = 0.2,
        resume_since: datetime | None = None,
        on_db_error: Callable[[], None] | None = None,
        on_db_thread_exit: Callable[[], None] | None = None,
        outage_errors: tuple[type[Exception], ...] = (),
        database_outage_limit_s: float = 300.0,
        client_factory: Callable[[], AbstractAsyncContextManager] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.plan = plan
        self.settings = plan.settings
        self.store = store
        # The HTTP client (an AddonClient unless a test brings its own), and the clock and sleep that
        # every wait and every measured time of the run goes by.
        self.client_factory = client_factory or self._addon_client
        self.clock = clock
        self.sleep = sleep
        self.on_progress = on_progress or (lambda snapshot, event: None)
        self.log = log or logging.getLogger("prefetch.engine")
        self.breaker = breaker or BreakerPolicy()
        # A resumed run: streams attempted since then belong to this run's earlier attempt and are
        # taken from the store instead of being requested again, whatever the cache validity.
        self.resume_since = resume_since
        # Called on the database thread after a collaborator failed, so that the next call can
        # reconnect (Django keeps a connection broken by a database restart until told).
        self.on_db_error = on_db_error or (lambda: None)
        # Called on the database thread before it ends (Django's connections belong to their thread).
        self.on_db_thread_exit = on_db_thread_exit or (lambda: None)
        self.supervisor = Supervisor(
            self, poll_control=poll_control or (lambda: (False, False)), outage_errors=outage_errors,
            outage_limit_s=database_outage_limit_s, control_interval_s=control_interval_s,
            progress_interval_s=progress_interval_s,
        )
        self.tally = Tally(catalogs_total=len(plan.catalogs))
        self.warmer = ItemWarmer(self)
        self.reporter = RunReporter(self)
        self.catalog_results: list[CatalogResult] = []
        self.current_catalog: CatalogResult | None = None
        self.current_item: dict = {}
        self.seen_items: set[tuple[str, str]] = set()
        self.prefetched_by_kind = {"movie": 0, "series": 0}
        self.reserved_by_kind = {"movie": 0, "series": 0}
        self.pending_outcomes: list[StreamOutcome] = []
        self.pending_announcements: list = []
        self.gates: dict[str, AddonGate] = {}
        self.paused = False
        self.run_clock = RunClock(clock)
        self.reached_catalogs: set[int] = set()  # indexes in plan.catalogs of those the walk got to
        self.failure = ""  # why a failed run failed
        self.stop_reason: Stop | None = None
        self.cached_re, self.skip_re, regex_error = self.settings.compiled_regexes()
        self.cache_requests_enabled = self.settings.cache_requests_enabled and regex_error is None
        if self.settings.cache_requests_enabled and regex_error:
            self.log.error("Stream source cache requests are off for this run: %s", regex_error)
        self.verifier = Verifier(self.settings.verify_sample_size)
        self.verification: dict | None = None

    # --- running ---------------------------------------------------------------------------------
    def run(self) -> dict:
        """Run to the end (or cancel / time limit) and return the report. Never raises for addon errors."""
        self._db_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch-db")
        try:
            return async_to_sync(self._run)()
        finally:
            self._db_executor.submit(self.on_db_thread_exit).result()
            self._db_executor.shutdown()

    async def db(self, fn, *args):
        """Call a sync collaborator on the database thread."""
        return await asyncio.get_running_loop().run_in_executor(self._db_executor, self._call_db, fn, *args)

    def _call_db(self, fn, *args):
        try:
            return fn(*args)
        except Exception:
            self.on_db_error()
            raise

    async def _run(self) -> dict:
        self.resumed = asyncio.Event()
        self.resumed.set()
        self.item_slots = asyncio.Semaphore(
            max(4, 2 * self.settings.concurrency * max(1, len(self.plan.stream_addons)))
        )
        for addon in self.plan.addons:
            self.add_gate(addon)
        self.run_clock = RunClock(self.clock)
        self.started_at = datetime.now(timezone.utc)
        self.log.info(
            "Run started: %d catalogs, %d stream addons", len(self.plan.catalogs), len(self.plan.stream_addons)
        )
        async with self.client_factory() as client:
            self.client = client
            unusable = self._unusable_stream_addons()
            if unusable:
                self.failure = unusable
                self.stop_reason = Stop.NO_STREAM_ADDON
                self.log.error("Not walking any catalog: %s", unusable)
            crawl = asyncio.create_task(self._crawl_and_verify() if not unusable else asyncio.sleep(0))
            watcher = asyncio.create_task(self.supervisor.watch(crawl))
            saver = asyncio.create_task(self.supervisor.save_answers())
            try:
                await crawl
                self.stop_reason = self.stop_reason or Stop.COMPLETED
            except asyncio.CancelledError:
                if not self.stop_reason:  # not our own cancel: propagate
                    raise
            finally:
                for task in (watcher, saver):
                    task.cancel()
                await asyncio.gather(watcher, saver, return_exceptions=True)
                await self._last_save()
        if self.verification:
            await self._mark_looked_cached()
            await self._add_first_answers()
        report = self.reporter.report()
        self.reporter.log_end(report)
        try:
            await self.db(self.on_progress, self.snapshot(), "finished")
        except Exception:
            self.log.exception("Could not publish the final progress")
        return report

    async def _last_save(self) -> None:
        try:
            await self.supervisor.flush()
        except Exception as error:  # the run's answers stay unsaved: said once, the run still reports
            self.log.error("Could not save the last answers (%s: %s)", error.__class__.__name__, error)

    def _addon_client(self) -> AddonClient:
        return AddonClient(
            timeout_s=self.settings.request_timeout_s, retries=self.settings.retries, proxy=self.settings.proxy_url,
            limits=self.plan.limits,
        )

    def add_gate(self, addon: AddonSpec) -> AddonGate:
        gate = AddonGate(
            addon, pace=Pace(self.settings.concurrency_mode, self.settings.concurrency), delay_s=self.settings.delay_s,
            breaker=self.breaker, clock=self.clock, sleep=self.sleep, resumed=self.resumed, log=self.log,
        )
        self.gates[addon.key] = gate
        return gate

    def answered(self, outcome: StreamOutcome) -> None:
        """A stream answer to remember: saved by the supervisor as soon as it can."""
        self.pending_outcomes.append(outcome)
        self.supervisor.answers_waiting.set()

    @property
    def inflight(self) -> int:
        return sum(gate.in_flight for gate in self.gates.values())

    def paused_s(self) -> float:
        return self.run_clock.paused_s()

    def set_paused(self, pause: bool) -> None:
        self.paused = pause
        if pause:
            self.resumed.clear()
            self.run_clock.pause()
            self.log.info("Paused")
        else:
            self.resumed.set()
            self.run_clock.resume()
            self.log.info("Resumed")

    def stop(self, crawl: asyncio.Task, reason: Stop) -> bool:
        self.stop_reason = reason
        self.log.warning("Stopping: %s", reason)
        crawl.cancel()
        return True

    def stream_gates(self) -> list[AddonGate]:
        return [self.gates[addon.key] for addon in self.plan.stream_addons]

    def stream_addons_given_up(self) -> bool:
        gates = self.stream_gates()
        return bool(gates) and all(gate.given_up for gate in gates)

    def outcome(self) -> Outcome:
        return decide(self.stop_reason or Stop.COMPLETED, self.tally)

    def _unusable_stream_addons(self) -> str:
        """Why no stream request can be made at all, or ""."""
        if not self.plan.stream_addons:
            return "no stream addon is configured"
        if not any(addon.manifest.has_resource("stream") for addon in self.plan.stream_addons):
            names = ", ".join(addon.label for addon in self.plan.stream_addons)
            return f"no usable stream addon: {names} declare{'s' if len(self.plan.stream_addons) == 1 else ''} no stream resource"
        return ""

    # --- verification ----------------------------------------------------------------------------
    async def _crawl_and_verify(self) -> None:
        await self._crawl()
        if self.settings.verify_sample_size and self.stop_reason in (None, Stop.GLOBAL_LIMITS):
            self.log.info("Verifying: requesting again up to %d warmed streams per addon", self.settings.verify_sample_size)
            self.verification = await self.verifier.verify(self._verify_request)

    async def _verify_request(self, addon_key: str, url: str):
        """A verification request: through the addon's gate, counted nowhere, remembered in no record."""
        gate = self.gates[addon_key]
        try:
            async with gate.slot(url) as turn:
                return await self.client.get_json(url, backoff=turn.backoff)
        except AddonGivenUp:
            return None

    async def _mark_looked_cached(self) -> None:
        """The records of this run's answers say whether they came about as fast as a warm answer."""
        try:
            for addon_key, threshold_ms in self.verifier.cached_thresholds(self.verification).items():
                await self.db(self.store.mark_looked_cached, addon_key, self.started_at, threshold_ms)
        except Exception:
            self.log.exception("Could not mark which answers looked cached")

    async def _add_first_answers(self) -> None:
        """What the measured effect compares with when the run's own answers were already warm: the
        first answers ever recorded for the sampled videos."""
        try:
            first = {key: await self.db(self.store.first_answer_times, key, videos)
                     for key, videos in self.verifier.sampled_videos().items()}
            self.verifier.add_first_answers(self.verification, list(self.verifier.addons), first)
        except Exception:
            self.log.exception("Could not read the first answers of the sampled streams")

    # --- the catalog walk ------------------------------------------------------------------------
    async def _crawl(self) -> None:
        catalogs = list(enumerate(self.plan.catalogs))
        if self.settings.randomize_catalogs:
            random.shuffle(catalogs)
        for index, catalog in catalogs:
            if self.stream_addons_given_up():
                self.stop_reason = Stop.ADDONS_GIVEN_UP
                self.log.error("Every stream addon was given up: not walking the remaining catalogs")
                return
            if self._all_global_limits_reached():
                self.stop_reason = Stop.GLOBAL_LIMITS
                self.log.info("All global limits reached")
                return
            self.reached_catalogs.add(index)
            await self._process_catalog(catalog)

    @staticmethod
    def _limit_reached(limit: int, count: int) -> bool:
        return 0 <= limit <= count

    def _all_global_limits_reached(self) -> bool:
        return all(
            self._limit_reached(self.settings.global_limit(kind), self.prefetched_by_kind[kind])
            for kind in ("movie", "series")
        )

    def _catalog_stop_reason(self, catalog: CatalogSpec, result: CatalogResult) -> str | None:
        """Why a catalog must stop now, counting only confirmed prefetches."""
        if self.stream_addons_given_up():
            return Stop.ADDONS_GIVEN_UP.value
        if self._limit_reached(self.settings.per_catalog_limit(catalog.kind), result.prefetched):
            return "catalog limit reached"
        kinds = ("movie", "series") if catalog.kind == "mixed" else (catalog.kind,)
        if all(self._limit_reached(self.settings.global_limit(k), self.prefetched_by_kind[k]) for k in kinds):
            return "global limit reached"
        return None

    def _has_room(self, catalog: CatalogSpec, result: CatalogResult, kind: str) -> bool:
        """Whether one more item can start, counting in-flight items as if they will succeed."""
        catalog_limit = self.settings.per_catalog_limit(catalog.kind)
        global_limit = self.settings.global_limit(kind)
        return not self._limit_reached(catalog_limit, result.prefetched + result.reserved) and not (
            self._limit_reached(global_limit, self.prefetched_by_kind[kind] + self.reserved_by_kind[kind])
        )

    async def _process_catalog(self, catalog: CatalogSpec) -> None:
        result = catalog_result(catalog)
        self.catalog_results.append(result)
        skip_reason = catalog.skip_reason(self.plan.stream_addons)
        if skip_reason:
            result.skipped, result.stop_reason = True, f"skipped: {skip_reason}"
            self.tally.catalogs_skipped += 1
            self.log.info("Skipping catalog %s: %s", result.label, skip_reason)
            return
        self.current_catalog = result
        started = self.run_clock.active_s()
        result.started_at = _iso_now()
        self.log.info("Catalog %s", result.label)
        tasks: set[asyncio.Task] = set()
        try:
            result.stop_reason = await self._walk_catalog(catalog, result, tasks)
            if tasks:
                await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            result.stop_reason = f"stopped: {self.stop_reason or Stop.CANCELLED}"
            for task in tasks:
                task.cancel()
            # each item in flight ends (not reached) before the run is reported
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            result.finished_at = _iso_now()
            result.duration_s = round(self.run_clock.active_s() - started, 3)
            self.tally.catalogs_processed += 1
            self.reporter.log_catalog_end(result)

    async def _walk_catalog(self, catalog: CatalogSpec, result: CatalogResult, tasks: set) -> str:
        if catalog.items is not None:  # listed by the plan: nothing counts as already warm, unless told
            for listed in catalog.items:
                item = Item(listed.type, listed.id, listed.name, valid_pairs=None if catalog.skip_warm else set(),
                            videos=list(listed.videos))
                reason = await self._dispatch(catalog, result, item, tasks)
                if reason:
                    return reason
            return "end of list"
        seen_in_catalog: set[str] = set()
        skip = 0
        while True:
            reason = self._catalog_stop_reason(catalog, result)
            if reason:
                return reason
            if result.pages >= self.settings.max_pages_per_catalog:
                return f"page cap ({self.settings.max_pages_per_catalog}) reached"
            answer = await self.warmer.fetch_json(
                catalog.addon,
                resource_url(
                    catalog.addon.url, "catalog", encode_component(catalog.type), encode_component(catalog.id),
                    extra=catalog_extra(catalog, skip),
                ),
                catalog_page=True,
            )
            result.pages += 1
            self.tally.pages_fetched += 1
            if not answer.ok and answer.status == 404 and skip and catalog.declares_skip:
                # static addons serve a fixed set of files: the page after the last one does not exist
                return f"end of catalog: page at skip={skip} not found"
            page = answer.data if answer.ok else None
            if not isinstance(page, CatalogPage):
                return self._catalog_failed(result, skip, answer.error or "not a Stremio addon answer: no metas list")
            if not page.listed:
                return "end of catalog"
            if page.listed > len(page.metas):
                result.items_over_page_cap += page.listed - len(page.metas)
                self.log.warning(
                    "Catalog %s: the page at skip=%d lists %d items; only the first %d are taken (ADDON_MAX_PAGE_ITEMS)",
                    result.label, skip, page.listed, len(page.metas))
            listed = [meta for meta in page.metas if isinstance(meta, dict) and isinstance(meta.get("id"), str) and meta["id"]]
            if listed and all(meta["id"] in seen_in_catalog for meta in listed):
                return "page repeated (addon ignores skip)"
            seen_in_catalog.update(meta["id"] for meta in listed)
            if self.settings.randomize_items:
                random.shuffle(listed)
            # Items are made a batch at a time, as the walk gets to them: a long page never exists
            # as Items all at once, and a batch's movies are looked up in one query.
            for start in range(0, len(listed), ITEM_BATCH):
                items = [self._item(catalog, meta) for meta in listed[start : start + ITEM_BATCH]]
                await self._look_up_movies(items)
                for item in items:
                    reason = await self._dispatch(catalog, result, item, tasks)
                    if reason:
                        return reason
            if not catalog.declares_skip:
                return "single page (no skip declared)"
            skip += page.listed

    def _catalog_failed(self, result: CatalogResult, skip: int, error: str) -> str:
        result.error = error
        self.tally.catalogs_failed += 1
        self.log.warning("Catalog %s: page at skip=%d failed: %s", result.label, skip, error)
        return f"error: {error}"

    @staticmethod
    def _item(catalog: CatalogSpec, meta: dict) -> Item:
        item_type = meta.get("type") if isinstance(meta.get("type"), str) and meta.get("type") else catalog.type
        return Item(item_type, meta["id"], strip_nul(str(meta.get("name") or meta["id"])))

    async def _look_up_movies(self, items: list[Item]) -> None:
        """Which of a page's movies are still warm, in one look-up for the page: a movie's only video
        is itself, so it needs no meta first. A round trip to the database thread per item (a thread
        wake-up each way) cost about half of a fast addon's whole request time."""
        movies = [item for item in items if item.type == "movie" and not id_too_long(item.type, item.id)]
        addon_keys = sorted({addon.key for addon in self.plan.stream_addons})
        if not movies or not addon_keys:
            return
        try:
            valid = await self.supervisor.lookup(
                self.store.valid_keys, addon_keys, "movie", [item.id for item in movies],
                self.settings.cache_validity_s, self.settings.cache_validity_auto)
        except DatabaseUnavailable:
            return  # each item looks up for itself, and waits for the database as items do
        for item in movies:
            item.valid_pairs = valid

    async def _dispatch(self, catalog: CatalogSpec, result: CatalogResult, item: Item, tasks: set) -> str | None:
        """Take one item in, once there is room under the limits. Returns a stop reason or None."""
        if id_too_long(item.type, item.id):
            self.log.warning("%s: an item's id or type is longer than %d characters or holds a NUL; skipped",
                             result.label, MAX_ID_CHARS)
            self.tally.items_seen += 1
            self.tally.item_ended(result, Reason.FAILED, strip_nul(item.type), strip_nul(item.id[:MAX_ID_CHARS]))
            return None
        if (item.type, item.id) in self.seen_items:
            self.tally.items_seen += 1
            self.tally.item_ended(result, Reason.DUPLICATES, item.type, item.id)
            return None
        kind = "series" if item.type == "series" else "movie"
        while not self._has_room(catalog, result, kind):
            reason = self._catalog_stop_reason(catalog, result)
            if reason:
                return reason
            if self._limit_reached(self.settings.global_limit(kind), self.prefetched_by_kind[kind]):
                return None  # mixed catalog: this kind is done, others may still have room
            if not tasks:
                return None
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if self.stream_addons_given_up():
            return Stop.ADDONS_GIVEN_UP.value
        await self.item_slots.acquire()
        ticket = ItemTicket(self.item_slots)
        self.seen_items.add((item.type, item.id))
        self.tally.items_seen += 1
        result.reserved += 1
        self.reserved_by_kind[kind] += 1
        context = contextvars.copy_context()
        context.run(ticket.bind)
        task = asyncio.create_task(self._process_item(catalog, result, item, kind, ticket), context=context)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return None

    async def _process_item(self, catalog: CatalogSpec, result: CatalogResult, item: Item, kind: str,
                            ticket: ItemTicket) -> None:
        end, episodes = Reason.NOT_REACHED, 0
        try:
            end, episodes = await self.warmer.warm(catalog, result, item)
        except DatabaseUnavailable:
            pass  # the watcher stops the run; the item was not reached
        except asyncio.CancelledError:
            raise  # in flight when the run stopped: not reached, never failed
        except Exception:  # a bug or a hostile answer must cost one item, not the run
            self.log.exception("%s %s: unexpected error", item.type, item.name)
            end = Reason.FAILED
        finally:
            result.reserved -= 1
            self.reserved_by_kind[kind] -= 1
            ticket.give_back()
            if end == PREFETCHED:
                self.prefetched_by_kind[kind] += 1
            self.tally.item_ended(result, end, item.type, item.id, episodes)

    # --- what the run shows ----------------------------------------------------------------------
    def snapshot(self) -> dict:
        return self.reporter.snapshot()


def _iso_now() -> str:
    return datetime.now(timezone.utc).isoformat()
