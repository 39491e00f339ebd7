"""Retarget a canonical motion onto a user's armature: read its rest data, check it,
map its bones, bake the result (the thin bpy layer over ``motion/canonical_to_rig.py``).

Everything that can fail is checked before the scene changes: a :class:`RigError`
(fit to show the user) leaves the file as it was.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from ..errors import CadenceError
from ..motion.bone_map import BoneMap
from ..motion.canonical_to_rig import RetargetOptions, RigPose, retarget_to_rig
from ..motion.kinematics import Motion
from ..motion.rest_rig import RestRig
from ..motion.rig_mapping import match_rig
from ..motion.rig_target import prepare_target
from ..motion.rigify_control import deform_view
from .action import bake_pose
from .bake_file import load_motion_file
from .rig_import import REFERENCE_PROPERTY
from .rigify_control import control_rig_pose, is_generated_rigify, plan_controls, uses_controls

MAP_PROPERTY = "cadence_bone_map"  # JSON bone map stored on the armature data


class RigError(CadenceError, ValueError):
    """The armature cannot receive the motion; the message says why and what to do."""


@dataclass
class RetargetResult:
    armature: bpy.types.Object
    action: bpy.types.Action
    bone_map: BoneMap
    pose: RigPose
    notes: list[str]


def read_rest_rig(obj: bpy.types.Object) -> RestRig:
    """Rest data of an armature object's bones, in armature space."""
    bones = obj.data.bones
    names = [b.name for b in bones]
    index = {n: i for i, n in enumerate(names)}
    count = len(bones)
    heads = np.empty(count * 3, dtype=np.float32)
    tails = np.empty(count * 3, dtype=np.float32)
    mats = np.empty(count * 16, dtype=np.float32)
    bones.foreach_get("head_local", heads)
    bones.foreach_get("tail_local", tails)
    bones.foreach_get("matrix_local", mats)
    # foreach_get flattens matrices column by column.
    mats = mats.reshape(count, 4, 4).transpose(0, 2, 1)[:, :3, :3].astype(float)
    parents = [index[b.parent.name] if b.parent else -1 for b in bones]
    connected = [bool(b.use_connect) for b in bones]
    return RestRig(names, parents, heads.reshape(count, 3), tails.reshape(count, 3), mats,
                   connected)


def armature_problem(obj: bpy.types.Object | None) -> str | None:
    """Why ``obj`` cannot be retargeted onto (None when it can)."""
    if obj is None:
        return "no armature selected: select the character's armature"
    if obj.type != 'ARMATURE':
        return f"{obj.name!r} is a {obj.type.lower()}, not an armature: select the character's armature"
    if obj.override_library is not None or obj.data.override_library is not None:
        return (f"{obj.name!r} is a library override: Cadence bakes onto local armatures; "
                "make it local or retarget in the file that owns the rig")
    if obj.library is not None or obj.data.library is not None:
        return (f"{obj.name!r} is linked from {(obj.library or obj.data.library).filepath!r}: "
                "make it local (Object > Relations > Make Local) to animate it")
    if obj.mode == 'EDIT':
        return f"{obj.name!r} is in edit mode: leave edit mode first"
    if not obj.data.bones:
        return f"armature {obj.name!r} has no bones"
    return None


def driven_bones(obj: bpy.types.Object, names: set[str]) -> dict[str, list[str]]:
    """{bone: what drives it} for bones in ``names`` with active constraints or drivers."""
    out: dict[str, list[str]] = {}
    for name in names:
        pose_bone = obj.pose.bones.get(name)
        if pose_bone is None:
            continue
        active = [c for c in pose_bone.constraints
                  if getattr(c, "enabled", not getattr(c, "mute", False)) and c.influence > 0]
        if active:
            out.setdefault(name, []).extend(f"{c.type.lower()} constraint {c.name!r}" for c in active)
    anim = obj.animation_data
    if anim is not None:
        for fcurve in anim.drivers:
            path = fcurve.data_path
            if path.startswith('pose.bones["'):
                name = path[len('pose.bones["'):].split('"]', 1)[0]
                if name in names and not fcurve.mute:
                    out.setdefault(name, []).append(f"driver on {path.split('].', 1)[-1]}")
    return out


def stored_bone_map(obj: bpy.types.Object) -> BoneMap | None:
    """The bone map saved on the armature by an earlier retarget (editable as JSON)."""
    text = obj.data.get(MAP_PROPERTY)
    if not text:
        return None
    try:
        return BoneMap.from_dict(json.loads(text))
    except (ValueError, TypeError) as exc:
        raise RigError(f"the bone map stored on {obj.data.name!r} is invalid: {exc}") from exc


def automatic_bone_map(obj: bpy.types.Object, rig: RestRig | None = None) -> BoneMap:
    """Automatic matching for ``obj`` (a generated Rigify rig gets its controls mapped).
    Raises ValueError when the rig is not recognised."""
    return match_rig(rig or read_rest_rig(obj), rigify_controls=is_generated_rigify(obj))


def drives_controls(obj: bpy.types.Object, bone_map: BoneMap) -> bool:
    """Whether ``bone_map`` keys the controls of a generated Rigify rig (then the
    control scheme, not the bones' own rest pose, decides how the motion goes on)."""
    return is_generated_rigify(obj) and uses_controls(bone_map)


def check_bone_map(obj: bpy.types.Object, rig: RestRig, bone_map: BoneMap) -> BoneMap:
    """``bone_map`` resolved on ``obj``; raises ValueError when it cannot drive the rig
    (a map of a generated Rigify rig's controls is checked against the control scheme)."""
    resolved = bone_map.resolve(rig.names)
    if drives_controls(obj, resolved):
        plan_controls(obj, rig, resolved, find_switches=False)
    else:
        prepare_target(rig, resolved)
    return resolved


def playing_bone_map(obj: bpy.types.Object) -> BoneMap:
    """The map whose bones show the animation as it plays (for reading it back): the
    stored or automatic one, but on a generated Rigify rig keyed on its controls the DEF
    bones, which follow the controls. Raises ValueError."""
    rig = read_rest_rig(obj)
    bone_map = stored_bone_map(obj) or automatic_bone_map(obj, rig)
    if drives_controls(obj, bone_map):
        return match_rig(deform_view(rig))
    return bone_map


def current_bone_map(obj: bpy.types.Object) -> BoneMap:
    """The map a retarget onto ``obj`` would use: the stored one, else automatic matching."""
    problem = armature_problem(obj)
    if problem:
        raise RigError(problem)
    stored = stored_bone_map(obj)
    if stored is not None:
        return stored
    try:
        return automatic_bone_map(obj)
    except ValueError as exc:
        raise RigError(f"{obj.name!r}: {exc}") from exc


def store_bone_map(obj: bpy.types.Object, bone_map: BoneMap) -> BoneMap:
    """Resolve ``bone_map`` on the armature and store it there (shown for review and
    editing as the armature's custom property ``cadence_bone_map``)."""
    problem = armature_problem(obj)
    if problem:
        raise RigError(problem)
    rig = read_rest_rig(obj)
    try:
        resolved = check_bone_map(obj, rig, bone_map)  # refuse maps that cannot drive the rig
    except ValueError as exc:
        raise RigError(f"{obj.name!r}: {exc}") from exc
    obj.data[MAP_PROPERTY] = json.dumps(resolved.to_dict(), ensure_ascii=False)
    return resolved


def retarget_onto(obj: bpy.types.Object, motion: Motion, bone_map: BoneMap | None = None,
                  options: RetargetOptions | None = None, action_name: str = "Cadence",
                  start_frame: int | None = None, update_scene: bool = True,
                  allow_driven: bool = False, store_map: bool = True) -> RetargetResult:
    """Bake ``motion`` onto the armature ``obj``; return the action and the map used.

    bone_map: None = the map stored on the armature by an earlier run, else automatic
    matching. On a generated Rigify rig a map of its controls (the automatic one) keys the
    FK controls, the torso and the IK/FK switches (``blender/rigify_control.py``).
    Raises RigError (scene unchanged) for an unusable armature, a map that
    does not fit, or constraints/drivers on the bones the motion drives (unless
    ``allow_driven``).
    """
    problem = armature_problem(obj)
    if problem:
        raise RigError(problem)
    rig = read_rest_rig(obj)
    try:
        bone_map = bone_map or stored_bone_map(obj) or automatic_bone_map(obj, rig)
        if drives_controls(obj, bone_map):  # a generated Rigify rig: key its controls
            plan, pose = control_rig_pose(obj, rig, motion, bone_map, options)
            target, used, switches = plan.target, plan.bone_map, plan.switches
        elif is_generated_rigify(obj) and not allow_driven:
            raise RigError(f"{obj.name!r} is a generated Rigify rig: its DEF and ORG bones "
                           "follow the controls; use the automatic map or the rigify_control "
                           "preset to key the controls")
        else:
            target = prepare_target(rig, bone_map)
            pose = retarget_to_rig(target, motion, options)
            used, switches = target.bone_map, {}
    except RigError:
        raise
    except ValueError as exc:
        raise RigError(f"{obj.name!r}: {exc}") from exc
    if not allow_driven:
        driven = driven_bones(obj, set(pose.bones) | set(pose.locations))
        if driven:
            listed = "; ".join(f"{b}: {', '.join(w)}" for b, w in sorted(driven.items())[:6])
            more = f" and {len(driven) - 6} more" if len(driven) > 6 else ""
            raise RigError(f"bones of {obj.name!r} that the motion drives are controlled by "
                           f"constraints or drivers ({listed}{more}); disable them, bake "
                           "onto the deform bones, or allow driven bones")
    start = bpy.context.scene.frame_start if start_frame is None else start_frame
    action = bake_pose(obj, pose.bones, pose.rotations, pose.locations, pose.fps,
                       action_name=action_name, start_frame=start, update_scene=update_scene,
                       rest_bones=pose.rest_bones, properties=switches)
    if store_map:
        obj.data[MAP_PROPERTY] = json.dumps(used.to_dict(), ensure_ascii=False)
    reference = [str(obj.data[REFERENCE_PROPERTY])] if REFERENCE_PROPERTY in obj.data else []
    return RetargetResult(obj, action, used, pose, list(target.notes) + reference)


def retarget_motion_file(path, fps: float, obj: bpy.types.Object, bone_map: BoneMap | None = None,
                         options: RetargetOptions | None = None, action_name: str | None = None,
                         allow_driven: bool = False, update_scene: bool = True) -> RetargetResult:
    """Load a motion file (any BVH, converted to the canonical skeleton) and retarget it
    onto ``obj``. Raises MotionFileError or RigError; either way nothing changed."""
    problem = armature_problem(obj)  # before the (slower) file read
    if problem:
        raise RigError(problem)
    motion = load_motion_file(path, fps)
    return retarget_onto(obj, motion, bone_map, options, action_name=action_name or Path(path).stem,
                         allow_driven=allow_driven, update_scene=update_scene)
