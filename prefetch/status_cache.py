"""One status answer shared by every poller for a fraction of a second, while a run goes.

Each open dashboard whose WebSocket is down polls `/api/job/status` every second. Computing the
answer takes several queries, and every query hands the interpreter lock to the run's engine
thread and waits to get it back: with twenty pollers during a run that made each answer cost
hundreds of milliseconds and slowed the run. The run's own snapshot changes once a second, so an
answer computed less than `max_age_s` ago is as current as a fresh one.
"""

import threading
import time
from collections.abc import Callable


class SharedAnswer:
    def __init__(self, compute: Callable[[], dict], max_age_s: float, clock=time.monotonic):
        self.compute = compute
        self.max_age_s = max_age_s
        self.clock = clock
        self._lock = threading.Lock()
        self._answer: dict | None = None
        self._computed_at = 0.0

    def get(self) -> dict:
        with self._lock:  # concurrent pollers wait for one computation instead of each running it
            if self._answer is None or self.clock() - self._computed_at >= self.max_age_s:
                self._store(self.compute())
            return self._answer

    def refresh(self) -> dict:
        """After a change made by this process (a run started, cancelled): compute now."""
        with self._lock:
            self._store(self.compute())
            return self._answer

    def forget(self) -> None:
        with self._lock:
            self._answer = None

    def _store(self, answer: dict) -> None:
        self._answer, self._computed_at = answer, self.clock()
