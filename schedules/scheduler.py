"""The beat scheduler (CELERY_BEAT_SCHEDULER): django-celery-beat's DatabaseScheduler, plus the
duties that make a dead beat as obvious as a dead worker and let runs outlive their worker.

At start-up it runs the missed-schedule catch-up. On its tick it writes the heartbeat that health,
metrics and the pages read, and looks for runs orphaned by a lost worker. None of these may stop
beat: a failure is logged and tried again later. The same class runs as `celery beat` and as the
embedded beat thread of `manage.py serve`.
"""

import logging
import os
import socket
import time

from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

from prefetch.runs.claim import recover_orphaned_runs

from .liveness import record_heartbeat
from .services import catch_up_missed

logger = logging.getLogger("schedules.scheduler")


class _Duty:
    """Something beat does every `interval_s` seconds from its first tick on, never raising."""

    def __init__(self, name: str, interval_s: float, action):
        self.name = name
        self.interval_s = interval_s
        self.action = action
        self.due = 0.0  # monotonic; the first tick is due

    def run_if_due(self, now: float) -> None:
        if now < self.due:
            return
        self.due = now + self.interval_s
        try:
            self.action()
        except Exception:  # never fatal to beat; next attempt in interval_s
            logger.exception("Scheduler: %s failed; trying again in %g s", self.name, self.interval_s)


def _write_heartbeat() -> None:
    record_heartbeat(socket.gethostname(), os.getpid())


def _recover_orphaned_runs() -> None:
    recovered = recover_orphaned_runs()
    if recovered:
        logger.warning("Runs orphaned by a lost worker, handed on: %s", ", ".join(map(str, recovered)))


class Scheduler(DatabaseScheduler):
    def __init__(self, *args, **kwargs):
        self.duties = [
            _Duty("writing the heartbeat", settings.SCHEDULER_HEARTBEAT_S, _write_heartbeat),
            _Duty("looking for orphaned runs", settings.RUN_REAP_INTERVAL_S, _recover_orphaned_runs),
        ]
        super().__init__(*args, **kwargs)

    def setup_schedule(self):
        # Before the first read of the schedule: the catch-up marks our tasks as just run, which
        # beat must load, or it fires every missed crontab itself however late it is.
        try:
            catch_up_missed()
        except Exception:  # never keep beat from starting
            logger.exception("Start-up catch-up of missed schedules failed")
        super().setup_schedule()

    def tick(self, *args, **kwargs):
        delay = super().tick(*args, **kwargs)
        # After beat's own pass, so a heartbeat also means beat has read the schedule and will see
        # changes made from then on.
        now = time.monotonic()
        for duty in self.duties:
            duty.run_if_due(now)
        # Wake up for the next duty even if beat's own next event is further away.
        next_duty = min(duty.due for duty in self.duties) - time.monotonic()
        return min(delay, max(0.0, next_duty))
