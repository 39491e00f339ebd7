"""The canonical skeleton: SMPL-X names and tree, T-pose geometry in Blender's axes."""
import numpy as np
import pytest

from cadence.motion import skeleton as sk


def test_smplx_names_and_tree():
    assert sk.NUM_JOINTS == 55 and sk.NUM_BODY_JOINTS == 22
    assert sk.JOINT_NAMES[:4] == ("pelvis", "left_hip", "right_hip", "spine1")
    assert sk.JOINT_NAMES[22:25] == ("jaw", "left_eye_smplhf", "right_eye_smplhf")
    assert sk.JOINT_NAMES[25] == "left_index1" and sk.JOINT_NAMES[40] == "right_index1"
    names = sk.JOINT_NAMES
    parent = {n: names[p] if p >= 0 else None for n, p in zip(names, sk.PARENTS)}
    assert parent["left_wrist"] == "left_elbow" and parent["head"] == "neck"
    assert parent["left_collar"] == "spine3" and parent["jaw"] == "head"
    assert parent["right_thumb1"] == "right_wrist" and parent["left_pinky3"] == "left_pinky2"


def test_t_pose_axes_and_proportions():
    rest = sk.CANONICAL.rest_positions()
    at = {n: rest[i] for i, n in enumerate(sk.JOINT_NAMES)}
    # Z up: the head is above the pelvis, the feet near the floor.
    assert at["head"][2] > at["pelvis"][2] > at["left_knee"][2] > at["left_ankle"][2] > 0
    assert 0 <= at["left_foot"][2] < 0.03
    # Left is +X, and arms are horizontal (T-pose).
    assert at["left_wrist"][0] > 0.6 and at["right_wrist"][0] < -0.6
    assert abs(at["left_wrist"][2] - at["left_shoulder"][2]) < 1e-9
    # Facing -Y: toes and eyes are in front (negative y) of ankles and head.
    assert at["left_foot"][1] < at["left_ankle"][1]
    assert at["left_eye_smplhf"][1] < at["head"][1]
    # Mirror symmetry.
    for i, n in enumerate(sk.JOINT_NAMES):
        if n.startswith("left_"):
            j = sk.JOINT_NAMES.index("right_" + n[5:])
            np.testing.assert_allclose(rest[j], rest[i] * [-1, 1, 1])
    height = sk.CANONICAL.rest_positions()[:, 2].max() + 0.1
    assert 1.6 < height < 1.9


def test_body_parts_cover_every_joint_once():
    all_names = [n for group in sk.BODY_PARTS.values() for n in group]
    assert sorted(all_names) == sorted(sk.JOINT_NAMES)
    arms = sk.part_joint_indices(["arms"])
    assert sk.JOINT_NAMES.index("left_elbow") in arms and sk.JOINT_NAMES.index("left_knee") not in arms
    with pytest.raises(ValueError, match="unknown body part"):
        sk.part_joint_indices(["tail"])


def test_subset_keeps_geometry():
    body = sk.CANONICAL_BODY
    assert body.names == sk.BODY_JOINT_NAMES
    np.testing.assert_allclose(body.rest_positions(), sk.CANONICAL.rest_positions()[:22])
    with pytest.raises(ValueError):
        sk.Skeleton(("a", "b"), (1, -1), np.zeros((2, 3)))
