"""BVH export on a target rig's own skeleton (bpy-free): the retarget maths' pose
(``pose_matrices``) written with ``write_rig_bvh``, re-read with motion/bvh.py and
converted back with motion/convert.py; tests/test_blender_export.py does the same with
the pose read back from Blender."""
from pathlib import Path

import numpy as np
import pytest

from cadence.motion.bvh import format_bvh, parse_bvh, read_bvh
from cadence.motion.canonical_to_rig import RetargetOptions, pose_heads, retarget_to_rig
from cadence.motion.convert import bvh_to_canonical, load_canonical_motion
from cadence.motion.export import vectors_to_y_up_cm
from cadence.motion.kinematics import forward_kinematics
from cadence.motion.rest_rig import RestRig, RigSamples
from cadence.motion.rig_export import bvh_names, pose_matrices, rig_to_canonical, write_rig_bvh
from cadence.motion.rig_mapping import match_rig
from cadence.motion.rig_target import prepare_target
from cadence.motion.skeleton import CANONICAL

import rig_builders as rb

BODY = list(range(22))  # canonical body joints (the fingers stay at rest in the take)


@pytest.fixture(scope="module")
def walk():
    return load_canonical_motion(Path(__file__).parent / "fixtures" / "bandai_walk_normal.bvh")


def samples_for(spec, motion, **options):
    rig = rb.rest_rig(spec)
    target = prepare_target(rig, match_rig(rig))
    pose = retarget_to_rig(target, motion, RetargetOptions(**options))
    mats = pose_matrices(rig, pose.bones, pose.rotations, pose.locations)
    return RigSamples(rig, mats, spec.object_matrix(), motion.fps), target, pose


def world_heads(samples):
    m = samples.world
    return np.einsum("tij,tnj->tni", m[:, :3, :3], samples.pose[..., :3, 3]) + m[:, None, :3, 3]


def bvh_positions(path):
    bvh = read_bvh(path)
    return bvh, forward_kinematics(bvh.skeleton.parents, bvh.local_rotations(),
                                   bvh.local_translations())[1]


def test_pose_matrices_match_pose_heads(walk):
    spec = rb.unreal(arm_angle=45.0, roll_seed=2)
    samples, target, pose = samples_for(spec, walk.slice(0, 20), root_motion="root")
    np.testing.assert_allclose(samples.pose[..., :3, 3], pose_heads(target.rig, pose), atol=1e-9)
    r = samples.pose[..., :3, :3]
    np.testing.assert_allclose(r @ np.swapaxes(r, -1, -2), np.broadcast_to(np.eye(3), r.shape),
                               atol=1e-9)


@pytest.mark.parametrize("spec", [
    rb.mixamo(roll_seed=1, data_rotation=rb.Y_UP, data_scale=100.0,
              object_euler=(np.pi / 2, 0, 0), object_scale=0.01),
    rb.mixamo(arm_angle=40.0, roll_seed=5, data_scale=100.0, object_scale=0.01),
], ids=["mixamo_T_fbx", "mixamo_A_cm"])
def test_target_bvh_plays_the_rig_and_converts_back(tmp_path, walk, spec):
    samples, _, _ = samples_for(spec, walk)
    path = tmp_path / "hero.bvh"
    rm = write_rig_bvh(path, samples)
    assert not list(tmp_path.glob("*.part"))
    bvh, positions = bvh_positions(path)
    rig = samples.rig
    assert bvh.skeleton.names == tuple(rig.names[b] for b in rig.order)
    assert bvh.fps == pytest.approx(30.0)
    # Every bone head, as the file plays it, is where the rig puts it (Y up, cm).
    want = vectors_to_y_up_cm(world_heads(samples))[:, rig.order]
    assert np.abs(positions - want).max() < 1e-3  # cm; the file's 6 decimals
    assert not rm.joint_positions  # hips carry the travel, nothing else moves
    # Rest: offsets are world-space heads (the object's 0.01 scale and rotation applied;
    # both rigs' world space is the canonical one, in metres).
    rest = bvh.skeleton.rest_positions()
    np.testing.assert_allclose(rest[0], vectors_to_y_up_cm(rb.P[0]), atol=1e-4)
    shin = rest[bvh.skeleton.names.index(spec.joints["left_ankle"])] - \
        rest[bvh.skeleton.names.index(spec.joints["left_knee"])]
    np.testing.assert_allclose(shin, vectors_to_y_up_cm(rb.P[rb.J["left_ankle"]]
                                                        - rb.P[rb.J["left_knee"]]), atol=1e-4)
    # Converted back to the canonical skeleton, it is the motion that was retargeted.
    motion = bvh_to_canonical(bvh, fps=None)
    err = np.linalg.norm(motion.positions()[:, BODY] - walk.positions()[:, BODY], axis=-1)
    print(f"\n{spec.label} A={spec.arm_angle}: canonical round trip max {100 * err.max():.3f} cm")
    assert err.max() < 0.01


def test_position_channels_where_bones_translate(tmp_path, walk):
    spec = rb.unreal(arm_angle=45.0, roll_seed=2, data_scale=100.0, object_scale=0.01)
    samples, target, pose = samples_for(spec, walk, root_motion="root")
    assert set(pose.locations) == {"root", "pelvis"}
    rm = write_rig_bvh(tmp_path / "ue.bvh", samples)
    names = rm.motion.skeleton.names
    assert {names[j] for j in rm.joint_positions} == {"pelvis"}  # root is the BVH root
    bvh, positions = bvh_positions(tmp_path / "ue.bvh")
    assert bvh.channels[names.index("pelvis")][:3] == ("Xposition", "Yposition", "Zposition")
    assert len(bvh.channels[names.index("spine_01")]) == 3
    rig = samples.rig
    want = vectors_to_y_up_cm(world_heads(samples))[:, rig.order]
    assert np.abs(positions - want).max() < 1e-3
    # The Unreal names are not in convert.py's tables: the rig's bone map names them.
    motion = rig_to_canonical(samples, target.bone_map.bones)
    err = np.linalg.norm(motion.positions()[:, BODY] - walk.positions()[:, BODY], axis=-1)
    print(f"\nunreal A-pose, root motion on the root bone: canonical round trip "
          f"{100 * err.max():.3f} cm")
    assert err.max() < 0.01


def test_selected_bones_collapse_the_hierarchy(tmp_path, walk):
    spec = rb.unreal(arm_angle=45.0, roll_seed=2)
    samples, _, _ = samples_for(spec, walk.slice(0, 30))
    rig = samples.rig
    keep = [n for n in rig.names if "twist" not in n and not n.startswith("ik_")
            and n not in ("spine_02", "spine_04", "neck_02")]
    rm = write_rig_bvh(tmp_path / "deform.bvh", samples, bones=keep)
    bvh, positions = bvh_positions(tmp_path / "deform.bvh")
    assert set(bvh.skeleton.names) == set(keep)
    assert bvh.skeleton.parents[bvh.skeleton.names.index("spine_03")] == \
        bvh.skeleton.names.index("spine_01")
    want = vectors_to_y_up_cm(world_heads(samples))[:, [rig.index[n] for n in bvh.skeleton.names]]
    assert np.abs(positions - want).max() < 1e-3
    # spine_03 hangs from spine_01 now: spine_02's bend moves it, so it gets positions.
    assert "spine_03" in {rm.motion.skeleton.names[j] for j in rm.joint_positions}


def test_several_roots_and_names_bvh_cannot_hold(tmp_path):
    names = ("Bip01 Pelvis", "Bip01 Spine", "Prop{1}", "Bip01_Pelvis")
    heads = np.array([[0, 0, 1.0], [0, 0, 1.2], [0.5, 0, 0], [0, 0.3, 1.0]])
    rig = RestRig(names, (-1, 0, -1, 0), heads, heads + [0, 0, 0.1],
                  np.broadcast_to(np.eye(3), (4, 3, 3)))
    mats = np.broadcast_to(np.eye(4), (5, 4, 4, 4)).copy()
    mats[:, :, :3, 3] = heads
    mats[:, 2, 0, 3] += np.linspace(0, 1, 5)  # the prop slides along X
    rm = write_rig_bvh(tmp_path / "two.bvh", RigSamples(rig, mats, np.eye(4), 24.0),
                       root_name="Armature 1")
    skeleton = read_bvh(tmp_path / "two.bvh").skeleton
    assert skeleton.names == ("Armature_1", "Bip01_Pelvis", "Bip01_Spine", "Bip01_Pelvis_1",
                              "Prop_1_")
    assert skeleton.parents == (-1, 0, 1, 1, 0)
    assert rm.joint_of_bone()["Prop{1}"] == "Prop_1_"
    assert {rm.motion.skeleton.names[j] for j in rm.joint_positions} == {"Prop_1_"}
    assert bvh_names(["a b", "a_b", "a\tb"]) == ["a_b", "a_b_1", "a_b_2"]


def test_bad_samples(tmp_path):
    rig = rb.rest_rig(rb.generic())
    n = rig.num_bones
    with pytest.raises(ValueError, match="pose must be"):
        RigSamples(rig, np.zeros((0, n, 4, 4)), np.eye(4), 30.0)
    mirrored = np.diag([-1.0, 1.0, 1.0, 1.0])
    pose = np.broadcast_to(np.eye(4), (2, n, 4, 4))
    with pytest.raises(ValueError, match="mirrors"):
        write_rig_bvh(tmp_path / "x.bvh", RigSamples(rig, pose, mirrored, 30.0))
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="lacks left_hip"):
        rig_to_canonical(RigSamples(rig, pose, np.eye(4), 30.0), {"pelvis": rig.names[0]})


def test_format_bvh_joint_positions_round_trip():
    """Non-root position channels: written where asked, read back by local_translations."""
    rng = np.random.default_rng(0)
    rotations = rng.normal(size=(4, CANONICAL.num_joints, 4))
    rotations /= np.linalg.norm(rotations, axis=-1, keepdims=True)
    root = rng.normal(size=(4, 3))
    moved = CANONICAL.offsets[5] + rng.normal(scale=0.1, size=(4, 3))
    bvh = parse_bvh(format_bvh(CANONICAL, rotations, root, 30.0, joint_positions={5: moved}))
    index = {n: bvh.skeleton.names.index(n) for n in ("right_knee", "right_ankle", "pelvis")}
    assert CANONICAL.names[5] == "right_knee"
    assert len(bvh.channels[index["right_knee"]]) == 6
    assert sum(len(c) == 6 for c in bvh.channels) == 2  # the root and the right knee
    tr = bvh.local_translations()
    np.testing.assert_allclose(tr[:, index["right_knee"]], moved, atol=1e-6)
    np.testing.assert_allclose(tr[:, index["pelvis"]], root, atol=1e-6)
    np.testing.assert_allclose(tr[:, index["right_ankle"]],
                               np.broadcast_to(CANONICAL.offsets[8], (4, 3)))
