"""How a run ends, in names: why the walk stopped (`Stop`), why an item was not warmed (`Reason`),
and what the run says (`Outcome`, decided once by `decide` from the tally). The README's outcome
table is this module in words."""

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the tally counts by Reason: imported only for the annotation
    from prefetch.engine.tally import Tally


class Stop(StrEnum):
    """Why the walk stopped. Its value is the run's `stop_reason`."""

    COMPLETED = "completed"
    CANCELLED = "cancelled"
    TIME_LIMIT = "time limit reached"
    GLOBAL_LIMITS = "global limits reached"
    DATABASE_UNAVAILABLE = "database unavailable"
    CONTROL_FAILING = "cancel and pause checks failing"
    NO_STREAM_ADDON = "no usable stream addon"
    ADDONS_GIVEN_UP = "stream addons given up"


# Stops that fail the run whatever it warmed before them: it could not go on, nor be controlled.
FAILING_STOPS = (Stop.DATABASE_UNAVAILABLE, Stop.CONTROL_FAILING, Stop.NO_STREAM_ADDON)


class Reason(StrEnum):
    """Why an item of a catalog was not warmed. Each is counted per catalog (`CatalogResult.<reason>`)
    and per run (`statistics["items_<reason>"]`), with a few sample ids per catalog."""

    UNSUPPORTED = "unsupported"  # no stream addon serves its type / id prefix
    NO_META = "no_meta"  # a series whose episodes are unknown: no addon serves its meta
    EXCLUDED = "excluded"  # every episode left out by the episode policy (specials, unreleased, cap)
    OWN_STREAMS = "own_streams"  # every video carries its own streams: nothing to request
    DUPLICATES = "duplicates"  # listed again: earlier in this catalog, in an earlier catalog, or all its videos by another item
    FAILED = "failed"  # its meta or every one of its stream requests failed
    NOT_REACHED = "not_reached"  # in flight when the run stopped (cancel, time limit): neither warmed nor failed


class Outcome(StrEnum):
    """What the run says. The values are the run statuses of the same name."""

    COMPLETED = "completed"
    COMPLETED_WITH_FAILURES = "completed_with_failures"
    FAILED = "failed"
    CANCELLED = "cancelled"


def decide(stop: Stop, tally: "Tally") -> Outcome:
    """The one outcome rule:

    - `failed`: the run could not go on (database, control checks, no usable stream addon), or
      nothing could be warmed while something failed (addons unreachable or given up, catalogs
      erroring) or no listed item was servable at all;
    - `cancelled`: stopped on request;
    - `completed_with_failures`: something was warmed, and some catalogs errored, some titles
      failed or some requests were not made because their addon was given up;
    - `completed`: everything reached was warmed or explained (already warm, unsupported, …).
    """
    if stop in FAILING_STOPS:
        return Outcome.FAILED
    if stop == Stop.CANCELLED:
        return Outcome.CANCELLED
    if not tally.anything_warmed() and (tally.anything_failed() or tally.unservable()):
        return Outcome.FAILED
    return Outcome.COMPLETED_WITH_FAILURES if tally.anything_failed() else Outcome.COMPLETED

