"""What is laid over the speech shapes: emotion, blinks, gaze and head motion.

All procedural (the FACEGOOD data animates only the mouth), seeded, in numpy:

- **Emotion** (:func:`apply_emotions`): the 8 BEAT emotions as ARKit expression offsets
  built from FACS action units (happy AU6+12, sad AU1+4+15, surprise AU1+2+5, fear
  AU1+2+4+5+20, anger AU4+5+7, disgust AU9+10+15, contempt unilateral AU12+14). Offsets
  go only on shapes that do not open, round or press the lips (``arkit.LIP_SHAPES`` are
  never touched), so a p/b/m closure the speech makes stays closed, EMOTE-style. Their
  intensity follows the speech energy (0.75 of the slider in silence, up to 1.1 on loud
  syllables).
- **Blinks** (:func:`blink_curve`): a renewal process with gamma-distributed intervals
  (mean 3.3 s, about 18 a minute as in conversation), 12% double blinks, and an extra
  blink likely at the end of a phrase; each blink closes in ~80 ms and opens in ~170 ms.
- **Gaze** (:func:`gaze_angles`): fixations near the listener broken by saccades (gamma
  intervals, shorter while speaking), with glances away at phrase starts, tiny fixational
  drift; converted to the ARKit eyeLook shapes and a slight lid follow on downward gaze.
- **Head** (:func:`head_angles`): slow sway (band-limited noise) scaled by speech
  energy, nods at stressed syllables (energy peaks), and breathing in silence.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..motion.kinematics import Motion
from ..motion.targets import eye_angles, look_weight
from .animation import FaceAnimation
from .arkit import INDEX, LIP_SHAPES, NUM_SHAPES

# The eight emotions of the BEAT dataset: the face's expression offsets below, and the
# speech sliders until a speech model's metadata (``emotions``) names others.
EMOTIONS: tuple[str, ...] = ("neutral", "happy", "angry", "sad", "contempt", "surprise",
                             "fear", "disgust")

_BOTH = lambda stem, v: {f"{stem}Left": v, f"{stem}Right": v}  # noqa: E731

EXPRESSIONS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {**_BOTH("mouthSmile", 0.55), **_BOTH("cheekSquint", 0.45), **_BOTH("eyeSquint", 0.3),
              **_BOTH("mouthDimple", 0.15), **_BOTH("browOuterUp", 0.1)},
    "angry": {**_BOTH("browDown", 0.75), **_BOTH("eyeSquint", 0.35), **_BOTH("eyeWide", 0.15),
              **_BOTH("noseSneer", 0.3), **_BOTH("mouthFrown", 0.2), **_BOTH("mouthStretch", 0.1)},
    "sad": {"browInnerUp": 0.75, **_BOTH("browDown", 0.2), **_BOTH("mouthFrown", 0.5),
            **_BOTH("eyeSquint", 0.12), **_BOTH("eyeLookDown", 0.12)},
    "contempt": {"mouthSmileLeft": 0.4, "mouthDimpleLeft": 0.35, "eyeSquintLeft": 0.15,
                 "noseSneerLeft": 0.12, **_BOTH("browDown", 0.1)},
    "surprise": {"browInnerUp": 0.8, **_BOTH("browOuterUp", 0.8), **_BOTH("eyeWide", 0.65)},
    "fear": {"browInnerUp": 0.85, **_BOTH("browOuterUp", 0.35), **_BOTH("browDown", 0.15),
             **_BOTH("eyeWide", 0.7), **_BOTH("mouthStretch", 0.4)},
    "disgust": {**_BOTH("noseSneer", 0.65), **_BOTH("browDown", 0.4), **_BOTH("eyeSquint", 0.4),
                **_BOTH("cheekSquint", 0.3), **_BOTH("mouthFrown", 0.3)},
}
assert set(EXPRESSIONS) == set(EMOTIONS)
assert all(name in INDEX and name not in LIP_SHAPES for e in EXPRESSIONS.values() for name in e)


def parse_emotions(text: str | Mapping[str, float] | None) -> dict[str, float]:
    """``"happy=0.8,sad=0.2"`` (or a mapping) -> checked ``{name: weight}``; weights 0..1."""
    if not text:
        return {}
    if isinstance(text, Mapping):
        items = list(text.items())
    else:
        items = []
        for part in str(text).split(","):
            if not part.strip():
                continue
            name, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"emotion {part.strip()!r}: write NAME=WEIGHT, e.g. happy=0.8")
            items.append((name, value))
    out = {}
    for name, value in items:
        key = str(name).strip().lower()
        if key not in EXPRESSIONS:
            raise ValueError(f"unknown emotion {name!r}; known: {', '.join(EMOTIONS)}")
        try:
            weight = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"emotion {key}: weight {value!r} is not a number") from None
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"emotion {key}: weight {weight:g} is outside 0..1")
        out[key] = weight
    return out


def expression_vector(emotions: Mapping[str, float]) -> np.ndarray:
    """The summed (52,) expression offset for slider weights."""
    vec = np.zeros(NUM_SHAPES, np.float32)
    for name, weight in emotions.items():
        for shape, value in EXPRESSIONS[name].items():
            vec[INDEX[shape]] += weight * value
    return vec


def smooth(x: np.ndarray, fps: float, seconds: float) -> np.ndarray:
    """Centred moving average over ``seconds`` (edge-padded)."""
    n = max(1, int(round(seconds * fps)) | 1)
    if len(x) == 0 or n == 1:
        return np.asarray(x, dtype=np.float32)
    pad = n // 2
    padded = np.pad(np.asarray(x, dtype=np.float64), pad, mode="edge")
    csum = np.concatenate([[0.0], np.cumsum(padded)])
    return ((csum[n:] - csum[:-n]) / n).astype(np.float32)


def apply_emotions(weights: np.ndarray, emotions: Mapping[str, float], energy: np.ndarray,
                   fps: float) -> np.ndarray:
    """Add the expression offsets to ``weights`` (T, 52); lip shapes are left as they are."""
    out = np.array(weights, dtype=np.float32, copy=True)
    vec = expression_vector(emotions)
    if not np.any(vec):
        return out
    intensity = 0.75 + 0.35 * smooth(energy, fps, 0.6)
    out += intensity[:, None] * vec[None, :]
    return np.clip(out, 0.0, 1.0)


# -- blinks ---------------------------------------------------------------------------------
def _blink_shape(fps: float, rng: np.random.Generator) -> np.ndarray:
    close, hold, open_ = rng.uniform(0.06, 0.1), rng.uniform(0.02, 0.06), rng.uniform(0.13, 0.22)
    t = np.arange(int(np.ceil((close + hold + open_) * fps)) + 1) / fps
    y = np.where(t < close, np.sin(0.5 * np.pi * t / close) ** 2,
                 np.where(t < close + hold, 1.0,
                          np.cos(0.5 * np.pi * np.clip((t - close - hold) / open_, 0, 1)) ** 2))
    return (rng.uniform(0.9, 1.0) * y).astype(np.float32)


def phrase_ends(energy: np.ndarray, fps: float, threshold: float = 0.25,
                min_pause: float = 0.3) -> np.ndarray:
    """Frames where speech stops for at least ``min_pause`` seconds."""
    speaking = smooth(energy, fps, 0.1) > threshold
    ends = []
    n = int(min_pause * fps)
    for k in np.flatnonzero(speaking[:-1] & ~speaking[1:]) + 1:
        if not speaking[k:k + n].any():
            ends.append(k)
    return np.array(ends, dtype=int)


def phrase_starts(energy: np.ndarray, fps: float, threshold: float = 0.25,
                  min_pause: float = 0.3) -> np.ndarray:
    speaking = smooth(energy, fps, 0.1) > threshold
    n = int(min_pause * fps)
    starts = [k for k in np.flatnonzero(~speaking[:-1] & speaking[1:]) + 1
              if not speaking[max(0, k - n):k].any()]
    if len(speaking) and speaking[0]:
        starts.insert(0, 0)
    return np.array(starts, dtype=int)


def blink_curve(frames: int, fps: float, rng: np.random.Generator,
                energy: np.ndarray | None = None, mean_interval: float = 3.3) -> np.ndarray:
    """(frames,) eyelid closure 0..1 with natural blink timing (see the module doc)."""
    times = []
    t = rng.uniform(0.3, mean_interval)
    duration = frames / fps
    while t < duration:
        times.append(t)
        if rng.random() < 0.12:  # double blink
            times.append(t + rng.uniform(0.28, 0.4))
        t += max(0.5, rng.gamma(3.0, mean_interval / 3.0))
    if energy is not None and len(energy):
        for k in phrase_ends(energy, fps):
            if rng.random() < 0.6:
                times.append(k / fps + rng.uniform(0.05, 0.3))
    times.sort()
    out = np.zeros(frames, np.float32)
    last = -1.0
    for t in times:
        if t - last < 0.25:  # the lid is still moving from the previous blink
            continue
        last = t
        shape = _blink_shape(fps, rng)
        k = int(round(t * fps))
        seg = out[k:k + len(shape)]
        np.maximum(seg, shape[:len(seg)], out=seg)
    return out


# -- gaze -------------------------------------------------------------------------------------
GAZE_LIMIT = 30.0     # degrees of an eye's turn at eyeLook* = 1


def _steps(frames: int, fps: float, events: list[tuple[float, float, float]]) -> np.ndarray:
    """Piecewise-constant (yaw, pitch) with 2-frame ramps (a saccade takes 30-60 ms)."""
    out = np.zeros((frames, 2), np.float32)
    cur = np.zeros(2, np.float32)
    k_prev = 0
    for t, yaw, pitch in sorted(events):
        k = min(frames, int(round(t * fps)))
        out[k_prev:k] = cur
        new = np.array([yaw, pitch], np.float32)
        if k < frames:
            out[k] = 0.5 * (cur + new)
        cur, k_prev = new, min(frames, k + 1)
    out[k_prev:] = cur
    return out


def gaze_angles(frames: int, fps: float, rng: np.random.Generator,
                energy: np.ndarray | None = None) -> np.ndarray:
    """(frames, 2) gaze yaw, pitch in degrees (both eyes)."""
    energy = np.zeros(frames, np.float32) if energy is None else energy
    speaking = smooth(energy, fps, 0.5) > 0.3
    events = []
    t, duration = 0.0, frames / fps
    while t < duration:
        k = min(frames - 1, int(t * fps))
        mean = 1.3 if speaking[k] else 2.2
        t += max(0.25, rng.gamma(2.5, mean / 2.5))
        events.append((t, float(rng.laplace(0, 2.5)), float(rng.laplace(-0.5, 1.5))))
    for k in phrase_starts(energy, fps):   # look away while starting a thought
        if rng.random() < 0.5:
            t0 = k / fps + rng.uniform(-0.2, 0.2)
            side = rng.choice([-1.0, 1.0])
            events.append((max(0.0, t0), side * rng.uniform(6, 12), rng.uniform(-6, 6)))
            events.append((t0 + rng.uniform(0.6, 1.4), float(rng.laplace(0, 1.5)), 0.0))
    gaze = _steps(frames, fps, events)
    drift = rng.normal(0, 0.15, size=(frames, 2)).cumsum(axis=0)
    drift -= smooth(drift[:, 0], fps, 1.0)[:, None] * [1, 0] + smooth(drift[:, 1], fps, 1.0)[:, None] * [0, 1]
    return np.clip(gaze + 0.5 * drift, -25, 25).astype(np.float32)


def gaze_shapes(gaze: np.ndarray, limit: float = GAZE_LIMIT) -> dict[str, np.ndarray]:
    """ARKit eyeLook* curves for a (T, 2) gaze of both eyes (yaw + to the character's
    left, degrees)."""
    return eye_shapes(np.concatenate([gaze, gaze], axis=1), limit)


def eye_shapes(eyes: np.ndarray, limit: float = GAZE_LIMIT) -> dict[str, np.ndarray]:
    """ARKit eyeLook* curves for (T, 4) eye angles (FaceAnimation.eyes: left yaw, left
    pitch, right yaw, right pitch, degrees): weight 1 at ``limit`` degrees. A turn to the
    character's left is the left eye looking out and the right eye looking in."""
    e = np.asarray(eyes, float) / limit
    return {"eyeLookOutLeft": np.clip(e[:, 0], 0, 1), "eyeLookInLeft": np.clip(-e[:, 0], 0, 1),
            "eyeLookUpLeft": np.clip(e[:, 1], 0, 1), "eyeLookDownLeft": np.clip(-e[:, 1], 0, 1),
            "eyeLookInRight": np.clip(e[:, 2], 0, 1), "eyeLookOutRight": np.clip(-e[:, 2], 0, 1),
            "eyeLookUpRight": np.clip(e[:, 3], 0, 1), "eyeLookDownRight": np.clip(-e[:, 3], 0, 1)}


def with_look(anim: FaceAnimation, motion: Motion, looks: list[tuple[float, float]]) -> FaceAnimation:
    """``anim`` with its gaze, during ``looks`` ((start, end) seconds of the body's look
    targets, eased as the body's look), where ``motion`` (a canonical Motion starting
    with ``anim``) turned its eyes (``motion.targets.look_at``): eye angles and eyeLook*
    shapes, so that a face whose eyes are shape keys looks at the target with the body
    instead of at the speech's own fixations (issue 22)."""
    if not looks:
        return anim
    times = np.arange(motion.num_frames) / motion.fps
    turned = eye_angles(motion)
    held = np.max([look_weight(motion, a, b) for a, b in looks], axis=0)
    eyes = np.stack([np.interp(anim.times, times, turned[:, k]) for k in range(4)], axis=1)
    w = np.clip(np.interp(anim.times, times, held), 0, 1)[:, None]
    weights = anim.weights.astype(float)
    for name, curve in eye_shapes(eyes).items():
        k = INDEX[name]
        weights[:, k] = (1 - w[:, 0]) * weights[:, k] + w[:, 0] * curve
    new_eyes = (1 - w) * anim.eyes + w * np.asarray(eyes, float)
    return FaceAnimation(weights, anim.head, new_eyes, anim.fps, list(anim.warnings), dict(anim.info))


# -- head -------------------------------------------------------------------------------------
def _band_noise(frames: int, fps: float, rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Unit-variance noise smoothed over ``seconds``."""
    x = smooth(smooth(rng.normal(size=frames + 1), fps, seconds), fps, seconds)
    x = x[:frames] - x[:frames].mean() if frames else x[:0]
    return x / (x.std() + 1e-9)


def stressed_syllables(energy: np.ndarray, fps: float, min_gap: float = 0.35,
                       min_level: float = 0.55) -> np.ndarray:
    """Frames of prominent energy peaks (local maxima above the surrounding level)."""
    e = smooth(energy, fps, 0.1)
    background = smooth(energy, fps, 1.0)
    peaks = []
    gap = int(min_gap * fps)
    for k in range(1, len(e) - 1):
        if e[k] >= e[k - 1] and e[k] > e[k + 1] and e[k] > min_level and e[k] > background[k] + 0.08:
            if peaks and k - peaks[-1] < gap:
                if e[k] > e[peaks[-1]]:
                    peaks[-1] = k
                continue
            peaks.append(k)
    return np.array(peaks, dtype=int)


def head_angles(frames: int, fps: float, rng: np.random.Generator,
                energy: np.ndarray | None = None, scale: float = 1.0) -> np.ndarray:
    """(frames, 3) head yaw, pitch, roll in degrees: sway, nods, breathing."""
    energy = np.zeros(frames, np.float32) if energy is None else energy
    activity = 0.35 + 0.9 * smooth(energy, fps, 1.0)
    out = np.zeros((frames, 3), np.float32)
    out[:, 0] = 2.5 * _band_noise(frames, fps, rng, 1.2) * activity
    out[:, 1] = 1.2 * _band_noise(frames, fps, rng, 0.9) * activity
    out[:, 2] = 1.0 * _band_noise(frames, fps, rng, 1.5) * activity
    t = np.arange(frames) / fps
    out[:, 1] += 0.4 * np.sin(2 * np.pi * 0.25 * t + rng.uniform(0, 2 * np.pi)) * (1.2 - activity).clip(0, 1)
    e = smooth(energy, fps, 0.1)
    nod_len = int(0.45 * fps)
    shape = np.sin(np.pi * np.arange(nod_len) / nod_len) ** 2
    for k in stressed_syllables(energy, fps):
        amp = rng.uniform(1.5, 3.0) * float(e[k])
        start = max(0, k - nod_len // 3)
        seg = out[start:start + nod_len, 1]
        seg -= amp * shape[:len(seg)]               # chin down on the stress, then back up
    return (scale * out).astype(np.float32)
