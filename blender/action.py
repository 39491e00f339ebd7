"""Write a :class:`~motion.kinematics.Motion` into a new Action on an armature.

Every bone named like a skeleton joint gets quaternion keys on every frame; the root
bone also gets location keys. The conversion from joint-local rotations to pose-bone
rotations (``B^T · L · B``) lives in ``motion/pose_space.py``, so it works for any bone
rest orientation. The F-Curves are made and keyed in bulk by ``blender/action_slots.py``
(every Blender version's action layout).
"""
from __future__ import annotations

import bpy
import numpy as np

from ..motion import rotations as rot
from ..motion.kinematics import Motion
from ..motion.pose_space import root_location_to_pose_space, to_pose_space
from .action_slots import fcurve_factory, write_keys
from .scene import set_frame_range, set_scene_fps


def bake_motion(obj: bpy.types.Object, motion: Motion, action_name: str = "Cadence",
                start_frame: int = 1, update_scene: bool = False) -> bpy.types.Action:
    """Bake ``motion`` into a new Action assigned to the armature ``obj``.

    The motion is expressed in the armature's space (the object transform applies on
    top). Actions baked before stay in ``bpy.data`` (they get a fake user) so a second
    bake never loses the first. Bones above the skeleton's root are assumed at rest.
    With ``update_scene`` the scene's fps and frame range follow the motion.
    Raises ValueError when no bone matches a joint name.
    """
    if obj.type != 'ARMATURE':
        raise ValueError(f"{obj.name!r} is not an armature")
    skeleton = motion.skeleton
    bones = obj.data.bones
    joints = [j for j, name in enumerate(skeleton.names) if name in bones]
    if not joints:
        raise ValueError(f"armature {obj.name!r} has no bone named like a joint of the motion "
                         f"(e.g. {skeleton.names[0]!r})")
    names = [skeleton.names[j] for j in joints]
    rest = np.array([bones[n].matrix_local.to_3x3() for n in names], dtype=float)
    quats = rot.quat_continuous(to_pose_space(motion.rotations[:, joints], rest))
    locations = {}
    if joints[0] == 0:
        locations[names[0]] = root_location_to_pose_space(
            motion.root_positions, np.array(bones[names[0]].head_local), rest[0])
    return bake_pose(obj, names, quats, locations, motion.fps, action_name=action_name,
                     start_frame=start_frame, update_scene=update_scene)


def bake_pose(obj: bpy.types.Object, bone_names: list[str], rotations: np.ndarray,
              locations: dict[str, np.ndarray], fps: float, action_name: str = "Cadence",
              start_frame: int = 1, update_scene: bool = False,
              rest_bones: tuple[str, ...] | list[str] = (),
              properties: dict[tuple[str, str], float] | None = None) -> bpy.types.Action:
    """Bake pose-space keys into a new Action assigned to ``obj``.

    rotations: (T, len(bone_names), 4) pose-bone quaternions (sign-continuous);
    locations: bone name -> (T, 3) pose-bone locations (any bone, keyed or not in
    ``bone_names``). Keyed bones are switched to quaternion rotation with unit scale;
    keyed bones without location keys get location zero; ``rest_bones`` are put at rest
    (they are not keyed). ``properties``: (pose bone, custom property) -> value, set and
    keyed as constants over the range (a control rig's IK/FK switches). Actions baked
    before keep a fake user.
    """
    rotations = np.asarray(rotations, dtype=float)
    frames_count = len(rotations)
    action = bpy.data.actions.new(action_name)
    action.use_fake_user = True
    new_fcurve, _ = fcurve_factory(action, obj, assign=True)
    frames = start_frame + np.arange(frames_count, dtype=float)

    for k, name in enumerate(bone_names):
        pose_bone = obj.pose.bones[name]
        pose_bone.rotation_mode = 'QUATERNION'
        pose_bone.scale = (1.0, 1.0, 1.0)  # the motion defines the whole pose it drives
        path = pose_bone.path_from_id("rotation_quaternion")
        for i in range(4):
            write_keys(new_fcurve(path, i, name), frames, rotations[:, k, i])
        if name not in locations:
            pose_bone.location = (0.0, 0.0, 0.0)
    for name, location in locations.items():
        pose_bone = obj.pose.bones[name]
        path = pose_bone.path_from_id("location")
        for i in range(3):
            write_keys(new_fcurve(path, i, name), frames, np.asarray(location)[:, i])
    for name in rest_bones:
        pose_bone = obj.pose.bones[name]
        pose_bone.location = (0.0, 0.0, 0.0)
        pose_bone.rotation_quaternion = (1.0, 0.0, 0.0, 0.0)
        pose_bone.rotation_euler = (0.0, 0.0, 0.0)
        pose_bone.rotation_axis_angle = (0.0, 0.0, 1.0, 0.0)
        pose_bone.scale = (1.0, 1.0, 1.0)

    for (name, prop), value in (properties or {}).items():
        pose_bone = obj.pose.bones[name]
        pose_bone[prop] = type(pose_bone[prop])(value) if prop in pose_bone else value
        path = pose_bone.path_from_id(f'["{prop}"]')
        ends = np.unique(frames[[0, -1]])
        write_keys(new_fcurve(path, 0, name), ends, np.full(len(ends), float(pose_bone[prop])))

    if update_scene:
        scene = bpy.context.scene
        set_scene_fps(scene, fps)
        set_frame_range(scene, start_frame, start_frame + frames_count - 1)
    return action
