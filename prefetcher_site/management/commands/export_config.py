"""`manage.py export_config [--include-secrets] [--output FILE]`: the configuration as JSON."""

import json

from django.core.management.base import BaseCommand

from prefetcher_site.configuration import export_config


class Command(BaseCommand):
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
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
            if include_secrets:
                import os

                os.chmod(output, 0o600)
            self.stderr.write(f"Configuration written to {output}" + (" (with secrets)" if include_secrets else ""))
        else:
            self.stdout.write(text, ending="")
