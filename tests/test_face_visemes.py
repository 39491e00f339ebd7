"""Phonemes -> visemes -> ARKit with coarticulation (face/visemes.py)."""
import numpy as np

from cadence.face import expression as X
from cadence.face import visemes as V
from cadence.face.arkit import ARKIT_NAMES, INDEX, MOUTH_SHAPES

FPS = 30.0


def timeline(labels, durations=None, start=0.3):
    """SIL, then the labels (80 ms each unless given), then SIL."""
    durations = durations or [0.08] * len(labels)
    out, t = [("SIL", 0.0, start)], start
    for label, d in zip(labels, durations):
        out.append((label, t, t + d))
        t += d
    out.append(("SIL", t, t + 0.4))
    return out, int((t + 0.4) * FPS)


def frame_at(t):
    return int(round((t - V.ANTICIPATION) * FPS - 0.5))


def middle(phones, label, nth=0):
    hits = [(s, e) for name, s, e in phones if name == label]
    s, e = hits[nth]
    return frame_at(0.5 * (s + e))


def test_bilabials_close_the_lips_between_open_vowels():
    rng = np.random.default_rng(1)
    for _ in range(20):
        labels = []
        for _ in range(8):
            labels += [str(rng.choice(["AA", "AE", "AW", "AO", "AY"])), str(rng.choice(["P", "B", "M"]))]
        durations = list(rng.uniform(0.04, 0.14, len(labels)))
        phones, frames = timeline(labels, durations)
        w = V.phoneme_curves(phones, FPS, frames)
        aperture = V.lip_aperture(w)
        for (label, s, e) in phones:
            if label in V.BILABIALS:
                k = frame_at(0.5 * (s + e))
                assert aperture[k] < 0.1, (label, s, e, aperture[k])
        assert aperture.max() > 0.25                   # the vowels do open the mouth


def test_emotion_on_top_keeps_the_closures():
    phones, frames = timeline(["AA", "M", "AA", "P", "AE", "B", "AA"])
    w = V.phoneme_curves(phones, FPS, frames)
    energy = np.full(frames, 0.9, np.float32)
    for emotion in X.EMOTIONS:
        e = X.apply_emotions(w, {emotion: 1.0, "surprise": 1.0}, energy, FPS)
        aperture = V.lip_aperture(e)
        for label in ("M", "P", "B"):
            assert aperture[middle(phones, label)] < 0.1, emotion


def test_rounding_spreads_to_neighbours_and_starts_early():
    rounded, frames = timeline(["UW", "T", "UW"], [0.15, 0.06, 0.15])
    spread, _ = timeline(["IY", "T", "IY"], [0.15, 0.06, 0.15])
    pucker = INDEX["mouthPucker"]
    w_round = V.phoneme_curves(rounded, FPS, frames)
    w_spread = V.phoneme_curves(spread, FPS, frames)
    k = middle(rounded, "T")
    assert w_round[k, pucker] > 0.4 > 0.05 > w_spread[k, pucker]     # "t" takes the vowels' lips
    # anticipation: rounding for "UW" after "S S" starts during the s
    phones, frames = timeline(["S", "S", "UW"], [0.1, 0.1, 0.2])
    w = V.phoneme_curves(phones, FPS, frames)
    assert w[middle(phones, "S", 1), pucker] > 0.15
    assert w[middle(phones, "S", 1), pucker] > w[middle(phones, "S", 0), pucker] + 0.1


def test_labiodentals_tuck_the_lower_lip_and_vowels_differ():
    phones, frames = timeline(["AA", "F", "IY", "V", "UW"], [0.15, 0.08, 0.15, 0.08, 0.15])
    w = V.phoneme_curves(phones, FPS, frames)
    for label in ("F", "V"):
        assert w[middle(phones, label), INDEX["mouthRollLower"]] >= 0.45
    aa, iy, uw = (middle(phones, v) for v in ("AA", "IY", "UW"))
    assert w[aa, INDEX["jawOpen"]] > w[iy, INDEX["jawOpen"]] + 0.2
    assert w[iy, INDEX["mouthStretchLeft"]] > 0.25 > w[uw, INDEX["mouthStretchLeft"]]
    assert w[uw, INDEX["mouthPucker"]] > 0.5


def test_diphthong_glides_and_silence_rests():
    phones, frames = timeline(["AY"], [0.3], start=1.0)
    w = V.phoneme_curves(phones, FPS, frames)
    first, second = frame_at(1.07), frame_at(1.23)
    assert w[first, INDEX["jawOpen"]] > w[second, INDEX["jawOpen"]] + 0.15
    assert w[second, INDEX["mouthStretchLeft"]] > w[first, INDEX["mouthStretchLeft"]] + 0.15
    rest = w[frame_at(0.5)]
    assert rest[INDEX["jawOpen"]] < 0.05 and np.abs(rest).max() < 0.05
    # only mouth and jaw shapes (and tongueOut) ever move
    moving = {ARKIT_NAMES[j] for j in np.flatnonzero(np.abs(w).max(axis=0) > 0)}
    assert moving <= set(MOUTH_SHAPES) | {"tongueOut"}


def test_unknown_labels_objects_and_closure_on_another_track():
    from cadence.inference.speech.transcript import Phone
    phones = [Phone("SIL", 0, 0.3), Phone("AA1", 0.3, 0.5), Phone("XX", 0.5, 0.6),
              Phone("M", 0.6, 0.68), Phone("AA", 0.68, 0.9), Phone("SIL", 0.9, 1.2)]
    w = V.phoneme_curves(phones, FPS, 36)
    assert w.shape == (36, 52) and w[frame_at(0.4), INDEX["jawOpen"]] > 0.3
    other = np.zeros((36, 52), np.float32)
    other[:, INDEX["jawOpen"]] = 0.6                    # e.g. a learned track that stays open
    V.enforce_closures(other, phones, FPS)
    assert V.lip_aperture(other)[frame_at(0.64)] < 0.1
    assert V.lip_aperture(other)[frame_at(0.4)] > 0.5
    assert np.all(V.phoneme_curves([], FPS, 10)[:, INDEX["jawOpen"]] < 0.05)
