"""`manage.py prefetch`: one run in the foreground, with a progress bar on a terminal.

Exit status: 0 completed (with failures included: the summary counts them), 1 failed (among others a
run whose stream addons were all given up, or that had no usable stream addon), 130 interrupted,
2 bad input.
"""

import json
import logging
import signal
import sys
import threading

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from tqdm import tqdm

from addons.client import fetch_manifest_sync
from addons.manifest import AddonUrlError, ManifestError, normalize_addon_url
from addons.models import CATALOG_ROLES, STREAM_ROLES, AddonRole
from addons.redaction import redact_url
from addons.services import EXPECTED_FETCH_ERRORS, client_limits, looks_like_one_addon
from prefetch.deprecated_names import catalogs_with_old_names, statistics_with_old_names
from prefetch.engine.durations import parse_duration
from prefetch.engine.pace import ADAPTIVE
from prefetch.engine.plan import AddonSpec
from prefetch.models import PrefetchSettings, RunStatus, RunTrigger
from prefetch.runs.execute import execute_run
from prefetch.runs.lifecycle import RunRefused, create_run
from prefetch.runs.plan import plan_from_addons, plan_from_database, validate_plan

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

INT_OPTIONS = {
    "movies_global_limit": "--movies-global-limit",
    "series_global_limit": "--series-global-limit",
    "movies_per_catalog": "--movies-per-catalog",
    "series_per_catalog": "--series-per-catalog",
    "items_per_mixed_catalog": "--items-per-mixed-catalog",
}
DURATION_OPTIONS = {
    "delay_s": "--delay",
    "cache_validity_s": "--cache-validity",
    "max_execution_time_s": "--max-execution-time",
    "request_timeout_s": "--timeout",
}


class UsageError(Exception):
    pass


class Command(BaseCommand):
    help = "Run one prefetch in the foreground (saved configuration, or the addons given with --addon)."

    def add_arguments(self, parser):
        add_addon_argument(parser)
        for dest, flag in INT_OPTIONS.items():
            parser.add_argument(flag, dest=dest, type=str, metavar="N", help="-1 = unlimited")
        for dest, flag in DURATION_OPTIONS.items():
            parser.add_argument(flag, dest=dest, type=str, metavar="DUR", help="e.g. 500ms, 2s, 90m, 7d; -1 = unlimited"
                                + ("; auto = each answer's Cache-Control max-age" if dest == "cache_validity_s" else ""))
        parser.add_argument("--concurrency", type=str, metavar="N",
                            help="parallel requests per addon (with --adaptive: the most the limit may reach)")
        parser.add_argument("--adaptive", action="store_true",
                            help="adaptive pace: raise or lower the requests in flight per addon by its answers")
        parser.add_argument("--verify", type=str, metavar="N",
                            help="after the run, request again N streams it warmed per addon (0 = off)")
        parser.add_argument("--specials", action="store_true", help="include season 0 (specials)")
        parser.add_argument("--unreleased", action="store_true", help="include episodes not released yet")
        parser.add_argument(
            "--fallback-meta", dest="fallback_meta", metavar="URL|none",
            help="the addon that lists a series' episodes when no configured addon serves its meta; none = no fallback",
        )
        parser.add_argument("--json", action="store_true", help="print only the run summary as JSON on stdout")

    def handle(self, *args, **options):
        _logs_to_stderr()  # stdout carries only the summary
        try:
            overrides = self._overrides(options)
            addons = [parse_addon(value) for value in options["addon"]]
        except UsageError as error:
            self.stderr.write(f"error: {error}")
            sys.exit(EXIT_USAGE)
        plan = plan_from_addons(addons, overrides) if addons else plan_from_database(overrides)
        for warning in same_addon_warnings(plan.addons if addons else []):
            self.stderr.write(warning)
        try:
            validate_plan(plan)
            run = create_run(RunTrigger.CLI)
        except RunRefused as refusal:
            self.stderr.write(f"error: {refusal}")
            sys.exit(EXIT_USAGE)

        interrupted = threading.Event()
        previous_handler = signal.signal(signal.SIGINT, lambda *_: interrupted.set())
        bar = ProgressBar(enabled=sys.stderr.isatty())
        try:
            run = execute_run(run.pk, plan=plan, local_cancel=interrupted, listeners=[bar])
        finally:
            bar.close()
            signal.signal(signal.SIGINT, previous_handler)

        summary = run_summary(run)
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self._print_summary(summary)
        if interrupted.is_set():
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(EXIT_OK if run.status in (RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_FAILURES) else EXIT_FAILED)

    def _overrides(self, options) -> dict:
        overrides = {}
        for dest, flag in INT_OPTIONS.items():
            if options[dest] is not None:
                overrides[dest] = within_bounds(dest, flag, _int(options[dest], flag, minimum=-1))
        for dest, flag in DURATION_OPTIONS.items():
            if dest == "cache_validity_s" and options[dest] is not None:
                # `auto`: each answer's max-age, the saved validity where an answer gives none.
                overrides["cache_validity_auto"] = options[dest].strip().lower() == "auto"
                if overrides["cache_validity_auto"]:
                    continue
            if options[dest] is not None:
                try:
                    seconds = parse_duration(options[dest])
                except ValueError as error:
                    raise UsageError(f"{flag}: {error}") from None
                if dest == "request_timeout_s" and seconds <= 0:
                    raise UsageError("--timeout: every request needs a timeout above 0")
                if dest == "delay_s" and seconds < 0:
                    raise UsageError("--delay: use 0 for no delay")
                seconds = seconds if dest in ("delay_s", "request_timeout_s") else int(seconds)
                overrides[dest] = within_bounds(dest, flag, seconds)
        if options["concurrency"] is not None:
            overrides["concurrency"] = within_bounds(
                "concurrency", "--concurrency", _int(options["concurrency"], "--concurrency", minimum=1)
            )
        if options["adaptive"]:
            overrides["concurrency_mode"] = ADAPTIVE
        if options["verify"] is not None:
            overrides["verify_sample_size"] = within_bounds(
                "verify_sample_size", "--verify", _int(options["verify"], "--verify", minimum=0)
            )
        if options["specials"]:
            overrides["include_specials"] = True
        if options["unreleased"]:
            overrides["include_unreleased"] = True
        if options["fallback_meta"] is not None:
            overrides["fallback_meta_url"] = self._fallback_meta(options["fallback_meta"])
        return overrides

    def _fallback_meta(self, value: str) -> str:
        if value.strip().lower() == "none":
            return ""
        try:
            return normalize_addon_url(value)
        except AddonUrlError as error:
            raise UsageError(f"--fallback-meta {redact_url(value)}: {error}") from None

    def _print_summary(self, summary: dict) -> None:
        stats = summary["statistics"]
        timing = summary["timing"]
        paused = f", {timing['paused_s']:g} s paused" if timing.get("paused_s") else ""
        # why the walk stopped, where it says more than the status ("time limit reached", "cancelled")
        stop = f" ({summary['stop_reason']})" if summary["stop_reason"] not in ("completed", summary["status"]) else ""
        self.stdout.write(f"Run #{summary['id']} {summary['status']}{stop} in {timing['duration_s']} s{paused}")
        if summary["error"]:
            self.stdout.write(f"Error: {summary['error']}")
        by_type = ", ".join(f"{count} {kind}" for kind, count in stats.get("prefetched_by_type", {}).items())
        self.stdout.write(f"  items prefetched: {stats.get('items_prefetched', 0)}" + (f" ({by_type})" if by_type else ""))
        for label, keys in SUMMARY_LINES:
            self.stdout.write(f"  {label}: " + ", ".join(f"{stats.get(key, 0)} {text}" for key, text in keys))


# The text summary: every count of the run, failures and items not prefetched included.
SUMMARY_LINES = (
    ("items", (("episodes_prefetched", "episodes prefetched"), ("already_prefetched", "already prefetched"),
               ("items_failed", "failed"), ("videos_failed", "videos failed"))),
    ("not prefetched", (("items_unsupported", "unsupported"), ("items_no_meta", "without meta"),
                        ("items_excluded", "excluded by the episode policy"),
                        ("items_own_streams", "with their own streams"), ("items_duplicates", "duplicates"),
                        ("items_not_reached", "not reached (stopped)"))),
    ("stream requests", (("stream_requests", "made"), ("stream_requests_ok", "ok"),
                         ("stream_requests_not_found", "not found (404)"),
                         ("stream_requests_failed", "failed after retries"),
                         ("stream_requests_retried_ok", "ok after a retry"),
                         ("stream_requests_skipped", "not made (addon given up)"))),
    ("catalogs", (("catalogs_processed", "walked"), ("catalogs_failed", "failed"), ("catalogs_skipped", "skipped"),
                  ("catalogs_not_reached", "not reached"), ("pages_fetched", "pages"))),
)


# --- `--addon ROLE=URL`, shared with prefetch_releases ----------------------------------------------
def add_addon_argument(parser) -> None:
    parser.add_argument(
        "--addon", action="append", default=[], metavar="ROLE=URL",
        help="ROLE is both, catalog or stream; URL is the addon's manifest URL. Repeatable.",
    )


def parse_addon(value: str) -> AddonSpec:
    """One `--addon ROLE=URL`: the URL normalised and its manifest fetched (UsageError otherwise)."""
    role, sep, raw_url = value.partition("=")
    if not sep or role not in AddonRole.values:
        raise UsageError(f"--addon {value.split('=')[0]!r}: expected ROLE=URL with ROLE one of both, catalog, stream")
    try:
        url = normalize_addon_url(raw_url)
        manifest = fetch_manifest_sync(url, limits=client_limits())
    except (AddonUrlError, ManifestError) as error:
        raise UsageError(f"--addon {role}={redact_url(raw_url)}: {error}") from None
    except EXPECTED_FETCH_ERRORS as error:  # an URL the HTTP stack refuses to build or send
        raise UsageError(f"--addon {role}={redact_url(raw_url)}: could not fetch the manifest: "
                         f"{error.__class__.__name__}") from None
    if manifest.configuration_required:
        raise UsageError(f"--addon {redact_url(url)}: this addon must be configured first (configurationRequired)")
    return AddonSpec(
        url=url, name=manifest.name, manifest=manifest,
        serves_catalogs=role in CATALOG_ROLES,
        serves_streams=role in STREAM_ROLES,
    )


def same_addon_warnings(addons: list[AddonSpec]) -> list[str]:
    """Two URLs of the run (already one per URL: merge_addons) that look like the same addon, by the
    Addons page's rule. Warned, not merged: two configurations of one addon can be on purpose."""
    warnings = []
    for index, addon in enumerate(addons):
        manifest_id = addon.manifest.data.get("id")
        for other in addons[index + 1:]:
            if looks_like_one_addon(manifest_id, addon, other.manifest.data.get("id"), other):
                warnings.append(
                    f"warning: {redact_url(addon.url)} and {redact_url(other.url)} are the same addon "
                    f"(manifest id {manifest_id}) under two URLs: both are used, so what they share is requested "
                    "twice. Drop one unless the two configurations differ on purpose."
                )
    return warnings


def _logs_to_stderr() -> None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)


def within_bounds(setting: str, flag: str, value):
    """The saved setting's rules (its model validators, bounds included) for a command-line value."""
    try:
        PrefetchSettings._meta.get_field(setting).run_validators(value)
    except ValidationError as error:
        raise UsageError(f"{flag}: {' '.join(error.messages)}") from None
    return value


def _int(value: str, flag: str, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise UsageError(f"{flag}: {value!r} is not a whole number") from None
    if number < minimum:
        raise UsageError(f"{flag}: must be {minimum} or more")
    return number


def run_summary(run) -> dict:
    return {
        "id": run.pk,
        "status": run.status,
        "stop_reason": run.stop_reason,
        "error": run.error,
        "statistics": statistics_with_old_names(run.statistics),
        "catalogs": catalogs_with_old_names(run.catalogs),
        "addons": run.addons,
        "verification": run.verification or None,
        "timing": {
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "duration_s": run.duration_s,  # active time
            "paused_s": run.paused_s,
        },
    }


class ProgressBar:
    """A tqdm bar on stderr fed by the engine's progress snapshots."""

    def __init__(self, enabled: bool):
        self.bar = tqdm(total=None, unit="req", file=sys.stderr, disable=not enabled, dynamic_ncols=True)

    def __call__(self, snapshot: dict, event: str) -> None:
        stats = snapshot["statistics"]
        self.bar.total = snapshot["catalogs_total"] or None
        self.bar.n = snapshot["catalogs_done"]
        self.bar.set_postfix(
            movies=stats["movies_prefetched"], series=stats["series_prefetched"],
            streams=stats["stream_requests"], failed=stats["stream_requests_failed"], refresh=False,
        )
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()
