"""What watches a run while it walks: cancel and pause flags, the time limit, database outages, saving
the answers as they come and publishing progress. Every time is read from the injected clock; only
the tick's cadence is a plain asyncio sleep (it measures nothing)."""

import asyncio
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

from addons.retry import RetryPolicy
from prefetch.engine.outcome import Stop

if TYPE_CHECKING:
    from prefetch.engine.walk import PrefetchEngine

# The cancel / pause check failing this many ticks in a row for another reason (a bug, a broken
# collaborator) stops the run, which could not be cancelled or paused any more (~5 s at 0.2 s a tick).
MAX_CONTROL_FAILURES = 25
LOOKUP_RETRY_MAX_S = 5.0  # a lookup waiting out an outage tries again at least this often


class DatabaseUnavailable(Exception):
    """The record store stayed unreachable longer than the engine waits for it."""


class RunClock:
    """Active and paused time of a run, on the injected clock."""

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self.started = clock()
        self.paused_total_s = 0.0
        self.paused_since: float | None = None

    def pause(self) -> None:
        self.paused_since = self.clock()

    def resume(self) -> None:
        self.paused_total_s += self.clock() - self.paused_since
        self.paused_since = None

    def paused_s(self) -> float:
        current = self.clock() - self.paused_since if self.paused_since is not None else 0.0
        return self.paused_total_s + current

    def active_s(self) -> float:
        """What the time limit, durations and rates measure (pauses left out)."""
        return self.clock() - self.started - self.paused_s()


class Supervisor:
    def __init__(self, engine: "PrefetchEngine", *, poll_control: Callable[[], tuple[bool, bool]],
                 outage_errors: tuple[type[Exception], ...], outage_limit_s: float, control_interval_s: float,
                 progress_interval_s: float):
        self.engine = engine
        self.poll_control = poll_control
        # The record store's errors that mean "unreachable for now" (the run waits for it, up to
        # outage_limit_s), as opposed to a failing cancel / pause check.
        self.outage_errors = outage_errors
        self.outage_limit_s = outage_limit_s
        self.control_interval_s = control_interval_s
        self.progress_interval_s = progress_interval_s
        self.database_down_since: float | None = None
        self.database_error: Exception | None = None
        self.database_given_up = False
        self.control_failures = 0  # in a row
        self.control_error: Exception | None = None
        self.answers_waiting = asyncio.Event()
        self.save_lock = asyncio.Lock()

    @property
    def clock(self):
        return self.engine.clock

    # --- the watcher -----------------------------------------------------------------------------
    async def watch(self, crawl: asyncio.Task) -> None:
        next_progress = self.clock()
        while True:
            progress_due = self.clock() >= next_progress
            try:
                if await self._tick(crawl, progress_due):
                    return
            except Exception as error:  # a database or broker outage must not stop cancel checks or the time limit
                self.database_failed(error)
            else:
                self.database_answered()
                if progress_due:
                    next_progress = self.clock() + self.progress_interval_s
            await asyncio.sleep(self.control_interval_s)

    async def _tick(self, crawl: asyncio.Task, progress_due: bool) -> bool:
        """One tick; True once the crawl has been stopped."""
        engine = self.engine
        limit = engine.settings.max_execution_time_s
        if limit >= 0 and engine.run_clock.active_s() >= limit:
            return engine.stop(crawl, Stop.TIME_LIMIT)
        if self.database_given_up or (
            self.database_down_since is not None and self.clock() - self.database_down_since > self.outage_limit_s
        ):
            return engine.stop(crawl, Stop.DATABASE_UNAVAILABLE)
        cancel, pause = await self._control_flags()
        if self.control_failures >= MAX_CONTROL_FAILURES:
            return engine.stop(crawl, Stop.CONTROL_FAILING)
        if cancel:
            return engine.stop(crawl, Stop.CANCELLED)
        if pause != engine.paused:
            engine.set_paused(pause)
            await engine.db(engine.on_progress, engine.snapshot(), "paused" if pause else "resumed")
        if progress_due:
            await engine.db(engine.on_progress, engine.snapshot(), "progress")
        return False

    async def _control_flags(self) -> tuple[bool, bool]:
        """(cancel, pause). While the check fails for a reason other than a database outage, the flags
        stay as they were and the failures in a row are counted (the tick stops the run at the limit)."""
        engine = self.engine
        try:
            flags = await engine.db(self.poll_control)
        except self.outage_errors:
            raise  # the watcher's outage handling: logged once, the run fails after outage_limit_s
        except Exception as error:
            self.control_failures += 1
            self.control_error = error
            if self.control_failures == 1:
                engine.log.exception("Checking for cancel / pause failed; retrying every %.1f s",
                                     self.control_interval_s)
            return False, engine.paused
        if self.control_failures:
            engine.log.warning("Checking for cancel / pause works again after %d failures", self.control_failures)
            self.control_failures = 0
        return flags

    # --- the database ----------------------------------------------------------------------------
    def database_failed(self, error: Exception) -> None:
        """Logged once per outage, not at every tick; answers not saved yet stay in memory."""
        if self.database_down_since is None:
            self.database_down_since = self.clock()
            self.engine.log.error("Progress or control update failed (%s: %s); answers are kept until it works again",
                                  error.__class__.__name__, error)
        self.database_error = error

    def database_answered(self) -> None:
        if self.database_down_since is not None:
            self.engine.log.warning("Database reachable again after %.1f s", self.clock() - self.database_down_since)
            self.database_down_since = None

    async def lookup(self, fn: Callable, *args):
        """A record lookup an item cannot go on without: during an outage it waits (the watcher keeps
        polling) until the database answers, or fails the run after outage_limit_s."""
        retry = RetryPolicy(base_s=self.control_interval_s, max_s=LOOKUP_RETRY_MAX_S)
        failing_since = None
        for attempt in itertools.count(1):
            try:
                return await self.engine.db(fn, *args)
            except Exception as error:
                self.database_failed(error)
                failing_since = self.clock() if failing_since is None else failing_since
                if self.clock() - failing_since > self.outage_limit_s:
                    self.database_given_up = True  # the watcher stops the run
                    raise DatabaseUnavailable(f"{error.__class__.__name__}: {error}") from error
            await self.engine.sleep(retry.wait_s(attempt))

    def failure_text(self, stop: Stop) -> str:
        """Why a run stopped by the database or its control checks failed."""
        if stop == Stop.DATABASE_UNAVAILABLE:
            return (f"The database was unreachable for more than {self.outage_limit_s:g} s "
                    f"({self.database_error.__class__.__name__}: {self.database_error})")
        if stop == Stop.CONTROL_FAILING:
            return (f"Checking for cancel / pause failed {MAX_CONTROL_FAILURES} times in a row "
                    f"({self.control_error.__class__.__name__}: {self.control_error})")
        return ""

    # --- saving answers as they come -------------------------------------------------------------
    async def save_answers(self) -> None:
        """Saves answers as soon as they are there (batched by however many came during the last save):
        a worker killed now repeats, on resume, little more than the requests that were in flight."""
        while True:
            await self.answers_waiting.wait()
            self.answers_waiting.clear()
            try:
                # shielded: a save under way when the run ends finishes (holding the lock) before
                # the last save, so no batch is saved twice
                await asyncio.shield(self.flush())
            except Exception as error:
                self.database_failed(error)
                await asyncio.sleep(self.control_interval_s)
                self.answers_waiting.set()
            else:
                self.database_answered()

    async def flush(self) -> None:
        engine = self.engine
        async with self.save_lock:
            if engine.pending_outcomes:
                batch = list(engine.pending_outcomes)
                await engine.db(engine.store.save, batch)
                del engine.pending_outcomes[: len(batch)]  # only once saved: a failed save is tried again
            if engine.pending_announcements:
                batch = list(engine.pending_announcements)
                await engine.db(engine.store.remember_announced, batch)
                del engine.pending_announcements[: len(batch)]

