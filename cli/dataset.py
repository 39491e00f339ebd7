"""``cadence dataset``: build the processed training data and report on it."""
from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dataset", help="convert the motion capture data and print statistics",
                       description="Unpack and convert the Bandai Namco motion data into the "
                                   "canonical skeleton and learning representation (cached), "
                                   "then report on it.")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    s = actions.add_parser("stats", help="counts per label, hours of motion, split sizes")
    s.add_argument("--json", action="store_true", help="print machine-readable JSON")
    s.add_argument("--rebuild", action="store_true", help="ignore the cache and convert again")
    s.set_defaults(func=run_stats)
    b = actions.add_parser("build", help="convert all takes now (and cache them)")
    b.set_defaults(func=run_build)


def _load(rebuild: bool):
    from ..dataset import pipeline
    from .main import CliError
    try:
        return pipeline.load_or_build(rebuild=rebuild, progress=True)
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from None


def run_build(args: argparse.Namespace) -> int:
    from ..dataset import pipeline
    ds = _load(rebuild=True)
    print(f"converted {len(ds)} takes, {ds.features.shape[0]} frames -> {pipeline.cache_path()}")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    from ..dataset import pipeline
    st = pipeline.stats(_load(args.rebuild))
    if args.json:
        print(json.dumps(st, indent=2))
        return 0
    print(f"Bandai Namco motion: {st['takes']} takes, {st['frames']} frames at {st['fps']:g} fps, "
          f"{st['hours']:.2f} hours")
    for key in ("split", "set", "content", "style"):
        print(f"\nper {key}:")
        for label, row in st[key].items():
            print(f"  {label:<22} {row['takes']:>5} takes {row['frames']:>8} frames "
                  f"{row['frames'] / st['fps'] / 60:7.1f} min")
    return 0
