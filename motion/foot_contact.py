"""Foot-contact clean-up for retargeted motion (bpy-free; docs/retargeting.md).

On a rig with other proportions than the source (a longer foot, a higher ankle, legs
scaled differently from the body), copying rotations makes planted feet float, sink or
slide a little. While the *source* says a foot is planted, the rig's ankle is instead
made to move exactly as the source's ankle does (scaled) from where it was when the
contact began, at the source's height above the floor (scaled from the rig's rest; of
the ankle and the ball of the foot, the one that must come down most sets it, and
neither goes below its rest height):
- the hips come down where a leg cannot reach (smoothly, never up);
- a two-bone IK on thigh and shin puts the ankle there, keeping the knee in the plane
  it had (no knee flips) and the foot's world orientation;
- corrections fade in and out over a few frames around each contact.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import rotations as rot
from .rig_target import RigTarget, fill_rigid
from .skeleton import CANONICAL
from .smoothing import fill_short_gaps, runs

CONTACT_HEIGHT = 0.03  # m above the joint's rest height (source, canonical metres)
CONTACT_SPEED = 0.5    # m/s horizontally
MIN_CONTACT_FRAMES = 3
MAX_GAP_FRAMES = 2
BLEND_SECONDS = 0.1
CONTACT_SOFTNESS = 0.01  # m: how sharply the source's contact point is chosen
REACH_TOLERANCE = 0.003  # of the leg's length: overreach left uncorrected
_SIDES = ("left", "right")
_CI = {n: i for i, n in enumerate(CANONICAL.names)}


def foot_contacts(positions: np.ndarray, fps: float) -> dict[str, np.ndarray]:
    """Per side, (T,) bool: the foot is planted (ankle or ball of the foot near its rest
    height and slow). ``positions``: canonical joint positions (T, J, 3), metres, Z up."""
    rest = CANONICAL.rest_positions()
    t = len(positions)
    out = {}
    for side in _SIDES:
        mask = np.zeros(t, bool)
        for joint in (f"{side}_ankle", f"{side}_foot"):
            j = _CI[joint]
            low = positions[:, j, 2] - rest[j, 2] < CONTACT_HEIGHT
            speed = np.zeros(t)
            if t > 1:
                step = np.linalg.norm(np.diff(positions[:, j, :2], axis=0), axis=1) * fps
                speed[1:] = step
                speed[0] = step[0]
            mask |= low & (speed < CONTACT_SPEED)
        mask = fill_short_gaps(mask, MAX_GAP_FRAMES)
        for start, stop in runs(mask):  # drop flickers
            if stop - start < MIN_CONTACT_FRAMES:
                mask[start:stop] = False
        out[side] = mask
    return out


def faded_offsets(contacts: np.ndarray, now: np.ndarray,
                  want: Callable[[int, int], np.ndarray], blend: int) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the correction (T, 3) that moves ``now`` onto ``want(start, stop)`` during
    every contact run, faded in and out over ``blend`` frames around the runs (so a planted
    foot never pops), and its weight (T,) in [0, 1]."""
    t = len(now)
    offset = np.zeros((t, 3))
    weight = np.zeros(t)
    for start, stop in runs(contacts):
        offset[start:stop] = want(start, stop) - now[start:stop]
        weight[start:stop] = 1.0
        for k in range(1, blend + 1):
            w = 1.0 - k / (blend + 1)
            for f, edge in ((start - k, start), (stop - 1 + k, stop - 1)):
                if 0 <= f < t and w > weight[f]:
                    weight[f] = w
                    offset[f] = w * offset[edge]
    return offset, weight


def two_bone_swings(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, goal: np.ndarray,
                    forward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-bone IK for legs: world rotations (T, 4) for the thigh (``swing1``) and the shin
    (``swing2``, which includes ``swing1``) that put the ankle on ``goal``.

    All arguments are (T, 3) world positions except ``forward``, the direction the knee
    bends towards when the leg is straight (the thigh's forward axis). The knee stays in
    the plane it had, so knees never flip; a goal out of reach leaves the leg straight
    towards it, one too near leaves it fully bent.
    """
    upper = np.linalg.norm(knee - hip, axis=1)
    lower = np.linalg.norm(ankle - knee, axis=1)
    to_goal = goal - hip
    dist = np.clip(np.linalg.norm(to_goal, axis=1), np.abs(upper - lower) + 1e-6,
                   (upper + lower) * (1 - 1e-6))
    u = rot.normalize(to_goal)
    bend = (knee - hip) - np.sum((knee - hip) * u, 1, keepdims=True) * u
    fallback = forward - np.sum(forward * u, 1, keepdims=True) * u
    small = np.linalg.norm(bend, axis=1, keepdims=True) < 1e-6 * upper[:, None]
    n = rot.normalize(np.where(small, fallback, bend))
    cos = np.clip((upper ** 2 + dist ** 2 - lower ** 2) / (2 * upper * dist), -1.0, 1.0)[:, None]
    knee_goal = hip + upper[:, None] * (cos * u + np.sqrt(1 - cos ** 2) * n)
    ankle_goal = hip + dist[:, None] * u
    swing1 = rot.quat_between(knee - hip, knee_goal - hip)
    shin = rot.quat_rotate(swing1, ankle - knee)
    swing2 = rot.quat_mul(rot.quat_between(shin, ankle_goal - knee_goal), swing1)
    return swing1, swing2


def _path(rig, top: int, bone: int) -> list[int]:
    """Bones from just below ``top`` down to ``bone`` (inclusive), top first."""
    out = []
    while bone != top:
        out.append(bone)
        bone = rig.parents[bone]
        if bone < 0:
            raise ValueError("bone is not below the carrier")
    return out[::-1]


def _position(target, deltas: np.ndarray, carrier_head: np.ndarray, bone: int) -> np.ndarray:
    """Head of ``bone`` over time (canonical axes), from the carrier's head and the deltas."""
    rig, heads = target.rig, target.heads
    pos = carrier_head.copy()
    for k in _path(rig, target.carrier, bone):
        p = rig.parents[k]
        pos += rot.quat_rotate(deltas[:, p], np.broadcast_to(heads[k] - heads[p], pos.shape))
    return pos


def _contact_height_change(refs, heads, positions, rest, scale) -> np.ndarray:
    """Vertical change (T,) of the ankle that puts the foot's contact point at its goal.

    refs: (bone, its current head (T, 3), canonical joint) for the ankle and the ball of
    the foot. A point's goal is the source joint's height above its rest height, scaled,
    above the bone's rest height. The point the source has nearer its rest height (on
    the floor) weighs most: weights fall off over 1 cm, so the choice never jumps.
    """
    gaps = np.array([positions[:, j, 2] - rest[j, 2] for _, _, j in refs])  # source, metres
    weights = np.exp(-(gaps - gaps.min(0)) / CONTACT_SOFTNESS)
    change = np.array([heads[b, 2] + scale * gap - p[:, 2] for (b, p, _), gap in zip(refs, gaps)])
    return np.sum(weights * change, 0) / np.sum(weights, 0)


def _moving(x: np.ndarray, size: int, fn) -> np.ndarray:
    pad = size // 2
    padded = np.concatenate([np.repeat(x[:1], pad), x, np.repeat(x[-1:], pad)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * pad + 1)
    return fn(windows, axis=1)


def clean_foot_contacts(target: RigTarget, positions: np.ndarray, deltas: np.ndarray,
                        carrier_head: np.ndarray, scale: float, fps: float) -> np.ndarray:
    """Correct ``deltas`` (in place) and return the corrected carrier head (T, 3).

    target: a prepared :class:`~motion.rig_target.RigTarget`; positions: the source's
    canonical joint positions (T, J, 3); deltas: the rig's world deltas (T, N, 4);
    carrier_head: the translation carrier's head (T, 3), canonical axes, rig units.
    Legs without hip, knee and ankle bones are left alone.
    """
    rig, heads = target.rig, target.heads
    t = len(positions)
    contacts = foot_contacts(positions, fps)
    rest = CANONICAL.rest_positions()
    blend = max(1, int(round(BLEND_SECONDS * fps)))
    legs = []
    for side in _SIDES:
        try:
            hip, knee, ankle = (target.joint_bone[_CI[f"{side}_{p}"]] for p in ("hip", "knee", "ankle"))
        except KeyError:
            continue
        if not contacts[side].any():
            continue
        now = _position(target, deltas, carrier_head, ankle)
        source = positions[:, _CI[f"{side}_ankle"]]
        # Heights: the ankle and, when mapped, the ball of the foot (which moves with the
        # ankle: the foot keeps its orientation). A foot shaped unlike the source's cannot
        # put both where the source has them: the point the source has on the floor wins.
        refs = [(ankle, now, _CI[f"{side}_ankle"])]
        ball = target.joint_bone.get(_CI[f"{side}_foot"])
        if ball is not None and rig.is_ancestor(ankle, ball):
            refs.append((ball, _position(target, deltas, carrier_head, ball), _CI[f"{side}_foot"]))
        dz = _contact_height_change(refs, heads, positions, rest, scale)

        def want(start: int, stop: int, now: np.ndarray = now, source: np.ndarray = source,
                 dz: np.ndarray = dz) -> np.ndarray:
            goal = now[start] + scale * (source[start:stop] - source[start])
            goal[:, 2] = now[start:stop, 2] + dz[start:stop]
            return goal

        offset, weight = faded_offsets(contacts[side], now, want, blend)
        legs.append((hip, knee, ankle, now + offset, weight > 0))
    if not legs:
        return carrier_head

    # Lower the hips where a leg cannot reach its ankle target.
    head = carrier_head.copy()
    drop = np.zeros(t)
    for hip, knee, ankle, desired, active in legs:
        # A nearly straight knee turns a millimetre into degrees: tolerate a little
        # overreach (the ankle then stays that much short) before moving the hips.
        reach = np.linalg.norm(heads[knee] - heads[hip]) + np.linalg.norm(heads[ankle] - heads[knee])
        v = desired - _position(target, deltas, head, hip)
        flat = np.sum(v[:, :2] ** 2, axis=1)
        need = -np.sqrt(np.maximum(reach ** 2 - flat, 0.0)) - v[:, 2] - REACH_TOLERANCE * reach
        drop = np.maximum(drop, np.where(active, np.clip(need, 0.0, 0.15 * reach), 0.0))
    if drop.any():
        size = 2 * blend + 1
        drop = _moving(_moving(drop, size, np.max), size, np.mean)
        head[:, 2] -= drop

    for hip, knee, ankle, desired, active in legs:
        if not active.any():
            continue
        frames = np.flatnonzero(active)
        d = deltas[frames]
        sub_head = head[frames]
        h = _position(target, d, sub_head, hip)
        k = _position(target, d, sub_head, knee)
        a_now = _position(target, d, sub_head, ankle)
        forward = rot.quat_rotate(d[:, hip], np.broadcast_to([0.0, -1.0, 0.0], h.shape))
        swing1, swing2 = two_bone_swings(h, k, a_now, desired[frames], forward)
        thigh_bones = _path(rig, hip, knee)[:-1]  # below the hip bone, above the knee
        for b in [hip] + thigh_bones:
            if b in target.joint_bone.values() or b in target.distributed:
                deltas[frames, b] = rot.quat_mul(swing1, deltas[frames, b])
        for b in [knee] + _path(rig, knee, ankle)[:-1]:
            if b in target.joint_bone.values() or b in target.distributed:
                deltas[frames, b] = rot.quat_mul(swing2, deltas[frames, b])
        fill_rigid(target, deltas)
    return head
