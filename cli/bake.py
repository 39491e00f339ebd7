"""``./cadence bake``: bake a motion file onto the canonical rig in a new .blend.

Runs the same workflow as the "Bake Motion File" operator (``blender/bake_file.py``)
in an empty factory-settings file, so the result does not depend on the user's setup.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .main import CliError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bake", help="bake a BVH onto the canonical rig and save a .blend",
        description="Bake a motion file onto Cadence's canonical armature and save the "
                    "scene as a .blend file.")
    parser.add_argument("--motion", required=True, type=Path, help="input motion (.bvh)")
    parser.add_argument("--out", required=True, type=Path, help="output .blend file")
    parser.add_argument("--fps", type=float, default=30.0,
                        help="scene frame rate; the motion is resampled to it (default 30)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.fps <= 0:
        raise CliError("--fps must be positive")
    if args.out.suffix.lower() != ".blend":
        raise CliError(f"--out must be a .blend file, got {args.out}")
    try:
        import bpy  # noqa: F401  (slow; only this sub-command needs it)
    except ImportError as exc:
        raise CliError(f"the bpy module is required for baking: {exc}") from exc
    from ..blender.bake_file import MotionFileError, bake_motion_file
    from ..blender.scene import reset_to_empty_file, save_blend

    reset_to_empty_file()
    try:
        result = bake_motion_file(args.motion, fps=args.fps, action_name=args.motion.stem)
    except MotionFileError as exc:
        raise CliError(str(exc)) from exc
    try:
        path = save_blend(args.out)
    except (OSError, RuntimeError) as exc:
        raise CliError(f"cannot save {args.out}: {exc}") from exc
    print(f"baked {result.motion.num_frames} frames at {result.motion.fps:g} fps "
          f"-> {path}")
    return 0
