"""Standing idle: what "a person stands still", "idle" or "waits" ask for.

The motion data has no standing or idle take (every take performs an action), so the
prompt matcher used to read these prompts as whatever action was nearest in its
sentence space: "idle" came out as a dash, "a man waits" as a dash, "a person stands
still" as a walk. Animators ask for an idle first (a character waiting for its cue, the
pose between two actions), so it is built here from what the model has:

- **Reading.** A prompt reads as *stand* when the matcher knows no action for it well
  (its best probability under ``WEAK_MATCH``), its sentence embedding is close to one
  of :data:`PARAPHRASES` (cosine >= :data:`THRESHOLD`) and closer, by :data:`MARGIN`,
  than to any action's own prompt or to a still pose that is not standing
  (:data:`NOT_STANDING`): "a person stands and waves", which the matcher reads weakly,
  stays a wave, and "a person sits still" keeps its weak-match warning.
- **Sampling.** Underneath, the calmest standing action of the data is sampled:
  :data:`SAMPLED_AS` (``respond``, small nods and hand movements, the hands low; the
  listener of the gestures starts from it too).
- **Settling** (:func:`settle`, after decoding): over the segment's frames, eased in and
  out over :data:`EASE` s, the root's heading rate and planar velocity go to zero (the
  character stays where it stands, facing where it faced), the legs settle into the
  standing stance with both feet planted (``foot_lock.stand_legs``), and the upper body
  keeps only :data:`KEEP` of its movement around its mean pose (the arms around their
  pose where the hands hang lowest): small motion, not gestures; the torso then sways
  slowly and breathes (:func:`sway_curves`, the gestures' listener's posture shifts).

On a timeline a *stand* segment settles only the parts it drives: "stands still" on the
legs under "waves" on the right arm keeps the wave and plants the feet.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...motion import rotations as rot
from ...motion.foot_lock import decode_generated
from ...motion.kinematics import Motion
from ...motion.skeleton import BODY_PARTS, JOINT_NAMES, MODEL_PARTS

STAND = "stand"
SAMPLED_AS = "respond"
EASE = 0.4              # s over which a stand segment eases in and out
KEEP = 0.2              # share of the upper body's own movement kept while standing
THRESHOLD = 0.5         # cosine to the nearest paraphrase (docs/motion_model.md, "Standing idle")
MARGIN = 0.05           # ... above the cosine to the nearest action's prompt
ROOT_MOTION = slice(0, 3)   # heading rate, velocity to the left, velocity backwards
ALL_PARTS = MODEL_PARTS
PARAPHRASES: tuple[str, ...] = (
    "a person stands still",
    "a person stands",
    "someone standing in place",
    "a man stands and waits",
    "a woman waits patiently",
    "the character is idle",
    "idle",
    "an idle pose",
    "standing idle",
    "a person waits",
    "someone stands around doing nothing",
    "a person stands and breathes",
    "stand still",
    "standing",
    "a person remains standing",
    "the person stays still",
    "a person stands quietly",
    "someone waiting for a bus",
    "a standing pose, relaxed",
    "a person stands at rest",
    "loitering, doing nothing",
    "hanging around in one place",
    "motionless, just standing there",
    "the character idles in place",
    "standing by, waiting for a cue",
)
# Still, but not standing: these keep their weak-match warning instead of standing
# ("a person sits still" read as a stand before they were here).
NOT_STANDING: tuple[str, ...] = (
    "a person sits", "a person sits still on a chair", "a person lies down", "a person lies still",
    "a person kneels", "a person crouches", "a person stands up from a chair",
)
_ARMS = {side: tuple(JOINT_NAMES.index(n) for n in BODY_PARTS[side]) for side in ("left_arm", "right_arm")}
_PART_JOINTS = {part: tuple(JOINT_NAMES.index(n) for n in BODY_PARTS[part])
                for part in ("torso", "left_arm", "right_arm", "head")}
SPINE = _PART_JOINTS["torso"]


@dataclass(frozen=True)
class Sway:
    """A standing body's slow posture shifts and breathing."""

    degrees: float = 2.0                   # torso side to side, peak
    forward_degrees: float = 1.0           # ... forward and back
    shift_seconds: tuple[float, float] = (5.0, 9.0)   # between posture targets
    breath_degrees: float = 0.6
    breath_seconds: float = 4.0
_INDEX: dict[tuple, np.ndarray] = {}


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def nearest(encoder, embeddings: np.ndarray, sentences: Sequence[str]) -> np.ndarray:
    """(N,) cosine of each sentence embedding to the nearest of ``sentences`` (encoded
    once per encoder and list)."""
    key = (id(encoder), tuple(sentences))
    if key not in _INDEX:
        _INDEX[key] = _unit(encoder.encode(list(sentences)))
    return (_unit(embeddings) @ _INDEX[key].T).max(axis=1)


def stand_scores(encoder, embeddings: np.ndarray, action_prompts: Sequence[str],
                 best_probabilities: np.ndarray, weak: float) -> np.ndarray:
    """(N,) the score of each prompt as a standing idle (its cosine to the nearest
    standing paraphrase), 0 where it does not read as one (see the module docstring):
    ``action_prompts`` are the known actions' own prompts, ``best_probabilities`` the
    matcher's best per prompt, ``weak`` its weak-match level."""
    stand = nearest(encoder, embeddings, PARAPHRASES)
    action = nearest(encoder, embeddings, tuple(action_prompts) + NOT_STANDING)
    reads = (np.asarray(best_probabilities) < weak) & (stand >= THRESHOLD) & (stand >= action + MARGIN)
    return np.where(reads, stand, 0.0)


def ease_weights(spans: Sequence[tuple[float, float]], frames: int, fps: float) -> np.ndarray:
    """(frames,) 1 inside the spans (seconds), easing to 0 over :data:`EASE` s outside
    them (smoothstep), 0 elsewhere."""
    t = np.arange(frames) / fps
    w = np.zeros(frames)
    for start, end in spans:
        d = np.maximum(start - t, t - end).clip(0.0, None)
        x = np.clip(1.0 - d / EASE, 0.0, 1.0)
        w = np.maximum(w, x * x * (3.0 - 2.0 * x))
    return w


def still_root(features: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Denormalised features (T, F) with the root's heading rate and planar velocity
    faded to zero by ``weight`` (T,): the character stays and keeps facing its way."""
    out = np.array(features, np.float64, copy=True)
    out[:, ROOT_MOTION] *= (1.0 - np.clip(weight, 0.0, 1.0))[:, None]
    return out


def calm(motion: Motion, weight: np.ndarray, parts: Sequence[str], keep: float = KEEP) -> Motion:
    """``motion`` with the joints of ``parts`` (torso, left_arm, right_arm, head) pulled
    towards their pose, keeping ``keep`` of their movement where ``weight`` is 1: the
    mean pose over the weighted frames, the arms their pose where the hand is lowest."""
    w = np.clip(np.asarray(weight, np.float64), 0.0, 1.0)
    frames = np.flatnonzero(w > 0.5)
    if not len(frames):
        return motion
    rotations = motion.rotations.copy()
    wrists = motion.positions()[frames][:, [_ARMS[s][-1] for s in ("left_arm", "right_arm")], 2]
    for part in parts:
        joints = _PART_JOINTS.get(part)
        if joints is None:
            continue
        chosen = frames
        if part in _ARMS:                                # hands down: the lowest tenth of the frames
            k = 0 if part == "left_arm" else 1
            chosen = frames[wrists[:, k] <= np.quantile(wrists[:, k], 0.1)]
        rest = rot.quat_mean(rotations[chosen][:, list(joints)])
        amount = 1.0 - (1.0 - keep) * w                 # 1: as sampled; keep: calmed
        for j, r in zip(joints, rest):
            rotations[:, j] = rot.quat_slerp(np.broadcast_to(r, (len(w), 4)), rotations[:, j], amount)
    return Motion(rotations, motion.root_positions.copy(), motion.fps, motion.skeleton)


def sway_curves(frames: int, fps: float, seed: int = 0, sway: Sway | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """(side roll, forward pitch), each (frames,) radians: a posture target every few
    seconds, reached with a smooth ease, plus breathing on the pitch."""
    st = sway or Sway()
    rng = np.random.default_rng([seed, 7])
    t = np.arange(frames) / fps
    knots, values = [0.0], [rng.uniform(-1, 1, 2)]
    while knots[-1] < t[-1] if frames else False:
        knots.append(knots[-1] + rng.uniform(*st.shift_seconds))
        values.append(rng.uniform(-1, 1, 2))
    knots_a, values_a = np.array(knots), np.array(values)
    if len(knots_a) > 1:
        k = np.clip(np.searchsorted(knots_a, t, side="right") - 1, 0, len(knots_a) - 2)
        u = np.clip((t - knots_a[k]) / (knots_a[k + 1] - knots_a[k]), 0.0, 1.0)
        ease = u * u * (3 - 2 * u)
        v = values_a[k] + (values_a[k + 1] - values_a[k]) * ease[:, None]
    else:
        v = np.repeat(values_a[:1], frames, axis=0)
    roll = np.radians(st.degrees) * v[:, 0]
    phase = rng.uniform(0, 2 * np.pi)
    breath = 0.5 * (1 - np.cos(2 * np.pi * t / st.breath_seconds + phase))
    pitch = np.radians(st.forward_degrees) * v[:, 1] + np.radians(st.breath_degrees) * breath
    return roll, pitch


def lay_sway(motion: Motion, roll: np.ndarray, pitch: np.ndarray) -> Motion:
    """``motion`` with a torso roll and pitch (T,) radians spread over spine1-3, about
    the parent's axes (the canonical rest frames are the world's: X is the character's
    left, Y its back, so +X pitch leans forward)."""
    rotations = motion.rotations.copy()
    q = rot.quat_mul(rot.axis_rotation_quat("y", np.asarray(roll) / len(SPINE)),
                     rot.axis_rotation_quat("x", np.asarray(pitch) / len(SPINE)))
    for j in SPINE:
        rotations[:, j] = rot.quat_mul(q, rotations[:, j])
    return Motion(rotations, motion.root_positions.copy(), motion.fps, motion.skeleton)


def part_weights(spans: Sequence[tuple[float, float, Sequence[str]]], frames: int,
                 fps: float) -> dict[str, np.ndarray]:
    """Per model part, (frames,) how much it stands: the eased spans (start s, end s,
    parts) of the standing segments that drive it (parts without one are left out)."""
    out = {}
    for part in ALL_PARTS:
        mine = [(a, b) for a, b, parts in spans if part in parts]
        if mine:
            out[part] = ease_weights(mine, frames, fps)
    return out


def settle(features: np.ndarray, fps: float, weights: dict[str, np.ndarray], foot_lock: bool = True,
           start=None, hold: np.ndarray | None = None, seed: int = 0) -> tuple[Motion, np.ndarray]:
    """Decode denormalised ``features`` (T, F) with the standing parts settled
    (:func:`part_weights`): the legs' weight stills the root and plants the feet in the
    stance (``hold``, with any frames already held), the other parts are calmed
    (:func:`calm`), and a standing torso sways and breathes (``seed``: which way).
    ``start``: where the clip starts (as ``decode_generated``). Returns the motion and
    the features with the root stilled."""
    legs = weights.get("legs")
    if legs is not None:
        features = still_root(features, legs)
        held = legs > 0.5
        hold = held if hold is None else (np.asarray(hold, bool) | held)
    motion = decode_generated(features, fps, foot_lock, start, hold)
    for part, w in weights.items():
        if part != "legs":
            motion = calm(motion, w, [part])
    torso = weights.get("torso")
    if torso is not None:
        roll, pitch = sway_curves(motion.num_frames, fps, seed)
        motion = lay_sway(motion, roll * torso, pitch * torso)
    return motion, features
