"""The learning representation: exact encode -> decode, and what the channels mean."""
import numpy as np
import pytest

from cadence.motion import representation as rep
from cadence.motion import rotations as rot
from cadence.motion.convert import load_canonical_motion
from cadence.motion.kinematics import rest_motion
from cadence.motion.skeleton import CANONICAL

J = {n: i for i, n in enumerate(CANONICAL.names)}


@pytest.mark.parametrize("fixture", ["bandai_walk_normal.bvh", "bandai_bow_happy.bvh",
                                     "bandai_wave_right_hand.bvh"])
def test_decode_of_encode_is_exact(fixtures_dir, fixture):
    m = load_canonical_motion(fixtures_dir / fixture)
    feats, start = rep.encode(m)
    assert feats.shape == (m.num_frames, rep.FEATURE_DIM) == (m.num_frames, 206)
    back = rep.decode(feats, m.fps, start)
    err = np.abs(back.positions()[:, :22] - m.positions()[:, :22]).max()
    assert err < 1e-9, err
    assert rot.angle_between_quats(back.rotations[:, :22], m.rotations[:, :22]).max() < 1e-6
    # Position channels agree with what the rotations give.
    np.testing.assert_allclose(rep.encode(back)[0][:, rep.POSITIONS], feats[:, rep.POSITIONS], atol=1e-9)


def test_decode_starts_facing_minus_y_at_origin(fixtures_dir):
    m = load_canonical_motion(fixtures_dir / "bandai_walk_normal.bvh")
    feats, _ = rep.encode(m)
    d = rep.decode(feats, m.fps)
    p = d.positions()
    np.testing.assert_allclose(p[0, J["pelvis"], :2], 0, atol=1e-12)
    left = p[0, J["left_hip"]] - p[0, J["right_hip"]]
    assert left[0] > 0.15 and abs(left[1]) < 0.02  # left hip on +X, so facing -Y
    assert p[-1, J["pelvis"], 1] < -3.0  # walked forward (-Y)


def test_root_channels_have_physical_meaning():
    # Walk 1 m/s towards the character's left while turning 0.5 rad/s, pelvis at 0.9 m.
    n, fps = 61, 30.0
    m = rest_motion(n, fps=fps)
    theta = 0.5 * np.arange(n) / fps
    m.rotations[:, 0] = rot.yaw_quat(theta)
    step = np.stack([np.cos(theta), np.sin(theta), np.zeros(n)], 1) / fps  # left = yawed +X
    m.root_positions = np.cumsum(step, 0) + [0, 0, 0.9]
    feats, start = rep.encode(m)
    np.testing.assert_allclose(feats[:, 0], 0.5, atol=1e-9)
    np.testing.assert_allclose(feats[:-1, 1], 1.0, atol=0.01)
    np.testing.assert_allclose(feats[:-1, 2], 0.0, atol=0.02)  # one frame of turning
    np.testing.assert_allclose(feats[:, 3], 0.9, atol=1e-12)
    # Feet sliding along with the root are not in contact; standing still they are.
    assert feats[:, rep.CONTACTS].max() == 0.0
    still = rest_motion(10)
    assert rep.encode(still)[0][:, rep.CONTACTS].min() == 1.0


def test_normalizer_round_trip(tmp_path, fixtures_dir):
    clips = [rep.encode(load_canonical_motion(fixtures_dir / f))[0]
             for f in ("bandai_walk_normal.bvh", "bandai_bow_happy.bvh")]
    norm = rep.Normalizer.fit(clips)
    z = norm.normalize(np.concatenate(clips))
    assert abs(z.mean()) < 1e-6 and np.all(norm.std >= 1e-3)
    norm.save(tmp_path / "n.npz")
    again = rep.Normalizer.load(tmp_path / "n.npz")
    np.testing.assert_allclose(again.denormalize(z), np.concatenate(clips))
    np.savez(tmp_path / "old.npz", mean=norm.mean, std=norm.std, version=np.array("v0"))
    with pytest.raises(ValueError, match="representation"):
        rep.Normalizer.load(tmp_path / "old.npz")


def test_encode_rejects_short_or_foreign_motion():
    with pytest.raises(ValueError, match="at least 2 frames"):
        rep.encode(rest_motion(1))
    with pytest.raises(ValueError, match="features must be"):
        rep.decode(np.zeros((5, 10)))
