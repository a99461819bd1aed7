"""What a run shows: the live snapshot (with its ETA), the log lines of a catalog's and the run's end,
and the final report with the outcome and why a failed run failed."""

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from addons.redaction import redact_url
from prefetch.engine.outcome import FAILING_STOPS, Outcome, Reason, Stop
from prefetch.engine.tally import CatalogResult, catalog_result

if TYPE_CHECKING:
    from prefetch.engine.walk import PrefetchEngine

# The ETA is shown once this share of the planned work is done and this much active time has passed:
# earlier, one slow first page or meta request would swing it by minutes.
ETA_MIN_FRACTION = 0.1
ETA_MIN_ACTIVE_S = 3.0

OUTCOME_WORDS = {
    Outcome.COMPLETED: "completed",
    Outcome.COMPLETED_WITH_FAILURES: "completed with failures",
    Outcome.FAILED: "failed",
    Outcome.CANCELLED: "cancelled",
}


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


class RunReporter:
    def __init__(self, engine: "PrefetchEngine"):
        self.engine = engine
        self.progress_seq = 0

    # --- live ------------------------------------------------------------------------------------
    def planned_fraction_done(self) -> float:
        """The share of the planned catalogs walked, the current one by its limit when it has one."""
        engine = self.engine
        total = len(engine.plan.catalogs)
        if not total:
            return 1.0
        done = engine.tally.catalogs_processed + engine.tally.catalogs_skipped
        current = engine.current_catalog
        if current is not None and current.finished_at is None:
            limit = engine.settings.per_catalog_limit(current.kind)
            if limit > 0:
                done += min(1.0, current.prefetched / limit)
        return min(1.0, done / total)

    def eta_s(self) -> float | None:
        """Remaining planned work at the rate measured so far; None until that means something."""
        engine = self.engine
        active = engine.run_clock.active_s()
        fraction = self.planned_fraction_done()
        if engine.paused or fraction < ETA_MIN_FRACTION or active < ETA_MIN_ACTIVE_S:
            return None
        eta = active * (1 - fraction) / fraction
        limit = engine.settings.max_execution_time_s
        if limit >= 0:
            eta = min(eta, max(0.0, limit - active))
        return round(eta, 1)

    def snapshot(self) -> dict:
        """Live progress: monotonically increasing counters plus what is being worked on now."""
        engine = self.engine
        settings = engine.settings
        self.progress_seq += 1
        catalog = engine.current_catalog
        return {
            "seq": self.progress_seq,
            "paused": engine.paused,
            "elapsed_s": round(engine.run_clock.active_s(), 1),  # active time
            "paused_s": round(engine.run_clock.paused_s(), 1),
            "eta_s": self.eta_s(),
            "max_execution_time_s": settings.max_execution_time_s,
            "catalogs_total": len(engine.plan.catalogs),
            "catalogs_done": engine.tally.catalogs_processed + engine.tally.catalogs_skipped,
            "catalog": None if catalog is None else {
                "name": catalog.name, "type": catalog.type, "kind": catalog.kind, "addon": catalog.addon,
                "prefetched": catalog.prefetched, "pages": catalog.pages,
                "limit": settings.per_catalog_limit(catalog.kind),
            },
            "item": engine.current_item,
            "limits": {
                "movies_global": settings.movies_global_limit,
                "series_global": settings.series_global_limit,
                "cache_requests_global": settings.cache_requests_global,
                "cache_requests_enabled": engine.cache_requests_enabled,
            },
            "statistics": self.statistics(),
            "addons": [gate.report() for gate in engine.gates.values()],
        }

    def statistics(self) -> dict:
        stats = self.engine.tally.statistics()
        stats["active_s"] = round(self.engine.run_clock.active_s(), 3)
        stats["paused_s"] = round(self.engine.run_clock.paused_s(), 3)
        return stats

    # --- the end ---------------------------------------------------------------------------------
    def report(self) -> dict:
        engine = self.engine
        finished_at = datetime.now(timezone.utc)
        stop = engine.stop_reason or Stop.COMPLETED
        not_reached = [
            catalog_result(catalog, not_reached=True, stop_reason=f"not reached ({stop})")
            for index, catalog in enumerate(engine.plan.catalogs)
            if index not in engine.reached_catalogs
        ]
        engine.tally.catalogs_not_reached = len(not_reached)
        outcome = engine.outcome()
        failure = self.failure(outcome, stop) if outcome == Outcome.FAILED else ""
        violations = self.violations()
        if violations:
            engine.log.warning("The run's counts do not add up (a bug; please report it): %s", "; ".join(violations))
        stats = self.statistics()
        # over the stream requests made (a retried request counts once); `stream_attempts` has every try
        stats["success_rate"] = (
            round(100.0 * stats["stream_requests_ok"] / stats["stream_requests"], 1) if stats["stream_requests"] else None
        )
        return {
            "stop_reason": stop.value,
            "outcome": outcome.value,
            "failure": failure,
            "count_violations": violations,
            "statistics": stats,
            "catalogs": [result.report() for result in [*engine.catalog_results, *not_reached]],
            "addons": [gate.report() for gate in engine.gates.values()],
            "verification": engine.verification,
            "timing": {
                "started_at": engine.started_at.isoformat(),
                "finished_at": finished_at.isoformat(),
                "duration_s": stats["active_s"],  # active time: pauses left out
                "paused_s": stats["paused_s"],
                "wall_s": round((finished_at - engine.started_at).total_seconds(), 3),
            },
        }

    def violations(self) -> list[str]:
        engine = self.engine
        tally = engine.tally
        gates = engine.stream_gates()
        broken = tally.violations()
        if sum(gate.requests for gate in gates) != tally.stream_requests:
            broken.append("the stream addons' requests add up to the run's")
        if sum(gate.skipped for gate in gates) != tally.stream_requests_skipped:
            broken.append("the stream addons' requests not made add up to the run's")
        return broken

    def failure(self, outcome: Outcome, stop: Stop) -> str:
        """Why a failed run failed, naming the addons and what happened to them."""
        engine = self.engine
        tally = engine.tally
        if stop in FAILING_STOPS:
            return engine.failure or engine.supervisor.failure_text(stop)
        gates = engine.stream_gates()
        if gates and all(gate.given_up for gate in gates):
            return "every stream addon was given up: " + "; ".join(f"{g.addon.label} {g.message}" for g in gates)
        if tally.anything_failed():
            troubles = [f"{gate.addon.label}: {gate.last_error}" for gate in engine.gates.values() if gate.last_error]
            parts = []
            if tally.catalogs_failed:
                parts.append(f"{tally.catalogs_failed} of {tally.catalogs_total} catalogs failed")
            if tally.stream_requests_failed:
                parts.append(f"{plural(tally.stream_requests_failed, 'stream request')} failed")
            return f"nothing could be warmed ({', '.join(parts) or 'every request failed'}): " + "; ".join(troubles)
        return (
            f"no item the catalogs listed could be warmed: {plural(tally.items_unsupported, 'item')} served by "
            f"no stream addon (type or id prefix), {plural(tally.items_no_meta, 'series', 'series')} without a "
            "meta source (see each catalog's counts)"
        )

    def log_end(self, report: dict) -> None:
        """The run's last lines: its real times and the outcome the run page shows."""
        stats = report["statistics"]
        engine = self.engine
        engine.log.info(
            "Run finished: %s (stop: %s) in %.1f s active (%.1f s paused): %s prefetched (%s; %s), "
            "%d already prefetched, %s failed, %s failed, %s failed after retries, %d not found (404), "
            "%d succeeded after a retry, %s failed; not prefetched: %d unsupported, %d without meta, "
            "%d excluded, %d with their own streams, %d duplicates, %d not reached",
            OUTCOME_WORDS[Outcome(report["outcome"])], report["stop_reason"], stats["active_s"], stats["paused_s"],
            plural(stats["items_prefetched"], "item"),
            ", ".join(f"{n} {t}" for t, n in stats["prefetched_by_type"].items()) or "none",
            plural(stats["episodes_prefetched"], "episode"), stats["already_prefetched"],
            plural(stats["items_failed"], "item"), plural(stats["videos_failed"], "video"),
            plural(stats["stream_requests_failed"], "stream request"), stats["stream_requests_not_found"],
            stats["stream_requests_retried_ok"], plural(stats["catalogs_failed"], "catalog"),
            stats["items_unsupported"], stats["items_no_meta"], stats["items_excluded"], stats["items_own_streams"],
            stats["items_duplicates"], stats["items_not_reached"],
        )
        if report["failure"]:
            engine.log.error("The run failed: %s", report["failure"])

    def log_catalog_end(self, result: CatalogResult) -> None:
        """One line for the catalog, one per prefix mismatch, one per other reason (never one per item)."""
        log = self.engine.log
        log.info(
            "Catalog %s done: %d prefetched, %d already prefetched, %d failed (%s, %s failed after retries), "
            "%d unsupported, %d without meta, %d excluded, %d with their own streams, %d duplicates, "
            "%d not reached, %s (%s)",
            result.label, result.prefetched, result.already_prefetched, result.failed,
            plural(result.videos_failed, "video"), plural(result.stream_requests_failed, "stream request"),
            result.unsupported, result.no_meta, result.excluded, result.own_streams, result.duplicates,
            result.items_not_reached, plural(result.pages, "page"), result.stop_reason,
        )
        for (item_type, prefix), count in sorted(result.unsupported_prefixes.items()):
            log.warning("Catalog %s: %s %s `%s…`; %s", result.label, plural(count, f"{item_type} item"),
                        "has an id" if count == 1 else "have ids", prefix, self._stream_scope(item_type))
        explanations = {
            Reason.NO_META: "series whose episodes are unknown: no configured addon serves their meta"
                            + self._fallback_note(),
            Reason.EXCLUDED: "series whose every episode is left out by the episode policy "
                             "(specials, unreleased episodes, episodes per series, new episodes only)",
            Reason.OWN_STREAMS: "items whose every video carries its own streams (nothing to request)",
        }
        for reason, text in explanations.items():
            if result.count(reason):
                log.info("Catalog %s: %d %s, e.g. %s", result.label, result.count(reason), text,
                         ", ".join(result.samples.get(reason.value, [])))

    def _stream_scope(self, item_type: str) -> str:
        """What the stream addons serve, for a prefix-mismatch message."""
        scopes = [addon.manifest.scope("stream") for addon in self.engine.plan.stream_addons]
        if not any(item_type in types for types, _ in scopes):
            served = sorted({t for types, _ in scopes for t in types})
            return f"no stream addon serves type {item_type} (they serve {', '.join(served) or 'nothing'})"
        prefixes = [prefixes for types, prefixes in scopes if item_type in types]
        if any(p is None for p in prefixes):  # unreachable: an addon serving any id would have served it
            return "no stream addon serves them"
        served = sorted({p for group in prefixes for p in group})
        return f"the stream addons serve {item_type} ids {', '.join(f'`{p}`' for p in served)}"

    def _fallback_note(self) -> str:
        engine = self.engine
        url = engine.settings.fallback_meta_url
        if not url:
            return " (no fallback meta addon is set: setting 'fallback meta addon', or --fallback-meta URL)"
        if engine.warmer.meta_sources.fallback_unreachable:
            return f" (the fallback meta addon {redact_url(url)} could not be reached)"
        return ""
