"""`manage.py prefetch_releases`: one release-day pass now, in the foreground.

Warms the announced episodes that have been out for the release delay (the saved one, or
--release-delay), as beat's pass does, on the saved stream addons or on those given with --addon
(as `prefetch --addon`; a release run requests no catalog, so it needs stream addons only).
Exit status: 0 done (also when nothing was due), 1 the run failed or another run is active, 2 bad
input (also: no stream addon to warm them on).
"""

import json
import sys

from django.core.management.base import BaseCommand

from prefetch.engine.durations import parse_duration
from prefetch.management.commands.prefetch import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    _logs_to_stderr,
    add_addon_argument,
    parse_addon,
    run_summary,
    same_addon_warnings,
    within_bounds,
)
from prefetch.models import PrefetchSettings, RunStatus, RunTrigger
from prefetch.releases import release_run_options
from prefetch.runs.execute import execute_run
from prefetch.runs.lifecycle import RunRefused, create_run
from prefetch.runs.plan import plan_from_addons, plan_from_database, validate_plan


class Command(BaseCommand):
    help = "Warm the announced episodes that are out for the release delay, now (one release-day pass)."

    def add_arguments(self, parser):
        add_addon_argument(parser)
        parser.add_argument("--release-delay", metavar="DUR", help="e.g. 0, 30m, 1h (default: the saved setting)")
        parser.add_argument("--json", action="store_true", help="print only the summary as JSON on stdout")

    def handle(self, *args, **options):
        _logs_to_stderr()
        try:
            delay_s = self._delay(options["release_delay"])
            addons = [parse_addon(value) for value in options["addon"]]
            if addons and not any(addon.serves_streams for addon in addons):
                raise UsageError("--addon: a release run needs a stream addon (ROLE stream or both)")
        except UsageError as error:
            self.stderr.write(f"error: {error}")
            sys.exit(EXIT_USAGE)
        run_options = release_run_options(int(delay_s))
        if run_options is None:
            summary = {"id": None, "status": "nothing due", "releases": 0}
        else:
            summary = self._warm(run_options, addons)
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        elif summary["id"] is None:
            self.stdout.write("No announced episode is due.")
        else:
            stats = summary["statistics"]
            self.stdout.write(
                f"Run #{summary['id']} {summary['status']}: {summary['releases']} released episodes, "
                f"{stats.get('stream_requests', 0)} stream requests, {stats.get('stream_requests_failed', 0)} failed"
            )
        done = ("nothing due", RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_FAILURES)  # as `prefetch` exits
        sys.exit(EXIT_OK if summary["status"] in done else EXIT_FAILED)

    def _delay(self, value: str | None) -> float:
        if value is None:
            return PrefetchSettings.load().release_delay_s
        try:
            delay_s = parse_duration(value)
        except ValueError as error:
            raise UsageError(f"--release-delay: {error}") from None
        if delay_s < 0:
            raise UsageError("--release-delay: use 0 or more")
        return within_bounds("release_delay_s", "--release-delay", int(delay_s))

    def _warm(self, run_options: dict, addons: list) -> dict:
        releases, overrides = run_options["releases"], run_options["settings"]
        try:  # checked before a run exists: no stream addon is bad input, not a failed run
            if addons:
                plan = plan_from_addons(addons, overrides, releases=releases)
                for warning in same_addon_warnings(plan.addons):
                    self.stderr.write(warning)
            else:
                plan = plan_from_database(overrides, releases=releases)
            validate_plan(plan)
        except RunRefused as refusal:
            hint = "" if addons else " Add one on the Addons page, or give one with --addon stream=URL."
            self.stderr.write(f"error: {refusal}{hint}")
            sys.exit(EXIT_USAGE)
        try:
            run = create_run(RunTrigger.RELEASE, run_options)
        except RunRefused as refusal:
            self.stderr.write(f"error: {refusal}")
            sys.exit(EXIT_FAILED)
        # With --addon the run works on the plan given here; from the saved addons it builds its own
        # (as beat's run does, and again on a resume).
        run = execute_run(run.pk, plan=plan if addons else None)
        return {**run_summary(run), "releases": len(releases)}
