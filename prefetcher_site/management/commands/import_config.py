"""`manage.py import_config FILE`: apply a configuration written by export_config ('-' = stdin).

Bad input (an unreadable file, not JSON, nested past the recursion limit, a value a rule refuses) is
one line on stderr and exit status 2, never a traceback."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from prefetcher_site.configuration import ConfigError, import_config

EXIT_USAGE = 2


class Command(BaseCommand):
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
            raise CommandError(f"Cannot read {file}: {error.strerror}", returncode=EXIT_USAGE) from None
        except RecursionError:
            raise CommandError(f"{file} is not usable JSON: nested too deep.", returncode=EXIT_USAGE) from None
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, an integer of too many digits
            raise CommandError(f"{file} is not JSON: {error}", returncode=EXIT_USAGE) from None
        try:
            report = import_config(data)
        except ConfigError as error:
            raise CommandError(f"Nothing imported: {error}", returncode=EXIT_USAGE) from None
        for warning in report["warnings"]:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(
            f"Imported {report['settings']} settings, {report['addons_created']} new and "
            f"{report['addons_updated']} updated addons ({report['addons_skipped']} skipped), "
            f"{report['catalogs']} catalogs, {report['schedules']} schedules."
        )
