"""Bring a character's armature into the current file: .blend (appended), glTF/GLB, FBX
and BVH (through Blender's bundled importers, enabled on demand)."""
from __future__ import annotations

from pathlib import Path

import bpy

from ..errors import CadenceError
from ..motion.bvh import read_bvh
from ..motion.standing_pose import standing_reference as find_standing_reference

# suffix -> (add-on module, operator path)
IMPORTERS = {
    ".glb": ("io_scene_gltf2", "import_scene.gltf"),
    ".gltf": ("io_scene_gltf2", "import_scene.gltf"),
    ".fbx": ("io_scene_fbx", "import_scene.fbx"),
    ".bvh": ("io_anim_bvh", "import_anim.bvh"),
}
SUFFIXES = (".blend",) + tuple(IMPORTERS)


class RigFileError(CadenceError):
    """The character file could not be read or holds no usable armature."""


def _enable(module: str) -> None:
    import addon_utils

    if not addon_utils.check(module)[1]:
        if addon_utils.enable(module, default_set=False, persistent=False) is None:
            raise RigFileError(f"Blender's importer {module} is not available")


def _append_blend(path: Path) -> None:
    with bpy.data.libraries.load(str(path), link=False) as (src, dst):
        dst.objects = list(src.objects)
    collection = bpy.context.scene.collection
    for obj in dst.objects:
        if obj is not None and not obj.users_collection:
            collection.objects.link(obj)


def import_rig(path: str | Path, armature: str | None = None) -> bpy.types.Object:
    """Import ``path`` into the current scene and return its armature object: the one
    named ``armature``, else the one with the most bones."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise RigFileError(f"cannot import {path.name}: supported rig files are "
                           + ", ".join(SUFFIXES))
    if not path.is_file():
        raise RigFileError(f"rig file not found: {path}")
    before = set(bpy.data.objects)
    try:
        if suffix == ".blend":
            _append_blend(path)
        else:
            module, op = IMPORTERS[suffix]
            _enable(module)
            group, name = op.split(".")
            getattr(getattr(bpy.ops, group), name)(filepath=str(path))
    except (RuntimeError, OSError, ValueError) as exc:
        raise RigFileError(f"cannot import {path.name}: {exc}") from exc
    armatures = [o for o in bpy.data.objects if o not in before and o.type == 'ARMATURE']
    if suffix == ".bvh" and len(armatures) == 1:
        try:
            _upright_rest_from_bvh(armatures[0], path)
        except RigFileError:  # nothing stands: leave the scene as it was
            for obj in [o for o in bpy.data.objects if o not in before]:
                bpy.data.objects.remove(obj)
            raise
    if armature:
        chosen = [o for o in armatures if o.name == armature or o.name.split(".")[0] == armature]
        if not chosen:
            raise RigFileError(f"{path.name} has no armature named {armature!r}"
                               + (f" (armatures: {', '.join(o.name for o in armatures)})"
                                  if armatures else ""))
        return chosen[0]
    if not armatures:
        raise RigFileError(f"{path.name} contains no armature")
    return max(armatures, key=lambda o: len(o.data.bones))


def standing_reference(path: Path):
    """The pose of a BVH rig to retarget against (motion/standing_pose.py): None when its
    skeleton is not recognised (the bone mapping then decides); RigFileError when nothing
    in the file stands."""
    try:
        bvh = read_bvh(path)  # Blender's importer read it: our parser refusing it is unlikely
    except ValueError:
        return None
    try:
        return find_standing_reference(bvh)
    except ValueError as exc:
        raise RigFileError(f"cannot use {path.name} as a rig: {exc}") from exc


def upright_frame(path: Path) -> int | None:
    """For a BVH whose zero pose is not a standing pose (Maya-style files such as the
    Bandai Namco set, iClone exports with the legs above the hips), the index of its most
    upright frame; None when the zero pose stands or the skeleton is not recognised."""
    ref = standing_reference(path)
    return None if ref is None else ref.frame


REFERENCE_PROPERTY = "cadence_rest_reference"  # on the armature data: which pose is the rest


def _upright_rest_from_bvh(obj: bpy.types.Object, path: Path) -> None:
    """Make the most upright frame the rest pose of a BVH rig whose zero pose does not
    stand (the retargeter aligns with the rest pose); the file's own animation is
    dropped. Which pose was used is stored on the armature for the bake's report."""
    ref = standing_reference(path)
    if ref is None or ref.frame is None:
        return
    obj.data[REFERENCE_PROPERTY] = ref.describe(path.name)
    frame = ref.frame
    scene = bpy.context.scene
    scene.frame_set(scene.frame_start + frame)
    view_layer = bpy.context.view_layer
    previous = view_layer.objects.active
    view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode='POSE')
    try:
        bpy.ops.pose.armature_apply(selected=False)
    finally:
        bpy.ops.object.mode_set(mode='OBJECT')
        view_layer.objects.active = previous or obj
    if obj.animation_data is not None:
        obj.animation_data.action = None
    for pose_bone in obj.pose.bones:
        pose_bone.location = (0.0, 0.0, 0.0)
        pose_bone.rotation_quaternion = (1.0, 0.0, 0.0, 0.0)
        pose_bone.rotation_euler = (0.0, 0.0, 0.0)
        pose_bone.scale = (1.0, 1.0, 1.0)
