"""Export an armature's animation: BVH on its own (target) skeleton or on the canonical
one, and glTF of the scene through Blender's bundled exporter.

The BVH is made from the armature as Blender evaluates it, frame by frame (posed bone
matrices and the object's world matrix), not from the retarget maths: so it holds
whatever plays, whichever action (baked by Cadence, hand-keyed, edited after the bake)
and whatever acts on top (constraints, drivers, NLA, an animated object). The maths
(``motion/rig_export.py``) is bpy-free; this file only samples.

Everything that can be refused is checked before a file is written: an
:class:`ExportError` (fit to show the user) leaves no file behind.
"""
from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from ..errors import CadenceError, OutputError
from ..motion.export import write_canonical_bvh
from ..motion.rest_rig import RigSamples
from ..motion.rig_export import REQUIRED_FOR_CANONICAL, rig_to_canonical, write_rig_bvh
from ..output_file import check_output, normal_mode
from .rig_retarget import RigError, playing_bone_map, read_rest_rig
from .scene import scene_fps

BVH_SKELETONS = ("target", "canonical")
GLTF_FORMATS = {".glb": "GLB", ".gltf": "GLTF_SEPARATE"}


class ExportError(CadenceError, ValueError):
    """Nothing could be exported; the message says why and what to do."""


@dataclass
class BvhExport:
    path: Path
    frames: int
    joints: int
    skeleton: str
    notes: list[str]


def export_problem(obj: bpy.types.Object | None) -> str | None:
    """Why ``obj``'s animation cannot be exported (None when it can)."""
    if obj is None:
        return "no armature selected: select the armature whose animation to export"
    if obj.type != 'ARMATURE':
        return (f"{obj.name!r} is a {obj.type.lower()}, not an armature: select the armature "
                "whose animation to export")
    if not obj.data.bones:
        return f"armature {obj.name!r} has no bones"
    if obj.animation_data is None or obj.animation_data.action is None:
        return (f"{obj.name!r} has no action to export: bake or retarget a motion onto it "
                "first (or assign an action)")
    return None


def action_frames(obj: bpy.types.Object) -> range:
    """The frames of the armature's current action (its manual range when set)."""
    start, end = obj.animation_data.action.frame_range
    return range(int(math.floor(start + 1e-6)), int(math.ceil(end - 1e-6)) + 1)


def sample_armature(obj: bpy.types.Object, frames: range | list[int]) -> RigSamples:
    """Rest data, posed bone matrices and the object's world matrix at ``frames``, as
    Blender evaluates them; the scene's current frame is restored afterwards."""
    scene = bpy.context.scene
    rig = read_rest_rig(obj)
    frames = list(frames)
    if not frames:
        raise ExportError("no frames to export")
    pose_bones = obj.pose.bones
    order = np.array([rig.index[pb.name] for pb in pose_bones])
    count = len(pose_bones)
    buf = np.empty(count * 16, dtype=np.float32)
    pose = np.empty((len(frames), rig.num_bones, 4, 4))
    world = np.empty((len(frames), 4, 4))
    current, subframe = scene.frame_current, scene.frame_subframe
    try:
        for k, frame in enumerate(frames):
            scene.frame_set(frame)
            pose_bones.foreach_get("matrix", buf)
            # foreach_get flattens matrices column by column.
            pose[k, order] = buf.reshape(count, 4, 4).transpose(0, 2, 1)
            world[k] = np.array(obj.matrix_world)
    finally:
        scene.frame_set(current, subframe=subframe)
    return RigSamples(rig, pose, world, scene_fps(scene))


def _bone_map_bones(obj: bpy.types.Object) -> dict[str, str]:
    try:
        bone_map = playing_bone_map(obj)
        bones = bone_map.resolve(tuple(b.name for b in obj.data.bones)).bones
    except (RigError, ValueError) as exc:
        raise ExportError(f"cannot put {obj.name!r} on the canonical skeleton: {exc}") from exc
    missing = [j for j in REQUIRED_FOR_CANONICAL if j not in bones]
    if missing:
        raise ExportError(f"cannot put {obj.name!r} on the canonical skeleton: its bone map has "
                          f"no bones for {', '.join(missing)} (edit the map or detect it again)")
    return bones


def checked_output_path(path: str | Path) -> Path:
    """``path`` as a Path, or ExportError when it cannot name a file to write."""
    if not str(path).strip():
        raise ExportError("no output file given")
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"{path} is a folder: give a file name")
    if not path.parent.is_dir():
        raise ExportError(f"folder not found: {path.parent}")
    try:
        check_output(path, what="")  # a device, pipe or dangling link is never replaced
    except OutputError as exc:
        raise ExportError(str(exc)) from None
    return path


def read_canonical_motion(obj: bpy.types.Object, frames: range | list[int] | None = None):
    """The armature's animation as Blender plays it (``frames``, default its action's
    range), on the canonical skeleton through its bone map. Raises ExportError."""
    problem = export_problem(obj)
    if problem:
        raise ExportError(problem)
    joint_bones = _bone_map_bones(obj)
    samples = sample_armature(obj, action_frames(obj) if frames is None else frames)
    try:
        motion = rig_to_canonical(samples, joint_bones)
    except ValueError as exc:
        raise ExportError(f"cannot export {obj.name!r}: {exc}") from exc
    motion.fps = samples.fps  # one frame per sample; the BVH text rounds the frame time
    return motion


def export_bvh(obj: bpy.types.Object | None, path: str | Path, skeleton: str = "target",
               frames: range | list[int] | None = None, deform_only: bool = False,
               order: str = "ZXY") -> BvhExport:
    """Write the armature's animation (``frames``, default its action's range) as BVH.

    skeleton: "target" (the armature's own bones; ``deform_only`` drops the others) or
    "canonical" (through the armature's bone map: the one stored by a retarget, else
    automatic matching). Y up, centimetres. Raises ExportError, and writes nothing, for
    a missing armature or action, an unusable path or an unmappable rig.
    """
    if skeleton not in BVH_SKELETONS:
        raise ExportError(f"skeleton must be one of {', '.join(BVH_SKELETONS)}, got {skeleton!r}")
    problem = export_problem(obj)
    if problem:
        raise ExportError(problem)
    path = checked_output_path(path)
    bones = None
    if deform_only and skeleton == "target":
        bones = [b.name for b in obj.data.bones if b.use_deform]
        if not bones:
            raise ExportError(f"{obj.name!r} has no deform bones")
    joint_bones = _bone_map_bones(obj) if skeleton == "canonical" else None
    samples = sample_armature(obj, action_frames(obj) if frames is None else frames)
    try:
        if skeleton == "target":
            rm = write_rig_bvh(path, samples, bones=bones, root_name=obj.name, order=order)
            joints, notes = rm.motion.skeleton.num_joints, rm.notes
        else:
            motion = rig_to_canonical(samples, joint_bones)
            write_canonical_bvh(path, motion, order=order)
            joints, notes = motion.skeleton.num_joints, []
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ExportError(f"cannot export {obj.name!r}: {exc}") from exc
    return BvhExport(path, samples.num_frames, joints, skeleton, notes)


def _enable(module: str) -> None:
    import addon_utils

    if not addon_utils.check(module)[1]:
        if addon_utils.enable(module, default_set=False, persistent=False) is None:
            raise ExportError(f"Blender's exporter {module} is not available")


def export_gltf(path: str | Path, animation_name: str | None = None, inputs=()) -> Path:
    """Export the current scene as glTF (.glb binary, .gltf with a .bin beside it) with
    Blender's exporter; the actions playing now (the baked one) become one animation
    named ``animation_name``, sampled every frame. Returns the absolute path."""
    path = Path(path).expanduser().resolve()
    fmt = GLTF_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ExportError(f"glTF files end in {' or '.join(GLTF_FORMATS)}, got {path.name}")
    if not any(o.animation_data is not None and o.animation_data.action is not None
               for o in bpy.context.scene.objects):
        raise ExportError("nothing in the scene is animated: bake a motion first")
    _enable("io_scene_gltf2")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the folder {path.parent}: {exc.strerror or exc}") from None
    try:
        check_output(path, inputs, what="")
    except OutputError as exc:
        raise ExportError(str(exc)) from None
    # Blender's exporter opens files by name: it writes into a new private folder beside
    # the target, and the files move into place only when it succeeded.
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        try:
            result = bpy.ops.export_scene.gltf(
                filepath=str(work / path.name), export_format=fmt, export_animations=True,
                export_animation_mode='ACTIVE_ACTIONS', export_force_sampling=True,
                export_nla_strips_merged_animation_name=animation_name or "Animation")
        except (RuntimeError, OSError, ValueError) as exc:
            raise ExportError(f"cannot export {path.name}: {exc}") from exc
        if 'FINISHED' not in result or not (work / path.name).is_file():
            raise ExportError(f"Blender's glTF exporter did not write {path}")
        made = sorted(work.iterdir(), key=lambda f: f.name == path.name)  # the main file last
        try:
            for f in made:
                dest = check_output(path.parent / f.name, inputs, what="")
                os.chmod(f, normal_mode(dest))
                os.replace(f, dest)
        except OSError as exc:
            raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return path
