"""The target armature's rig type and bone-map status for the panel, and the check that
a motion can go onto it before anything is sampled.

Both read the stored bone map when there is one, else the automatic one
(``blender/rig_retarget.py``); the panel's status is cached per rig state, since draw
asks for it on every redraw.
"""
from __future__ import annotations

from dataclasses import dataclass

import bpy

from .panel_settings import InputError
from .rig_retarget import (
    MAP_PROPERTY,
    RigError,
    armature_problem,
    automatic_bone_map,
    check_bone_map,
    driven_bones,
    read_rest_rig,
    stored_bone_map,
)


@dataclass
class RigStatus:
    text: str
    icon: str
    convention: str = ""
    mapped: int = 0
    stored: bool = False
    ok: bool = False


_STATUS_CACHE: dict[tuple, RigStatus] = {}
RIG_NAMES = {
    "smpl": "SMPL-X", "mixamo": "Mixamo", "rigify_deform": "Rigify (deform bones)",
    "rigify_original": "Rigify meta-rig (ORG bones)", "blender_metarig": "Blender human meta-rig",
    "rigify_control": "Rigify control rig (FK controls)",
    "unreal": "Unreal mannequin", "unity_humanoid": "Unity humanoid", "vrm": "VRM / VRoid",
    "mmd": "MMD", "character_creator": "Character Creator", "daz_genesis": "Daz Genesis",
    "max_biped": "3ds Max Biped", "geometry": "Unrecognised names (mapped by shape)",
    "custom": "Custom",
}


def rig_type_name(convention: str) -> str:
    """A readable name for a bone-map convention (``mixamo+geometry`` included)."""
    base, plus, _ = convention.partition("+")
    name = RIG_NAMES.get(base, base.replace("_", " ").title())
    return f"{name}, partly by shape" if plus else name


def rig_status(obj: bpy.types.Object | None) -> RigStatus:
    """The target's rig type and mapping status for the panel (cached per rig state)."""
    problem = armature_problem(obj)
    if problem:
        return RigStatus(problem[0].upper() + problem[1:], 'ERROR')
    stored_text = obj.data.get(MAP_PROPERTY) or ""
    key = (obj.name, obj.data.name, len(obj.data.bones), stored_text)
    if key in _STATUS_CACHE:
        return _STATUS_CACHE[key]
    try:
        bone_map = stored_bone_map(obj)
        stored = bone_map is not None
        if bone_map is None:
            bone_map = automatic_bone_map(obj)
        bone_map = check_bone_map(obj, read_rest_rig(obj), bone_map)
        how = "stored map" if stored else "detected, not stored yet"
        status = RigStatus(f"{rig_type_name(bone_map.convention)}: "
                           f"{len(bone_map.bones)} bones mapped ({how})", 'CHECKMARK',
                           bone_map.convention, len(bone_map.bones), stored, True)
    except (RigError, ValueError) as exc:
        status = RigStatus(f"Bone map: {exc}", 'ERROR')
    if len(_STATUS_CACHE) > 64:
        _STATUS_CACHE.clear()
    _STATUS_CACHE[key] = status
    return status


def check_target(obj: bpy.types.Object | None, allow_driven: bool = False) -> None:
    """Raise InputError when the motion cannot go onto ``obj`` (before any sampling)."""
    problem = armature_problem(obj)
    if problem:
        raise InputError(problem[0].upper() + problem[1:] +
                         " (or set the Target in the Cadence panel)")
    rig = read_rest_rig(obj)
    try:
        bone_map = check_bone_map(obj, rig, stored_bone_map(obj) or automatic_bone_map(obj, rig))
    except (RigError, ValueError) as exc:
        raise InputError(f"{obj.name!r}: {exc}") from exc
    if not allow_driven:
        driven = driven_bones(obj, set(bone_map.bones.values()))
        if driven:
            listed = ", ".join(sorted(driven)[:4]) + (" ..." if len(driven) > 4 else "")
            raise InputError(f"bones of {obj.name!r} that the motion drives are controlled by "
                             f"constraints or drivers ({listed}); disable them or enable "
                             "Allow Driven Bones")
