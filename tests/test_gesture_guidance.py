"""The sampler's guidance hook and the speech beat guidance of the arms."""
import numpy as np
import pytest

from cadence.inference.gesture.generate import GESTURE_STEPS
from cadence.inference.gesture.guidance import (
    BeatGuidance,
    BeatSettings,
    arm_speed,
    beat_times,
    body_positions,
    speed_gradient,
    speed_loss,
    target_speed,
)
from cadence.inference.gesture.plan import BEAT_PROMPT
from cadence.inference.motion.compose import compose
from cadence.inference.motion.model import MotionModel
from cadence.inference.motion.sampler import SamplerStep, sample
from cadence.inference.motion.timeline import Segment, Timeline, Track
from cadence.motion.representation import FEATURE_DIM, POSITIONS, Normalizer, encode


def test_sampler_hook_sees_every_step_and_default_is_unchanged():
    def shrink(x, t):
        return 0.5 * x

    seen = []

    def identity(x0, step):
        seen.append(step)
        return x0

    plain = sample(shrink, (1, 8, 3), 5, np.random.default_rng(7))
    hooked = sample(shrink, (1, 8, 3), 5, np.random.default_rng(7), guidance=identity)
    np.testing.assert_array_equal(plain, hooked)
    assert [s.index for s in seen] == [0, 1, 2, 3, 4] and seen[-1].last and not seen[0].last
    assert seen[0].t == 999 and seen[-1].t == 0 and seen[0].abar < seen[-1].abar
    pushed = sample(shrink, (1, 8, 3), 5, np.random.default_rng(7), guidance=lambda x0, s: x0 + 1.0 if s.last else x0)
    np.testing.assert_allclose(pushed, plain + 1.0, atol=1e-5)


def test_speed_gradient_is_the_analytic_gradient_on_straight_motion():
    rng = np.random.default_rng(0)
    direction = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    steps = rng.uniform(0.005, 0.03, 20)
    p = (np.cumsum(steps)[:, None] * direction)[:, None, :]          # (T, 1, 3), one straight line
    target = rng.uniform(0.1, 1.0, (19, 1))
    weight = np.ones_like(target)
    loss = lambda q: speed_loss(q, target, weight, 30.0) * weight.sum()  # noqa: E731
    g = speed_gradient(p, target, weight, 30.0)
    eps = 1e-6
    for t, k in [(0, 0), (5, 1), (19, 2), (10, 0)]:
        d = np.zeros_like(p)
        d[t, 0, k] = eps
        assert g[t, 0, k] == pytest.approx((loss(p + d) - loss(p - d)) / (2 * eps), rel=1e-4, abs=1e-6)


def test_target_follows_beats_loudness_and_silence():
    st = BeatSettings()
    fps, frames = 30.0, 90
    loud = np.full(frames, 1.0)
    loud[45:] = 0.2
    speaking = np.ones(frames, bool)
    speaking[75:] = False
    r = target_speed(np.array([1.0, 2.0]), loud, speaking, fps, st)
    t = (np.arange(frames - 1) + 1.0) / fps
    first = (t > 0.4) & (t < 1.2)
    # a stroke ends on the beat: its peak half a stroke before, the hold on the beat
    assert t[first][np.argmax(r[first])] == pytest.approx(1.0 - st.stroke_seconds / 2, abs=1 / fps)
    assert r[np.argmin(np.abs(t - 1.0))] == pytest.approx(st.hold_speed)
    assert r.max() == pytest.approx(st.peak_speed, rel=0.02)                     # loud beat
    assert r[(t > 1.5) & (t < 2.0)].max() < 0.6 * st.peak_speed                 # quiet beat
    assert r[-1] == pytest.approx(st.idle_speed) and r[40] == pytest.approx(st.hold_speed)
    bump = target_speed(np.array([1.0]), loud, speaking, fps, BeatSettings(shape="bump"))
    assert t[np.argmax(bump)] == pytest.approx(1.0 - st.lead, abs=1 / fps)
    assert beat_times(np.array([1.0]), np.array([1.1, 1.5]), 0.25).tolist() == [1.0, 1.5]


def _normalizer():
    return Normalizer(np.zeros(FEATURE_DIM), np.ones(FEATURE_DIM))


def test_guidance_step_lowers_the_loss_keeps_positions_consistent_and_holds_the_root():
    rng = np.random.default_rng(1)
    motion_features = encode_rest_wiggle(rng)
    frames = len(motion_features)
    target = np.stack([np.full(frames - 1, 0.2), 0.5 + 0.4 * np.sin(np.arange(frames - 1) / 3)], 1)
    g = BeatGuidance(_normalizer(), 30.0, target, np.ones_like(target), BeatSettings(stay=1.0))
    x0 = motion_features.astype(np.float32)
    out = g(x0, SamplerStep(5, 10, 400, 0.5))
    before = np.mean((arm_speed(x0.astype(np.float64), 30.0) - target) ** 2)
    after = np.mean((arm_speed(out.astype(np.float64), 30.0) - target) ** 2)
    assert after < 0.85 * before
    again = np.mean((arm_speed(g(out, SamplerStep(6, 10, 300, 0.6)).astype(np.float64), 30.0) - target) ** 2)
    assert again < after
    np.testing.assert_allclose(out[:, 0:3], 0.0, atol=1e-6)                     # no root travel
    # the edited position channels agree with forward kinematics of the edited rotations
    fk = body_positions(out.astype(np.float64)).reshape(frames, -1)
    np.testing.assert_allclose(out[:, POSITIONS], fk, atol=2e-3)
    # off and no hold: unchanged; early (noisy) steps are skipped
    off = BeatGuidance(_normalizer(), 30.0, target, np.ones_like(target), BeatSettings(scale=0, stay=0))
    np.testing.assert_array_equal(off(x0, SamplerStep(5, 10, 400, 0.5)), x0)
    early = BeatGuidance(_normalizer(), 30.0, target, np.ones_like(target), BeatSettings(stay=0))
    np.testing.assert_array_equal(early(x0, SamplerStep(0, 10, 999, 0.0)), x0)


def encode_rest_wiggle(rng):
    """Features of a standing body whose arms sway a little (a valid motion)."""
    from cadence.motion import rotations as rot
    from cadence.motion.kinematics import rest_motion
    from cadence.motion.skeleton import JOINT_NAMES
    m = rest_motion(60)
    q = m.rotations.copy()
    t = np.arange(60) / 30.0
    for name, sign in (("left_shoulder", 1), ("right_shoulder", -1)):
        q[:, JOINT_NAMES.index(name)] = rot.axis_rotation_quat("y", sign * (1.2 + 0.1 * np.sin(3 * t)))
    q[:, JOINT_NAMES.index("right_elbow")] = rot.axis_rotation_quat("z", 0.3 + 0.2 * np.sin(5 * t))
    m.rotations[:] = q
    return encode(m)[0]


def test_guidance_makes_sampled_arms_follow_the_beat():
    """Over a few seeds at the gestures' own step count, the guided arms' speed is closer
    to the beat target and correlates with it; unguided it does not. (Per seed the
    effect varies: the prior resists the guidance more on some samples.)"""
    model = MotionModel.load()
    fps, seconds = model.fps, 4.0
    frames = int(seconds * fps)
    tl = Timeline([Track([Segment(BEAT_PROMPT, 0.0, seconds, ("arms",))])], seconds)
    st = BeatSettings()
    target1 = target_speed(np.array([0.8, 1.6, 2.4, 3.2]), np.ones(frames), np.ones(frames, bool), fps, st)
    target = np.stack([st.left_share * target1, target1], 1)
    weight = np.ones_like(target)
    results = {0.0: [], 1.0: []}
    for seed in (1, 2, 3, 4):
        for scale in results:
            guide = BeatGuidance(model.normalizer, fps, target, weight, BeatSettings(scale=scale))
            r = compose(model, tl, seed=seed, steps=GESTURE_STEPS, guidance=guide)
            speed = arm_speed(encode(r.motion)[0], fps)
            results[scale].append((np.mean((speed - target) ** 2), np.corrcoef(speed[:, 1], target1)[0, 1],
                                   np.linalg.norm(r.motion.root_positions[-1, :2] - r.motion.root_positions[0, :2])))
    off, on = np.array(results[0.0]), np.array(results[1.0])
    assert np.all(on[:, 0] < 0.9 * off[:, 0])                 # the loss on the decoded motion drops
    assert on[:, 0].mean() < 0.85 * off[:, 0].mean()
    assert on[:, 1].mean() > off[:, 1].mean() + 0.15           # speed follows the beats
    assert on[:, 1].mean() > 0.15 and off[:, 1].mean() < 0.1
    assert np.all(on[:, 2] < 0.05) and np.all(off[:, 2] < 0.05)  # standing in place
