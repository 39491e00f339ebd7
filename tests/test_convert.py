"""BVH -> canonical skeleton: real takes, other namings, axes, units and rest poses."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cadence.motion import rotations as rot
from cadence.motion.bone_names import match_names
from cadence.motion.bvh import read_bvh, write_bvh
from cadence.motion.convert import bvh_to_canonical, load_canonical_motion
from cadence.motion.export import write_canonical_bvh
from cadence.motion.kinematics import world_to_local
from cadence.motion.skeleton import CANONICAL, Skeleton

ROOT = Path(__file__).resolve().parents[1]
J = {n: i for i, n in enumerate(CANONICAL.names)}


def test_real_walk_keeps_feet_on_floor_and_moves_forward(fixtures_dir):
    m = load_canonical_motion(fixtures_dir / "bandai_walk_normal.bvh")
    p = m.positions()
    feet = p[:, [J["left_ankle"], J["right_ankle"], J["left_foot"], J["right_foot"]], 2]
    assert abs(feet.min()) < 0.02, feet.min()
    # Every frame has a foot near the floor (walking, no flight phase).
    assert np.all(feet.min(axis=1) < 0.05)
    travel = p[-1, J["pelvis"]] - p[0, J["pelvis"]]
    # Facing -Y and walking forward: the pelvis moves along -Y about 1.2 m/s.
    left = p[:, J["left_hip"]] - p[:, J["right_hip"]]
    facing = rot.normalize(np.cross(left.mean(0), [0, 0, 1]))  # left x up = forward
    assert np.dot(travel, facing) > 0.8 * np.linalg.norm(travel)
    assert 0.8 < np.linalg.norm(travel[:2]) / m.duration < 2.0
    # Upright: head well above the pelvis all along.
    assert np.all(p[:, J["head"], 2] - p[:, J["pelvis"], 2] > 0.5)


def test_knees_bend_about_their_hinge(fixtures_dir):
    # With joint frames aligned properly, knee flexion is a rotation about +X
    # (the character's left-right axis), positive bringing the foot backwards.
    m = load_canonical_motion(fixtures_dir / "bandai_walk_normal.bvh")
    for knee in ("left_knee", "right_knee"):
        aa = rot.quat_to_axis_angle(m.rotations[:, J[knee]])
        bent = np.linalg.norm(aa, axis=1) > np.radians(20)
        axis = rot.normalize(aa[bent]).mean(0)
        assert axis[0] > 0.95, axis


def test_wave_raises_the_right_hand(fixtures_dir):
    m = load_canonical_motion(fixtures_dir / "bandai_wave_right_hand.bvh")
    p = m.positions()
    right_up = p[:, J["right_wrist"], 2] - p[:, J["right_shoulder"], 2]
    left_up = p[:, J["left_wrist"], 2] - p[:, J["left_shoulder"], 2]
    assert right_up.max() > 0.1 and left_up.max() < -0.2


def _world(motion):
    world, pos = motion.forward_kinematics()
    return world, pos


def test_canonical_bvh_round_trip_is_idempotent(fixtures_dir, tmp_path):
    m = load_canonical_motion(fixtures_dir / "bandai_bow_happy.bvh")
    write_canonical_bvh(tmp_path / "c.bvh", m)
    b = read_bvh(tmp_path / "c.bvh")
    # Written Y up, in centimetres.
    rest = b.skeleton.rest_positions()
    assert rest[:, 1].max() > 150
    again = load_canonical_motion(tmp_path / "c.bvh")
    np.testing.assert_allclose(again.positions(), m.positions(), atol=1e-5)
    assert rot.angle_between_quats(again.rotations, m.rotations).max() < 1e-4


def _source_from_canonical(motion, names, offsets, arm_tilt_deg=0.0, up="Z", scale=1.0):
    """A BVH-like source built from a canonical motion: renamed joints, another rest
    pose (arms tilted down into an A-pose), axes and units."""
    tilt = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        q = rot.axis_rotation_quat("Y", sign * np.radians(arm_tilt_deg))
        for j in ("shoulder", "elbow", "wrist"):
            tilt[J[f"{side}_{j}"]] = rot.quat_to_matrix(q)
    world, _ = motion.forward_kinematics()
    rest_world = np.stack([tilt.get(j, np.eye(3)) for j in range(CANONICAL.num_joints)])
    new_offsets = offsets.copy()
    for j, p in enumerate(CANONICAL.parents):
        if p >= 0:
            new_offsets[j] = rest_world[p] @ offsets[j] if p in tilt else offsets[j]
    src_world = world @ np.swapaxes(rest_world, -1, -2)
    local = rot.matrix_to_quat(world_to_local(CANONICAL.parents, src_world))
    root = motion.root_positions
    if up == "Y":
        c = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])
        local = rot.matrix_to_quat(c @ rot.quat_to_matrix(local) @ c.T)
        new_offsets, root = new_offsets @ c.T, root @ c.T
    sk = Skeleton(tuple(names), CANONICAL.parents, new_offsets * scale)
    return sk, local, root * scale


@pytest.mark.parametrize("naming, tilt, up, scale", [
    ("cmu", 0.0, "Y", 100.0),       # CMU names, T-pose, Y up, centimetres
    ("mixamo", 45.0, "Y", 1.0),     # mixamorig: names, A-pose, Y up, metres
    ("canonical", 30.0, "Z", 1.0),  # canonical names, A-pose, Z up, metres
])
def test_other_namings_axes_units_and_rest_poses(fixtures_dir, tmp_path, naming, tilt, up, scale):
    from cadence.motion import bone_names
    m = load_canonical_motion(fixtures_dir / "bandai_walk_normal.bvh")
    table = {"canonical": bone_names.CANONICAL_NAMES, "cmu": bone_names.CMU,
             "mixamo": bone_names.MIXAMO}[naming]
    inverse = {v: k for k, v in table.items()}
    prefix = "mixamorig:" if naming == "mixamo" else ""
    names = [prefix + inverse[n] if n in inverse else f"extra_{n}" for n in CANONICAL.names]
    sk, local, root = _source_from_canonical(m, names, CANONICAL.offsets.copy(), tilt, up, scale)
    write_bvh(tmp_path / "src.bvh", sk, local, root, m.fps)
    assert match_names(read_bvh(tmp_path / "src.bvh").skeleton.names)[0] == naming
    back = load_canonical_motion(tmp_path / "src.bvh")
    body = [J[n] for n in table.values() if n in J]
    err = np.linalg.norm(back.positions()[:, body] - m.positions()[:, body], axis=-1)
    # Mapped joints land where they were (spine2 is interpolated in the CMU/Bandai case).
    assert err.max() < 0.02, err.max()


def test_unrecognised_skeleton_is_a_clear_error(tmp_path):
    sk = Skeleton(("a", "b"), (-1, 0), np.array([[0, 0, 0], [0, 1, 0.0]]))
    write_bvh(tmp_path / "x.bvh", sk, rot.quat_identity((2, 2)), np.zeros((2, 3)), 30)
    with pytest.raises(ValueError, match="cannot recognise the skeleton"):
        load_canonical_motion(tmp_path / "x.bvh")


def test_cli_convert(fixtures_dir, tmp_path):
    out = tmp_path / "walk.bvh"
    r = subprocess.run([sys.executable, str(ROOT / "cadence"), "convert",
                        str(fixtures_dir / "bandai_walk_normal.bvh"), "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert read_bvh(out).skeleton.names[0] == "pelvis"
    bad = tmp_path / "bad.bvh"
    bad.write_text((fixtures_dir / "bandai_walk_normal.bvh").read_text().replace("Frames: 120", "Frames: 999"))
    r = subprocess.run([sys.executable, str(ROOT / "cadence"), "convert", str(bad), "--out",
                        str(tmp_path / "o.bvh")], capture_output=True, text=True)
    assert r.returncode == 2 and "truncated motion" in r.stderr
    assert not (tmp_path / "o.bvh").exists()


def test_shared_alignment_follows_each_takes_axes(fixtures_dir, tmp_path):
    """The dataset converts every take with one alignment; a take that faces another
    way (so its axes come out turned) must still come out standing, not lying down."""
    from cadence.motion.body_frame import detect_axes
    from cadence.motion.convert import SourcePose, bvh_alignment, source_pose
    ref = read_bvh(fixtures_dir / "bandai_walk_normal.bvh")
    _, names = match_names(ref.skeleton.names)
    index = {n: i for i, n in enumerate(ref.skeleton.names)}
    mapping = {CANONICAL.index(c): index[s] for c, s in names.items()}
    raw = source_pose(ref)
    axes = detect_axes(raw.positions, {c: index[s] for c, s in names.items()})
    alignment = bvh_alignment(ref, mapping, axes, SourcePose(axes @ raw.world @ axes.T, raw.positions @ axes.T))
    # The same take turned 90 degrees about the file's up axis (Y): joint_Root's Y rotation.
    text = (fixtures_dir / "bandai_walk_normal.bvh").read_text().splitlines()
    start = text.index("MOTION") + 3
    for i in range(start, len(text)):
        v = text[i].split()
        v[5] = "90"  # joint_Root channels: X Y Z position, Z X Y rotation
        text[i] = " ".join(v)
    (tmp_path / "turned.bvh").write_text("\n".join(text) + "\n")
    turned = read_bvh(tmp_path / "turned.bvh")
    shared = bvh_to_canonical(turned, alignment=alignment)
    own = bvh_to_canonical(turned)
    assert shared.root_positions[:, 2].min() > 0.85
    np.testing.assert_allclose(shared.positions()[:, :, 2], own.positions()[:, :, 2], atol=1e-6)
