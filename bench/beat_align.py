"""Beat consistency between speech and motion (BEAT's "BeatAlign"), numpy only.

BEAT (Liu et al. 2022) and EMAGE score a gesture sequence by how close its *kinematic
beats* (local minima of the upper body's velocity: the end of a stroke, a hold) fall to
the *audio beats* (onsets):

    BeatAlign = 1/|A| sum_{a in A} exp(-min_{m in M} (a - m)^2 / (2 sigma^2))

with A the audio onsets and M the motion beats, both in seconds. BEAT/EMAGE use
sigma = 0.3 s; with beats every 0.3-0.5 s that value is close to 1 for any motion
that moves, so we also report sigma = 0.1 s, which separates better.

Kinematic beats here: the mean speed of the upper-body joints (spine3, neck, head,
collars, shoulders, elbows, wrists) from world positions, smoothed over 3 frames; a
frame is a beat when it is the minimum within +-``order`` frames and the speed rises
by at least ``rise`` m/s within 0.3 s on both sides (a stop between movements, not
noise on a still body).
"""
from __future__ import annotations

import numpy as np

from ..motion.skeleton import JOINT_NAMES

UPPER_BODY = tuple(JOINT_NAMES.index(n) for n in (
    "spine3", "neck", "head", "left_collar", "right_collar", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist"))


def upper_body_speed(positions: np.ndarray, fps: float) -> np.ndarray:
    """(T - 1,) mean speed (m/s) of the upper-body joints, smoothed over 3 frames."""
    p = np.asarray(positions, np.float64)[:, UPPER_BODY]
    v = np.linalg.norm(np.diff(p, axis=0), axis=-1).mean(axis=1) * fps
    return np.convolve(np.pad(v, 1, mode="edge"), np.ones(3) / 3, mode="valid")


def motion_beats(speed: np.ndarray, fps: float, order: int = 3, rise: float = 0.02) -> np.ndarray:
    """Times (s) of the kinematic beats of a speed curve (see the module docstring)."""
    n = len(speed)
    span = max(1, int(round(0.3 * fps)))
    out = []
    for i in range(n):
        lo, hi = max(0, i - order), min(n, i + order + 1)
        if speed[i] > speed[lo:hi].min() or (i > 0 and speed[i - 1] == speed[i]):
            continue
        left = speed[max(0, i - span):i]
        right = speed[i + 1:i + 1 + span]
        if len(left) and len(right) and left.max() - speed[i] >= rise and right.max() - speed[i] >= rise:
            out.append(i)
    # speed[i] lies between frames i and i + 1
    return (np.array(out, np.float64) + 1.0) / fps


def beat_align(audio_beats: np.ndarray, kinematic_beats: np.ndarray, sigma: float = 0.3) -> float:
    """BEAT's beat consistency score (mean over audio beats); nan without audio beats."""
    a = np.asarray(audio_beats, np.float64)
    m = np.asarray(kinematic_beats, np.float64)
    if len(a) == 0:
        return float("nan")
    if len(m) == 0:
        return 0.0
    d = np.abs(a[:, None] - m[None, :]).min(axis=1)
    return float(np.mean(np.exp(-d ** 2 / (2 * sigma ** 2))))
