"""Look at a point, reach a point (issue 22), on a finished canonical motion, bpy-free.

A light analytic pass, the first half of what the issue asks (the sampler-level
guidance that would let the rest of the body take part is not built yet):

- **Look at**: over a time range (eased in and out), the head turns towards the point:
  the swing from the head's forward axis to the point is shared by the neck (40 %) and
  the head (60 %), limited to 80 degrees (a point behind the character is looked at over
  the shoulder as far as a neck goes); then each eye turns in the head onto the point
  (so near points make the eyes converge), up to 30 degrees, which also carries the gaze
  past the neck's limit.
- **Reach**: a hand's wrist is brought onto the point at a time by two-bone IK of the
  shoulder and elbow (the elbow stays in its own bending plane), blended in over half a
  second before and out half a second after; the legs and the rest of the body are
  untouched, so planted feet stay planted. A point further than the arm can reach from
  where the shoulder is at that time is refused with the distances.

Points are metres in the motion's world (Blender's axes: Z up; a generated clip starts
at the origin facing -Y unless it walks a path).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import CadenceError
from . import rotations as rot
from .foot_contact import two_bone_swings
from .kinematics import Motion, motion_world
from .skeleton import CANONICAL

HEAD_FORWARD = np.array([0.0, -1.0, 0.0])  # joint rest frames are world-aligned; the body faces -Y
MAX_LOOK_DEG = 80.0
MAX_EYE_DEG = 30.0  # an eye's turn in its socket (people rarely hold more than ~30)
EYES = ("left_eye_smplhf", "right_eye_smplhf")
NECK_SHARE = 0.4
EASE = 0.3          # seconds of easing in and out of a look
REACH_BLEND = 0.5   # seconds over which a reach comes in and goes out
REACH_STRETCH = 0.98  # a point within this share of the arm's length is reached standing as sampled
LEAN_STRETCH = 0.95   # further points: the spine bends until the arm reaches at this share
MAX_LEAN_DEG = 40.0   # the deepest bend of the spine (spine1-3) towards a far point
SPINE = ("spine1", "spine2", "spine3")
HANDS = {"right_hand": ("right_shoulder", "right_elbow", "right_wrist"),
         "left_hand": ("left_shoulder", "left_elbow", "left_wrist")}
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


class TargetError(CadenceError, ValueError):
    """A target that cannot be used, with what is wrong and what to do."""


@dataclass
class LookAt:
    point: np.ndarray   # (3,) metres, or (frames, 3): a moving point, one per frame of the motion
    start: float        # seconds
    end: float


@dataclass
class Reach:
    hand: str           # "right_hand" or "left_hand"
    point: np.ndarray   # (3,) metres
    time: float         # seconds


def _point(text: str, what: str) -> np.ndarray:
    parts = text.split(",")
    if len(parts) != 3 or not all(re.fullmatch(_NUMBER, p.strip()) for p in parts):
        raise TargetError(f"{what}: expected X,Y,Z in metres, got {text!r}")
    v = np.array([float(p) for p in parts])
    if not np.all(np.isfinite(v)) or np.abs(v).max() > 10_000:
        raise TargetError(f"{what}: the point must be finite metres within 10 km, got {text!r}")
    return v


def _seconds(text: str, what: str) -> float:
    if not re.fullmatch(_NUMBER, text.strip()):
        raise TargetError(f"{what}: expected seconds, got {text!r}")
    v = float(text)
    if not np.isfinite(v) or not 0 <= v <= 3600:
        raise TargetError(f"{what}: seconds must be from 0 to 3600, got {text!r}")
    return v


def parse_look_at(text: str) -> LookAt:
    """``X,Y,Z@START-END`` (metres, seconds)."""
    where, sep, when = text.partition("@")
    if not sep:
        raise TargetError(f"--look-at {text!r}: expected X,Y,Z@START-END, e.g. 2,-3,1.6@1-4")
    m = re.fullmatch(rf"\s*({_NUMBER})\s*-\s*({_NUMBER})\s*", when)
    if not m:
        raise TargetError(f"--look-at {text!r}: the time range must be START-END in seconds, e.g. 1-4")
    start, end = _seconds(m.group(1), "--look-at start"), _seconds(m.group(2), "--look-at end")
    if end <= start:
        raise TargetError(f"--look-at {text!r}: the end ({end:g} s) must come after the start ({start:g} s)")
    return LookAt(_point(where, f"--look-at {text!r}"), start, end)


def parse_reach(text: str) -> Reach:
    """``HAND=X,Y,Z@SECONDS`` with HAND right_hand or left_hand."""
    hand, sep, rest = text.partition("=")
    where, sep2, when = rest.partition("@")
    if not sep or not sep2:
        raise TargetError(f"--target {text!r}: expected HAND=X,Y,Z@SECONDS, e.g. right_hand=0.4,-0.5,1.2@2")
    hand = hand.strip()
    if hand not in HANDS:
        raise TargetError(f"--target {text!r}: the hand must be right_hand or left_hand")
    return Reach(hand, _point(where, f"--target {text!r}"), _seconds(when, f"--target {text!r}"))


def _ease(t: np.ndarray, a: float, b: float, ramp: float) -> np.ndarray:
    """0 outside [a, b], 1 inside, raised-cosine ramps of ``ramp`` seconds at both ends."""
    up = np.clip((t - a) / max(ramp, 1e-9), 0.0, 1.0)
    down = np.clip((b - t) / max(ramp, 1e-9), 0.0, 1.0)
    w = np.minimum(up, down)
    return 0.5 - 0.5 * np.cos(np.pi * w)


def _check_time(t: float, motion: Motion, what: str) -> None:
    if t > motion.duration:
        raise TargetError(f"{what} at {t:g} s is after the clip's end ({motion.duration:.2f} s)")


def look_at(motion: Motion, target: LookAt) -> Motion:
    """``motion`` with the head turned towards ``target.point`` over its time range."""
    _check_time(target.start, motion, "--look-at")
    neck, head = CANONICAL.index("neck"), CANONICAL.index("head")
    world, pos = motion_world(motion)
    w = look_weight(motion, target.start, target.end)
    frames = np.flatnonzero(w > 0)
    if not len(frames):
        return motion
    fwd = rot.quat_rotate(world[frames, head], np.broadcast_to(HEAD_FORWARD, (len(frames), 3)))
    point = np.asarray(target.point, float)
    want = (point[frames] if point.ndim == 2 else point[None]) - pos[frames, head]
    swing = rot.quat_between(fwd, want)
    aa = rot.quat_to_axis_angle(swing)
    angle = np.linalg.norm(aa, axis=-1, keepdims=True)
    limit = np.radians(MAX_LOOK_DEG)
    aa = aa * np.minimum(1.0, limit / np.maximum(angle, 1e-9)) * w[frames, None]
    q_neck = rot.axis_angle_to_quat(aa * NECK_SHARE)
    q_all = rot.axis_angle_to_quat(aa)
    parent = CANONICAL.parents[neck]
    new_neck = rot.quat_mul(q_neck, world[frames, neck])
    new_head = rot.quat_mul(q_all, world[frames, head])
    rotations = motion.rotations.copy()
    rotations[frames, neck] = rot.quat_mul(rot.quat_conjugate(world[frames, parent]), new_neck)
    rotations[frames, head] = rot.quat_mul(rot.quat_conjugate(new_neck), new_head)
    turned = Motion(rot.quat_continuous(rotations), motion.root_positions.copy(), motion.fps, motion.skeleton)
    return _aim_eyes(turned, point, frames, w[frames])


def look_weight(motion: Motion, start: float, end: float) -> np.ndarray:
    """(T,) how much a look from ``start`` to ``end`` seconds holds each frame of
    ``motion`` (0..1, eased in and out over EASE seconds): :func:`look_at`'s blend."""
    t = np.arange(motion.num_frames) / motion.fps
    return _ease(t, start, min(end, motion.duration), EASE)


def eye_angles(motion: Motion) -> np.ndarray:
    """(T, 4) where each eye points in its head, degrees, in FaceAnimation's order (left
    yaw, left pitch, right yaw, right pitch; yaw + toward the character's left, pitch +
    up): what :func:`look_at` turned the eyes to, for a face whose eyes are shape keys
    (ARKit eyeLook*; ``face/expression.with_look``)."""
    world, _ = motion_world(motion)
    head = rot.quat_conjugate(world[:, CANONICAL.index("head")])
    out = np.empty((motion.num_frames, 4))
    for k, name in enumerate(EYES):
        in_head = rot.quat_mul(head, world[:, CANONICAL.index(name)])
        d = rot.quat_rotate(in_head, np.broadcast_to(HEAD_FORWARD, (motion.num_frames, 3)))
        # the head's rest frame: +X the character's left, -Y forward, +Z up
        out[:, 2 * k] = np.degrees(np.arctan2(d[:, 0], -d[:, 1]))
        out[:, 2 * k + 1] = np.degrees(np.arctan2(d[:, 2], np.hypot(d[:, 0], d[:, 1])))
    return out


def _aim_eyes(motion: Motion, point: np.ndarray, frames: np.ndarray, weight: np.ndarray) -> Motion:
    """Each eye of ``motion`` turned in the head towards ``point`` on ``frames``, at most
    MAX_EYE_DEG, scaled by ``weight`` (the look's easing)."""
    world, pos = motion_world(motion)
    rotations = motion.rotations.copy()
    for name in EYES:
        eye = CANONICAL.index(name)
        fwd = rot.quat_rotate(world[frames, eye], np.broadcast_to(HEAD_FORWARD, (len(frames), 3)))
        want = (point[frames] if point.ndim == 2 else point[None]) - pos[frames, eye]
        aa = rot.quat_to_axis_angle(rot.quat_between(fwd, want))
        angle = np.linalg.norm(aa, axis=-1, keepdims=True)
        aa = aa * np.minimum(1.0, np.radians(MAX_EYE_DEG) / np.maximum(angle, 1e-9)) * weight[:, None]
        new_eye = rot.quat_mul(rot.axis_angle_to_quat(aa), world[frames, eye])
        rotations[frames, eye] = rot.quat_mul(rot.quat_conjugate(world[frames, CANONICAL.parents[eye]]), new_eye)
    return Motion(rot.quat_continuous(rotations), motion.root_positions.copy(), motion.fps, motion.skeleton)


def reach(motion: Motion, target: Reach) -> Motion:
    """``motion`` with the hand's wrist on ``target.point`` at ``target.time`` (the
    spine bending towards a point the arm cannot reach from where the shoulder is:
    :func:`_lean_towards`)."""
    _check_time(target.time, motion, "--target")
    shoulder, elbow, wrist = (CANONICAL.index(n) for n in HANDS[target.hand])
    key = min(motion.num_frames - 1, int(round(target.time * motion.fps)))
    t = np.arange(motion.num_frames) / motion.fps
    w = _ease(t, target.time - REACH_BLEND, target.time + REACH_BLEND, REACH_BLEND)
    frames = np.flatnonzero(w > 0)
    motion = _lean_towards(motion, target, key, frames, w[frames])
    world, pos = motion_world(motion)
    goal = pos[frames, wrist] + w[frames, None] * (target.point[None] - pos[frames, wrist])
    forward = rot.quat_rotate(world[frames, shoulder], np.broadcast_to([0.0, 0.0, -1.0], (len(frames), 3)))
    swing1, swing2 = two_bone_swings(pos[frames, shoulder], pos[frames, elbow], pos[frames, wrist], goal, forward)
    upper_w = rot.quat_mul(swing1, world[frames, shoulder])
    lower_w = rot.quat_mul(swing2, world[frames, elbow])
    parent = CANONICAL.parents[shoulder]
    rotations = motion.rotations.copy()
    rotations[frames, shoulder] = rot.quat_mul(rot.quat_conjugate(world[frames, parent]), upper_w)
    rotations[frames, elbow] = rot.quat_mul(rot.quat_conjugate(upper_w), lower_w)
    # The hand keeps its world turn.
    rotations[frames, wrist] = rot.quat_mul(rot.quat_conjugate(lower_w), world[frames, wrist])
    return Motion(rot.quat_continuous(rotations), motion.root_positions.copy(), motion.fps, motion.skeleton)


def _arm_and_shoulder(pose: Motion, hand: str) -> tuple[float, np.ndarray, np.ndarray]:
    """(arm length, shoulder position, all joint positions) of ``hand``'s arm in the
    one-frame motion ``pose``."""
    shoulder, elbow, wrist = (CANONICAL.index(n) for n in HANDS[hand])
    _, pos = motion_world(pose)
    arm = np.linalg.norm(pos[0, elbow] - pos[0, shoulder]) + np.linalg.norm(pos[0, wrist] - pos[0, elbow])
    return float(arm), pos[0, shoulder], pos[0]


def _bent(motion: Motion, axis: np.ndarray, angles: np.ndarray, frames: np.ndarray) -> Motion:
    """``motion`` with its spine bent about the world ``axis`` on ``frames``, by
    ``angles`` (radians, per frame) shared evenly by spine1-3 (each joint turns the ones
    above it on: the back curves rather than folding at one joint)."""
    world, _ = motion_world(motion)
    rotations = motion.rotations.copy()
    parent_new = world[frames, CANONICAL.parents[CANONICAL.index(SPINE[0])]]
    for k, name in enumerate(SPINE, 1):
        j = CANONICAL.index(name)
        turn = rot.axis_angle_to_quat(axis[None] * (angles * k / len(SPINE))[:, None])
        new = rot.quat_mul(turn, world[frames, j])
        rotations[frames, j] = rot.quat_mul(rot.quat_conjugate(parent_new), new)
        parent_new = new
    return Motion(rotations, motion.root_positions.copy(), motion.fps, motion.skeleton)


def _lean_towards(motion: Motion, target: Reach, key: int, frames: np.ndarray, weight: np.ndarray) -> Motion:
    """``motion`` leaning towards a point the arm cannot reach from where the shoulder
    is (the spine bent at most MAX_LEAN_DEG, just enough for the arm to reach at
    LEAN_STRETCH of its length, eased as the reach; the pelvis and feet stay where they
    are); ``motion`` itself when the arm reaches. Raises TargetError where even the
    deepest lean leaves the point out of reach."""
    # the key frame alone: the bisection below runs forward kinematics on it, not the clip
    pose = Motion(motion.rotations[key:key + 1], motion.root_positions[key:key + 1], motion.fps, motion.skeleton)
    arm, shoulder, pos = _arm_and_shoulder(pose, target.hand)
    point = np.asarray(target.point, float)
    dist = float(np.linalg.norm(point - shoulder))
    if dist <= REACH_STRETCH * arm:
        return motion
    pivot = pos[CANONICAL.index(SPINE[0])]
    axis = np.cross(shoulder - pivot, point - pivot)
    if np.linalg.norm(axis) < 1e-9:        # the point straight along the back: nothing to bend towards
        axis = np.array([1.0, 0.0, 0.0])
    axis = axis / np.linalg.norm(axis)

    def gap(angle: float) -> float:
        bent = _bent(pose, axis, np.array([angle]), np.array([0]))
        return float(np.linalg.norm(point - _arm_and_shoulder(bent, target.hand)[1])) - LEAN_STRETCH * arm

    deepest = np.radians(MAX_LEAN_DEG)
    short = gap(deepest)
    if short > (REACH_STRETCH - LEAN_STRETCH) * arm:
        leaning = short + LEAN_STRETCH * arm
        raise TargetError(f"--target {target.hand} at {target.time:g} s: the point is {dist:.2f} m from the "
                          f"shoulder, the arm reaches {arm:.2f} m ({leaning:.2f} m away leaning "
                          f"{MAX_LEAN_DEG:g} degrees): move it closer (or walk the character there first)")
    lo, hi = 0.0, deepest
    for _ in range(20):                     # the least bend that brings the point within reach
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if gap(mid) > 0 else (lo, mid)
    return _bent(motion, axis, hi * weight, frames)


def apply_targets(motion: Motion, looks: list[LookAt], reaches: list[Reach]) -> Motion:
    for r in reaches:
        motion = reach(motion, r)
    for lk in looks:
        motion = look_at(motion, lk)
    return motion


__all__ = ["LookAt", "Reach", "TargetError", "parse_look_at", "parse_reach", "look_at", "reach", "apply_targets",
           "look_weight", "eye_angles"]
