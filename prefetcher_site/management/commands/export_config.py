"""`manage.py export_config [--include-secrets] [--output FILE]`: the configuration as JSON.
A file that cannot be written is one line on stderr and exit status 2."""

import json
import os

from prefetcher_site.configuration import export_config
from prefetcher_site.management.bad_input import OneLineUsageCommand, bad_input


class Command(OneLineUsageCommand):
    help = "Print the configuration (settings, addons, catalog selection, schedules) as JSON."

    def add_arguments(self, parser):
        parser.add_argument(
            "--include-secrets", action="store_true",
            help="keep addon and proxy URLs whole (they may hold API keys); redacted otherwise",
        )
        parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")

    def handle(self, *args, include_secrets, output, **options):
        text = json.dumps(export_config(include_secrets=include_secrets), indent=2, ensure_ascii=False) + "\n"
        if output:
            try:
                with open(output, "w", encoding="utf-8") as handle:
                    handle.write(text)
                if include_secrets:
                    os.chmod(output, 0o600)
            except OSError as error:
                raise bad_input(f"Cannot write {output}: {error.strerror}") from None
            self.stderr.write(f"Configuration written to {output}" + (" (with secrets)" if include_secrets else ""))
        else:
            self.stdout.write(text, ending="")
