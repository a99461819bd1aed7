"""What a run counted: one typed tally for the run and one result per catalog, with the rules that
tie the counts together (`Tally.violations`). Every count is written through a method here, so each
one means one thing and the run's and the catalog's never drift apart."""

from collections import Counter
from dataclasses import asdict, dataclass, field, fields

from prefetch.engine.outcome import Reason
from prefetch.engine.plan import CatalogSpec

SAMPLE_IDS = 5

# An item's end when it was not counted under a Reason.
PREFETCHED = "prefetched"
ALREADY = "already"


def catalog_field(reason: Reason) -> str:
    """A catalog's count of items ended for `reason` (its own `not_reached` says whether it was reached)."""
    return "items_not_reached" if reason is Reason.NOT_REACHED else reason.value


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
    # items not prefetched, by reason (see Reason), with a few sample ids each in `samples`
    unsupported: int = 0
    no_meta: int = 0
    excluded: int = 0
    own_streams: int = 0
    duplicates: int = 0
    failed: int = 0
    items_not_reached: int = 0  # Reason.NOT_REACHED (`not_reached` says whether the catalog was reached)
    samples: dict = field(default_factory=dict)
    videos_failed: int = 0  # videos none of whose stream requests succeeded
    stream_requests_failed: int = 0  # failed after retries
    stream_requests_retried_ok: int = 0  # succeeded after at least one retry
    pages: int = 0
    items_over_page_cap: int = 0  # listed on a page past ADDON_MAX_PAGE_ITEMS: left out, never seen
    cache_requests_sent: int = 0
    cache_requests_ok: int = 0
    stop_reason: str = ""
    error: str = ""  # why a page of the catalog failed (the catalog counts in `catalogs_failed`)
    skipped: bool = False
    not_reached: bool = False  # selected, but the run stopped before it
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float = 0.0  # active time: pauses left out
    reserved: int = 0  # in flight: counted against the limit until the outcome is known
    unsupported_prefixes: Counter = field(default_factory=Counter)  # (type, id prefix) -> items, for one log line

    @property
    def label(self) -> str:
        """`Popular (movie) from Cinemeta`: two catalogs of one name told apart in logs."""
        return f"{self.name} ({self.type}) from {self.addon}"

    def report(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("reserved", "unsupported_prefixes")}

    def count(self, reason: Reason) -> int:
        return getattr(self, catalog_field(reason))


def catalog_result(catalog: CatalogSpec, **fields) -> CatalogResult:
    return CatalogResult(catalog.addon.name, catalog.type, catalog.id, catalog.name, catalog.kind, **fields)


@dataclass
class Tally:
    """The run's counts. `statistics()` is what pages, API, CLI and notifications read."""

    FAILURE_COUNTS = ("catalogs_failed", "stream_requests_failed", "stream_requests_skipped", "items_failed",
                      "meta_requests_failed")

    catalogs_total: int = 0
    catalogs_processed: int = 0  # walked, errored or not
    catalogs_skipped: int = 0  # no stream addon serves what they list
    catalogs_not_reached: int = 0
    catalogs_failed: int = 0  # a page errored (see the catalog's error)
    pages_fetched: int = 0
    items_seen: int = 0  # every item the catalogs listed and the walk took in (each has exactly one end)
    items_prefetched: int = 0
    prefetched_by_type: dict = field(default_factory=dict)
    movies_prefetched: int = 0
    series_prefetched: int = 0
    episodes_found: int = 0
    episodes_prefetched: int = 0
    already_prefetched: int = 0
    items_unsupported: int = 0
    items_no_meta: int = 0
    items_excluded: int = 0
    items_own_streams: int = 0
    items_duplicates: int = 0
    items_failed: int = 0
    items_not_reached: int = 0
    videos_failed: int = 0
    stream_requests: int = 0  # distinct stream URLs requested (retries count once)
    stream_attempts: int = 0  # every HTTP try, retries included
    stream_requests_ok: int = 0  # answered with a streams list (empty ones included)
    stream_requests_empty: int = 0  # of the ok ones: an empty list
    stream_requests_not_found: int = 0  # HTTP 404: the addon has nothing for it (an empty answer, not a failure)
    stream_requests_failed: int = 0  # after retries
    stream_requests_retried_ok: int = 0
    stream_requests_skipped: int = 0  # not made: their addon was given up
    stream_requests_before_resume: int = 0  # of stream_requests: made by this run before a worker was lost
    meta_requests: int = 0
    meta_requests_failed: int = 0
    cache_requests_sent: int = 0
    cache_requests_ok: int = 0
    items_done_before_resume: int = 0

    # --- items -----------------------------------------------------------------------------------
    def item_ended(self, result: CatalogResult, end: str, item_type: str, item_id: str, episodes: int = 0) -> None:
        """One item's end: PREFETCHED (with its warmed episodes), ALREADY, or a Reason."""
        if end == PREFETCHED:
            result.prefetched += 1
            self.items_prefetched += 1
            for by_type in (result.by_type, self.prefetched_by_type):
                by_type[item_type] = by_type.get(item_type, 0) + 1
            if item_type == "series":
                result.series += 1
                self.series_prefetched += 1
            elif item_type == "movie":
                result.movies += 1
                self.movies_prefetched += 1
            result.episodes += episodes
            self.episodes_prefetched += episodes
        elif end == ALREADY:
            result.already_prefetched += 1
            self.already_prefetched += 1
        else:
            reason = Reason(end)
            setattr(result, catalog_field(reason), result.count(reason) + 1)
            setattr(self, f"items_{reason.value}", getattr(self, f"items_{reason.value}") + 1)
            samples = result.samples.setdefault(reason.value, [])
            if len(samples) < SAMPLE_IDS:
                samples.append(item_id)

    def videos_failed_in(self, result: CatalogResult, count: int) -> None:
        result.videos_failed += count
        self.videos_failed += count

    # --- stream answers --------------------------------------------------------------------------
    def stream_answered(self, result: CatalogResult | None, *, ok: bool, not_found: bool, empty: bool,
                        attempts: int, before_resume: bool = False) -> None:
        self.stream_requests += 1
        self.stream_attempts += attempts
        if before_resume:
            self.stream_requests_before_resume += 1
        if not_found:
            self.stream_requests_not_found += 1
        elif ok:
            self.stream_requests_ok += 1
            self.stream_requests_empty += empty
            if attempts > 1:
                self.stream_requests_retried_ok += 1
                if result:
                    result.stream_requests_retried_ok += 1
        else:
            self.stream_requests_failed += 1
            if result:
                result.stream_requests_failed += 1

    # --- the outcome rule's questions ------------------------------------------------------------
    def anything_warmed(self) -> bool:
        """Some stream answer (now or before a resume), or something found still warm."""
        return bool(self.stream_requests_ok or self.stream_requests_not_found or self.already_prefetched
                    or self.items_done_before_resume)

    def anything_failed(self) -> bool:
        return any(getattr(self, name) for name in self.FAILURE_COUNTS)

    def unservable(self) -> bool:
        return bool(self.items_unsupported or self.items_no_meta)

    # --- invariants ------------------------------------------------------------------------------
    def violations(self) -> list[str]:
        """Rules every finished run's counts obey; a broken one is a bug, logged as a WARNING."""
        ends = self.items_prefetched + self.already_prefetched + sum(
            getattr(self, f"items_{reason.value}") for reason in Reason)
        rules = [
            (self.stream_requests == self.stream_requests_ok + self.stream_requests_not_found
             + self.stream_requests_failed,
             "stream requests = ok + not found + failed"),
            (self.stream_requests_empty <= self.stream_requests_ok, "empty answers are ok answers"),
            (self.stream_requests_retried_ok <= self.stream_requests_ok, "retried ok answers are ok answers"),
            (self.stream_attempts >= self.stream_requests - self.stream_requests_before_resume,
             "every stream request made at least one attempt"),
            (self.items_seen == ends, "every item seen has exactly one end (warmed, already warm or a reason)"),
            (sum(self.prefetched_by_type.values()) == self.items_prefetched, "prefetched items by type add up"),
            (self.catalogs_total == self.catalogs_processed + self.catalogs_skipped + self.catalogs_not_reached,
             "catalogs = walked + skipped + not reached"),
            (self.catalogs_failed <= self.catalogs_processed, "failed catalogs were walked"),
            (self.meta_requests_failed <= self.meta_requests, "failed meta requests were made"),
            (self.cache_requests_ok <= self.cache_requests_sent, "ok cache requests were sent"),
        ]
        return [text for holds, text in rules if not holds]

    def statistics(self) -> dict:
        data = asdict(self)
        data["prefetched_by_type"] = dict(self.prefetched_by_type)
        return data
