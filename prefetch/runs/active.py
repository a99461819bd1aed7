"""The one active run, and the configuration lock that keeps settings still while it is active."""

from contextlib import contextmanager

from django.db import transaction

from ..models import ACTIVE_STATUSES, Run


def active_run() -> Run | None:
    return Run.objects.filter(status__in=ACTIVE_STATUSES).first()


def catalog_change_note() -> str | None:
    """What a change of the catalog selection is told while a run is active (the run keeps the plan
    it started with), else None."""
    run = active_run()
    return f"Run #{run.pk} keeps the catalogs it started with; this applies from the next run." if run else None


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


def take_configuration_lock() -> None:
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
        take_configuration_lock()
        run = active_run()
        if run is not None:
            raise ConfigLocked(
                f"{action} while run #{run.pk} is {run.get_status_display().lower()}. "
                "Wait for it to finish or cancel it on the Dashboard."
            )
        yield
