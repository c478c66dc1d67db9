"""The operator's command line: ``salesorders <command>`` or ``python -m salesorders <command>``.

Commands work on an SQLite file or a PostgreSQL DSN alike (``--store PATH|postgresql://...``, or
the ``SALESORDERS_STORE`` environment variable). Exit codes: 0 success, 1 a problem was found
(stock discrepancies, pending migrations), 2 usage or input errors, with the error on stderr.
Output fits 80 columns; tables use rich when the ``cli`` extra is installed; every listing has
``--json``. Built on the service layer only; the demo needs no extra.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TextIO

from salesorders.cli.output import Output
from salesorders.cli.parser import Command, build_parser
from salesorders.errors import SalesOrdersError

__all__ = ["main"]


def _quiet_stdout() -> None:
    """After a closed pipe: send what is left to the null device, so the interpreter's last
    flush raises nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real stdout: nothing to silence
        pass


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line with ``argv`` (default: the process's), writing to ``out``
    (default: stdout); returns the exit code."""
    stream = sys.stdout if out is None else out
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error argparse has printed
        return stop.code if isinstance(stop.code, int) else 2
    try:
        if args.version:
            from salesorders import __version__

            stream.write(f"salesorders {__version__}\n")
            stream.flush()
            return 0
        if args.command is None:
            parser.print_usage(sys.stderr)
            print("error: name a command, e.g. salesorders demo", file=sys.stderr)
            return 2
        output = Output(stream, locale=args.locale, plain=args.plain)
        run: Command = args.run
        code = run(args, output)
        stream.flush()
        return code
    except SalesOrdersError as error:
        stream.flush()
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        if stream is sys.stdout:
            _quiet_stdout()
        return 0
    except OSError as error:  # a file to read or write: missing, unreadable, a directory ...
        stream.flush()
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
