"""Foot locking for generated motion (bpy-free).

A diffusion model's feet drift a little while they should be planted: the decoded root
velocity and leg rotations never agree exactly, and an animator sees the foot skate. The
model also says *when* a foot is down (the contact channels of the representation), so
the fix is the one animators make by hand: during each contact the ankle is pinned where
it landed (horizontally; it may still roll heel-to-toe and never goes below the floor),
a two-bone IK on thigh and shin puts it there keeping the knee's plane and the foot's
world orientation, and the correction fades in and out over a few frames around the
contact so nothing pops. Two guards keep it from fighting the motion: a contact is only
believed while the foot is near the floor, and a planted foot is held on a short leash
(``MAX_PIN_DRIFT``): when the motion pulls it further (the whole body drifting, a pivot
the model meant) it follows at the motion's pace instead of stretching the leg. Between contacts, a foot that travels a step's length but stays
within a couple of centimetres of the floor (the model's shuffle) is lifted along a
smooth arc, as an animator lifts the passing pose. The pelvis and upper body are
untouched.

``motion/foot_contact.py`` does the related job for retargeting (follow the *source's*
contacts on a rig with other proportions); both share its IK and edge fades.
"""
from __future__ import annotations

import numpy as np

from . import rotations as rot
from .foot_contact import (MAX_GAP_FRAMES, MIN_CONTACT_FRAMES, _runs,
                           faded_offsets, foot_contacts, two_bone_swings)
from .kinematics import Motion, motion_world
from .representation import CONTACTS, decode
from .skeleton import CANONICAL

CONTACT_THRESHOLD = 0.5  # a decoded contact channel above this means "on the floor"
CONTACT_HEIGHT = (0.08, 0.05)  # m above rest: ankle, ball of the foot (the representation's)
MAX_PIN_DRIFT = 0.06  # m: a planted foot follows the motion only when pulled further
STEP_LENGTH = 0.15  # m: a swing travelling this far gets clearance
SWING_LIFT = (0.03, 0.06)  # m: clearance range at mid-swing, grows with the step's length
FADE_SECONDS = 0.2  # corrections fade in and out over this (a leash's worth stays below skating speed)
_CI = {n: i for i, n in enumerate(CANONICAL.names)}
_SIDES = ("left", "right")


HEEL, BALL = 1, 2  # which point of a foot is planted (0: none)


def contacts_from_channels(channels: np.ndarray,
                           positions: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per side, (T,) int: which point of the foot is planted - HEEL (the ankle), BALL (the
    ball of the foot only: heel raised, as at toe-off) or 0 - from the representation's
    contact channels (T, 4: left ankle, right ankle, left foot, right foot). Given
    canonical joint ``positions`` (T, J, 3), a point must also be near the floor. Gaps of
    a frame or two are closed and flickers shorter than a few frames dropped."""
    channels = np.asarray(channels)
    if channels.ndim != 2 or channels.shape[1] != 4:
        raise ValueError(f"contact channels must be (frames, 4), got {channels.shape}")
    down = channels > CONTACT_THRESHOLD
    if positions is not None:
        rest = CANONICAL.rest_positions()
        for s, side in enumerate(_SIDES):
            for c, (joint, height) in enumerate(zip(("ankle", "foot"), CONTACT_HEIGHT)):
                j = _CI[f"{side}_{joint}"]
                down[:, 2 * c + s] &= positions[:, j, 2] - rest[j, 2] < height
    out = {}
    for s, side in enumerate(_SIDES):
        point = np.where(down[:, s], HEEL, np.where(down[:, 2 + s], BALL, 0))
        mask = point > 0
        t = len(mask)
        for start, stop in _runs(~mask):
            if 0 < start and stop < t and stop - start <= MAX_GAP_FRAMES:
                point[start:stop] = point[start - 1]
        for start, stop in _runs(point > 0):
            if stop - start < MIN_CONTACT_FRAMES:
                point[start:stop] = 0
        out[side] = point
    return out


def _planted_offsets(point: np.ndarray, start: int, stop: int, heel: np.ndarray,
                     ball: np.ndarray, leash: float) -> np.ndarray:
    """Horizontal corrections (stop - start, 2) that hold whichever point of the foot is
    planted where it landed. When the planted point changes (heel-off), the new point is
    held where the corrected foot had it, so the correction never jumps; a point pulled
    further than ``leash`` follows at the motion's pace (a slow drift of the whole body
    moves the foot slowly instead of stretching the leg)."""
    out = np.zeros((stop - start, 2))
    anchor, held, previous = None, 0, np.zeros(2)
    for i, f in enumerate(range(start, stop)):
        now = (heel if point[f] == HEEL else ball)[f, :2]
        if point[f] != held:
            anchor, held = now + previous, point[f]
        pull = now - anchor
        dist = float(np.hypot(*pull))
        if dist > leash:
            anchor = anchor + pull * (1.0 - leash / dist)
        previous = out[i] = anchor - now
    return out


def _swing_lift(mask: np.ndarray, ankle: np.ndarray, floor: float) -> np.ndarray:
    """Vertical offsets (T,) that give each step between two contacts some clearance."""
    lift = np.zeros(len(mask))
    for start, stop in _runs(~mask):
        if start == 0 or stop == len(mask):
            continue  # not between two contacts: a step's shape is unknown
        travel = np.linalg.norm(ankle[stop, :2] - ankle[start - 1, :2])
        if travel < STEP_LENGTH:
            continue
        peak = float(np.clip(0.1 * travel, *SWING_LIFT))
        s = (np.arange(start, stop) - (start - 1)) / (stop - start + 1)
        want = floor + peak * np.sin(np.pi * s) ** 2
        lift[start:stop] = np.maximum(want - ankle[start:stop, 2], 0.0)
    return lift


def lock_feet(motion: Motion, contacts: dict[str, np.ndarray] | None = None) -> Motion:
    """A copy of ``motion`` (canonical skeleton) whose feet stay put while in contact and
    clear the floor between contacts.

    ``contacts``: per side (T,) which point is planted, from :func:`contacts_from_channels`
    on the model's output, or (T,) bool (the heel); without it, contacts are detected from
    the motion (slow and low).
    """
    if motion.skeleton.names != CANONICAL.names:
        raise ValueError("foot locking works on the canonical skeleton")
    world, positions = motion_world(motion)
    if contacts is None:
        contacts = foot_contacts(positions, motion.fps)
    rest = CANONICAL.rest_positions()
    blend = max(1, int(round(FADE_SECONDS * motion.fps)))
    local = motion.rotations.copy()
    for side in _SIDES:
        point = np.asarray(contacts.get(side, ()))
        if len(point) != motion.num_frames or not point.any():
            continue
        point = point.astype(int) * (HEEL if point.dtype == bool else 1)
        mask = point > 0
        hip, knee, ankle = (_CI[f"{side}_{p}"] for p in ("hip", "knee", "ankle"))
        now, ball = positions[:, ankle], positions[:, _CI[f"{side}_foot"]]
        floor = rest[ankle, 2]

        def pinned(start: int, stop: int, now: np.ndarray = now, ball: np.ndarray = ball,
                   point: np.ndarray = point, floor: float = floor) -> np.ndarray:
            goal = now[start:stop].copy()
            goal[:, :2] += _planted_offsets(point, start, stop, now, ball, MAX_PIN_DRIFT)
            heel_down = point[start:stop] == HEEL
            goal[heel_down, 2] = np.maximum(goal[heel_down, 2], floor)
            return goal

        offset, weight = faded_offsets(mask, now, pinned, blend)
        offset[:, 2] += _swing_lift(mask, now, floor)
        frames = np.flatnonzero((weight > 0) | (offset[:, 2] > 0))
        if not len(frames):
            continue
        h, k, a = positions[frames, hip], positions[frames, knee], positions[frames, ankle]
        forward = rot.quat_rotate(world[frames, hip], np.broadcast_to([0.0, -1.0, 0.0], h.shape))
        swing1, swing2 = two_bone_swings(h, k, a, a + offset[frames], forward)
        thigh = rot.quat_mul(swing1, world[frames, hip])
        shin = rot.quat_mul(swing2, world[frames, knee])
        parent = world[frames, CANONICAL.parents[hip]]
        local[frames, hip] = rot.quat_mul(rot.quat_conjugate(parent), thigh)
        local[frames, knee] = rot.quat_mul(rot.quat_conjugate(thigh), shin)
        # The foot keeps its world orientation.
        local[frames, ankle] = rot.quat_mul(rot.quat_conjugate(shin), world[frames, ankle])
    return Motion(local, motion.root_positions.copy(), motion.fps, motion.skeleton)


def decode_generated(features: np.ndarray, fps: float, foot_lock: bool = True, start=None) -> Motion:
    """Decode a model's output features (T, 206), denormalised, into a Motion, with the
    feet locked on the contacts the model itself predicted (unless ``foot_lock`` is off).
    ``start``: where the clip starts (representation.Start; default the origin, facing -Y)."""
    motion = decode(features, fps, start)
    if not foot_lock:
        return motion
    return lock_feet(motion, contacts_from_channels(features[:, CONTACTS], motion.positions()))
