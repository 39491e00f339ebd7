"""Forward kinematics against hand-computed poses, and the Motion container."""
import numpy as np
import pytest

from cadence.motion import rotations as rot
from cadence.motion.kinematics import Motion, forward_kinematics, motion_world, rest_motion, world_to_local
from cadence.motion.skeleton import CANONICAL


def test_fk_known_chain():
    # A 3-joint chain along +X; bend the middle joint 90 degrees about Z.
    parents = (-1, 0, 1)
    offsets = np.array([[0, 0, 1.0], [1, 0, 0], [1, 0, 0]])
    q = rot.quat_identity((1, 3))
    q[0, 1] = rot.axis_rotation_quat("Z", np.pi / 2)
    _, pos = forward_kinematics(parents, q, offsets[None])
    np.testing.assert_allclose(pos[0], [[0, 0, 1], [1, 0, 1], [1, 1, 1]], atol=1e-12)
    # Rotating the root turns everything.
    q[0, 0] = rot.axis_rotation_quat("X", np.pi / 2)
    _, pos = forward_kinematics(parents, q, offsets[None])
    np.testing.assert_allclose(pos[0], [[0, 0, 1], [1, 0, 1], [1, 0, 2]], atol=1e-12)


def test_rest_motion_is_t_pose_and_world_local_inverse():
    m = rest_motion(3)
    np.testing.assert_allclose(m.positions()[1], CANONICAL.rest_positions(), atol=1e-12)
    rng = np.random.default_rng(0)
    q = rot.normalize(rng.normal(size=(4, CANONICAL.num_joints, 4)))
    world, _ = forward_kinematics(CANONICAL.parents, q, np.broadcast_to(CANONICAL.offsets, (4, 55, 3)))
    local = world_to_local(CANONICAL.parents, world)
    np.testing.assert_allclose(local, rot.quat_to_matrix(q), atol=1e-12)


def test_left_shoulder_rotation_moves_arm_down():
    # Positive rotation about +Y at the left shoulder brings the left arm down (-Z).
    m = rest_motion(1)
    m.rotations[0, CANONICAL.index("left_shoulder")] = rot.axis_rotation_quat("Y", np.pi / 2)
    p = m.positions()[0]
    s, w = p[CANONICAL.index("left_shoulder")], p[CANONICAL.index("left_wrist")]
    np.testing.assert_allclose(w - s, [0, 0, -0.515], atol=1e-9)


def test_motion_validation_and_resample():
    with pytest.raises(ValueError, match="NaN"):
        Motion(np.full((2, 55, 4), np.nan), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="rotations"):
        Motion(np.zeros((2, 10, 4)), np.zeros((2, 3)))
    m = rest_motion(31, fps=30.0)
    m.root_positions[:, 0] = np.linspace(0, 1, 31)
    m.rotations[:, 0] = rot.axis_rotation_quat("Z", np.linspace(0, 1, 31))
    r = m.resample(60.0)
    assert r.num_frames == 61 and r.fps == 60.0
    np.testing.assert_allclose(r.root_positions[:, 0], np.linspace(0, 1, 61), atol=1e-12)
    np.testing.assert_allclose(rot.quat_to_axis_angle(r.rotations[:, 0])[:, 2], np.linspace(0, 1, 61), atol=1e-9)


def test_motion_world_of_some_joints_is_the_whole_fk_there_and_nan_elsewhere():
    rng = np.random.default_rng(3)
    q = rng.normal(size=(12, CANONICAL.num_joints, 4))
    m = Motion(q / np.linalg.norm(q, axis=-1, keepdims=True), rng.normal(size=(12, 3)), 30.0)
    world, pos = motion_world(m)
    ankle = CANONICAL.index("left_ankle")
    w2, p2 = motion_world(m, [ankle])
    chain = [ankle]
    while CANONICAL.parents[chain[-1]] >= 0:
        chain.append(CANONICAL.parents[chain[-1]])
    np.testing.assert_array_equal(w2[:, chain], world[:, chain])
    np.testing.assert_array_equal(p2[:, chain], pos[:, chain])
    others = [j for j in range(CANONICAL.num_joints) if j not in chain]
    assert np.isnan(p2[:, others]).all() and np.isnan(w2[:, others]).all()
