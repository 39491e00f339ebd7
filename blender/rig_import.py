"""Bring a character's armature into the current file: .blend (appended), glTF/GLB, FBX
and BVH (through Blender's bundled importers, enabled on demand)."""
from __future__ import annotations

from pathlib import Path

import bpy

# suffix -> (add-on module, operator path)
IMPORTERS = {
    ".glb": ("io_scene_gltf2", "import_scene.gltf"),
    ".gltf": ("io_scene_gltf2", "import_scene.gltf"),
    ".fbx": ("io_scene_fbx", "import_scene.fbx"),
    ".bvh": ("io_anim_bvh", "import_anim.bvh"),
}
SUFFIXES = (".blend",) + tuple(IMPORTERS)


class RigFileError(Exception):
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
