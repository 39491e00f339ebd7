"""motion.pose_space: skeleton rotations <-> pose-bone rotations, checked without bpy.

The check re-implements Blender's pose evaluation (pose = parent_pose · parent_rest^-1 ·
rest · basis) in numpy with arbitrary bone rest frames and compares it with FK.
"""
import numpy as np

from cadence.motion import pose_space
from cadence.motion import rotations as rot
from cadence.motion.kinematics import Motion
from cadence.motion.skeleton import CANONICAL


def random_rotations(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rot.normalize(rng.normal(size=shape + (4,)))


def blender_pose(parents, rest_heads, bone_rest, pose_quats, root_location):
    """Armature-space bone heads as Blender evaluates them, (T, J, 3)."""
    basis = rot.quat_to_matrix(pose_quats)
    t, j = pose_quats.shape[:2]
    pose_m = np.empty((t, j, 3, 3))
    heads = np.empty((t, j, 3))
    for k, p in enumerate(parents):
        if p < 0:
            pose_m[:, k] = bone_rest[k] @ basis[:, k]
            heads[:, k] = rest_heads[k] + root_location @ bone_rest[k].T
        else:
            rel = bone_rest[p].T @ bone_rest[k]
            pose_m[:, k] = pose_m[:, p] @ rel @ basis[:, k]
            offset = bone_rest[p].T @ (rest_heads[k] - rest_heads[p])
            heads[:, k] = heads[:, p] + np.einsum("tij,j->ti", pose_m[:, p], offset)
    return pose_m, heads


def test_pose_space_matches_forward_kinematics():
    rng = np.random.default_rng(0)
    frames, joints = 5, CANONICAL.num_joints
    motion = Motion(random_rotations(rng, (frames, joints)),
                    rng.normal(size=(frames, 3)) + CANONICAL.offsets[0])
    bone_rest = rot.quat_to_matrix(random_rotations(rng, (joints,)))
    rest_heads = CANONICAL.rest_positions()

    pose_q = pose_space.to_pose_space(motion.rotations, bone_rest)
    loc = pose_space.root_location_to_pose_space(motion.root_positions, rest_heads[0],
                                                 bone_rest[0])
    pose_m, heads = blender_pose(CANONICAL.parents, rest_heads, bone_rest, pose_q, loc)

    world_m, world_p = motion.forward_kinematics()
    np.testing.assert_allclose(heads, world_p, atol=1e-9)
    np.testing.assert_allclose(pose_m, world_m @ bone_rest, atol=1e-9)


def test_round_trip_and_identity_rest():
    rng = np.random.default_rng(1)
    q = random_rotations(rng, (4, 3))
    bone_rest = rot.quat_to_matrix(random_rotations(rng, (3,)))
    back = pose_space.from_pose_space(pose_space.to_pose_space(q, bone_rest), bone_rest)
    np.testing.assert_allclose(back, q, atol=1e-12)
    # World-aligned bones need no conversion.
    np.testing.assert_allclose(pose_space.to_pose_space(q, np.eye(3)[None].repeat(3, 0)), q,
                               atol=1e-12)
    p = rng.normal(size=(4, 3))
    loc = pose_space.root_location_to_pose_space(p, p[0], bone_rest[0])
    np.testing.assert_allclose(loc[0], 0.0, atol=1e-12)
    np.testing.assert_allclose(
        pose_space.root_location_from_pose_space(loc, p[0], bone_rest[0]), p, atol=1e-12)


def test_sign_continuity_is_preserved():
    rng = np.random.default_rng(2)
    q = rot.quat_continuous(random_rotations(rng, (50, 2)) * 0.1 + [1, 0, 0, 0])
    pose = pose_space.to_pose_space(q, rot.quat_to_matrix(random_rotations(rng, (2,))))
    assert np.all(np.sum(pose[1:] * pose[:-1], axis=-1) > 0)
