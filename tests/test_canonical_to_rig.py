"""Retargeting maths onto target rigs (bpy-free; pose_heads evaluates poses as Blender does,
tests/test_blender_retarget.py checks the same in Blender)."""
from pathlib import Path

import numpy as np
import pytest

from cadence.motion import rotations as rot
from cadence.motion.bone_map import BoneMap
from cadence.motion.canonical_to_rig import RetargetOptions, pose_heads, retarget_to_rig
from cadence.motion.convert import load_canonical_motion
from cadence.motion.kinematics import rest_motion
from cadence.motion.rig_mapping import match_rig
from cadence.motion.rig_target import prepare_target
from cadence.motion.skeleton import PRIMARY_CHILD

import rig_builders as rb

HANDS_FEET = ("left_wrist", "right_wrist", "left_ankle", "right_ankle", "left_foot", "right_foot")


@pytest.fixture(scope="module")
def walk():
    return load_canonical_motion(Path(__file__).parent / "fixtures" / "bandai_walk_normal.bvh")


def retarget(spec, motion, **options):
    rig = rb.rest_rig(spec)
    target = prepare_target(rig, match_rig(rig))
    pose = retarget_to_rig(target, motion, RetargetOptions(**options))
    return rig, target, pose


def canonical_space_heads(spec, rig, pose):
    m = spec.object_matrix()
    world = pose_heads(rig, pose) @ m[:3, :3].T + m[:3, 3]
    return spec.to_canonical_space(world)


def on_joint(spec, joint):
    """Whether the spec's bone for ``joint`` has its head on the canonical joint."""
    return np.allclose(spec.bones[spec.joints[joint]][1], rb.P[rb.J[joint]])


def errors(spec, rig, pose, motion):
    """(max hand/foot position error in canonical metres, max bone direction error in deg)."""
    heads = canonical_space_heads(spec, rig, pose)
    positions = motion.positions()
    pos_err = max(np.linalg.norm(heads[:, rig.index[spec.joints[j]]] - positions[:, rb.J[j]],
                                 axis=-1).max() for j in HANDS_FEET)
    ang = []
    for j, child in PRIMARY_CHILD.items():
        if j in spec.joints and child in spec.joints and on_joint(spec, j) and on_joint(spec, child):
            a = heads[:, rig.index[spec.joints[child]]] - heads[:, rig.index[spec.joints[j]]]
            b = positions[:, rb.J[child]] - positions[:, rb.J[j]]
            cos = np.sum(rot.normalize(a) * rot.normalize(b), -1)
            ang.append(np.degrees(np.arccos(np.clip(cos, -1, 1))).max())
    return pos_err, max(ang)


@pytest.mark.parametrize("spec", rb.test_rigs(), ids=lambda s: s.label)
def test_same_proportion_rigs_follow_the_motion(spec, walk):
    rig, target, pose = retarget(spec, walk)
    pos_err, ang_err = errors(spec, rig, pose, walk)
    print(f"{spec.label}: hands/feet {100 * pos_err:.3f} cm, directions {ang_err:.3f} deg")
    assert pos_err < 0.02 and ang_err < 2.0


@pytest.mark.parametrize("spec", [rb.mixamo(roll_seed=1), rb.rigify(roll_seed=2),
                                  rb.vrm(roll_seed=3, data_rotation=rb.Y_UP)], ids=lambda s: s.label)
def test_canonical_rest_gives_t_pose_rig_its_rest(spec):
    rig, target, pose = retarget(spec, rest_motion(2))
    np.testing.assert_allclose(np.abs(pose.rotations[..., 0]), 1.0, atol=1e-6)
    for loc in pose.locations.values():
        np.testing.assert_allclose(loc, 0.0, atol=1e-6)


def test_a_pose_rig_raises_its_arms_for_the_canonical_t_pose():
    spec = rb.unreal(arm_angle=45.0, roll_seed=1)
    rig, target, pose = retarget(spec, rest_motion(1))
    heads = canonical_space_heads(spec, rig, pose)[0]
    for side, sign in (("left", 1.0), ("right", -1.0)):
        arm = heads[rig.index[f"hand_{side[0]}"]] - heads[rig.index[f"upperarm_{side[0]}"]]
        np.testing.assert_allclose(rot.normalize(arm), [sign, 0, 0], atol=1e-6)
    # The legs and spine were at rest already: no rotation there.
    col = {n: k for k, n in enumerate(pose.bones)}
    for bone in ("thigh_l", "calf_r", "spine_03", "head"):
        assert abs(pose.rotations[0, col[bone], 0]) > 1 - 1e-9


def test_other_proportions_follow_directions_and_keep_feet_down(walk):
    spec = rb.mixamo(prefix="", roll_seed=4)
    stretch = np.array([1.0, 1.0, 1.15])  # a taller character with wider shoulders
    spec.bones = {n: (p, h * stretch * ([1.3, 1, 1] if abs(h[0]) > 0.2 else 1))
                  for n, (p, h) in spec.bones.items()}
    rig, target, pose = retarget(spec, walk, foot_cleanup=False)  # pure transfer
    heads = canonical_space_heads(spec, rig, pose)
    positions = walk.positions()
    for j, child in (("left_hip", "left_knee"), ("right_knee", "right_ankle"),
                     ("left_shoulder", "left_elbow"), ("right_elbow", "right_wrist"),
                     ("spine3", "neck")):
        a = heads[:, rig.index[spec.joints[child]]] - heads[:, rig.index[spec.joints[j]]]
        b = positions[:, rb.J[child]] - positions[:, rb.J[j]]
        cos = np.sum(rot.normalize(a) * rot.normalize(b), -1)
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 1.0, (j, child)
    feet = heads[:, [rig.index["LeftToeBase"], rig.index["RightToeBase"]], 2]
    assert abs(feet.min(1).min() - 0.01 * 1.15) < 0.02  # toes on the floor as at rest
    assert target.scale == pytest.approx(1.15, rel=0.01)


def test_root_motion_options(walk):
    spec = rb.unreal(roll_seed=5)
    rig, target, hips = retarget(spec, walk)
    _, _, root = retarget(spec, walk, root_motion="root")
    _, _, still = retarget(spec, walk, root_motion="in_place")
    travel = lambda pose: np.ptp(canonical_space_heads(spec, rig, pose)[:, rig.index["pelvis"], :2], 0)  # noqa: E731
    assert np.linalg.norm(travel(hips)) > 1.0
    assert np.linalg.norm(travel(still)) < 0.1
    # Root mode: the root bone carries the ground-plane travel, the pelvis ends up where
    # it does in hips mode.
    assert set(root.locations) == {"root", "pelvis"}
    body = [rig.index[n] for n in hips.bones]
    np.testing.assert_allclose(canonical_space_heads(spec, rig, root)[:, body],
                               canonical_space_heads(spec, rig, hips)[:, body], atol=1e-6)
    root_heads = canonical_space_heads(spec, rig, root)[:, rig.index["root"]]
    assert np.ptp(root_heads[:, 2]) < 1e-6 and np.linalg.norm(np.ptp(root_heads[:, :2], 0)) > 1.0


def test_twist_and_extra_bones_stay_rigid_or_share(walk):
    rig, target, pose = retarget(rb.unreal(), walk)
    names = set(pose.bones)
    assert "upperarm_twist_01_l" not in names and "ik_foot_l" not in names  # unmapped: at rest
    assert {"spine_02", "spine_04", "neck_02"} <= names  # distributed along the chain
    assert pose.rest_bones == ["root"]



def odd_legs_rig():
    """A Mixamo-style rig with wider hips, shorter shins and longer feet than the source."""
    spec = rb.mixamo(prefix="", roll_seed=6)

    def move(root, d):
        for n in spec.descendants(root):
            p, h = spec.bones[n]
            spec.bones[n] = (p, h + np.array(d))
    for s, sign in (("Left", 1), ("Right", -1)):
        move(s + "UpLeg", [0.03 * sign, 0, 0])
        move(s + "Leg", [0, 0, 0.06])
        move(s + "ToeBase", [0, -0.05, 0])
    return spec


def contact_errors(spec, rig, target, pose, motion):
    """(extra sliding of planted ankles summed over the take, worst height error of the
    planted foot), in rig units, against the source's own (scaled) feet."""
    from cadence.motion.foot_contact import foot_contacts
    positions = motion.positions()
    contacts = foot_contacts(positions, motion.fps)
    heads = pose_heads(rig, pose) @ target.axes.T
    slide, height = 0.0, 0.0
    for side, s in (("left", "Left"), ("right", "Right")):
        ankle, source = heads[:, rig.index[s + "Foot"]], positions[:, rb.J[f"{side}_ankle"]]
        planted = contacts[side]
        both = planted[1:] & planted[:-1]
        ours = np.linalg.norm(np.diff(ankle[:, :2], axis=0), axis=1)
        theirs = target.scale * np.linalg.norm(np.diff(source[:, :2], axis=0), axis=1)
        slide += np.abs(ours - theirs)[both].sum()
        # The point the source has on the floor (ball of the foot or ankle) sits at the
        # source's height above the floor, scaled.
        gaps, above = [], []
        for bone, joint in ((s + "Foot", f"{side}_ankle"), (s + "ToeBase", f"{side}_foot")):
            gap = positions[:, rb.J[joint], 2] - rb.P[rb.J[joint], 2]
            goal = target.heads[rig.index[bone], 2] + target.scale * gap
            gaps.append(gap)
            above.append(heads[:, rig.index[bone], 2] - goal)
        on_floor = np.argmin(gaps, axis=0)
        clear = planted & (np.abs(gaps[0] - gaps[1]) > 0.03)  # one point clearly down
        err = np.take_along_axis(np.array(above), on_floor[None], 0)[0]
        height = max(height, np.abs(err[clear]).max())
    return slide, height


def test_foot_cleanup_stops_sliding_and_floating(walk):
    spec = odd_legs_rig()
    rig, target, raw = retarget(spec, walk, foot_cleanup=False)
    _, _, clean = retarget(spec, walk)
    slide, height = contact_errors(spec, rig, target, raw, walk)
    clean_slide, clean_height = contact_errors(spec, rig, target, clean, walk)
    print(f"feet: sliding {100 * slide:.2f} -> {100 * clean_slide:.3f} cm, "
          f"height {100 * height:.2f} -> {100 * clean_height:.3f} cm")
    assert slide > 0.05 and height > 0.004  # the rig's proportions make the feet slide
    assert clean_slide < 0.002 and clean_height < 0.003


def test_foot_cleanup_leaves_matching_rigs_alone(walk):
    spec = rb.unreal(arm_angle=45.0, roll_seed=2)
    rig, target, raw = retarget(spec, walk, foot_cleanup=False)
    _, _, clean = retarget(spec, walk)
    np.testing.assert_allclose(pose_heads(rig, clean), pose_heads(rig, raw), atol=0.05)  # 0.5 mm
    assert errors(spec, rig, clean, walk)[0] < 0.02


def test_a_map_onto_a_control_outside_the_body_is_refused_in_words():
    spec = rb.game_rig()
    rig = rb.rest_rig(spec)
    bones = dict(spec.joints, left_ankle="Foot.L")  # the IK control at the rig's root
    with pytest.raises(ValueError) as info:
        prepare_target(rig, BoneMap(bones))
    msg = str(info.value)
    assert "left ankle on 'Foot.L'" in msg and "does not hang below the hips" in msg and "Check Rig" in msg


def test_extra_roots_stay_at_rest(walk):
    spec = rb.game_rig()
    rig, target, pose = retarget(spec, walk)
    for name in ("Foot.L", "KneePole.R", "HelmetSlot", "FootRoll.L"):
        assert name not in pose.bones and name not in pose.locations  # no keys: left alone
    heads = canonical_space_heads(spec, rig, pose)
    for name in ("Foot.L", "HelmetSlot"):
        np.testing.assert_allclose(heads[:, rig.index[name]], heads[:1, rig.index[name]].repeat(len(heads), 0))
