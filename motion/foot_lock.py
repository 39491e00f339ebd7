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
the model meant) it follows at the motion's pace instead of stretching the leg. Between
contacts, a foot that travels a step's length is lifted along a smooth arc, and the ball
of the foot is kept clear of the floor (the model's shuffle drags the toes), as an
animator lifts the passing pose. The pelvis and upper body are untouched. Where the
character must stand but its legs were made walking (a stop on a drawn path),
:func:`stand_legs` settles them into a stance first.

``motion/foot_contact.py`` does the related job for retargeting (follow the *source's*
contacts on a rig with other proportions); both share its IK and edge fades.
"""
from __future__ import annotations

import math

import numpy as np

from . import rotations as rot
from .foot_contact import MAX_GAP_FRAMES, MIN_CONTACT_FRAMES, faded_offsets, foot_contacts, two_bone_swings
from .kinematics import Motion, motion_world
from .representation import CONTACTS, decode
from .skeleton import CANONICAL
from .smoothing import runs

CONTACT_THRESHOLD = 0.5  # a decoded contact channel above this means "on the floor"
CONTACT_HEIGHT = (0.08, 0.05)  # m above rest: ankle, ball of the foot (the representation's)
MAX_PIN_DRIFT = 0.06  # m: a planted foot follows the motion only when pulled further
STEP_LENGTH = 0.15  # m: a swing travelling this far gets clearance
SWING_LIFT = (0.04, 0.08)  # m: clearance range at mid-swing, grows with the step's length
CUT_SWING_CLEARANCE = 0.03  # m: the clearance of a swing cut by the clip's start or end
BALL_CLEARANCE = 0.03  # m: the ball of a swinging foot clears the floor by this (its minimum is mid-swing)
TOE_OFF_FRAMES = 5  # frames from toe-off to full clearance (faster bends the knee faster than real motion does)
LANDING_FRAMES = 2  # frames from full clearance to landing (real toes: 3 cm two frames from the floor)
FADE_SECONDS = 0.2  # corrections fade in and out over this (a leash's worth stays below skating speed)
STANCE_SECONDS = 0.4  # legs settle into (and leave) a standing stance over this
STANCE_KNEE = 0.25  # rad: the stance's soft knees
_LEG_JOINTS = [_i for _i, _n in enumerate(CANONICAL.names)
               if _n.split('_', 1)[-1] in ('hip', 'knee', 'ankle', 'foot') and _n.split('_', 1)[0] in ('left', 'right')]


def legs_world(motion: Motion) -> tuple[np.ndarray, np.ndarray]:
    """World rotations and positions of the legs' chains only (other joints NaN): all
    the foot lock and its contact checks read, at a fifth of the whole skeleton's cost."""
    return motion_world(motion, _LEG_JOINTS)
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
        for start, stop in runs(~mask):
            if 0 < start and stop < t and stop - start <= MAX_GAP_FRAMES:
                point[start:stop] = point[start - 1]
        for start, stop in runs(point > 0):
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
    # A sequential recurrence over a few hundred frames: plain floats, not numpy scalars
    # (5x faster; the same float64 arithmetic).
    heel_xy, ball_xy = heel[start:stop, :2].tolist(), ball[start:stop, :2].tolist()
    out = []
    ax = ay = px = py = 0.0
    held = 0
    for i, planted in enumerate(point[start:stop].tolist()):
        nx, ny = (heel_xy if planted == HEEL else ball_xy)[i]
        if planted != held:
            ax, ay, held = nx + px, ny + py, planted
        dx, dy = nx - ax, ny - ay
        dist = math.hypot(dx, dy)
        if dist > leash:
            k = 1.0 - leash / dist
            ax, ay = ax + dx * k, ay + dy * k
        px, py = ax - nx, ay - ny
        out.append((px, py))
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def _swing_lift(mask: np.ndarray, ankle: np.ndarray, floor: float, ball: np.ndarray,
                ball_floor: float) -> np.ndarray:
    """Vertical offsets (T,) that give each step between two contacts some clearance.

    The ankle follows an arc (sin^2 over the swing); the ball of the foot keeps at least
    ``BALL_CLEARANCE``, eased in after toe-off and out before landing: a swing with the
    ankle high but the toes pointed down still drags the ball along the floor, the
    model's most common shuffle (in real walking the toes' lowest clearance is mid-swing,
    so they get no arc of their own). A swing cut by the clip's start or end only keeps
    the foot ``CUT_SWING_CLEARANCE`` off the floor: where in its step the clip cuts it is
    unknown."""
    lift = np.zeros(len(mask))
    n = len(mask)
    for start, stop in runs(~mask):
        cut_start, cut_stop = start == 0, stop == n
        if cut_start and cut_stop:
            continue  # no contact at all: a step's shape is unknown
        before = ankle[start - 1 if not cut_start else start, :2]
        after = ankle[stop if not cut_stop else stop - 1, :2]
        travel = float(np.linalg.norm(after - before)) * (2.0 if cut_start or cut_stop else 1.0)
        if travel < STEP_LENGTH:
            continue
        length = stop - start
        frames = np.arange(length) + 1.0
        # Frames to the nearest contact, eased (smoothstep): the lift starts and ends
        # with zero speed, so toe-off and landing never jerk.
        since_off = np.inf if cut_start else frames / TOE_OFF_FRAMES
        to_landing = np.inf if cut_stop else (length + 1 - frames) / LANDING_FRAMES
        ease = np.minimum(np.minimum(since_off, to_landing), 1.0)
        ease = ease * ease * (3.0 - 2.0 * ease)
        if cut_start or cut_stop:
            want_ankle = want_ball = CUT_SWING_CLEARANCE * ease
        else:
            peak = float(np.clip(0.1 * travel, *SWING_LIFT))
            want_ankle = peak * np.sin(np.pi * frames / (length + 1)) ** 2
            want_ball = BALL_CLEARANCE * ease
        need = np.maximum(want_ankle - (ankle[start:stop, 2] - floor), want_ball - (ball[start:stop, 2] - ball_floor))
        lift[start:stop] = np.maximum(need, 0.0)
    return lift


def lock_feet(motion: Motion, contacts: dict[str, np.ndarray] | None = None,
              fk: tuple[np.ndarray, np.ndarray] | None = None) -> Motion:
    """A copy of ``motion`` (canonical skeleton) whose feet stay put while in contact and
    clear the floor between contacts.

    ``contacts``: per side (T,) which point is planted, from :func:`contacts_from_channels`
    on the model's output, or (T,) bool (the heel); without it, contacts are detected from
    the motion (slow and low). ``fk``: :func:`legs_world` of ``motion`` when the caller has it.
    """
    if motion.skeleton.names != CANONICAL.names:
        raise ValueError("foot locking works on the canonical skeleton")
    world, positions = fk if fk is not None else legs_world(motion)
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
        offset[:, 2] += _swing_lift(mask, now, floor, ball, rest[_CI[f"{side}_foot"], 2])
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


def _stance() -> np.ndarray:
    """Local rotations of _LEG_JOINTS for a relaxed stance: the rest pose's legs with soft
    knees (a straight leg is the two-bone IK's singular case: the knee's plane flips)."""
    bend = {"hip": -0.5 * STANCE_KNEE, "knee": STANCE_KNEE, "ankle": -0.5 * STANCE_KNEE, "foot": 0.0}
    return np.stack([rot.axis_angle_to_quat(np.array([bend[CANONICAL.names[j].split("_", 1)[1]], 0.0, 0.0]))
                     for j in _LEG_JOINTS])


_STANCE = _stance()


def stand_legs(motion: Motion, hold: np.ndarray) -> Motion:
    """A copy of ``motion`` whose legs settle into a plain standing stance (the rest pose
    under the pelvis) on the frames of ``hold``, eased in and out over STANCE_SECONDS:
    where the character stands but the legs were made walking (a stop on a drawn path,
    whose prompt is a walk; the data has no standing action to compose in)."""
    hold = np.asarray(hold, bool)
    if not hold.any():
        return motion
    ramp = max(1, int(round(STANCE_SECONDS * motion.fps)))
    # Weight: 1 inside each run, easing to 0 over ``ramp`` frames on both sides (the
    # distance to the nearest held frame, by bisection: linear memory for long timelines).
    idx = np.flatnonzero(hold)
    frames = np.arange(len(hold))
    at = np.searchsorted(idx, frames)
    near = np.minimum(np.abs(idx[np.minimum(at, len(idx) - 1)] - frames), np.abs(frames - idx[np.maximum(at - 1, 0)]))
    x = np.clip(1.0 - near / (ramp + 1), 0.0, 1.0)
    w = x * x * (3.0 - 2.0 * x)
    rotations = motion.rotations.copy()
    legs = rotations[:, _LEG_JOINTS]
    stance = np.broadcast_to(_STANCE, legs.shape)
    rotations[:, _LEG_JOINTS] = rot.quat_slerp(legs, stance, np.broadcast_to(w[:, None], legs.shape[:2]))
    return Motion(rotations, motion.root_positions.copy(), motion.fps, motion.skeleton)


def decode_generated(features: np.ndarray, fps: float, foot_lock: bool = True, start=None,
                     hold: np.ndarray | None = None) -> Motion:
    """Decode a model's output features (T, 206), denormalised, into a Motion, with the
    feet locked on the contacts the model itself predicted (unless ``foot_lock`` is off).
    ``start``: where the clip starts (representation.Start; default the origin, facing -Y);
    ``hold``: (T,) bool, frames where the character stands: the legs settle into a stance
    there (:func:`stand_legs`) and both feet are planted."""
    motion = decode(features, fps, start)
    if hold is not None and np.any(hold):
        motion = stand_legs(motion, hold)
    if not foot_lock:
        return motion
    fk = legs_world(motion)
    return lock_feet(motion, contacts_from_channels(features[:, CONTACTS], fk[1]), fk)
