"""The prefetch engine: walks catalogs and requests streams, politely and in parallel.

Plain Python on asyncio. It gets a `RunPlan` and three collaborators (a record store, a run
control for cancel / pause flags, a progress sink), all sync and called on one dedicated
database thread, so Celery, the CLI and tests drive it the same way.
"""

import asyncio
import logging
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit

from addons.client import AddonClient, FetchResult, run_sync
from addons.manifest import MAX_ID_CHARS, ManifestError, id_too_long, resource_url
from addons.redaction import redact_url
from prefetch.engine.episodes import Video, announced, select_episodes, videos_from_meta
from prefetch.engine.freshness import expires_at
from prefetch.engine.pace import Pace, is_congestion_status
from prefetch.engine.plan import AddonSpec, CatalogSpec, RunPlan
from prefetch.engine.records import Announcement, RecordStore, StreamOutcome
from prefetch.engine.verify import Verifier, percentile

STOP_COMPLETED = "completed"
STOP_CANCELLED = "cancelled"
STOP_TIME_LIMIT = "time limit reached"
STOP_GLOBAL_LIMITS = "global limits reached"
STOP_DATABASE_UNAVAILABLE = "database unavailable"
STOP_CONTROL_FAILING = "cancel and pause checks failing"
# The cancel / pause check failing this many ticks in a row for another reason (a bug, a broken
# collaborator) stops the run, which could not be cancelled or paused any more (~5 s at 0.2 s a tick).
MAX_CONTROL_FAILURES = 25
STOP_NO_STREAM_ADDON = "no usable stream addon"
STOP_ADDONS_GIVEN_UP = "stream addons given up"
STOP_NOTHING_SERVABLE = "no item could be warmed"

# Why an item of a catalog was not prefetched. Each is counted per catalog (`CatalogResult.<reason>`)
# and per run (`statistics["items_<reason>"]`), with a few sample ids per catalog.
REASON_UNSUPPORTED = "unsupported"  # no stream addon serves its type / id prefix
REASON_NO_META = "no_meta"  # a series whose episodes are unknown: no addon serves its meta
REASON_EXCLUDED = "excluded"  # every episode left out by the episode policy (specials, unreleased, cap)
REASON_EMBEDDED = "embedded"  # every video carries its own streams: nothing to request
REASON_DUPLICATES = "duplicates"  # already seen in an earlier catalog of this run
REASON_FAILED = "failed"  # its meta or every one of its stream requests failed
REASONS = (REASON_UNSUPPORTED, REASON_NO_META, REASON_EXCLUDED, REASON_EMBEDDED, REASON_DUPLICATES, REASON_FAILED)
SAMPLE_IDS = 5


def has_failures(statistics: dict) -> bool:
    """A run that ended with something failed: stream requests (after retries), items, or requests
    not made because their addon was given up. The run's status says so ("completed with failures")."""
    return any(statistics.get(key, 0) for key in ("stream_requests_failed", "stream_requests_skipped", "items_failed"))


def id_prefix(item_id: str) -> str:
    """`tt`, `kitsu:`, `peer:`: how a prefix mismatch is reported."""
    if ":" in item_id:
        return item_id.split(":", 1)[0] + ":"
    letters = re.match(r"[A-Za-z]+", item_id)
    return letters.group(0) if letters else item_id[:2]


def encode_component(value: str) -> str:
    """Percent-encode like JS encodeURIComponent (protocol.md §3)."""
    return quote(value, safe="-_.!~*'()")


def catalog_extra(catalog: CatalogSpec, skip: int) -> str:
    """`genre=Drama&skip=100`: chosen extras in declared order, then skip; one stable order for caches."""
    pairs = [
        (extra.name, str(catalog.extra_values[extra.name]))
        for extra in catalog.extras
        if extra.name != "skip" and catalog.extra_values.get(extra.name)
    ]
    if skip:
        pairs.append(("skip", str(skip)))
    return "&".join(f"{encode_component(name)}={encode_component(value)}" for name, value in pairs)


def is_transient(result: FetchResult) -> bool:
    return not result.ok and (result.status is None or result.status == 429 or result.status >= 500)


class DatabaseUnavailable(Exception):
    """The record store stayed unreachable longer than the engine waits for it."""


class AddonGivenUp(Exception):
    """Raised by a gate slot once its addon has been given up for the run."""


@dataclass
class BreakerPolicy:
    """An addon failing this many requests in a row is paused, then given up if it fails again."""

    failures: int = 8
    pause_s: float = 30.0


@dataclass
class Item:
    type: str
    id: str
    name: str
    # (addon key, video id) pairs still valid, looked up with the item's catalog page; None: not yet.
    valid: set | None = None
    videos: list[Video] | None = None  # known from the plan (a listed item): no meta request


@dataclass
class CatalogResult:
    addon: str
    type: str
    id: str
    name: str
    kind: str
    prefetched: int = 0  # items with at least one video warmed in this run
    movies: int = 0  # prefetched items of type movie
    series: int = 0  # prefetched items of type series
    by_type: dict = field(default_factory=dict)  # prefetched items by their own type (movie, series, other, …)
    episodes: int = 0
    already_prefetched: int = 0
    # items not prefetched, by reason (see REASONS), with a few sample ids each in `samples`
    unsupported: int = 0
    no_meta: int = 0
    excluded: int = 0
    embedded: int = 0
    duplicates: int = 0
    failed: int = 0
    samples: dict = field(default_factory=dict)
    videos_failed: int = 0  # videos none of whose stream requests succeeded
    stream_requests_failed: int = 0  # failed after retries
    stream_requests_retried_ok: int = 0  # succeeded after at least one retry
    pages: int = 0
    cache_requests_sent: int = 0
    cache_requests_ok: int = 0
    stop_reason: str = ""
    skipped: bool = False
    not_reached: bool = False  # selected, but the run stopped before it
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float = 0.0  # active time: pauses left out
    reserved: int = 0  # in flight: counted against the limit until the outcome is known
    unsupported_prefixes: Counter = field(default_factory=Counter)  # (type, id prefix) -> items, for one log line

    def report(self) -> dict:
        data = dict(self.__dict__)
        data.pop("reserved")
        data.pop("unsupported_prefixes")
        return data


class AddonGate:
    """Per-addon politeness: at most N requests in flight (fixed, or an adaptive limit up to N: see
    pace.py), request starts spaced by the delay, and a breaker that pauses, then gives up on, an
    addon that keeps failing."""

    def __init__(self, engine: "PrefetchEngine", addon: AddonSpec):
        self.engine = engine
        self.addon = addon
        self.pace = Pace(engine.settings.concurrency_mode, engine.settings.concurrency)
        self.delay_s = max(0.0, engine.settings.delay_s)
        self.next_start = 0.0
        self.paused_until = 0.0
        self.paused_once = False
        self.consecutive_failures = 0
        self.given_up = False
        self.message = ""
        # stream requests: made, answered with a list, answered empty, failed after retries, not made
        # (given up), succeeded after a retry; attempts counts every HTTP try, retries included
        self.requests = self.ok = self.empty = self.failed = self.skipped = self.retried_ok = self.attempts = 0
        self.other_requests = 0
        self.latencies: list[float] = []

    @asynccontextmanager
    async def slot(self):
        engine = self.engine
        await engine.resume_event.wait()
        async with self.pace.slot():
            await engine.resume_event.wait()
            now = engine.clock()
            start = max(now, self.next_start, self.paused_until)
            self.next_start = start + self.delay_s
            if start > now:
                await engine.sleep(start - now)
            if self.given_up:  # decided while this request waited for its turn
                raise AddonGivenUp(self.message)
            engine.inflight += 1
            try:
                yield
            finally:
                engine.inflight -= 1

    @property
    def backoff(self):
        """What the client waits with between attempts: in adaptive mode, the pace learns of the
        refusal at once and the waiting request leaves its slot; in fixed mode, a plain sleep."""
        return self._adaptive_backoff if self.pace.adaptive else None

    async def _adaptive_backoff(self, wait_s: float, status: int | None, retry_after_s: float | None) -> None:
        if is_congestion_status(status):
            self.pace.congested(status, self.engine.clock(), retry_after_s)
        self.pace.release()
        self.engine.inflight -= 1
        try:
            await self.engine.sleep(wait_s)
            await self.pace.acquire()
        except asyncio.CancelledError:
            self.pace.in_flight += 1  # the slot's exit releases it
            raise
        finally:
            self.engine.inflight += 1

    def observe(self, result: FetchResult) -> None:
        if not result.ok and is_congestion_status(result.status):
            self.pace.congested(result.status, self.engine.clock())
        if not is_transient(result):
            self.consecutive_failures = 0
            return
        self.consecutive_failures += 1
        policy = self.engine.breaker
        if self.consecutive_failures < policy.failures or self.given_up:
            return
        self.consecutive_failures = 0
        if not self.paused_once:
            self.paused_once = True
            self.paused_until = self.engine.clock() + policy.pause_s
            self.engine.log.warning(
                "%s failed %d requests in a row (last: %s); pausing it for %.0f s",
                self.addon.label, policy.failures, result.error, policy.pause_s,
            )
        else:
            self.given_up = True
            self.message = f"gave up after repeated failures (last: {result.error})"
            self.engine.log.error("%s keeps failing (last: %s); giving up on it for this run", self.addon.label, result.error)

    def report(self) -> dict:
        latencies = sorted(self.latencies)
        return {
            "name": self.addon.name,
            "url": self.addon.label,
            "requests": self.requests,
            "ok": self.ok,
            "empty": self.empty,
            "failed": self.failed,
            "skipped": self.skipped,
            "retried_ok": self.retried_ok,
            "attempts": self.attempts,
            "other_requests": self.other_requests,
            "latency_ms_p50": percentile(latencies, 0.5),
            "latency_ms_p95": percentile(latencies, 0.95),
            "given_up": self.given_up,
            "message": self.message,
            **self.pace.report(),
        }


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
        # The HTTP client (an AddonClient unless a test brings its own) and the clock and sleep the
        # per-addon gates space and pause requests by.
        self.client_factory = client_factory or self._addon_client
        self.clock = clock
        self.sleep = sleep
        self.poll_control = poll_control or (lambda: (False, False))
        self.on_progress = on_progress or (lambda snapshot, event: None)
        self.log = log or logging.getLogger("prefetch.engine")
        self.breaker = breaker or BreakerPolicy()
        self.progress_interval_s = progress_interval_s
        self.control_interval_s = control_interval_s
        # A resumed run: streams attempted since then belong to this run's earlier attempt and are
        # taken from the store instead of being requested again, whatever the cache validity.
        self.resume_since = resume_since
        # Called on the database thread after a collaborator failed, so that the next call can
        # reconnect (Django keeps a connection broken by a database restart until told).
        self.on_db_error = on_db_error or (lambda: None)
        # Called on the database thread before it ends (Django's connections belong to their thread).
        self.on_db_thread_exit = on_db_thread_exit or (lambda: None)
        # The record store's errors that mean "unreachable for now" (the run waits for it, up to
        # database_outage_limit_s), as opposed to a failing cancel / pause check.
        self.outage_errors = outage_errors
        # How long items wait for the record store to come back before the run fails.
        self.database_outage_limit_s = database_outage_limit_s
        self.database_down_since: float | None = None
        self.database_error: Exception | None = None
        self.database_given_up = False
        self.control_failures = 0  # in a row
        self.control_error: Exception | None = None

        self.stats = {
            "catalogs_total": len(plan.catalogs), "catalogs_processed": 0, "catalogs_skipped": 0,
            "catalogs_not_reached": 0, "pages_fetched": 0, "items_seen": 0,
            "items_prefetched": 0, "prefetched_by_type": {}, "movies_prefetched": 0, "series_prefetched": 0,
            "episodes_found": 0, "episodes_prefetched": 0, "already_prefetched": 0,
            **{f"items_{reason}": 0 for reason in REASONS},
            "videos_failed": 0, "stream_requests": 0, "stream_attempts": 0, "stream_requests_ok": 0,
            "stream_requests_empty": 0, "stream_requests_failed": 0, "stream_requests_retried_ok": 0,
            "stream_requests_skipped": 0, "meta_requests": 0, "meta_requests_failed": 0,
            "cache_requests_sent": 0, "cache_requests_ok": 0, "items_done_before_resume": 0,
            "active_s": 0.0, "paused_s": 0.0,
        }
        self.catalog_results: list[CatalogResult] = []
        self.current_catalog: CatalogResult | None = None
        self.current_item: dict = {}
        self.seen_items: set[tuple[str, str]] = set()
        self.requested_pairs: set[tuple[str, str, str]] = set()
        self.prefetched_by_kind = {"movie": 0, "series": 0}
        self.reserved_by_kind = {"movie": 0, "series": 0}
        self.pending_outcomes: list[StreamOutcome] = []
        self.pending_announcements: list[Announcement] = []
        self.inflight = 0
        self.paused = False
        self.paused_total_s = 0.0
        self.paused_since: float | None = None
        self.reached: set[int] = set()  # id() of the catalogs the walk got to
        self.failure = ""  # why a run that did nothing useful failed
        self.stop_reason = ""
        self.progress_seq = 0
        self.cached_re, self.skip_re, regex_error = self.settings.compiled_regexes()
        self.cache_requests_enabled = self.settings.cache_requests_enabled and regex_error is None
        if self.settings.cache_requests_enabled and regex_error:
            self.log.error("Stream source cache requests are off for this run: %s", regex_error)
        self._fallback_meta: AddonSpec | None | bool = False  # False = not looked up yet
        self.verifier = Verifier(self.settings.verify_sample_size)
        self.verification: dict | None = None

    # ----------------------------------------------------------------------------------------------
    def run(self) -> dict:
        """Run to the end (or cancel / time limit) and return the report. Never raises for addon errors."""
        self._db_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch-db")
        try:
            return run_sync(self._run)
        finally:
            self._db_executor.submit(self.on_db_thread_exit).result()
            self._db_executor.shutdown()

    async def _db(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._db_executor, self._call_db, fn, *args)

    def _call_db(self, fn, *args):
        try:
            return fn(*args)
        except Exception:
            self.on_db_error()
            raise

    async def _run(self) -> dict:
        self.resume_event = asyncio.Event()
        self.resume_event.set()
        self.item_slots = asyncio.Semaphore(
            max(4, 2 * self.settings.concurrency * max(1, len(self.plan.stream_addons)))
        )
        self.fallback_lock = asyncio.Lock()
        self.gates = {addon.key: AddonGate(self, addon) for addon in self.plan.addons}
        self.started_monotonic = time.monotonic()
        self.started_at = datetime.now(timezone.utc)
        self.log.info(
            "Run started: %d catalogs, %d stream addons", len(self.plan.catalogs), len(self.plan.stream_addons)
        )
        async with self.client_factory() as client:
            self.client = client
            unusable = self._unusable_stream_addons()
            if unusable:
                self.failure = unusable
                self.stop_reason = STOP_NO_STREAM_ADDON
                self.log.error("Not walking any catalog: %s", unusable)
            crawl = asyncio.create_task(self._crawl_and_verify() if not unusable else asyncio.sleep(0))
            watcher = asyncio.create_task(self._watch(crawl))
            try:
                await crawl
                self.stop_reason = self.stop_reason or STOP_COMPLETED
            except asyncio.CancelledError:
                if not self.stop_reason:  # not our own cancel: propagate
                    raise
            finally:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
                await self._flush_outcomes()
        self.failure = self.failure or self._stopped_by_failure()
        if not self.failure:
            self._fail_if_useless()
        if self.verification:
            await self._mark_looked_cached()
        report = self.report()
        stats = self.stats
        self.log.info(
            "Run finished (%s) in %.1f s active (%.1f s paused): %d items prefetched (%s; %d episodes), "
            "%d already prefetched, %d items failed, %d videos failed, %d stream requests failed after retries, "
            "%d succeeded after a retry; not prefetched: %d unsupported, %d without meta, %d excluded, "
            "%d with embedded streams, %d duplicates",
            self.stop_reason, stats["active_s"], stats["paused_s"], stats["items_prefetched"],
            ", ".join(f"{n} {t}" for t, n in stats["prefetched_by_type"].items()) or "none",
            stats["episodes_prefetched"], stats["already_prefetched"], stats["items_failed"], stats["videos_failed"],
            stats["stream_requests_failed"], stats["stream_requests_retried_ok"], stats["items_unsupported"],
            stats["items_no_meta"], stats["items_excluded"], stats["items_embedded"], stats["items_duplicates"],
        )
        if self.failure:
            self.log.error("The run did nothing useful: %s", self.failure)
        try:
            await self._db(self.on_progress, self.snapshot(), "finished")
        except Exception:
            self.log.exception("Could not publish the final progress")
        return report

    def _addon_client(self) -> AddonClient:
        return AddonClient(
            timeout_s=self.settings.request_timeout_s, retries=self.settings.retries, proxy=self.settings.proxy_url,
            limits=self.plan.limits,
        )

    def _elapsed(self) -> float:
        """Active run time: what the time limit, durations and rates measure (pauses left out)."""
        return time.monotonic() - self.started_monotonic - self._paused_s()

    def _paused_s(self) -> float:
        current = time.monotonic() - self.paused_since if self.paused_since is not None else 0.0
        return self.paused_total_s + current

    def _unusable_stream_addons(self) -> str:
        """Why no stream request can be made at all, or ""."""
        if not self.plan.stream_addons:
            return "no stream addon is configured"
        if not any(addon.manifest.has_resource("stream") for addon in self.plan.stream_addons):
            names = ", ".join(addon.label for addon in self.plan.stream_addons)
            return f"no usable stream addon: {names} declare{'s' if len(self.plan.stream_addons) == 1 else ''} no stream resource"
        return ""

    def _fail_if_useless(self) -> None:
        """A run did nothing useful, and fails with the reason, when every stream addon was given up,
        or when the catalogs listed items but no stream addon (or no meta source) could serve any."""
        gates = [self.gates[addon.key] for addon in self.plan.stream_addons]
        if gates and all(gate.given_up for gate in gates):
            self.stop_reason = STOP_ADDONS_GIVEN_UP
            self.failure = "every stream addon was given up: " + "; ".join(
                f"{g.addon.label} {g.message}" for g in gates)
            return
        stats = self.stats
        unservable = stats["items_unsupported"] + stats["items_no_meta"]
        if self.stop_reason == STOP_COMPLETED and unservable and not (
            stats["stream_requests"] or stats["already_prefetched"] or stats["items_done_before_resume"]
        ):
            self.stop_reason = STOP_NOTHING_SERVABLE
            self.failure = (
                f"no item the catalogs listed could be warmed: {stats['items_unsupported']} are served by no "
                f"stream addon (type or id prefix), {stats['items_no_meta']} series have no meta source "
                "(see each catalog's counts)"
            )

    async def _watch(self, crawl: asyncio.Task) -> None:
        """Polls cancel / pause flags, enforces the time limit, flushes records and publishes progress."""
        next_progress = 0.0
        while True:
            try:
                if await self._watch_once(crawl, time.monotonic() >= next_progress):
                    return
            except Exception as error:  # a database or broker outage must not stop cancel checks or the time limit
                self._database_failed(error)
            else:
                self._database_answered()
                if time.monotonic() >= next_progress:
                    next_progress = time.monotonic() + self.progress_interval_s
            await asyncio.sleep(self.control_interval_s)

    def _database_failed(self, error: Exception) -> None:
        """Logged once per outage, not at every tick; answers not saved yet stay in memory."""
        if self.database_down_since is None:
            self.database_down_since = time.monotonic()
            self.log.error("Progress or control update failed (%s: %s); answers are kept until it works again",
                           error.__class__.__name__, error)
        self.database_error = error

    def _database_answered(self) -> None:
        if self.database_down_since is not None:
            self.log.warning("Database reachable again after %.1f s", time.monotonic() - self.database_down_since)
            self.database_down_since = None

    async def _lookup(self, fn, *args):
        """A record lookup an item cannot go on without: during an outage it waits (the watcher keeps
        polling) until the database answers, or fails the run after database_outage_limit_s."""
        delay = self.control_interval_s
        failing_since = None
        while True:
            try:
                return await self._db(fn, *args)
            except Exception as error:
                self._database_failed(error)
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > self.database_outage_limit_s:
                    self.database_given_up = True  # the watcher stops the run
                    raise DatabaseUnavailable(f"{error.__class__.__name__}: {error}") from error
            await asyncio.sleep(delay)
            delay = min(5.0, delay * 2)

    async def _watch_once(self, crawl: asyncio.Task, progress_due: bool) -> bool:
        """One watcher tick; True once the crawl has been stopped."""
        limit = self.settings.max_execution_time_s
        if limit >= 0 and self._elapsed() >= limit:
            return self._stop(crawl, STOP_TIME_LIMIT)
        if self.database_given_up or (self.database_down_since is not None and (
            time.monotonic() - self.database_down_since > self.database_outage_limit_s
        )):
            return self._stop(crawl, STOP_DATABASE_UNAVAILABLE)
        cancel, pause = await self._control_flags()
        if self.control_failures >= MAX_CONTROL_FAILURES:
            return self._stop(crawl, STOP_CONTROL_FAILING)
        if cancel:
            return self._stop(crawl, STOP_CANCELLED)
        if pause != self.paused:
            self.paused = pause
            if pause:
                self.resume_event.clear()
                self.paused_since = time.monotonic()
                self.log.info("Paused")
            else:
                self.resume_event.set()
                self.paused_total_s += time.monotonic() - self.paused_since
                self.paused_since = None
                self.log.info("Resumed")
            await self._db(self.on_progress, self.snapshot(), "paused" if pause else "resumed")
        # Outcomes are saved every tick: a worker killed now loses at most one tick of answers.
        await self._flush_outcomes()
        if progress_due:
            await self._db(self.on_progress, self.snapshot(), "progress")
        return False

    async def _control_flags(self) -> tuple[bool, bool]:
        """(cancel, pause). While the check fails for a reason other than a database outage, the flags
        stay as they were and the failures in a row are counted (the caller stops the run at the limit)."""
        try:
            flags = await self._db(self.poll_control)
        except self.outage_errors:
            raise  # the watcher's outage handling: logged once, the run fails after database_outage_limit_s
        except Exception as error:
            self.control_failures += 1
            self.control_error = error
            if self.control_failures == 1:
                self.log.exception("Checking for cancel / pause failed; retrying every %.1f s", self.control_interval_s)
            return False, self.paused
        if self.control_failures:
            self.log.warning("Checking for cancel / pause works again after %d failures", self.control_failures)
            self.control_failures = 0
        return flags

    def _stopped_by_failure(self) -> str:
        """Why the run failed, for the stop reasons that are failures ("" for the others)."""
        if self.stop_reason == STOP_DATABASE_UNAVAILABLE:
            return (f"The database was unreachable for more than {self.database_outage_limit_s:g} s "
                    f"({self.database_error.__class__.__name__}: {self.database_error})")
        if self.stop_reason == STOP_CONTROL_FAILING:
            return (f"Checking for cancel / pause failed {MAX_CONTROL_FAILURES} times in a row "
                    f"({self.control_error.__class__.__name__}: {self.control_error})")
        return ""

    def _stop(self, crawl: asyncio.Task, reason: str) -> bool:
        self.stop_reason = reason
        self.log.warning("Stopping: %s", reason)
        crawl.cancel()
        return True

    async def _flush_outcomes(self) -> None:
        if self.pending_outcomes:
            batch = list(self.pending_outcomes)
            await self._db(self.store.save, batch)
            del self.pending_outcomes[: len(batch)]  # only once saved: a failed save is tried again
        if self.pending_announcements:
            batch = list(self.pending_announcements)
            await self._db(self.store.remember_announced, batch)
            del self.pending_announcements[: len(batch)]

    # ----------------------------------------------------------------------------------------------
    async def _crawl_and_verify(self) -> None:
        await self._crawl()
        if self.settings.verify_sample_size and self.stop_reason in ("", STOP_GLOBAL_LIMITS):
            self.log.info("Verifying: requesting again up to %d warmed streams per addon", self.settings.verify_sample_size)
            self.verification = await self.verifier.verify(self._verify_request)

    async def _verify_request(self, addon_key: str, url: str) -> FetchResult | None:
        """A verification request: through the addon's gate, counted nowhere, remembered in no record."""
        gate = self.gates[addon_key]
        try:
            async with gate.slot():
                return await self.client.get_json(url, backoff=gate.backoff)
        except AddonGivenUp:
            return None

    async def _mark_looked_cached(self) -> None:
        """The records of this run's answers say whether they came about as fast as a warm answer."""
        try:
            for addon_key, threshold_ms in self.verifier.cached_thresholds(self.verification).items():
                await self._db(self.store.mark_looked_cached, addon_key, self.started_at, threshold_ms)
        except Exception:
            self.log.exception("Could not mark which answers looked cached")

    async def _crawl(self) -> None:
        catalogs = list(self.plan.catalogs)
        if self.settings.randomize_catalogs:
            random.shuffle(catalogs)
        for catalog in catalogs:
            if self._all_global_limits_reached():
                self.stop_reason = STOP_GLOBAL_LIMITS
                self.log.info("All global limits reached")
                return
            await self._process_catalog(catalog)

    def _limit_reached(self, limit: int, count: int) -> bool:
        return 0 <= limit <= count

    def _all_global_limits_reached(self) -> bool:
        return all(
            self._limit_reached(self.settings.global_limit(kind), self.prefetched_by_kind[kind])
            for kind in ("movie", "series")
        )

    def _catalog_stop_reason(self, catalog: CatalogSpec, result: CatalogResult) -> str | None:
        """Why a catalog must stop now, counting only confirmed prefetches."""
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
        result = _catalog_result(catalog)
        self.catalog_results.append(result)
        self.reached.add(id(catalog))
        skip_reason = catalog.skip_reason(self.plan.stream_addons)
        if skip_reason:
            result.skipped, result.stop_reason = True, f"skipped: {skip_reason}"
            self.stats["catalogs_skipped"] += 1
            self.log.info("Skipping catalog %s (%s): %s", catalog.name, catalog.type, skip_reason)
            return
        self.current_catalog = result
        started = self._elapsed()
        result.started_at = _iso_now()
        self.log.info("Catalog %s (%s) from %s", catalog.name, catalog.type, catalog.addon.name)
        tasks: set[asyncio.Task] = set()
        try:
            result.stop_reason = await self._walk_catalog(catalog, result, tasks)
            if tasks:
                await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            result.stop_reason = self.stop_reason or STOP_CANCELLED
            for task in tasks:
                task.cancel()
            raise
        finally:
            result.finished_at = _iso_now()
            result.duration_s = round(self._elapsed() - started, 3)
            self.stats["catalogs_processed"] += 1
            self._log_catalog_end(catalog, result)

    def _log_catalog_end(self, catalog: CatalogSpec, result: CatalogResult) -> None:
        """One line for the catalog, one per prefix mismatch, one per other reason (never one per item)."""
        self.log.info(
            "Catalog %s done: %d prefetched, %d already prefetched, %d failed (%d videos, %d stream requests "
            "failed after retries), %d unsupported, %d without meta, %d excluded, %d with embedded streams, "
            "%d duplicates, %d pages (%s)",
            catalog.name, result.prefetched, result.already_prefetched, result.failed, result.videos_failed,
            result.stream_requests_failed, result.unsupported, result.no_meta, result.excluded, result.embedded,
            result.duplicates, result.pages, result.stop_reason,
        )
        for (item_type, prefix), count in sorted(result.unsupported_prefixes.items()):
            self.log.warning("Catalog %s: %d %s items have ids `%s…`; %s", catalog.name, count, item_type, prefix,
                             self._stream_scope(item_type))
        explanations = {
            REASON_NO_META: "series whose episodes are unknown: no configured addon serves their meta"
                            + self._fallback_note(),
            REASON_EXCLUDED: "series whose every episode is left out by the episode policy "
                             "(specials, unreleased episodes, episodes per series, new episodes only)",
            REASON_EMBEDDED: "items whose every video carries its own streams (nothing to request)",
        }
        for reason, text in explanations.items():
            if getattr(result, reason):
                self.log.info("Catalog %s: %d %s, e.g. %s", catalog.name, getattr(result, reason), text,
                              ", ".join(result.samples.get(reason, [])))

    def _stream_scope(self, item_type: str) -> str:
        """What the stream addons serve, for a prefix-mismatch message."""
        scopes = [addon.manifest.scope("stream") for addon in self.plan.stream_addons]
        if not any(item_type in types for types, _ in scopes):
            served = sorted({t for types, _ in scopes for t in types})
            return f"no stream addon serves type {item_type} (they serve {', '.join(served) or 'nothing'})"
        prefixes = [prefixes for types, prefixes in scopes if item_type in types]
        if any(p is None for p in prefixes):  # unreachable: an addon serving any id would have served it
            return "no stream addon serves them"
        served = sorted({p for group in prefixes for p in group})
        return f"the stream addons serve {item_type} ids {', '.join(f'`{p}`' for p in served)}"

    def _fallback_note(self) -> str:
        url = self.settings.fallback_meta_url
        if not url:
            return " (no fallback meta addon is set: setting 'fallback meta addon', or --fallback-meta URL)"
        if self._fallback_meta is None:
            return f" (the fallback meta addon {redact_url(url)} could not be reached)"
        return ""

    async def _walk_catalog(self, catalog: CatalogSpec, result: CatalogResult, tasks: set) -> str:
        if catalog.items is not None:  # listed by the plan: nothing counts as already warm
            for listed in catalog.items:
                item = Item(listed.type, listed.id, listed.name, valid=set(), videos=list(listed.videos))
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
            page = await self._fetch_json(
                catalog.addon,
                resource_url(
                    catalog.addon.url, "catalog", encode_component(catalog.type), encode_component(catalog.id),
                    extra=catalog_extra(catalog, skip),
                ),
            )
            result.pages += 1
            self.stats["pages_fetched"] += 1
            if not page.ok and page.status == 404 and skip and catalog.declares_skip:
                # static addons serve a fixed set of files: the page after the last one does not exist
                return f"end of catalog: page at skip={skip} not found"
            if not page.ok:
                self.log.warning("Catalog %s: page at skip=%d failed: %s", catalog.name, skip, page.error)
                return f"error: {page.error}"
            metas = page.data.get("metas") if isinstance(page.data, dict) else None
            if not isinstance(metas, list) or not metas:
                return "end of catalog"
            fresh = []
            for meta in metas:
                if isinstance(meta, dict) and isinstance(meta.get("id"), str) and meta["id"]:
                    if meta["id"] not in seen_in_catalog:
                        seen_in_catalog.add(meta["id"])
                        fresh.append(meta)
            if not fresh:
                return "page repeated (addon ignores skip)"
            if self.settings.randomize_items:
                random.shuffle(fresh)
            items = [self._item(catalog, meta) for meta in fresh]
            await self._look_up_movies(items)
            for item in items:
                reason = await self._dispatch(catalog, result, item, tasks)
                if reason:
                    return reason
            if not catalog.declares_skip:
                return "single page (no skip declared)"
            skip += len(metas)

    @staticmethod
    def _item(catalog: CatalogSpec, meta: dict) -> Item:
        item_type = meta.get("type") if isinstance(meta.get("type"), str) and meta.get("type") else catalog.type
        return Item(item_type, meta["id"], str(meta.get("name") or meta["id"]))

    async def _look_up_movies(self, items: list[Item]) -> None:
        """Which of a page's movies are still valid, in one look-up for the page: a movie's only video
        is itself, so it needs no meta first. A round trip to the database thread per item (a thread
        wake-up each way) cost about half of a fast addon's whole request time."""
        movies = [item for item in items if item.type == "movie" and not id_too_long(item.type, item.id)]
        addon_keys = sorted({addon.key for addon in self.plan.stream_addons})
        if not movies or not addon_keys:
            return
        try:
            valid = await self._lookup(self.store.valid_keys, addon_keys, "movie", [item.id for item in movies],
                                       self.settings.cache_validity_s, self.settings.cache_validity_auto)
        except DatabaseUnavailable:
            return  # each item looks up for itself, and waits for the database as items do
        for item in movies:
            item.valid = valid

    async def _dispatch(self, catalog: CatalogSpec, result: CatalogResult, item: Item, tasks: set) -> str | None:
        """Start one item, once there is room under the limits. Returns a stop reason or None."""
        if id_too_long(item.type, item.id):
            self.log.warning("%s: an item's id or type is longer than %d characters; skipped", catalog.name, MAX_ID_CHARS)
            self._count(result, REASON_FAILED, item.id[:MAX_ID_CHARS])
            return None
        if (item.type, item.id) in self.seen_items:
            self._count(result, REASON_DUPLICATES, item.id)
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
        self.seen_items.add((item.type, item.id))
        self.stats["items_seen"] += 1
        await self.item_slots.acquire()
        result.reserved += 1
        self.reserved_by_kind[kind] += 1
        task = asyncio.create_task(self._process_item(catalog, result, item, kind))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return None

    async def _process_item(self, catalog: CatalogSpec, result: CatalogResult, item: Item, kind: str) -> None:
        outcome = "cancelled"
        try:
            outcome = await self._warm_item(catalog, result, item)
        except DatabaseUnavailable:
            outcome = "cancelled"  # the watcher stops the run; this item is not the item's fault
        except Exception:  # a bug or a hostile answer must cost one item, not the run
            self.log.exception("%s %s: unexpected error", item.type, item.name)
            outcome = "failed"
        finally:
            result.reserved -= 1
            self.reserved_by_kind[kind] -= 1
            self.item_slots.release()
            if outcome == "prefetched":
                result.prefetched += 1
                self.prefetched_by_kind[kind] += 1
                self.stats["items_prefetched"] += 1
                for by_type in (result.by_type, self.stats["prefetched_by_type"]):
                    by_type[item.type] = by_type.get(item.type, 0) + 1
                if item.type == "series":
                    result.series += 1
                    self.stats["series_prefetched"] += 1
                elif item.type == "movie":
                    result.movies += 1
                    self.stats["movies_prefetched"] += 1
            elif outcome == "already":
                result.already_prefetched += 1
                self.stats["already_prefetched"] += 1
            elif outcome in REASONS:
                self._count(result, outcome, item.id)

    def _count(self, result: CatalogResult, reason: str, item_id: str) -> None:
        """An item not prefetched, counted by reason per catalog and per run, with a few sample ids."""
        setattr(result, reason, getattr(result, reason) + 1)
        self.stats[f"items_{reason}"] += 1
        samples = result.samples.setdefault(reason, [])
        if len(samples) < SAMPLE_IDS:
            samples.append(item_id)

    async def _warm_item(self, catalog: CatalogSpec, result: CatalogResult, item: Item) -> str:
        """Warm one item; returns "prefetched", "already" or the reason it was not (REASONS)."""
        if not any(addon.manifest.supports("stream", item.type, item.id) for addon in self.plan.stream_addons):
            result.unsupported_prefixes[(item.type, id_prefix(item.id))] += 1  # reported once per catalog
            return REASON_UNSUPPORTED  # and no meta fetched for it
        videos, reason = await self._videos(catalog, item)
        if reason:
            return reason
        if any(id_too_long(video.id) for video in videos):
            self.log.warning("%s %s: videos with ids over %d characters skipped", item.type, item.name, MAX_ID_CHARS)
            videos = [video for video in videos if not id_too_long(video.id)]
        episodic = item.type == "series" or len(videos) > 1
        if episodic:
            self.stats["episodes_found"] += len(videos)
        targets = [
            (addon, video)
            for video in videos
            for addon in self.plan.stream_addons
            if addon.manifest.supports("stream", item.type, video.id)
        ]
        if not targets:
            for video in videos[:1]:
                result.unsupported_prefixes[(item.type, id_prefix(video.id))] += 1
            return REASON_UNSUPPORTED if videos else REASON_FAILED
        earlier = await self._attempted_before_resume(item, targets)
        targets = [(addon, video) for addon, video in targets if (addon.key, video.id) not in earlier]
        warmed_earlier = {video_id for (_, video_id), ok in earlier.items() if ok}
        if earlier:
            self.stats["items_done_before_resume"] += 1
        valid = item.valid if item.valid is not None else await self._lookup(
            self.store.valid_keys,
            sorted({addon.key for addon, _ in targets}),
            item.type,
            [video.id for video in videos],
            self.settings.cache_validity_s,
            self.settings.cache_validity_auto,
        )
        todo = [
            (addon, video)
            for addon, video in targets
            if (addon.key, video.id) not in valid and (addon.key, item.type, video.id) not in self.requested_pairs
        ]
        self.requested_pairs.update((addon.key, item.type, video.id) for addon, video in todo)
        outcomes = await asyncio.gather(*(self._warm_stream(catalog, result, item, addon, video) for addon, video in todo))
        warmed_videos = warmed_earlier | {video.id for (addon, video), ok in zip(todo, outcomes) if ok}
        failed_videos = {video.id for _, video in todo} - warmed_videos
        result.videos_failed += len(failed_videos)
        self.stats["videos_failed"] += len(failed_videos)
        if not todo and not earlier:
            return "already"
        if not warmed_videos:
            return REASON_FAILED
        if episodic:
            self.stats["episodes_prefetched"] += len(warmed_videos)
            result.episodes += len(warmed_videos)
        return "prefetched"

    async def _attempted_before_resume(self, item: Item, targets: list) -> dict[tuple[str, str], bool]:
        """(addon key, video id) -> succeeded, for the targets this run attempted before it was resumed."""
        if self.resume_since is None:
            return {}
        return await self._lookup(
            self.store.attempted_since,
            sorted({addon.key for addon, _ in targets}),
            item.type,
            sorted({video.id for _, video in targets}),
            self.resume_since,
        )

    async def _videos(self, catalog: CatalogSpec, item: Item) -> tuple[list[Video], str | None]:
        """The videos to request, or the reason there are none (REASONS)."""
        if item.videos is not None:  # listed by the plan (release-day warming)
            return list(item.videos), None
        if item.type == "movie":
            return [Video(item.id)], None
        source = await self._meta_source(catalog.addon, item)
        if source is None:
            if item.type == "series":
                self.log.debug("%s %s: no configured addon serves its meta (episodes unknown)", item.type, item.name)
                return [], REASON_NO_META
            return [Video(item.id)], None
        self.stats["meta_requests"] += 1
        answer = await self._fetch_json(
            source, resource_url(source.url, "meta", encode_component(item.type), encode_component(item.id))
        )
        meta = answer.data.get("meta") if answer.ok and isinstance(answer.data, dict) else None
        if not isinstance(meta, dict) or not meta.get("id"):
            self.stats["meta_requests_failed"] += 1
            self.log.warning("%s %s: meta from %s: %s", item.type, item.name, source.name, answer.error or "not found")
            return [], REASON_FAILED
        listed = videos_from_meta(meta, item.id)
        if not listed.videos:
            return [], REASON_EMBEDDED
        now = datetime.now(timezone.utc)
        self.pending_announcements.extend(
            Announcement(item.type, item.id, item.name, video.id, video.label, video.released)
            for video in announced(listed.videos, include_specials=self.settings.include_specials, now=now)
        )
        videos = select_episodes(
            listed.videos,
            include_specials=self.settings.include_specials,
            include_unreleased=self.settings.include_unreleased,
            cap=self.settings.episodes_per_series,
            now=now,
            released_since=self.plan.released_since,
        )
        return videos, None if videos else REASON_EXCLUDED

    async def _meta_source(self, catalog_addon: AddonSpec, item: Item) -> AddonSpec | None:
        if catalog_addon.manifest.supports("meta", item.type, item.id):
            return catalog_addon
        for addon in self.plan.addons:
            if addon.manifest.supports("meta", item.type, item.id):
                return addon
        fallback = await self._fallback_meta_addon()
        if fallback and fallback.manifest.supports("meta", item.type, item.id):
            return fallback
        return None

    async def _fallback_meta_addon(self) -> AddonSpec | None:
        async with self.fallback_lock:
            if self._fallback_meta is False:
                self._fallback_meta = None
                url = self.settings.fallback_meta_url
                if url:
                    try:
                        manifest = await self.client.fetch_manifest(url)
                        self._fallback_meta = AddonSpec(url, manifest.name, manifest, False, False)
                        self.gates[self._fallback_meta.key] = AddonGate(self, self._fallback_meta)
                    except ManifestError as error:  # tried once per run: series needing it count as no_meta
                        self.log.warning(
                            "The fallback meta addon %s could not be reached (%s); series that no configured addon "
                            "has meta for are left out of this run. Change it with the setting 'fallback meta addon' "
                            "(fallback_meta_url) or, on the command line, --fallback-meta URL|none",
                            redact_url(url), error,
                        )
            return self._fallback_meta

    async def _fetch_json(self, addon: AddonSpec, url: str) -> FetchResult:
        """Catalog and meta requests: through the addon's gate, not counted as stream requests."""
        gate = self.gates[addon.key]
        try:
            async with gate.slot():
                result = await self.client.get_json(url, backoff=gate.backoff)
        except AddonGivenUp:
            return FetchResult(None, None, f"{addon.name} was given up for this run")
        gate.other_requests += 1
        gate.observe(result)
        return result

    async def _warm_stream(
        self, catalog: CatalogSpec, result: CatalogResult, item: Item, addon: AddonSpec, video: Video
    ) -> bool:
        gate = self.gates[addon.key]
        title = f"{item.name} {video.label}".strip()
        url = resource_url(addon.url, "stream", encode_component(item.type), encode_component(video.id))
        try:
            async with gate.slot():
                self.current_item = {"title": item.name, "type": item.type, "id": item.id, "video_id": video.id,
                                     "episode": video.label, "addon": addon.name}
                answer = await self.client.get_json(url, backoff=gate.backoff)
        except AddonGivenUp:
            gate.skipped += 1
            self.stats["stream_requests_skipped"] += 1
            return False
        gate.observe(answer)
        streams = answer.data.get("streams") if answer.ok and isinstance(answer.data, dict) else None
        ok = isinstance(streams, list)
        error = answer.error or ("" if ok else "the answer has no streams list")
        gate.requests += 1
        gate.attempts += answer.attempts
        self.stats["stream_requests"] += 1
        self.stats["stream_attempts"] += answer.attempts
        if ok:
            gate.ok += 1
            gate.latencies.append(answer.latency_ms)
            gate.pace.answered(answer.latency_ms, self.clock())
            self.verifier.offer(addon.key, addon.name, url, answer.latency_ms)
            self.stats["stream_requests_ok"] += 1
            if answer.attempts > 1:
                gate.retried_ok += 1
                result.stream_requests_retried_ok += 1
                self.stats["stream_requests_retried_ok"] += 1
            if not streams:
                gate.empty += 1
                self.stats["stream_requests_empty"] += 1
        else:
            gate.failed += 1
            result.stream_requests_failed += 1
            self.stats["stream_requests_failed"] += 1
            self.log.warning("Streams for %s from %s failed: %s", title, addon.name, error)
        answered_at = datetime.now(timezone.utc)
        self.pending_outcomes.append(
            StreamOutcome(
                addon.key, addon.name, item.type, video.id, title, answered_at, ok,
                answer.status, error, len(streams) if ok else None, answer.latency_ms,
                expires_at(answered_at, answer.cache_control) if ok else None,
            )
        )
        if ok and streams and self.cache_requests_enabled:
            await self._request_source_caching(result, addon, streams, title)
        return ok

    async def _request_source_caching(self, result: CatalogResult, addon: AddonSpec, streams: list, title: str):
        """The debrid trigger: open playback URLs of uncached streams so the resolver starts caching them."""
        settings = self.settings
        allowed_hosts = settings.cache_request_host_set() | {addon.host}
        cached, uncached = 0, []
        for stream in streams:
            if not isinstance(stream, dict):
                continue
            text = f"{stream.get('name') or ''} {stream.get('description') or stream.get('title') or ''}"
            if self.skip_re and self.skip_re.search(text):
                continue
            if self.cached_re and self.cached_re.search(text):
                cached += 1
            elif isinstance(stream.get("url"), str) and (urlsplit(stream["url"]).hostname or "").lower() in allowed_hosts:
                uncached.append(stream["url"])
        if cached > settings.cached_streams_threshold or not uncached:
            return
        successes = attempts = 0
        gate = self.gates[addon.key]
        max_attempts = min(len(uncached), max(3 * settings.cache_requests_per_item, 5))
        while (
            successes < settings.cache_requests_per_item
            and attempts < max_attempts
            and self.stats["cache_requests_sent"] < settings.cache_requests_global
        ):
            url = uncached[attempts]
            attempts += 1
            self.stats["cache_requests_sent"] += 1
            result.cache_requests_sent += 1
            try:
                async with gate.slot():
                    touched = await self.client.touch(url)
            except AddonGivenUp:
                return
            if touched.ok:
                successes += 1
                self.stats["cache_requests_ok"] += 1
                result.cache_requests_ok += 1
            self.log.info(
                "Cache request %d for %s via %s: %s", attempts, title, addon.name, touched.error or touched.status
            )

    # ----------------------------------------------------------------------------------------------
    def snapshot(self) -> dict:
        """Live progress: monotonically increasing counters plus what is being worked on now."""
        self.progress_seq += 1
        catalog = self.current_catalog
        return {
            "seq": self.progress_seq,
            "paused": self.paused,
            "elapsed_s": round(self._elapsed(), 1),  # active time
            "paused_s": round(self._paused_s(), 1),
            "max_execution_time_s": self.settings.max_execution_time_s,
            "catalogs_total": len(self.plan.catalogs),
            "catalogs_done": self.stats["catalogs_processed"] + self.stats["catalogs_skipped"],
            "catalog": None if catalog is None else {
                "name": catalog.name, "type": catalog.type, "kind": catalog.kind, "addon": catalog.addon,
                "prefetched": catalog.prefetched, "pages": catalog.pages,
                "limit": self.settings.per_catalog_limit(catalog.kind),
            },
            "item": self.current_item,
            "limits": {
                "movies_global": self.settings.movies_global_limit,
                "series_global": self.settings.series_global_limit,
                "cache_requests_global": self.settings.cache_requests_global,
                "cache_requests_enabled": self.cache_requests_enabled,
            },
            "statistics": self._statistics(),
            "addons": [gate.report() for gate in self.gates.values()],
        }

    def _statistics(self) -> dict:
        stats = dict(self.stats, prefetched_by_type=dict(self.stats["prefetched_by_type"]))
        stats["active_s"], stats["paused_s"] = round(self._elapsed(), 3), round(self._paused_s(), 3)
        return stats

    def report(self) -> dict:
        finished_at = datetime.now(timezone.utc)
        not_reached = [
            _catalog_result(catalog, not_reached=True, stop_reason=f"not reached ({self.stop_reason})")
            for catalog in self.plan.catalogs
            if id(catalog) not in self.reached
        ]
        self.stats["catalogs_not_reached"] = len(not_reached)
        stats = self._statistics()
        # over the stream requests made (a retried request counts once); `stream_attempts` has every try
        stats["success_rate"] = (
            round(100.0 * stats["stream_requests_ok"] / stats["stream_requests"], 1) if stats["stream_requests"] else None
        )
        return {
            "stop_reason": self.stop_reason,
            "failure": self.failure,
            "statistics": stats,
            "catalogs": [result.report() for result in [*self.catalog_results, *not_reached]],
            "addons": [gate.report() for gate in self.gates.values()],
            "verification": self.verification,
            "timing": {
                "started_at": self.started_at.isoformat(),
                "finished_at": finished_at.isoformat(),
                "duration_s": stats["active_s"],  # active time: pauses left out
                "paused_s": stats["paused_s"],
                "wall_s": round((finished_at - self.started_at).total_seconds(), 3),
            },
        }


def _catalog_result(catalog: CatalogSpec, **fields) -> CatalogResult:
    return CatalogResult(catalog.addon.name, catalog.type, catalog.id, catalog.name, catalog.kind, **fields)


def _iso_now() -> str:
    return datetime.now(timezone.utc).isoformat()

