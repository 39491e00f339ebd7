"""Bake a face animation's head motion (and, for meshes without a jawOpen shape key,
the jaw) onto an armature's head, neck and jaw bones.

The bones are found by name: head and neck with the retargeter's bone-name tables
(``motion.rig_names.match_by_names``: Mixamo, Rigify, VRM, CC, UE, ...), the jaw as
the unsided bone whose name contains "jaw". The maths is ``face/head_pose.py``.

The keys go in their own Action on an NLA track ("Cadence Face", blend Combine), so a
body animation on the armature is kept: Combine multiplies the head's rotation into
whatever the body animation does (when the armature has an active Action, its blending
is set to Combine too, so the NLA track still shows under it). The character is taken
to face -Y with +Z up in world space (Blender's convention); the armature object's
rotation is accounted for.
"""
from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np

from ..face import head_pose as H
from ..face.animation import FaceAnimation
from ..face.arkit import INDEX
from ..motion.rig_names import match_by_names, split_side
from .action_slots import fcurve_factory, set_strip_slot, write_keys
from .scene import scene_fps

TRACK_NAME = "Cadence Face"


@dataclass
class FaceRigResult:
    armature: str
    bones: dict[str, str]          # role ("head", "neck", "jaw") -> bone name, those keyed
    action: bpy.types.Action

    def summary(self) -> str:
        return ", ".join(f"{role} on {name!r}" for role, name in self.bones.items())


def face_bones(obj: bpy.types.Object) -> dict[str, str]:
    """Role ("head", "neck", "jaw") -> bone name, for the roles the armature has."""
    names = [b.name for b in obj.data.bones]
    _, mapping, _ = match_by_names(names)
    out = {role: mapping[role] for role in ("head", "neck") if mapping.get(role) in obj.data.bones}
    jaws = [n for n in names if split_side(n)[0] is None and "jaw" in split_side(n)[1]]
    if jaws:
        out["jaw"] = min(jaws, key=len)          # "jaw" over "jaw_end", "jawtip"
    return out


def face_armature(mesh: bpy.types.Object,
                  fallback: bpy.types.Object | None = None) -> bpy.types.Object | None:
    """The armature deforming ``mesh`` (modifier or parent), else ``fallback``."""
    arm = mesh.find_armature() if mesh is not None and mesh.type == 'MESH' else None
    if arm is None and mesh is not None and mesh.parent is not None and mesh.parent.type == 'ARMATURE':
        arm = mesh.parent
    if arm is None and fallback is not None and fallback.type == 'ARMATURE':
        arm = fallback
    return arm


def bake_face_rig(obj: bpy.types.Object, anim: FaceAnimation, *, head: bool = True,
                  jaw: bool = False, start_frame: int = 1, fps: float | None = None,
                  action_name: str = "CadenceFaceRig") -> FaceRigResult | None:
    """Key the head/neck (``head``) and jaw (``jaw``: from jawOpen) bones of the
    armature ``obj`` at ``fps`` (default the scene's). None when it has none of them."""
    bones = face_bones(obj)
    if not head:
        bones = {k: v for k, v in bones.items() if k == "jaw"}
    if not jaw:
        bones.pop("jaw", None)
    if not bones:
        return None
    anim = anim.resample(fps or scene_fps(bpy.context.scene))
    world = np.array(obj.matrix_world.to_3x3().normalized(), float)
    left, forward, up = (world.T @ np.array(v, float) for v in ((1, 0, 0), (0, -1, 0), (0, 0, 1)))
    rest = {role: np.array(obj.data.bones[name].matrix_local.to_3x3(), float)
            for role, name in bones.items()}
    quats: dict[str, np.ndarray] = {}
    if "neck" in bones:
        quats["neck"] = H.to_pose_quaternions(
            H.head_rotations(anim.head, left, forward, up, H.NECK_SHARE), rest["neck"])
    if "head" in bones:
        share = 1.0 - H.NECK_SHARE if "neck" in bones else 1.0
        quats["head"] = H.to_pose_quaternions(
            H.head_rotations(anim.head, left, forward, up, share), rest["head"])
    if "jaw" in bones:
        quats["jaw"] = H.to_pose_quaternions(
            H.jaw_rotations(anim.weights[:, INDEX["jawOpen"]], left), rest["jaw"])

    action = bpy.data.actions.new(action_name)
    action.use_fake_user = True
    new_fcurve, slot = fcurve_factory(action, obj, assign=False)  # played from the NLA
    frames = start_frame + np.arange(anim.num_frames, dtype=float)
    for role, q in quats.items():
        pose_bone = obj.pose.bones[bones[role]]
        pose_bone.rotation_mode = 'QUATERNION'
        path = pose_bone.path_from_id("rotation_quaternion")
        for i in range(4):
            write_keys(new_fcurve(path, i, pose_bone.name), frames, q[:, i])
    _push_to_nla(obj, action, slot, start_frame)
    return FaceRigResult(obj.name, {role: bones[role] for role in quats}, action)


def _push_to_nla(obj: bpy.types.Object, action: bpy.types.Action, slot, start_frame: int) -> None:
    data = obj.animation_data or obj.animation_data_create()
    track = data.nla_tracks.get(TRACK_NAME) or data.nla_tracks.new()
    track.name = TRACK_NAME
    for strip in list(track.strips):              # a new bake replaces the previous one
        track.strips.remove(strip)
    strip = track.strips.new(action.name, int(start_frame), action)
    set_strip_slot(strip, slot)
    strip.blend_type = 'COMBINE'
    if data.action is not None:
        data.action_blend_type = 'COMBINE'
