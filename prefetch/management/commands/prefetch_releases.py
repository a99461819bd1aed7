"""`manage.py prefetch_releases`: one release-day pass now, in the foreground.

Warms the announced episodes that have been out for the release delay (the saved one, or
--release-delay), as beat's pass does. Exit status: 0 done (also when nothing was due), 1 the run
failed or another run is active, 2 bad input.
"""

import json
import sys

from django.core.management.base import BaseCommand

from prefetch.engine.durations import parse_duration
from prefetch.management.commands.prefetch import EXIT_FAILED, EXIT_OK, EXIT_USAGE, _logs_to_stderr, run_summary
from prefetch.models import PrefetchSettings, RunStatus, RunTrigger
from prefetch.releases import release_run_options
from prefetch.runs import RunRefused, create_run, execute_run


class Command(BaseCommand):
    help = "Warm the announced episodes that are out for the release delay, now (one release-day pass)."

    def add_arguments(self, parser):
        parser.add_argument("--release-delay", metavar="DUR", help="e.g. 0, 30m, 1h (default: the saved setting)")
        parser.add_argument("--json", action="store_true", help="print only the summary as JSON on stdout")

    def handle(self, *args, **options):
        _logs_to_stderr()
        delay_s = PrefetchSettings.load().release_delay_s
        if options["release_delay"] is not None:
            try:
                delay_s = parse_duration(options["release_delay"])
            except ValueError as error:
                self.stderr.write(f"error: --release-delay: {error}")
                sys.exit(EXIT_USAGE)
            if delay_s < 0:
                self.stderr.write("error: --release-delay: use 0 or more")
                sys.exit(EXIT_USAGE)
        run_options = release_run_options(int(delay_s))
        if run_options is None:
            summary = {"id": None, "status": "nothing due", "releases": 0}
        else:
            try:
                run = create_run(RunTrigger.RELEASE, run_options)
            except RunRefused as refusal:
                self.stderr.write(f"error: {refusal}")
                sys.exit(EXIT_FAILED)
            run = execute_run(run.pk)
            summary = {**run_summary(run), "releases": len(run_options["releases"])}
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
        sys.exit(EXIT_OK if summary["status"] in ("nothing due", RunStatus.COMPLETED) else EXIT_FAILED)
