"""``./cadence bake``: bake a motion file onto the canonical rig, or with ``--rig`` onto a
character's own armature, in a new .blend.

Runs the same workflows as the operators ("Bake Motion File": ``blender/bake_file.py``;
"Retarget Motion": ``blender/rig_retarget.py``) in an empty factory-settings file, so
the result does not depend on the user's setup.
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
    parser.add_argument("--rig", type=Path,
                        help="character to retarget onto (.blend, .glb, .gltf, .fbx, .bvh) "
                             "instead of the canonical rig")
    parser.add_argument("--armature", help="armature object in --rig (default: the largest)")
    parser.add_argument("--map", dest="bone_map",
                        help="bone map: a JSON file or a preset name (e.g. mixamo, unreal); "
                             "default: automatic mapping")
    parser.add_argument("--root-motion", choices=("hips", "root", "in_place"), default="hips",
                        help="hips carry the travel (default), a root bone carries it, "
                             "or the character stays in place")
    parser.add_argument("--no-foot-cleanup", dest="foot_cleanup", action="store_false",
                        help="copy the motion as is; by default planted feet are kept from "
                             "sliding, floating or sinking (leg IK)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.fps <= 0:
        raise CliError("--fps must be positive")
    if args.out.suffix.lower() != ".blend":
        raise CliError(f"--out must be a .blend file, got {args.out}")
    if args.rig is None and (args.bone_map or args.armature):
        raise CliError("--map and --armature need --rig")
    try:
        import bpy  # noqa: F401  (slow; only this sub-command needs it)
    except ImportError as exc:
        raise CliError(f"the bpy module is required for baking: {exc}") from exc
    from ..blender.bake_file import MotionFileError, bake_motion_file
    from ..blender.scene import reset_to_empty_file, save_blend

    reset_to_empty_file()
    if args.rig is not None:
        result = _retarget(args)
    else:
        try:
            result = bake_motion_file(args.motion, fps=args.fps, action_name=args.motion.stem)
        except MotionFileError as exc:
            raise CliError(str(exc)) from exc
    try:
        path = save_blend(args.out)
    except (OSError, RuntimeError) as exc:
        raise CliError(f"cannot save {args.out}: {exc}") from exc
    frames = result.pose.num_frames if args.rig is not None else result.motion.num_frames
    onto = f" onto {result.armature.name!r} ({result.bone_map.convention}, " \
           f"{len(result.bone_map.bones)} bones mapped)" if args.rig is not None else ""
    print(f"baked {frames} frames at {args.fps:g} fps{onto} -> {path}")
    for note in getattr(result, "notes", []):
        print(f"note: {note}")
    return 0


def _retarget(args: argparse.Namespace):
    from ..blender.bake_file import MotionFileError, load_motion_file
    from ..blender.rig_import import RigFileError, import_rig
    from ..blender.rig_retarget import RigError, retarget_onto
    from ..blender.presets import load_preset
    from ..motion.rig_retarget import RetargetOptions

    try:
        motion = load_motion_file(args.motion, args.fps)
        bone_map = load_preset(args.bone_map) if args.bone_map else None
        obj = import_rig(args.rig, args.armature)
        return retarget_onto(obj, motion, bone_map, RetargetOptions(root_motion=args.root_motion,
                                                                  foot_cleanup=args.foot_cleanup),
                             action_name=args.motion.stem)
    except (MotionFileError, RigFileError, RigError, ValueError) as exc:
        raise CliError(str(exc)) from exc
