"""Foot locking of generated motion (motion/foot_lock.py)."""
from pathlib import Path

import numpy as np
import pytest

from cadence.bench.metrics import foot_skating_ratio
from cadence.motion import rotations as rot
from cadence.motion.convert import load_canonical_motion
from cadence.motion.foot_lock import (
    BALL_CLEARANCE,
    CUT_SWING_CLEARANCE,
    MAX_PIN_DRIFT,
    SWING_LIFT,
    _swing_lift,
    contacts_from_channels,
    decode_generated,
    lock_feet,
)
from cadence.motion.kinematics import Motion, rest_motion
from cadence.motion.representation import CONTACTS, encode
from cadence.motion.skeleton import CANONICAL

J = {n: i for i, n in enumerate(CANONICAL.names)}
LEGS = [J[f"{s}_{p}"] for s in ("left", "right") for p in ("hip", "knee", "ankle")]


def crouched(frames: int, drift_x: np.ndarray) -> Motion:
    """Knees bent (slack in the legs), the pelvis sliding along X by ``drift_x``."""
    m = rest_motion(frames)
    q = m.rotations.copy()
    for side in ("left", "right"):
        q[:, J[f"{side}_hip"]] = rot.axis_angle_to_quat(np.array([-0.4, 0.0, 0.0]))
        q[:, J[f"{side}_knee"]] = rot.axis_angle_to_quat(np.array([0.8, 0.0, 0.0]))
    root = m.root_positions.copy()
    bent = Motion(q, root, m.fps)
    root[:, 2] -= bent.positions()[0, J["left_ankle"], 2] - CANONICAL.rest_positions()[J["left_ankle"], 2]
    root[:, 0] += drift_x
    return Motion(q, root, m.fps)  # ankles on the floor


def both_down(frames: int) -> dict:
    return {"left": np.ones(frames, bool), "right": np.ones(frames, bool)}


def test_planted_feet_stay_where_they_landed_and_only_the_legs_change():
    m = crouched(30, np.linspace(0.0, 0.8 * MAX_PIN_DRIFT, 30))
    out = lock_feet(m, both_down(30))
    before, after = m.positions(), out.positions()
    for side in ("left", "right"):
        a = J[f"{side}_ankle"]
        assert np.abs(before[-1, a, 0] - before[0, a, 0]) > 0.04  # it did slide
        assert np.abs(after[:, a] - after[0, a]).max() < 1e-3  # now it does not
    others = [j for j in range(len(CANONICAL.names)) if j not in LEGS]
    assert np.allclose(out.rotations[:, others], m.rotations[:, others])
    assert np.allclose(out.root_positions, m.root_positions)
    # The feet keep their world orientation (no toe flapping from the fix).
    w_before = m.forward_kinematics()[0]
    w_after = out.forward_kinematics()[0]
    for side in ("left", "right"):
        a = J[f"{side}_ankle"]
        assert np.allclose(w_after[:, a], w_before[:, a], atol=1e-6)


def test_a_long_drift_drags_the_foot_on_a_leash_without_jumps():
    m = crouched(60, np.linspace(0.0, 0.3, 60))
    after = lock_feet(m, both_down(60)).positions()
    before = m.positions()
    a = J["left_ankle"]
    gap = np.linalg.norm(after[:, a, :2] - before[:, a, :2], axis=1)
    assert gap.max() <= MAX_PIN_DRIFT + 1e-3
    assert after[-1, a, 0] - after[0, a, 0] == pytest.approx(0.3 - MAX_PIN_DRIFT, abs=0.01)
    step = np.linalg.norm(np.diff(after[:, a], axis=0), axis=1)
    assert step.max() < 0.3 / 59 + 1e-3  # never faster than the body moved


def test_a_shuffled_step_between_two_contacts_is_lifted():
    frames = 31
    drift = np.concatenate([np.zeros(10), np.linspace(0.0, 0.3, 11), np.full(10, 0.3)])
    m = crouched(frames, drift)
    down = np.ones(frames, bool)
    down[10:21] = False
    out = lock_feet(m, {"left": down, "right": np.zeros(frames, bool)})
    a = J["left_ankle"]
    rise = out.positions()[:, a, 2] - m.positions()[:, a, 2]
    assert rise[15] >= SWING_LIFT[0] - 1e-3
    assert np.all(rise >= -1e-6)  # lifted, never pushed down
    assert abs(rise[2]) < 1e-6 and abs(rise[28]) < 1e-3


def test_a_swing_with_the_toes_dragging_lifts_the_ball_of_the_foot():
    """The model's usual shuffle: the ankle clears the floor but the toes point down and
    slide along it. The ball of the foot is lifted to BALL_CLEARANCE; a swing whose ankle
    and ball are both high enough is left alone."""
    mask = np.ones(40, bool)
    mask[10:26] = False  # a 16-frame swing between two contacts
    ankle = np.zeros((40, 3))
    ankle[:, 0] = np.interp(np.arange(40), [9, 26], [0.0, 0.6])
    ankle[10:26, 2] = 0.2  # far above its arc
    ball = ankle.copy()
    ball[:, 2] = 0.0  # dragging along the floor
    lift = _swing_lift(mask, ankle, 0.0, ball, 0.0)
    assert np.all(lift[mask] == 0.0)
    assert lift[17] == pytest.approx(BALL_CLEARANCE)
    assert np.all(np.diff(lift[10:18]) >= 0) and lift[10] < 0.5 * BALL_CLEARANCE  # no pop at toe-off
    ball[:, 2] = 0.2
    assert np.all(_swing_lift(mask, ankle, 0.0, ball, 0.0) == 0.0)


def test_a_swing_cut_by_the_clip_end_only_keeps_the_foot_off_the_floor():
    """Where the clip cuts a swing is unknown (mid-step or about to land), so it gets no
    arc: at most CUT_SWING_CLEARANCE, ramping up from the last contact."""
    mask = np.ones(30, bool)
    mask[20:] = False
    ankle = np.zeros((30, 3))
    ankle[:, 0] = np.interp(np.arange(30), [19, 29], [0.0, 0.5])
    lift = _swing_lift(mask, ankle, 0.0, ankle.copy(), 0.0)
    assert lift.max() == pytest.approx(CUT_SWING_CLEARANCE)
    assert lift[20] < lift[22] <= lift[29]
    assert np.all(lift[:20] == 0.0)


def test_contacts_from_channels_ignore_feet_in_the_air_and_flicker():
    frames = 20
    channels = np.zeros((frames, 4))
    channels[:, 0] = 1.0          # left ankle says down throughout
    channels[5:7, 1] = 1.0        # right: a two-frame flicker
    positions = np.broadcast_to(CANONICAL.rest_positions(), (frames, len(CANONICAL.names), 3)).copy()
    positions[12:, J["left_ankle"], 2] += 0.3  # but the left foot is in the air from 12
    positions[12:, J["left_foot"], 2] += 0.3
    c = contacts_from_channels(channels, positions)
    assert c["left"][:12].all() and not c["left"][12:].any()
    assert not c["right"].any()
    with pytest.raises(ValueError):
        contacts_from_channels(np.zeros((5, 3)))


def test_decode_generated_locks_only_when_asked_and_keeps_real_motion_close():
    walk = load_canonical_motion(Path(__file__).parent / "fixtures" / "bandai_walk_normal.bvh")
    feats = encode(walk.resample(30.0) if walk.fps != 30.0 else walk)[0]
    plain = decode_generated(feats, 30.0, foot_lock=False)
    locked = decode_generated(feats, 30.0)
    assert np.array_equal(plain.rotations, decode_generated(feats, 30.0, False).rotations)
    # Real mocap barely slides: the fix moves its feet by millimetres on average, and
    # leaves it as clean as it was.
    ankles = [J["left_ankle"], J["right_ankle"]]
    moved = np.linalg.norm(locked.positions() - plain.positions(), axis=-1)[:, ankles]
    assert moved.mean() < 0.01 and moved.max() < 0.04
    assert foot_skating_ratio(locked.positions(), 30.0) < 0.05
    assert feats[:, CONTACTS].any()


def test_generation_locks_feet_by_default_and_the_cli_can_turn_it_off(tmp_path):
    from cadence.cli.main import main
    from cadence.motion.bvh import read_bvh

    outs = {}
    for name, extra in (("locked", []), ("raw", ["--no-foot-lock"])):
        out = tmp_path / f"{name}.bvh"
        assert main(["generate", "--prompt", "a person walks forward", "--seconds", "3",
                     "--seed", "2", "--out", str(out), "--quiet", *extra]) == 0
        outs[name] = read_bvh(out)
    locked, raw = outs["locked"], outs["raw"]
    changed = np.abs(locked.local_rotations() - raw.local_rotations()).max(axis=(0, 2)) > 1e-6
    moved = {n for n, c in zip(locked.skeleton.names, changed) if c}
    assert np.allclose(locked.local_translations()[:, 0], raw.local_translations()[:, 0])
    assert moved and moved <= {f"{s}_{p}" for s in ("left", "right") for p in ("hip", "knee", "ankle")}
