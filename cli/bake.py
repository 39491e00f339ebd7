"""``./cadence bake``: bake a motion file onto the canonical rig, or with ``--rig`` onto a
character's own armature, in a new .blend; ``--bvh`` and ``--gltf`` export the result
(``blender/export.py``).

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
        description="Bake a motion file onto Cadence's canonical armature (or with --rig "
                    "onto a character's own) and save the scene as a .blend file, and/or "
                    "export the result as BVH (--bvh) and glTF (--gltf).")
    parser.add_argument("--motion", required=True, type=Path,
                        help="input motion (.bvh, or SMPL-X .npz: docs/smplx.md)")
    parser.add_argument("--up", choices=("y", "z"),
                        help="up axis of a SMPL-X --motion (default: the file's own, else z for "
                             "AMASS, y for BEAT2/EMAGE and split keys)")
    parser.add_argument("--out", type=Path,
                        help="output .blend file (needed unless --bvh or --gltf is given)")
    parser.add_argument("--bvh", type=Path, help="also write the result as BVH (Y up, cm)")
    parser.add_argument("--bvh-skeleton", choices=("canonical", "target"),
                        help="BVH on the character's own skeleton (target; the default with "
                             "--rig) or on the canonical one (the default without --rig)")
    parser.add_argument("--gltf", type=Path,
                        help="also export the baked scene as glTF (.glb, or .gltf + .bin) "
                             "with Blender's exporter, animation included")
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
    from ..limits import MAX_FPS, MIN_FPS, in_range
    if not in_range(args.fps, MIN_FPS, MAX_FPS):
        raise CliError(f"--fps must be between {MIN_FPS:g} and {MAX_FPS:g}")
    if args.out is None and args.bvh is None and args.gltf is None:
        raise CliError("give --out scene.blend, --bvh OUT.bvh or --gltf OUT.glb")
    if args.out is not None and args.out.suffix.lower() != ".blend":
        raise CliError(f"--out must be a .blend file, got {args.out}")
    if args.bvh is not None and args.bvh.suffix.lower() != ".bvh":
        raise CliError(f"--bvh must be a .bvh file, got {args.bvh}")
    if args.bvh_skeleton and args.bvh is None:
        raise CliError("--bvh-skeleton needs --bvh")
    if args.gltf is not None and args.gltf.suffix.lower() not in (".glb", ".gltf"):
        raise CliError(f"--gltf must be a .glb or .gltf file, got {args.gltf}")
    if args.up and args.motion.suffix.lower() != ".npz":
        raise CliError("--up applies to a SMPL-X (.npz) --motion only")
    if args.rig is None and (args.bone_map or args.armature):
        raise CliError("--map and --armature need --rig")
    if args.bone_map and Path(args.bone_map).exists():
        from ..limits import MAX_TIMELINE_BYTES, check_input_file
        check_input_file(args.bone_map, "--map", MAX_TIMELINE_BYTES)  # 1 MiB, a regular file
    _check_outputs(args)
    try:
        import bpy  # noqa: F401  (slow; only this sub-command needs it)
    except ImportError as exc:
        raise CliError(f"the bpy module is required for baking: {exc}") from exc
    from ..blender.bake_file import MotionFileError, bake_motion_file
    from ..blender.scene import reset_to_empty_file, save_blend

    reset_to_empty_file()
    if args.rig is not None:
        result, motion = _retarget(args)
    else:
        try:
            result = bake_motion_file(args.motion, fps=args.fps, action_name=args.motion.stem,
                                      up=args.up)
        except MotionFileError as exc:
            raise CliError(str(exc)) from exc
        motion = result.motion
    outputs = []
    if args.out is not None:
        try:
            outputs.append(str(save_blend(args.out, inputs=_inputs(args))))
        except (OSError, RuntimeError) as exc:
            raise CliError(f"cannot save {args.out}: {exc}") from exc
    notes = list(getattr(result, "notes", []))
    if args.bvh is not None:
        skeleton = args.bvh_skeleton or ("target" if args.rig is not None else "canonical")
        outputs.append(_write_bvh(args.bvh, skeleton, result.armature, motion, notes))
    if args.gltf is not None:
        from ..blender.export import ExportError, export_gltf
        try:
            outputs.append(str(export_gltf(args.gltf, animation_name=result.action.name,
                                           inputs=_inputs(args))))
        except ExportError as exc:
            raise CliError(str(exc)) from exc
    frames = result.pose.num_frames if args.rig is not None else result.motion.num_frames
    onto = f" onto {result.armature.name!r} ({result.bone_map.convention}, " \
           f"{len(result.bone_map.bones)} bones mapped)" if args.rig is not None else ""
    print(f"baked {frames} frames at {args.fps:g} fps{onto} -> {', '.join(outputs)}")
    for note in notes:
        print(f"note: {note}")
    return 0


def _inputs(args: argparse.Namespace) -> list:
    """The command's input files: never overwritten by its outputs."""
    found = [args.motion, args.rig]
    if args.bone_map and Path(args.bone_map).is_file():
        found.append(Path(args.bone_map))
    return found


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse, before any work, outputs that would destroy an input or a non-file (an
    output's missing folders are created later, so those outputs are new files)."""
    from ..output_file import check_distinct, check_output
    check_distinct([("--out", args.out), ("--bvh", args.bvh), ("--gltf", args.gltf)])
    for what, path, example in (("--out", args.out, "scene.blend"), ("--bvh", args.bvh, "out.bvh"),
                                ("--gltf", args.gltf, "out.glb")):
        if path is not None and path.expanduser().parent.is_dir():
            check_output(path.expanduser(), _inputs(args), what, example)
    if args.gltf is not None and args.gltf.suffix.lower() == ".gltf":
        bin_file = args.gltf.expanduser().with_suffix(".bin")
        if bin_file.parent.is_dir():
            check_output(bin_file, _inputs(args), "--gltf's .bin", "out.gltf")


def _write_bvh(path: Path, skeleton: str, armature, motion, notes: list[str]) -> str:
    """The canonical motion as given (exact), or the armature as Blender plays it."""
    from ..blender.export import ExportError, export_bvh
    from ..motion.export import write_canonical_bvh

    path = path.expanduser().resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if skeleton == "canonical":
            write_canonical_bvh(path, motion)
        else:
            import bpy
            scene = bpy.context.scene
            notes += export_bvh(armature, path, "target",
                                frames=range(scene.frame_start, scene.frame_end + 1)).notes
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except ExportError as exc:
        raise CliError(str(exc)) from exc
    return str(path)


def _retarget(args: argparse.Namespace):
    from ..blender.bake_file import MotionFileError, load_motion_file
    from ..blender.presets import load_preset
    from ..blender.rig_import import RigFileError, import_rig
    from ..blender.rig_retarget import RigError, retarget_onto
    from ..blender.scene import held_output
    from ..motion.canonical_to_rig import RetargetOptions

    try:
        motion = load_motion_file(args.motion, args.fps, args.up)
        bone_map = load_preset(args.bone_map) if args.bone_map else None
        # Blender's importers print a failed import with its traceback: the error says it
        with held_output(keep_on_success=True, keep_on_failure=False):
            obj = import_rig(args.rig, args.armature)
        return retarget_onto(obj, motion, bone_map, RetargetOptions(root_motion=args.root_motion,
                                                                  foot_cleanup=args.foot_cleanup),
                             action_name=args.motion.stem), motion
    except (MotionFileError, RigFileError, RigError, ValueError) as exc:
        raise CliError(str(exc)) from exc
