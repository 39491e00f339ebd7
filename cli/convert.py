"""``cadence convert``: any BVH -> a BVH on the canonical skeleton."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert a motion file to the canonical skeleton",
                       description="Read a BVH with any skeleton (Bandai Namco, CMU, Mixamo or "
                                   "canonical names; cm or m; Y or Z up) and write it on "
                                   "Cadence's canonical SMPL-X skeleton as a Y-up, centimetre "
                                   "BVH, the convention most tools import.")
    p.add_argument("input", help="input .bvh")
    p.add_argument("--out", required=True, help="output .bvh")
    p.add_argument("--fps", type=float, default=30.0, help="output frame rate (default 30)")
    p.add_argument("--no-floor", action="store_true",
                   help="keep the source's height instead of putting the feet on the floor")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..motion.bvh import BvhError, read_bvh
    from ..motion.convert import bvh_to_canonical
    from ..motion.export import write_canonical_bvh
    from .main import CliError
    if args.fps <= 0:
        raise CliError("--fps must be positive")
    try:
        motion = bvh_to_canonical(read_bvh(args.input), fps=args.fps, fix_floor=not args.no_floor)
    except (BvhError, ValueError) as exc:
        raise CliError(str(exc)) from None
    write_canonical_bvh(args.out, motion)
    print(f"wrote {args.out}: {motion.num_frames} frames at {motion.fps:g} fps "
          f"({motion.duration:.2f} s) on the canonical skeleton")
    return 0
