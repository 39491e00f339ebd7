"""The activity envelope: arms move with the voice, rest in pauses, larger when louder."""
import numpy as np

from cadence.inference.gesture.activity import (
    ARM_JOINTS,
    ActivitySettings,
    activity_envelope,
    apply_activity,
    rest_pose,
)
from cadence.motion import rotations as rot
from cadence.motion.kinematics import Motion
from cadence.motion.skeleton import JOINT_NAMES
from cadence.motion.smoothing import fill_short_gaps

FPS = 30.0


def test_short_gaps_are_filled_long_ones_and_the_edges_are_not():
    m = np.array([0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0], bool)
    out = fill_short_gaps(m, 2)
    np.testing.assert_array_equal(out, [0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0])


def test_envelope_high_in_speech_low_in_long_pauses_and_held_through_short_ones():
    # 3 s speech, 0.3 s pause, 2 s speech, 2 s pause, 1 s speech
    spans = [(0.0, 3.0), (3.3, 5.3), (7.3, 8.3)]
    frames = int(8.3 * FPS)
    t = (np.arange(frames) + 0.5) / FPS
    speaking = np.zeros(frames, bool)
    for a, b in spans:
        speaking |= (t >= a) & (t < b)
    loud = np.where(speaking, 0.8, 0.0)
    st = ActivitySettings()
    env = activity_envelope(speaking, loud, FPS, st)
    assert env.shape == (frames,) and env.min() >= 0 and env.max() <= 1
    assert env[(t > 1) & (t < 2.5)].min() > 0.9               # speaking, loud
    # a 0.3 s pause is held through (quieter, so smaller, but far from the rest)
    assert env[(t > 3.1) & (t < 3.25)].min() > st.floor
    assert abs(env[(t > 6.0) & (t < 6.6)].max() - st.idle) < 1e-6   # rest in the long pause
    assert np.abs(np.diff(env)).max() < 0.15                  # eased: no jump (0.9 at once)


def test_louder_speech_gets_a_larger_envelope():
    frames = 300
    speaking = np.ones(frames, bool)
    loud = np.where(np.arange(frames) < 150, 0.2, 0.9)
    env = activity_envelope(speaking, loud, FPS)
    assert env[20:130].mean() < 0.6 < env[170:280].mean()
    assert ActivitySettings().floor - 1e-6 <= env.min()


def test_disabled_envelope_is_one():
    env = activity_envelope(np.zeros(50, bool), np.zeros(50), FPS, ActivitySettings(enabled=False))
    np.testing.assert_array_equal(env, 1.0)


def _swinging_arms(frames: int = 120) -> Motion:
    rng = np.random.default_rng(3)
    q = np.tile(rot.quat_identity(), (frames, len(JOINT_NAMES), 1)).astype(np.float64)
    t = np.arange(frames) / FPS
    for side in ("left", "right"):
        for j in ARM_JOINTS[side]:
            axis = rng.normal(size=3)
            axis /= np.linalg.norm(axis)
            angle = 0.6 * np.sin(2 * np.pi * 1.3 * t + rng.uniform(0, 6))
            q[:, j] = rot.axis_angle_to_quat(angle[:, None] * axis)
    root = np.tile([0.0, 0.0, 0.95], (frames, 1))
    return Motion(q, root, FPS)


def _wrist_speed(m: Motion) -> np.ndarray:
    w = [JOINT_NAMES.index("left_wrist"), JOINT_NAMES.index("right_wrist")]
    return np.linalg.norm(np.diff(m.positions()[:, w], axis=0), axis=-1).mean(axis=1) * FPS


def test_apply_activity_scales_hand_speed_and_keeps_the_rest_of_the_body():
    m = _swinging_arms()
    env = np.concatenate([np.ones(60), np.full(60, 0.1)])
    out = apply_activity(m, env)
    s0, s1 = _wrist_speed(m), _wrist_speed(out)
    np.testing.assert_allclose(s1[:59], s0[:59], rtol=1e-6, atol=1e-9)   # envelope 1: untouched
    assert s1[61:].mean() < 0.2 * s0[61:].mean()                            # the pause rests
    others = [j for j in range(len(JOINT_NAMES)) if j not in ARM_JOINTS["left"] + ARM_JOINTS["right"]]
    np.testing.assert_array_equal(out.rotations[:, others], m.rotations[:, others])
    np.testing.assert_array_equal(out.root_positions, m.root_positions)


def test_apply_activity_per_arm_and_envelope_zero_holds_the_rest_pose():
    m = _swinging_arms(60)
    env = np.stack([np.zeros(60), np.ones(60)], axis=1)      # left at rest, right as sampled
    out = apply_activity(m, env)
    left = ARM_JOINTS["left"]
    rest = rest_pose(m.rotations, left)
    for k, j in enumerate(left):
        d = np.abs(np.sum(out.rotations[:, j] * rest[k], axis=-1))
        np.testing.assert_allclose(d, 1.0, atol=1e-6)
    np.testing.assert_allclose(out.rotations[:, ARM_JOINTS["right"]], m.rotations[:, ARM_JOINTS["right"]],
                               atol=1e-9)


def test_rest_pose_is_a_mean_of_the_clip():
    q = rot.axis_angle_to_quat(np.array([[0.0, 0.0, a] for a in np.linspace(-0.4, 0.4, 41)]))
    q[::2] *= -1                                              # sign flips do not matter
    r = rest_pose(q[:, None, :], [0])
    assert rot.angle_between_quats(r[0], rot.quat_identity()) < 1e-6


def test_beat_dips_stop_on_the_beat():
    frames = 150
    beats = np.array([1.0, 2.0, 3.0])
    st = ActivitySettings(beat_depth=0.4, beat_width=0.08)
    env = activity_envelope(np.ones(frames, bool), np.full(frames, 0.9), FPS, st, beats)
    for b in beats:
        k = int(b * FPS)
        window = env[k - 6:k + 7]
        assert abs(int(np.argmin(window)) - 6) <= 1                 # the dip is centred on the beat
        assert window.min() < 0.7 * env[k + 15]
    plain = activity_envelope(np.ones(frames, bool), np.full(frames, 0.9), FPS, st)
    np.testing.assert_allclose(env[int(1.5 * FPS)], plain[int(1.5 * FPS)], atol=1e-3)   # between beats: none


def test_smoothing_removes_frame_wiggle_and_keeps_slow_motion():
    from cadence.inference.gesture.activity import smooth_rotations
    t = np.arange(90) / FPS
    slow = 0.5 * np.sin(2 * np.pi * 1.0 * t)
    wiggle = 0.05 * (-1.0) ** np.arange(90)
    q = rot.axis_angle_to_quat(np.stack([np.zeros(90), np.zeros(90), slow + wiggle], axis=1))
    out = smooth_rotations(q, 1.5)
    angle = 2 * np.arctan2(out[:, 3], out[:, 0])
    assert np.abs(angle - slow)[10:-10].max() < 0.03                 # wiggle gone, the swing kept (95 %)
    assert np.abs(angle - slow - wiggle)[10:-10].max() > 0.04


def _path_with_own_stops(frames: int) -> np.ndarray:
    """A path that moves in bursts: speed |sin| at 2.3 Hz, stopping between the beats."""
    speed = np.abs(np.sin(2 * np.pi * 2.3 * np.arange(frames) / FPS)) + 1e-3
    return np.concatenate([[0.0], np.cumsum(speed[1:])]) / FPS


def test_stroke_time_warp_makes_one_stroke_between_beats_stopped_on_each():
    from cadence.inference.gesture.activity import stroke_time_warp
    frames = 150
    path = _path_with_own_stops(frames)
    beats = np.array([1.0, 1.6, 2.5, 3.4])
    src = stroke_time_warp(path, FPS, beats, strength=1.0)
    assert src[0] == 0.0 and abs(src[-1] - (frames - 1)) < 1e-9
    assert np.all(np.diff(src) >= -1e-9)                              # time never runs back
    for b in beats:                                                   # knots map onto themselves
        assert abs(np.interp(b * FPS, np.arange(frames), src) - b * FPS) < 0.5
    speed = np.abs(np.diff(np.interp(src, np.arange(frames), path)))
    for a, b in zip(beats[:-1], beats[1:]):                           # one bump, no stop inside
        seg = speed[int(a * FPS) + 1:int(b * FPS) - 1]
        peak = int(np.argmax(seg))
        assert np.all(np.diff(seg[:peak]) > -1e-6) and np.all(np.diff(seg[peak:]) < 1e-6)
        k = int(round(b * FPS))
        assert speed[k - 1:k + 1].min() < 0.1 * seg.max()             # stopped on the beat
    own = np.abs(np.diff(path))
    inner = own[int(1.6 * FPS):int(2.5 * FPS)]
    assert inner.min() < 0.1 * inner.max()                            # the input did stop between them
    np.testing.assert_array_equal(stroke_time_warp(path, FPS, np.array([]), 1.0), np.arange(frames))
    np.testing.assert_array_equal(stroke_time_warp(path, FPS, beats, 0.0), np.arange(frames))


def test_stroke_time_warp_keeps_long_pauses_fixed_spans_and_slows_in_short_pauses():
    from cadence.inference.gesture.activity import stroke_time_warp
    frames = 180
    path = _path_with_own_stops(frames)
    beats = np.array([0.5, 1.0, 1.5, 4.5, 5.0])
    active = np.ones(frames, bool)
    active[60:120] = False                                            # a 2 s pause
    fixed = np.zeros(frames, bool)
    fixed[140:] = True                                                # a semantic gesture
    src = stroke_time_warp(path, FPS, beats, 1.0, fixed, active=active)
    np.testing.assert_allclose(src[62:118], np.arange(62, 118))       # the pause as sampled
    np.testing.assert_allclose(src[150:], np.arange(150, frames))     # the gesture as sampled
    assert np.abs(src[15:60] - np.arange(15, 60)).max() > 0.5         # the phrase re-timed
    clock = np.ones(frames)
    clock[36:42] = 0.2                                                # a short pause, 1.2-1.4 s
    slow = stroke_time_warp(path, FPS, beats, 1.0, active=np.ones(frames, bool), clock=clock)
    moved = np.abs(np.diff(np.interp(slow, np.arange(frames), path)))
    plain = np.abs(np.diff(np.interp(src, np.arange(frames), path)))
    assert moved[36:41].sum() < 0.5 * plain[36:41].sum()


def test_beat_strength_zero_turns_the_beat_strokes_off():
    from cadence.inference.gesture.generate import arm_envelope
    from cadence.inference.gesture.guidance import BeatGuidance, BeatSettings
    from cadence.inference.speech.prosody import Prosody
    from cadence.inference.speech.vad import VoiceActivity
    n = 400                                   # 4 s at 100 Hz
    pros = Prosody(100.0, np.full(n, 0.8), np.zeros(n), np.zeros(n), np.array([1.0, 2.0]),
                   np.array([1.5, 2.5]), np.array([True, True]), np.zeros(2))
    voice = VoiceActivity(np.ones(125), [(0.0, 4.0)], 4.0)
    frames = 120

    def envelope(scale):
        g = BeatGuidance(None, FPS, np.zeros((frames - 1, 2)), np.ones((frames - 1, 2)), BeatSettings(scale=scale))
        return arm_envelope(pros, voice, frames, FPS, g)[0][:, 1]

    on, off = envelope(1.0), envelope(0.0)
    k = int(1.0 * FPS)
    assert on[k] < 0.9 * off[k]               # a dip on the onset with beats on
    assert np.ptp(off[20:100]) < 0.05         # none with the beat strength at 0


def test_envelope_eases_in_and_out_of_a_semantic_gesture_without_a_step():
    from cadence.inference.gesture.generate import arm_envelope
    from cadence.inference.gesture.guidance import BeatGuidance, BeatSettings
    from cadence.inference.speech.prosody import Prosody
    from cadence.inference.speech.vad import VoiceActivity
    n, frames = 400, 120
    pros = Prosody(100.0, np.full(n, 0.2), np.zeros(n), np.zeros(n), np.array([]), np.array([]),
                   np.array([], bool), np.zeros(0))
    voice = VoiceActivity(np.zeros(125), [], 4.0)               # silence: the rest everywhere...
    weight = np.ones((frames - 1, 2))
    weight[30:60, 1] = 0.0                                      # ...but a gesture on the right arm
    g = BeatGuidance(None, FPS, np.zeros((frames - 1, 2)), weight, BeatSettings())
    env = arm_envelope(pros, voice, frames, FPS, g)[0]
    assert env[40:55, 1].min() > 0.95 and env[40:55, 0].max() < 0.2
    assert np.abs(np.diff(env[:, 1])).max() < 0.15              # eased, not a step
