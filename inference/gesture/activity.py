"""Gesture activity that follows the voice: move while speaking, rest in the pauses.

People gesture while they speak and rest or hold in pauses (McNeill; the BEAT, Trinity
and GENEA analyses), and louder, more emphatic speech gets larger gestures. The motion
prior knows no talking, and the beat guidance (``gesture_guidance.py``) shapes the
arms' *rhythm* but cannot stop the prior's own arm movement in pauses: on FACEGOOD's
real speech the hands moved as fast in pauses as while speaking (docs/gesture.md).
So, after sampling, the arms are blended towards a rest pose by an **activity
envelope** computed from the voice:

- speaking: the voice activity (``vad.py``) per animation frame; pauses shorter than
  ``min_pause`` (0.5 s) count as speech (a hold, not a rest);
- level while speaking: ``floor + (1 - floor) * loudness``, loudness being the
  prosody's 0..1 loudness smoothed over ``loud_seconds`` and scaled by its 95th
  percentile in speech, so quiet passages get smaller gestures and loud ones full ones;
  in pauses ``idle`` (a small remainder of the motion: alive, not frozen);
- smoothed with a Hann window ``ramp`` s wide so the arms ease in (a little before the
  speech, as a preparation) and out;
- 1 (untouched) where a semantic gesture or the animator's timeline drives the arm.

- on every beat (``beat_source``: the beat guidance's stressed syllables and onsets in
  speech; or the onsets alone) a dip of ``beat_depth`` (Gaussian, sd ``beat_width``):
  the arm moves a little towards rest and back, fastest before and after the beat and
  stopped on it, a beat stroke that follows the voice whatever the prior did there.

- **strokes** (``stroke``): after the blend the whole body is re-timed so that between
  two beats it makes one movement and stops on each beat (:func:`stroke_time_warp`):
  the prior's own stops between the beats go, the hold lands on the stress. The short
  pauses inside a phrase run the stroke's clock at ``pause_rate`` (the hand moves little
  there), the long pauses, semantic gestures and the animator's timeline keep their
  timing. With the dips alone the upper body's speed minima fell 0.09-0.12 s from the
  beats and BeatAlign on real speech stayed at the shifted control's level.

The blend is per frame and joint: each arm joint's local rotation (collar, shoulder,
elbow, wrist) is slerped from the **rest pose** (the per-joint mean rotation of the
same clip, so a pose this motion itself passes through) towards the sampled one by the
envelope: displacement from rest, and so hand speed, scale with it. Before the blend
the arm rotations are filtered by a Gaussian of ``smooth`` frames (sd 1.5 frames, 50
ms): the beat guidance reaches its speed targets partly by frame-to-frame wiggle (jitter
87-104 m/s^3 against 9-63 for real takes); the filter removes it and keeps the strokes.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...motion import rotations as rot
from ...motion.kinematics import Motion
from ...motion.skeleton import JOINT_NAMES
from ...motion.smoothing import fill_short_gaps

ARM_JOINTS = {
    "left": tuple(JOINT_NAMES.index(n) for n in ("left_collar", "left_shoulder", "left_elbow", "left_wrist")),
    "right": tuple(JOINT_NAMES.index(n) for n in ("right_collar", "right_shoulder", "right_elbow", "right_wrist")),
}


@dataclass
class ActivitySettings:
    enabled: bool = True
    idle: float = 0.1          # envelope in pauses (share of the sampled motion kept)
    floor: float = 0.15        # envelope for the quietest speech
    min_pause: float = 0.5     # s: shorter pauses are held through as speech
    ramp: float = 0.5          # s, width of the Hann window that smooths the envelope
    loud_seconds: float = 0.3  # s, loudness smoothing
    smooth: float = 1.5        # frames, sd of a Gaussian filter on the arm rotations (0: none)
    beat_depth: float = 0.2    # envelope dip on each beat (0: none): a stroke that stops on it
    beat_width: float = 0.08   # s, sd of a beat's dip
    stroke: float = 1.0        # 0..1: re-time the body to one stroke between beats, stopped on each
    stroke_gap: float = 0.15   # s: beats closer than this to the previous one are not stopped on
    pause_rate: float = 0.2    # a stroke's clock in the short pauses inside a phrase (1: as in speech)
    beat_source: str = "guidance"   # the beats: "guidance" (stresses + onsets in speech) or "onsets"


def _box(x: np.ndarray, frames: int) -> np.ndarray:
    if frames <= 1:
        return x
    k = np.ones(frames) / frames
    return np.convolve(np.pad(x, (frames // 2, frames - 1 - frames // 2), mode="edge"), k, mode="valid")


def _hann(x: np.ndarray, frames: int) -> np.ndarray:
    if frames <= 2:
        return x
    k = np.hanning(frames + 2)[1:-1]
    k /= k.sum()
    return np.convolve(np.pad(x, (frames // 2, frames - 1 - frames // 2), mode="edge"), k, mode="valid")


def activity_envelope(speaking: np.ndarray, loudness: np.ndarray, fps: float,
                      settings: ActivitySettings | None = None,
                      beats: np.ndarray | None = None) -> np.ndarray:
    """(frames,) gesture activity 0..1 from per-frame voice activity and loudness (0..1);
    with ``beats`` (s) and ``beat_depth``, a dip centred on each beat."""
    st = settings or ActivitySettings()
    speaking = np.asarray(speaking, bool)
    loud = np.clip(np.asarray(loudness, np.float64), 0.0, None)
    if not st.enabled:
        return np.ones(len(speaking))
    active = fill_short_gaps(speaking, int(round(st.min_pause * fps)))
    loud = _box(loud, max(1, int(round(st.loud_seconds * fps))))
    ref = np.percentile(loud[speaking], 95) if speaking.any() else 1.0
    loud = np.clip(loud / max(ref, 1e-6), 0.0, 1.0)
    level = np.where(active, st.floor + (1.0 - st.floor) * loud, st.idle)
    env = _hann(level, max(1, int(round(st.ramp * fps))))
    if beats is not None and len(beats) and st.beat_depth > 0:
        t = (np.arange(len(env)) + 0.5) / fps
        dip = np.zeros(len(env))
        for b in np.asarray(beats, np.float64):
            near = np.abs(t - b) < 4 * st.beat_width
            dip[near] = np.maximum(dip[near], np.exp(-0.5 * ((t[near] - b) / st.beat_width) ** 2))
        env = env * (1.0 - st.beat_depth * dip)
    return np.clip(env, 0.0, 1.0)


def rest_pose(rotations: np.ndarray, joints: Sequence[int]) -> np.ndarray:
    """(len(joints), 4) the per-joint mean local rotation (sign-aligned, normalised)."""
    return rot.quat_mean(np.asarray(rotations)[:, list(joints)])


def smooth_rotations(q: np.ndarray, sigma: float) -> np.ndarray:
    """(T, 4) unit quaternions filtered over time by a Gaussian of ``sigma`` frames
    (sign-continuous, edges padded, renormalised)."""
    if sigma <= 0 or len(q) < 3:
        return q
    r = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    c = rot.quat_continuous(q)
    padded = np.pad(c, ((r, r), (0, 0)), mode="edge")
    out = np.stack([np.convolve(padded[:, i], k, mode="valid") for i in range(4)], axis=1)
    return rot.normalize(out)


UPPER_BODY = tuple(JOINT_NAMES.index(n) for n in (
    "spine3", "neck", "head", "left_collar", "right_collar", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist"))


def upper_body_path(motion: Motion) -> np.ndarray:
    """(frames,) the distance the upper body has travelled by each frame (mean over the
    spine3..wrist joints of their world paths, metres; 0 at frame 0)."""
    p = motion.positions()[:, UPPER_BODY]
    step = np.linalg.norm(np.diff(p, axis=0), axis=-1).mean(axis=1)
    return np.concatenate([[0.0], np.cumsum(step)])


def stroke_time_warp(path: np.ndarray, fps: float, beats: np.ndarray, strength: float,
                     fixed: np.ndarray | None = None, min_gap: float = 0.15,
                     active: np.ndarray | None = None, clock: np.ndarray | None = None) -> np.ndarray:
    """(frames,) source frame (fractional) for each output frame: the motion re-timed so
    that between two beats it is **one stroke**, stopped on each beat.

    ``path``: the distance travelled by each frame (:func:`upper_body_path`). Between
    consecutive beats the output covers the same stretch of the motion, but its progress
    along the path follows ``(1 - strength) u + strength (u - sin(2 pi u) / 2 pi)`` of
    the interval's time u: speed rises and falls once (a sin^2 bump) and, at
    ``strength`` 1, is zero on the beat. Re-timing by the path's length, not by time,
    is what removes the motion's own stops between the beats: a beat stroke reads as one
    when the hand moves once between stresses and holds on them (docs/gesture.md).

    ``active``: (frames,) bool, the phrases (speech with its short pauses filled); their
    edges are knots too and the stretches outside them keep their timing (a stroke
    spread over a pause would move the arms in the middle of the rest). Intervals that
    touch a ``fixed`` frame (a semantic gesture, the animator's timeline) keep their
    timing; a beat closer than ``min_gap`` s to the previous knot is not stopped on.
    ``clock``: (frames,) the rate at which a stroke's time runs per frame (e.g. slower in
    the short pauses inside a phrase, so the hand moves little there); 1 by default."""
    n = len(path)
    out = np.arange(n, dtype=np.float64)
    if n < 3 or strength <= 0 or beats is None or not len(beats):
        return out
    active = np.ones(n, bool) if active is None else np.asarray(active, bool)[:n]
    edges = [float(k) for k in np.flatnonzero(active[1:] != active[:-1]) + 0.5]
    knots = [0.0]
    for b in sorted([float(x) * fps for x in beats] + edges):
        is_edge = b in edges
        if b <= 0.0 or b >= n - 1:
            continue
        if b - knots[-1] < min_gap * fps:
            if not is_edge:
                continue
            knots.pop()     # a phrase's edge wins over a beat just before it
        knots.append(b)
    knots.append(float(n - 1))
    s = np.asarray(path, np.float64) + 1e-9 * out          # strictly increasing, so invertible
    fixed = np.zeros(n, bool) if fixed is None else np.asarray(fixed, bool)
    h = min(1.0, float(strength))
    rate = np.ones(n) if clock is None else np.clip(np.asarray(clock, np.float64)[:n], 1e-3, None)
    c = np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]))])
    for a, b in zip(knots[:-1], knots[1:]):
        if fixed[int(np.floor(a)):int(np.ceil(b)) + 1].any() or not active[int((a + b) / 2)]:
            continue
        j = np.arange(int(np.ceil(a)), int(np.floor(b)) + 1)
        ca, cb = np.interp([a, b], out, c)
        u = np.clip((c[j] - ca) / (cb - ca), 0.0, 1.0)
        progress = (1.0 - h) * u + h * (u - np.sin(2 * np.pi * u) / (2 * np.pi))
        sa, sb = np.interp([a, b], out, s)
        out[j] = np.interp(sa + progress * (sb - sa), s, np.arange(n, dtype=np.float64))
    return out


def smooth_arms(motion: Motion, sigma: float) -> Motion:
    """``motion`` with its arm rotations filtered over time (:func:`smooth_rotations`)."""
    if sigma <= 0:
        return motion
    rotations = motion.rotations.copy()
    for joints in ARM_JOINTS.values():
        for j in joints:
            rotations[:, j] = smooth_rotations(rotations[:, j], sigma)
    return Motion(rotations, motion.root_positions.copy(), motion.fps, motion.skeleton)


def apply_activity(motion: Motion, envelope: np.ndarray, smooth: float = 0.0) -> Motion:
    """The arms of ``motion`` blended towards their rest pose by ``envelope``: (frames,)
    for both arms or (frames, 2) per left/right arm; 1 keeps the sampled motion.
    ``smooth``: first filter the arm rotations (:func:`smooth_arms`)."""
    env = np.asarray(envelope, np.float64)
    if env.ndim == 1:
        env = np.stack([env, env], axis=1)
    n = motion.num_frames
    if len(env) != n:
        env = np.interp(np.arange(n), np.linspace(0, n - 1, len(env)), env[:, 0])[:, None].repeat(2, 1) \
            if len(env) else np.ones((n, 2))
    rotations = smooth_arms(motion, smooth).rotations.copy()
    for side, k in (("left", 0), ("right", 1)):
        joints = ARM_JOINTS[side]
        rest = rest_pose(rotations, joints)
        w = np.clip(env[:, k], 0.0, 1.0)
        for j, r in zip(joints, rest):
            rotations[:, j] = rot.quat_slerp(np.broadcast_to(r, (n, 4)), rotations[:, j], w)
    return Motion(rotations, motion.root_positions.copy(), motion.fps, motion.skeleton)
