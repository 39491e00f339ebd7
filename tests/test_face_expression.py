"""Emotion offsets, blinks, gaze and head motion (face/expression.py) and FaceAnimation."""
import numpy as np
import pytest

from cadence.face import expression as X
from cadence.face.animation import FaceAnimation
from cadence.face.arkit import ARKIT_NAMES, INDEX, LIP_SHAPES

FPS = 30.0


def speech_energy(seconds=60.0, seed=0):
    """Phrases of 1.5-4 s of syllables (4 Hz) separated by 0.4-1.2 s pauses."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FPS)
    e = np.zeros(n, np.float32)
    t = 0.5
    while t < seconds:
        length = rng.uniform(1.5, 4.0)
        a, b = int(t * FPS), min(n, int((t + length) * FPS))
        k = np.arange(b - a)
        e[a:b] = 0.5 + 0.45 * np.abs(np.sin(np.pi * 4 * k / FPS))
        t += length + rng.uniform(0.4, 1.2)
    return e


def test_parse_emotions():
    assert X.parse_emotions("happy=0.8, sad=0.2") == {"happy": 0.8, "sad": 0.2}
    assert X.parse_emotions("") == {} and X.parse_emotions({"Angry": 1}) == {"angry": 1.0}
    for bad, msg in [("joy=1", "unknown emotion"), ("happy=2", "outside 0..1"), ("happy", "NAME=WEIGHT"),
                     ("happy=x", "not a number")]:
        with pytest.raises(ValueError, match=msg):
            X.parse_emotions(bad)


def test_the_eight_beat_emotions():
    assert X.EMOTIONS == ("neutral", "happy", "angry", "sad", "contempt", "surprise", "fear", "disgust")
    for name in X.EMOTIONS[1:]:
        vec = X.expression_vector({name: 1.0})
        assert vec.max() > 0.3, name
        assert not any(vec[INDEX[s]] for s in LIP_SHAPES), name
    vec = X.expression_vector({"contempt": 1.0})  # unilateral
    assert vec[INDEX["mouthSmileLeft"]] > 0 and vec[INDEX["mouthSmileRight"]] == 0


def test_emotion_keeps_the_lips_of_the_speech():
    rng = np.random.default_rng(1)
    speech = np.zeros((90, 52), np.float32)
    for s in ("jawOpen", "mouthFunnel", "mouthClose", "mouthPressLeft", "mouthRollLower"):
        speech[:, INDEX[s]] = rng.uniform(0, 1, 90)
    speech[30:40, INDEX["jawOpen"]] = 0.0       # a p/b/m closure
    energy = np.linspace(0, 1, 90).astype(np.float32)
    for name in X.EMOTIONS:
        out = X.apply_emotions(speech, {name: 1.0}, energy, FPS)
        lips = [INDEX[s] for s in LIP_SHAPES]
        assert np.array_equal(out[:, lips], speech[:, lips]), name
        assert out.min() >= 0 and out.max() <= 1
    happy = X.apply_emotions(speech, {"happy": 1.0}, energy, FPS)[:, INDEX["mouthSmileLeft"]]
    assert happy[-1] > happy[0] > 0.3  # intensity follows the speech energy


def test_blinks_natural_rate_and_shape():
    energy = speech_energy(600)
    curve = X.blink_curve(len(energy), FPS, np.random.default_rng(0), energy)
    assert curve.min() >= 0 and curve.max() <= 1 and curve.max() > 0.85
    onsets = np.flatnonzero((curve[1:] > 0.5) & (curve[:-1] <= 0.5))
    per_minute = len(onsets) / 10
    assert 12 <= per_minute <= 30, per_minute
    closed = np.diff(np.flatnonzero(curve > 0.5))
    assert np.all(closed >= 1)
    # a blink keeps the lid shut for roughly 50-200 ms
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, curve > 0.5, 0])))[::2]
    assert 1 <= np.median(runs) <= 6
    # more blinks just after a phrase ends than elsewhere
    ends = X.phrase_ends(energy, FPS)
    near = np.zeros(len(energy), bool)
    for k in ends:
        near[k:k + int(0.5 * FPS)] = True
    rate_near = np.isin(onsets, np.flatnonzero(near)).sum() / near.sum()
    rate_far = (~np.isin(onsets, np.flatnonzero(near))).sum() / (~near).sum()
    assert rate_near > 2 * rate_far
    again = X.blink_curve(len(energy), FPS, np.random.default_rng(0), energy)
    assert np.array_equal(curve, again)  # seeded


def test_gaze_saccades_and_shapes():
    energy = speech_energy(60)
    gaze = X.gaze_angles(len(energy), FPS, np.random.default_rng(2), energy)
    assert gaze.shape == (len(energy), 2) and np.abs(gaze).max() <= 25
    jumps = np.abs(np.diff(gaze[:, 0])) > 1.0
    assert 10 <= jumps.sum() <= 200  # saccades, not constant, not noise
    shapes = X.gaze_shapes(np.array([[15.0, 0.0], [-15.0, -15.0]], np.float32))
    assert shapes["eyeLookOutLeft"][0] == shapes["eyeLookInRight"][0] == 0.5
    assert shapes["eyeLookInLeft"][1] == shapes["eyeLookOutRight"][1] == 0.5
    assert shapes["eyeLookDownLeft"][1] == 0.5 and shapes["eyeLookUpLeft"][1] == 0
    assert set(shapes) <= set(ARKIT_NAMES)


def test_head_moves_subtly_more_while_speaking_and_breathes_in_silence():
    energy = np.concatenate([np.zeros(600, np.float32), speech_energy(20)])
    head = X.head_angles(len(energy), FPS, np.random.default_rng(3), energy)
    assert head.shape == (len(energy), 3) and np.abs(head).max() < 12
    silent, talking = head[60:540], head[660:]
    assert silent.std(axis=0).min() > 0.05           # idle, not frozen
    assert talking[:, 1].std() > 1.5 * silent[:, 1].std()
    peaks = X.stressed_syllables(energy, FPS)
    assert len(peaks) > 5 and peaks.min() >= 600


def test_animation_resample_and_checks():
    w = np.random.default_rng(0).uniform(size=(30, 52))
    anim = FaceAnimation(w, None, None, 30.0)
    assert anim.head.shape == (30, 3) and anim.eyes.shape == (30, 4)
    slow = anim.resample(24.0)
    assert slow.num_frames == 24 and slow.fps == 24.0
    assert np.allclose(slow.weights[0], anim.weights[0])
    with pytest.raises(ValueError):
        FaceAnimation(np.zeros((3, 51)), None, None)
