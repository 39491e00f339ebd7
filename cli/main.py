"""Entry point: one sub-command per module, registered in SUBCOMMANDS.

Each sub-command module has ``add_parser(subparsers)`` and sets ``func`` on its parser;
``func(args)`` returns the process exit code. Heavy imports stay inside ``func``.

:func:`main` is the one place where failures meet the user: a :class:`CadenceError`
(every expected failure: bad input, a missing model, an output that cannot be written)
or an ``OSError`` is one line ``cadence CMD: error: ...`` and exit code 2; Ctrl-C (or
SIGTERM) is ``cadence CMD: cancelled`` and exit code 130; running out of memory is one
line too. Anything else is a bug: one line asking for a report, exit code 1, and the
traceback only with ``CADENCE_DEBUG=1``.
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from ..errors import CadenceError, one_line

SUBCOMMANDS = ("generate", "convert", "bake", "dataset", "face", "demo", "gesture")
EXIT_ERROR = 2
EXIT_CANCELLED = 130
EXIT_BUG = 1


class CliError(CadenceError):
    """A user-facing error: printed without a traceback, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cadence",
        description="Cadence: character animation from words, voice and sliders.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        importlib.import_module(f"{__package__}.{name}").add_parser(sub)
    return parser


def describe_os_error(exc: OSError) -> str:
    """An OSError as the user should read it: the file, then the reason."""
    if isinstance(exc, CadenceError):
        return str(exc)
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        return f"cannot use {exc.filename}: {reason}"
    return reason


def _terminate(signum, frame):  # pragma: no cover - exercised by a subprocess test
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    prefix = f"cadence {args.command}"
    previous = None
    try:  # SIGTERM cancels like Ctrl-C, so temporary files are removed
        previous = signal.signal(signal.SIGTERM, _terminate)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGTERM
        previous = None
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"\n{prefix}: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except CadenceError as exc:
        print(f"{prefix}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"{prefix}: error: {one_line(describe_os_error(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except MemoryError:
        print(f"{prefix}: error: out of memory (see the limits in docs/guide/troubleshooting.md)",
              file=sys.stderr)
        return EXIT_ERROR
    except RecursionError:
        print(f"{prefix}: error: an input is nested too deeply", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:
        if os.environ.get("CADENCE_DEBUG"):
            raise
        print(f"{prefix}: internal error: {type(exc).__name__}: {one_line(exc)} (a bug: please "
              f"report it; CADENCE_DEBUG=1 shows the traceback)", file=sys.stderr)
        return EXIT_BUG
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
