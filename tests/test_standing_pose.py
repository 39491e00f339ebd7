"""A standing reference for BVH target rigs whose zero pose does not stand (issue 24)."""
import numpy as np
import pytest

from cadence.motion.bvh import parse_bvh
from cadence.motion.standing_pose import bvh_joint_map, standing_reference

import rig_builders as rb


def test_character_creator_zero_pose_with_legs_up_uses_a_standing_frame():
    bvh = parse_bvh(rb.lying_zero_pose_bvh(rb.character_creator()))
    names = bvh_joint_map(bvh.skeleton.names)  # CC_Base_* is a rig naming, not a BVH one
    assert bvh.skeleton.names[names["left_knee"]] == "CC_Base_L_Calf"
    ref = standing_reference(bvh)
    # the canonical legs are 2.3 deg from plumb
    assert ref.frame is not None and ref.frame >= 1 and ref.zero_pose_deg > 150 and ref.chosen_deg < 5
    assert "frame" in ref.describe("cc.bvh") and "cc.bvh" in ref.describe("cc.bvh")


def test_standing_zero_pose_is_kept():
    from cadence.motion.bvh import format_bvh
    from cadence.motion.skeleton import Skeleton
    spec = rb.character_creator()
    folded = parse_bvh(rb.lying_zero_pose_bvh(spec)).skeleton
    heads = np.array([spec.bones[n][1] for n in folded.names]) @ rb.Y_UP.T * 100.0
    offsets = np.array([heads[i] - heads[p] if p >= 0 else heads[i] for i, p in enumerate(folded.parents)])
    upright = format_bvh(Skeleton(folded.names, folded.parents, offsets),
                         np.tile([1.0, 0, 0, 0], (2, len(folded.names), 1)), heads[:1].repeat(2, 0), 30.0)
    assert standing_reference(parse_bvh(upright)).frame is None


def test_nothing_stands_is_refused_with_what_to_do():
    text = rb.lying_zero_pose_bvh(rb.character_creator(), frames=1)  # only the folded pose
    with pytest.raises(ValueError) as info:
        standing_reference(parse_bvh(text))
    msg = str(info.value)
    assert "zero pose" in msg and "standing T- or A-pose" in msg
