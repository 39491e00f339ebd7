"""Entry point: one sub-command per module, registered in SUBCOMMANDS.

Each sub-command module has ``add_parser(subparsers)`` and sets ``func`` on its parser;
``func(args)`` returns the process exit code. Heavy imports stay inside ``func``.
"""
from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = ("generate", "convert", "bake", "dataset", "face", "demo", "gesture")


class CliError(Exception):
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"cadence {args.command}: error: {exc}", file=sys.stderr)
        return 2
