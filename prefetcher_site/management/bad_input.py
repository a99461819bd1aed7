"""Bad input to this site's commands: one line on stderr and exit status 2, never a traceback.

A `bad_input(message)` raised from `handle` is printed by manage.py as `CommandError: <message>` and exits 2;
`OneLineUsageCommand` does the same for what argparse refuses (an unknown option, a value of the
wrong type), which it would otherwise print after the whole usage text."""

import argparse
import socket
import sys

from django.core.management.base import BaseCommand, CommandError

EXIT_USAGE = 2


def bad_input(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_USAGE)


class OneLineUsageCommand(BaseCommand):
    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if parser.called_from_command_line:  # call_command keeps Django's CommandError
            parser.error = self._usage_error
        return parser

    def _usage_error(self, message: str):
        self.stderr.write(f"CommandError: {message}")
        sys.exit(EXIT_USAGE)


def port_number(text: str) -> int:
    """An argparse type: a TCP port to listen on or to ask."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number (1 to 65535): {text!r}")
    return port


def resolvable_host(host: str) -> str:
    """An argparse type: an address or a name this machine resolves (uvicorn would fail later, after
    the embedded worker has started)."""
    try:
        socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError) as error:
        raise argparse.ArgumentTypeError(f"cannot resolve {host!r}: {getattr(error, 'strerror', None) or error}")
    return host
