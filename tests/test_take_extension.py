"""Takes longer than their recording: locomotion continues its gait, other actions hold still.

A window longer than a run take used to end in a held pose, and the model learned that
a run stops after ~3 s (docs/motion_model.md); these check the continuation."""
import numpy as np
import pytest

pytest.importorskip("torch")

from cadence.motion.representation import CONTACTS, FEATURE_DIM
from cadence.training.motion_data import VELOCITY_CHANNELS, extend_take

PERIOD = 33.3  # frames of one synthetic gait cycle


def gait(frames: int, phase: float = 0.0) -> np.ndarray:
    """A periodic stand-in for a locomotion take: every channel a sine of the gait phase,
    forward velocity 1.5, contacts alternating with the phase."""
    t = (np.arange(frames) + phase) * 2 * np.pi / PERIOD
    rng = np.random.default_rng(0)
    amp, shift = rng.uniform(0.1, 1.0, FEATURE_DIM), rng.uniform(0, 2 * np.pi, FEATURE_DIM)
    x = amp * np.sin(t[:, None] + shift)
    x[:, 1] = 0.0
    x[:, 2] = -1.5
    x[:, CONTACTS] = (np.sin(t)[:, None] > 0).astype(float)
    return x


@pytest.mark.parametrize("frames,phase", [(95, 0.0), (61, 7.5), (150, 20.0)])
def test_cyclic_take_continues_its_gait_without_a_seam(frames, phase):
    clip = gait(frames, phase)
    out = extend_take(clip, 320, cyclic=True)
    assert out.shape == (frames + 320, FEATURE_DIM)
    np.testing.assert_array_equal(out[:frames], clip)
    pose = out[:, :CONTACTS.start]
    steps = np.linalg.norm(np.diff(pose, axis=0), axis=1)
    own = np.linalg.norm(np.diff(clip[:, :CONTACTS.start], axis=0), axis=1).max()
    assert steps.max() < 1.05 * own  # no pop at any seam
    np.testing.assert_allclose(out[frames:, 2], -1.5)  # still moving forward at the same speed
    cycle = gait(int(PERIOD * 20), phase)[:, :CONTACTS.start]  # every phase of the gait, finely
    ext = out[frames:, :CONTACTS.start]
    off_cycle = np.min(np.linalg.norm(ext[:, None] - cycle[None], axis=2), axis=1)
    assert off_cycle.max() < 0.25 * own  # every continued frame is a pose of the gait
    assert set(np.unique(out[:, CONTACTS])) <= {0.0, 1.0}  # contacts stay real ones


def test_other_takes_hold_their_last_pose_still():
    clip = gait(80)
    out = extend_take(clip, 40, cyclic=False)
    assert out.shape == (120, FEATURE_DIM)
    held = out[80:]
    np.testing.assert_array_equal(held[:, list(VELOCITY_CHANNELS)], 0.0)
    rest = [c for c in range(FEATURE_DIM) if c not in VELOCITY_CHANNELS]
    np.testing.assert_array_equal(held[:, rest], np.repeat(clip[-1:, rest], 40, axis=0))


def test_too_short_to_loop_holds_and_nothing_to_add_copies():
    clip = gait(9)
    out = extend_take(clip, 12, cyclic=True)
    np.testing.assert_array_equal(out[9:, list(VELOCITY_CHANNELS)], 0.0)
    same = extend_take(clip, 0, cyclic=True)
    np.testing.assert_array_equal(same, clip)
    assert same is not clip
