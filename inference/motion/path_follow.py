"""Walk along a drawn path: the root channels of every sampling step follow the path
(issue 22; docs/path_control.md).

The representation keeps the root as a heading rate and a planar velocity in the
character's own frame (motion/representation.py), so a trajectory can be written into
those channels exactly. At every denoising step the composer hands the combined
prediction to :meth:`PathFollow.guidance`, which replaces the root channels inside the
path's frames with those of the path, and the sampler re-encodes the result: the legs
and body are denoised for the imposed trajectory (turns get turning steps), instead of
a finished walk being dragged along a curve afterwards.

Speed: with times on the path, the arc length at each frame comes from them. Without,
the character walks at its own pace: the arc length is the running sum of the forward
speed the model predicts at that step, so the path sets where and which way, and the
prompt and style sliders set how fast. After the end of the path the character stands.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...motion.ground_path import GroundPath, PathError
from ...motion.representation import Start, integrate_root, root_velocities
from ...motion.smoothing import moving_average

VELOCITY = slice(0, 3)  # heading rate, velocity to the left, velocity backwards
STANDING = 0.4  # the path's pace, as a share of 0.5 m/s (gait-averaged), below which the character stands
# Forward speed (m/s) of the locomotion takes in training, by style (Bandai Namco sets 1
# and 2, train split): how long an untimed path takes, for the clip's duration.
STYLE_SPEED = {
    "walk": {"active": 1.47, "angry": 1.91, "childish": 0.96, "chimpira": 1.31, "feminine": 1.24,
             "giant": 1.03, "happy": 1.45, "masculine": 1.28, "musical": 1.42, "normal": 1.17,
             "not-confident": 1.37, "old": 0.78, "proud": 0.75, "sad": 0.61, "tired": 1.1, "youthful": 1.33},
    "run": {"active": 3.39, "angry": 2.81, "childish": 1.88, "chimpira": 3.08, "feminine": 2.65, "giant": 2.23,
            "happy": 1.86, "masculine": 2.73, "musical": 3.09, "normal": 2.83, "not-confident": 1.87,
            "old": 1.53, "proud": 1.74, "sad": 1.63, "tired": 2.23, "youthful": 2.83},
}
NOMINAL_SPEED = {"walk": 1.17, "run": 2.83, "dash": 3.4, "walk-back": 1.21, "walk-left": 1.11,
                 "walk-right": 1.05, "walk-turn-left": 1.09, "walk-turn-right": 1.09, "guide": 0.6}
# The model walks and runs a little slower than its takes (v2.1, normal style: walk 1.15
# against 1.23 m/s, run 2.32 against 2.69; weights/motion_diffusion.md); an untimed clip
# is made long enough for a slower walk still to arrive, then cut after the arrival
# (PathFollow.arrival): standing on at the end of a walking prompt walks on the spot.
MODEL_PACE = 0.8
ARRIVAL_TAIL = 0.3  # seconds kept after the arrival
ARRIVED = 0.03  # metres from the end that count as arrived
LOCOMOTION = frozenset(NOMINAL_SPEED) - {"guide"}  # actions whose legs step along a path
ARRIVAL_HOLD = 0.7  # seconds an untimed clip lasts after the expected arrival
GAIT_CYCLE = 1.0    # seconds: the course of a walk is its average over about one gait cycle


def path_speed(action: str | None, styles: dict[str, float] | None = None) -> float:
    """Expected forward speed (m/s) of ``action`` with style sliders ``styles``: the
    takes' speed for each style, mixed by the sliders, times MODEL_PACE."""
    table = STYLE_SPEED.get("run" if action in ("run", "dash") else "walk")
    base = NOMINAL_SPEED.get(action or "", NOMINAL_SPEED["walk"])
    speed = base
    for name, weight in (styles or {}).items():
        if name in table and weight:
            speed += float(np.clip(weight, 0.0, 1.0)) * (table[name] - table["normal"]) * base / table["normal"]
    return MODEL_PACE * max(0.3, speed)


def clip_seconds(path: GroundPath, action: str | None, start: float = 0.0,
                 styles: dict[str, float] | None = None) -> float:
    """How long a clip walking ``path`` from ``start`` seconds should be: to the last time
    (plus a short hold), or the path's length at the action's and style's usual pace
    plus a hold."""
    if path.duration is not None:
        return start + path.duration + 0.5
    return start + path.length / path_speed(action, styles) + ARRIVAL_HOLD


@dataclass
class PathFollow:
    """The path imposed on frames ``[first, last)`` of a normalised padded sample."""

    path: GroundPath
    normalizer: object  # motion.representation.Normalizer
    fps: float
    first: int = 0
    last: int | None = None

    def __post_init__(self) -> None:
        if self.first < 0 or (self.last is not None and self.last <= self.first + 1):
            raise PathError("the path's segment needs at least two frames")
        mean, std = self.normalizer.mean, self.normalizer.std
        self._mean, self._std = np.asarray(mean[VELOCITY], np.float64), np.asarray(std[VELOCITY], np.float64)
        self._moving = np.zeros(0)

    def arc_lengths(self, forward: np.ndarray) -> np.ndarray:
        """Arc length reached at each frame of the window: from the path's times, or from
        the model's own (gait-averaged) forward speed (m/s per frame)."""
        n = len(forward)
        if self.path.times is not None:
            return self.path.arc_length_at(np.arange(n) / self.fps)
        s = np.concatenate([[0.0], np.cumsum(np.maximum(forward[:-1], 0.0)) / self.fps])
        # Never hurried: a walk hurried past the pace its legs make slides its feet
        # (docs/path_control.md); the clip is long enough instead (clip_seconds).
        return np.minimum(s, self.path.length)

    def follow(self, root: np.ndarray) -> np.ndarray:
        """Denormalised root channels (frames, 3) that walk the path, from the model's.

        A walking pelvis yaws and sways with every step; only its gait-averaged course
        is replaced by the path's: the model's trajectory is integrated, averaged over a
        gait cycle, and what the average leaves (the sway) is put back around the path,
        so the feet stay where the legs put them."""
        n = len(root)
        if n < 2:
            return np.zeros((n, 3))
        theta, xy = integrate_root(root, self.fps)
        window = max(1, int(round(GAIT_CYCLE * self.fps)) | 1)
        theta_s, xy_s = moving_average(theta, window), moving_average(xy, window)
        sway_theta = theta - theta_s
        c, sn = np.cos(theta_s), np.sin(theta_s)
        d = xy - xy_s
        sway_xy = np.stack([c * d[:, 0] + sn * d[:, 1], -sn * d[:, 0] + c * d[:, 1]], axis=1)
        # Forward speed: the velocity along the gait-averaged facing, averaged over the
        # gait. (The speed of the averaged course would cut the path's curves short, and
        # re-imposed at every step the walk would slow down a little more each time.)
        step = np.diff(xy, axis=0) * self.fps
        forward = np.concatenate([sn[:-1] * step[:, 0] - c[:-1] * step[:, 1], [0.0]])
        forward = moving_average(forward, window)
        s = self.arc_lengths(forward)
        self._arc = s
        path_theta = self.path.heading_at(s)
        base = self.path.point_at(s)
        # The sway belongs to walking: it fades out where the path has the character stand.
        moving = np.clip(np.gradient(s) * self.fps / 0.5, 0.0, 1.0) if n > 1 else np.zeros(n)
        moving = moving_average(moving, window)
        self._moving = moving
        sway_theta, sway_xy = sway_theta * moving, sway_xy * moving[:, None]
        cp, sp = np.cos(path_theta), np.sin(path_theta)
        want_xy = base + np.stack([cp * sway_xy[:, 0] - sp * sway_xy[:, 1],
                                   sp * sway_xy[:, 0] + cp * sway_xy[:, 1]], axis=1)
        self._start = (float(path_theta[0] + sway_theta[0]), want_xy[0].copy())
        return root_velocities(path_theta + sway_theta, want_xy, self.fps)

    def window(self, frames: int) -> slice:
        return slice(self.first, min(frames, self.last if self.last is not None else frames))

    def standing(self, frames: int) -> np.ndarray:
        """(frames,) bool: where the path has the character stand or nearly (a stop of a
        timed path, setting off, arriving), from the last :meth:`follow` (:meth:`start`
        runs it on the final features). A walking prompt walks on the spot there."""
        out = np.zeros(frames, bool)
        w = self.window(frames)
        n = min(w.stop - w.start, len(self._moving))
        out[w.start:w.start + n] = self._moving[:n] < STANDING
        return out

    def impose(self, feats: np.ndarray) -> np.ndarray:
        """Denormalised features (frames, F) with the path's root channels in its window."""
        out = np.array(feats, dtype=np.float64, copy=True)
        w = self.window(len(out))
        out[w, VELOCITY] = self.follow(out[w, VELOCITY])
        return out

    def guidance(self, x0: np.ndarray, step) -> np.ndarray:
        """The composer's per-step hook: normalised combined x0 (padded frames, F)."""
        out = np.array(x0, copy=True)
        w = self.window(len(out))
        root = out[w, VELOCITY].astype(np.float64) * self._std + self._mean
        out[w, VELOCITY] = ((self.follow(root) - self._mean) / self._std).astype(out.dtype)
        return out

    def start(self, feats: np.ndarray) -> Start:
        """Where decoding must start so that at the window's first frame the character is
        where the path (with its gait sway) puts it, facing along it. ``feats``: the
        denormalised features after ``impose``."""
        self.follow(np.asarray(feats, np.float64)[self.window(len(feats)), VELOCITY])
        heading, xy = self._start
        if self.first == 0:
            return Start(heading, (float(xy[0]), float(xy[1])))
        theta, pos = integrate_root(np.asarray(feats, np.float64)[:self.first + 1, VELOCITY], self.fps)
        turn = heading - float(theta[-1])
        c, s = np.cos(turn), np.sin(turn)
        at = pos[-1]
        moved = np.array([c * at[0] - s * at[1], s * at[0] + c * at[1]])
        return Start(turn, (float(xy[0] - moved[0]), float(xy[1] - moved[1])))

    def arrival(self, feats: np.ndarray) -> int | None:
        """Frame (of the whole clip) at which the character reaches the path's end in the
        denormalised features ``feats`` (after ``impose``), or None if it does not."""
        self.follow(np.asarray(feats, np.float64)[self.window(len(feats)), VELOCITY])
        done = np.flatnonzero(self._arc >= self.path.length - ARRIVED)
        return None if not len(done) else self.first + int(done[0])

    def trimmed(self, result) -> int:
        """How many frames of a composed ``result`` to keep for an untimed path: up to
        the arrival plus ARRIVAL_TAIL (all of them when it does not arrive)."""
        frames = result.motion.num_frames
        if self.path.times is not None:
            return frames
        at = self.arrival(result.features)
        return frames if at is None else min(frames, at + int(round(ARRIVAL_TAIL * self.fps)) + 1)


__all__ = ["PathFollow", "clip_seconds", "path_speed", "NOMINAL_SPEED", "STYLE_SPEED", "LOCOMOTION"]
