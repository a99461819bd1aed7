"""The app's own periodic tasks (release pass, addon health, pruning) note when each last ran, how
long it took and whether it went through: one PeriodicWork row per task, for the Tasks list."""

import time
from contextlib import contextmanager

from django.utils import timezone

from addons.redaction import redact_text

from .models import PeriodicWork


@contextmanager
def recorded(name: str):
    """Around one run of the task `name` (its Celery name); an error is noted and raised again."""
    PeriodicWork.objects.update_or_create(
        name=name, defaults={"started_at": timezone.now(), "finished_at": None, "duration_s": None, "error": ""}
    )
    started = time.monotonic()
    error = ""
    try:
        yield
    except Exception as failure:
        error = redact_text(f"{failure.__class__.__name__}: {failure}")[:300]
        raise
    finally:
        PeriodicWork.objects.filter(name=name).update(
            finished_at=timezone.now(), duration_s=round(time.monotonic() - started, 3), error=error
        )
