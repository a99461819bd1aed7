"""`manage.py import_config FILE`: apply a configuration written by export_config ('-' = stdin).

Bad input (an unreadable file, not JSON, nested past the recursion limit, a value a rule refuses) is
one line on stderr and exit status 2, never a traceback."""

import json
import sys

from prefetcher_site.configuration import ConfigError, import_config
from prefetcher_site.management.bad_input import OneLineUsageCommand, bad_input


class Command(OneLineUsageCommand):
    help = "Apply a configuration exported by export_config (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="JSON file from export_config, or - for standard input")

    def handle(self, *args, file, **options):
        try:
            if file == "-":
                data = json.load(sys.stdin)
            else:
                with open(file, encoding="utf-8") as handle:
                    data = json.load(handle)
        except OSError as error:
            raise bad_input(f"Cannot read {file}: {error.strerror}") from None
        except RecursionError:
            raise bad_input(f"{file} is not usable JSON: nested too deep.") from None
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, an integer of too many digits
            raise bad_input(f"{file} is not JSON: {error}") from None
        try:
            report = import_config(data)
        except ConfigError as error:
            raise bad_input(f"Nothing imported: {error}") from None
        for warning in report["warnings"]:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(
            f"Imported {report['settings']} settings, {report['addons_created']} new and "
            f"{report['addons_updated']} updated addons ({report['addons_skipped']} skipped), "
            f"{report['catalogs']} catalogs, {report['schedules']} schedules."
        )
