"""BVH reading and writing: any hierarchy, clear errors, exact round trips."""
import numpy as np
import pytest

from cadence.motion import rotations as rot
from cadence.motion.bvh import BvhError, format_bvh, parse_bvh, read_bvh, write_bvh
from cadence.motion.kinematics import forward_kinematics
from cadence.motion.skeleton import CANONICAL_BODY

SMALL = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation
  JOINT Chest
  {
    OFFSET 0 10 0
    CHANNELS 3 Xrotation Zrotation Yrotation
    End Site
    {
      OFFSET 0 5 0
    }
  }
  JOINT Leg
  {
    OFFSET 2 -1 0
    CHANNELS 4 Xposition Yposition Zposition Zrotation
    End Site
    {
      OFFSET 0 -8 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0416667
1 2 3 90 0 0 0 0 0 2 -1 0 0
1 2 3 0 0 0 90 0 0 2 -1 0 45
"""


def test_parse_hierarchy_channels_and_values():
    b = parse_bvh(SMALL)
    assert b.skeleton.names == ("Hips", "Chest", "Leg")
    assert b.skeleton.parents == (-1, 0, 0)
    assert b.channels[1] == ("Xrotation", "Zrotation", "Yrotation")
    assert b.num_frames == 2 and b.fps == pytest.approx(24.0, rel=1e-4)
    np.testing.assert_allclose(b.skeleton.end_sites[1], [0, 5, 0])
    q = b.local_rotations()
    # Frame 0: hips yawed 90 degrees about Y.
    np.testing.assert_allclose(rot.quat_to_matrix(q[0, 0]) @ [1, 0, 0], [0, 0, -1], atol=1e-12)
    # Frame 1: chest 90 about X (its first channel), leg 45 about Z.
    np.testing.assert_allclose(rot.quat_to_matrix(q[1, 1]) @ [0, 1, 0], [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(rot.quat_to_axis_angle(q[1, 2]), [0, 0, np.pi / 4], atol=1e-12)
    tr = b.local_translations()
    np.testing.assert_allclose(tr[:, 0], [[1, 2, 3], [1, 2, 3]])
    np.testing.assert_allclose(tr[:, 2], [[2, -1, 0], [2, -1, 0]])
    _, pos = forward_kinematics(b.skeleton.parents, q, tr)
    np.testing.assert_allclose(pos[1, 1], [1, 12, 3], atol=1e-12)


@pytest.mark.parametrize("broken, message", [
    (SMALL.replace("Frames: 2", "Frames: 3"), "truncated motion"),
    (SMALL.replace("0 0 2 -1 0 45", "0 0 2 -1 0"), "expected 13 values"),
    (SMALL.replace("1 2 3 0 0 0 90", "1 2 3 0 0 0 nan"), "NaN"),
    (SMALL.replace("CHANNELS 3 Xrotation", "CHANNELS 4 Xrotation"), "line 10"),
    (SMALL.replace("Frame Time: 0.0416667", "Frame Time: 0"), "frame time"),
    (SMALL.replace("OFFSET 0 10 0", "OFFSET 0 ten 0"), "line 8: expected a number"),
    (SMALL.split("MOTION")[0], "no MOTION"),
    ("", "empty"),
])
def test_malformed_files_name_the_line(broken, message):
    with pytest.raises(BvhError, match=message):
        parse_bvh(broken, "take.bvh")


def test_missing_file(tmp_path):
    with pytest.raises(BvhError, match="cannot read"):
        read_bvh(tmp_path / "nope.bvh")


@pytest.mark.parametrize("order", ["ZXY", "XYZ", "YZX"])
def test_write_read_round_trip(tmp_path, order):
    rng = np.random.default_rng(4)
    t, sk = 20, CANONICAL_BODY
    q = rot.normalize(rng.normal(size=(t, sk.num_joints, 4)))
    root = rng.normal(size=(t, 3))
    path = tmp_path / "out.bvh"
    write_bvh(path, sk, q, root, fps=60.0, order=order)
    b = read_bvh(path)
    assert b.fps == pytest.approx(60.0)
    # The file is in depth-first order; compare by name.
    idx = [b.skeleton.names.index(n) for n in sk.names]
    back = b.local_rotations()[:, idx]
    assert rot.angle_between_quats(back, q).max() < 1e-5
    np.testing.assert_allclose(b.local_translations()[:, idx[0]], root, atol=1e-6)
    np.testing.assert_allclose(b.skeleton.offsets[idx], sk.offsets, atol=1e-6)
    assert not (tmp_path / "out.bvh.part").exists()


def test_real_take_parses(fixtures_dir):
    b = read_bvh(fixtures_dir / "bandai_walk_normal.bvh")
    assert b.skeleton.num_joints == 22 and b.num_frames == 120
    assert b.skeleton.names[0] == "joint_Root" and all(len(c) == 6 for c in b.channels)
    assert b.fps == pytest.approx(30.0, rel=1e-4)
    text = format_bvh(b.skeleton, b.local_rotations(), b.local_translations()[:, 0], b.fps)
    again = parse_bvh(text)
    assert rot.angle_between_quats(again.local_rotations(), b.local_rotations()).max() < 1e-5
