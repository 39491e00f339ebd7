"""blender.action.bake_motion: the evaluated pose reproduces the motion's FK."""
import numpy as np
import pytest

from cadence.blender.action import bake_motion
from cadence.blender.armature import build_armature
from cadence.motion.skeleton import CANONICAL

from bpy_support import evaluated_pose, random_motion, rest_rotations


def assert_pose_matches_fk(bpy, obj, motion, start_frame=1, frames=(0, 1, -1)):
    world_m, world_p = motion.forward_kinematics()
    rest = rest_rotations(obj)
    for f in frames:
        f = f % motion.num_frames
        mats, heads = evaluated_pose(bpy, obj, start_frame + f)
        np.testing.assert_allclose(heads, world_p[f], atol=1e-4)
        np.testing.assert_allclose(mats, world_m[f] @ rest, atol=1e-4)


def randomise_bone_frames(bpy, obj, seed=0):
    """Give every bone an arbitrary rest orientation (tail direction and roll); heads
    stay on the joints."""
    rng = np.random.default_rng(seed)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode='EDIT')
    for bone in obj.data.edit_bones:
        direction = rng.normal(size=3)
        bone.tail = np.array(bone.head) + direction / np.linalg.norm(direction) * 0.05
        bone.roll = rng.uniform(-np.pi, np.pi)
    bpy.ops.object.mode_set(mode='OBJECT')


def test_bake_random_motion(blender):
    obj = build_armature()
    motion = random_motion(12, fps=24)
    action = bake_motion(obj, motion, action_name="Random", start_frame=5, update_scene=True)
    assert obj.animation_data.action == action and action.name == "Random"
    scene = blender.context.scene
    assert (scene.frame_start, scene.frame_end, scene.render.fps) == (5, 16, 24)
    assert_pose_matches_fk(blender, obj, motion, start_frame=5, frames=(0, 3, 7, -1))


def test_bake_handles_arbitrary_bone_rest_frames(blender):
    obj = build_armature()
    randomise_bone_frames(blender, obj)
    motion = random_motion(6, seed=3)
    bake_motion(obj, motion)
    assert_pose_matches_fk(blender, obj, motion)


def test_quaternions_are_sign_continuous(blender):
    obj = build_armature()
    motion = random_motion(2)
    motion.rotations[1] = -motion.rotations[0]  # same pose, flipped sign
    bake_motion(obj, motion)
    blender.context.scene.frame_set(1)
    first = np.array([pb.rotation_quaternion for pb in obj.pose.bones])
    blender.context.scene.frame_set(2)
    second = np.array([pb.rotation_quaternion for pb in obj.pose.bones])
    np.testing.assert_allclose(first, second, atol=1e-6)


def test_second_bake_keeps_first_action(blender, tmp_path):
    obj = build_armature()
    first = bake_motion(obj, random_motion(3, seed=1), action_name="First")
    second_motion = random_motion(4, seed=2)
    second = bake_motion(obj, second_motion, action_name="Second")
    assert obj.animation_data.action == second
    assert {"First", "Second"} <= {a.name for a in blender.data.actions}
    assert first.name == "First"
    assert_pose_matches_fk(blender, obj, second_motion)
    # Still there after a save and reload (orphans without a fake user are dropped).
    path = tmp_path / "two.blend"
    blender.ops.wm.save_as_mainfile(filepath=str(path))
    blender.ops.wm.open_mainfile(filepath=str(path))
    assert {"First", "Second"} <= {a.name for a in blender.data.actions}


def test_bake_rejects_unrelated_rig(blender):
    obj = build_armature(CANONICAL.subset([0]), name="Lonely")
    obj.data.bones[0].name = "not_a_joint"
    actions = len(blender.data.actions)
    with pytest.raises(ValueError, match="no bone named"):
        bake_motion(obj, random_motion(2))
    assert len(blender.data.actions) == actions
