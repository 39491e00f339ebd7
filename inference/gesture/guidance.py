"""Guidance of the motion prior by speech rhythm, applied to x0 between DDIM steps.

LivelySpeaker's second stage (Zhi et al. 2023) refines a diffusion prior's motion
towards the audio's rhythm without retraining; we do it with classifier-style guidance
on the predicted clean sample, through the sampler's ``guidance`` hook. Everything is
numpy: the loss is a function of a few x0 channels and its gradient is analytic.

**The target.** Beat gestures move fast and stop on the stressed syllable (McNeill:
the stroke lands on the stress; BEAT measures speech onsets against the velocity minima
that end strokes). From the audio (``inference/speech/prosody.py`` and the voice activity) we
build a per-frame target speed for each arm:

- beats: the stressed syllables, plus onsets at least ``min_beat_gap`` from them;
- before every beat a stroke of ``stroke_seconds`` (or up to the previous beat when
  closer) whose speed rises and falls as sin^2 to the hold on the beat, its height
  ``peak_speed`` x (0.4 + 0.6 x loudness at the beat), so amplitude follows loudness;
- ``hold_speed`` on the beats and between strokes while speaking, ``idle_speed`` in
  silence: idle but alive, not frozen; the left arm gets ``left_share`` of the right's;
- weight 0 where a semantic gesture drives the arm (the lexicon's motion is kept).

``shape="bump"`` puts a Gaussian speed peak ``lead`` s before each beat instead (our
first design); on the benchmark clips it aligned worse (docs/gesture.md).

**What is steered.** The *arm state*: the shoulder's and the elbow's 6D rotation
channels scaled by the upper-arm and forearm lengths (over sqrt 2, since a rotation by
w moves two unit columns), so that its speed approximates the wrist's speed in m/s
from the arm's own joints. We first steered the wrist *position* channels (redundant in
the representation): the denoiser ignored them (the final motion is decoded from
rotations, and at the next step the network re-derived positions from the rotations;
the speed-target correlation of the decoded wrists stayed at 0.07), so the rotations are
edited and the position channels of the shoulders, elbows and wrists are moved by
forward kinematics to agree with them.

**The step.** With s_t = |v_{t+1} - v_t| fps the arm speed and r_t the target,
L = sum_t w_t (s_t - r_t)^2 has dL/dv_{t+1} = -dL/dv_t = 2 w_t (s_t - r_t) fps u_t
with u_t the unit change; we take u_t from the change over +-3 frames (exactly the
gradient on straight motion, and it does not amplify frame noise). ``iterations``
steps of size ``scale`` / (8 fps^2) (each moves an isolated pair half way to its
target) run at every DDIM step after the first ``start_fraction`` of the schedule.

**Standing in place.** ``stay`` scales the root's heading rate and planar velocity in
x0 towards zero (1: no travel) at every step, so a speaker stays on the spot, except
where ``free_root`` is 1 (frames where the animator's timeline drives the legs).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...motion import rotations as rot
from ...motion.kinematics import forward_kinematics
from ...motion.representation import NUM_JOINTS, POSITIONS, ROTATIONS, Normalizer
from ...motion.skeleton import BODY_JOINT_NAMES, CANONICAL
from ..motion.sampler import SamplerStep

WRISTS = (BODY_JOINT_NAMES.index("left_wrist"), BODY_JOINT_NAMES.index("right_wrist"))
ELBOWS = (BODY_JOINT_NAMES.index("left_elbow"), BODY_JOINT_NAMES.index("right_elbow"))
SHOULDERS = (BODY_JOINT_NAMES.index("left_shoulder"), BODY_JOINT_NAMES.index("right_shoulder"))
UPPER_ARM, FOREARM = 0.27, 0.25   # m, SMPL-X neutral (shoulder-elbow, elbow-wrist)
SMOOTH = 3                        # frames each side for the direction of a change


ARM_JOINTS = tuple(sorted(SHOULDERS + ELBOWS + WRISTS))


def body_positions(features: np.ndarray) -> np.ndarray:
    """(T, 22, 3) body joint positions in the heading frame from denormalised features,
    by forward kinematics of the 6D rotations (what the position channels should hold)."""
    t = len(features)
    local = rot.sixd_to_matrix(features[:, ROTATIONS].reshape(t, NUM_JOINTS, 6))
    offsets = np.broadcast_to(CANONICAL.offsets[:NUM_JOINTS], (t, NUM_JOINTS, 3)).copy()
    offsets[:, 0] = 0.0
    offsets[:, 0, 2] = features[:, 3]            # pelvis above the floor point
    return forward_kinematics(CANONICAL.parents[:NUM_JOINTS], rot.matrix_to_quat(local), offsets)[1]


def position_channels(joint: int) -> np.ndarray:
    """The three x0 channels of a body joint's position."""
    assert 0 <= joint < NUM_JOINTS
    return np.arange(POSITIONS.start + 3 * joint, POSITIONS.start + 3 * joint + 3)


def rotation_channels(joint: int) -> np.ndarray:
    """The six x0 channels of a body joint's 6D rotation."""
    assert 0 <= joint < NUM_JOINTS
    return np.arange(ROTATIONS.start + 6 * joint, ROTATIONS.start + 6 * joint + 6)


@dataclass
class BeatSettings:
    peak_speed: float = 1.1       # m/s at the stroke of a loud beat
    hold_speed: float = 0.12      # m/s between strokes while speaking
    idle_speed: float = 0.04      # m/s in silence
    shape: str = "stroke"         # "stroke": ends on the beat; "bump": Gaussian before it
    stroke_seconds: float = 0.45  # longest stroke (shorter when beats are closer)
    stroke_width: float = 0.10    # s, sd of a stroke bump
    lead: float = 0.12            # s the stroke's speed peak precedes the beat
    min_beat_gap: float = 0.15    # s between beats taken from onsets
    left_share: float = 0.6       # the left wrist's target relative to the right's
    scale: float = 1.0            # guidance strength (0: off)
    iterations: int = 6
    start_fraction: float = 0.2   # skip the noisiest steps (x0 is a blur there)
    stay: float = 1.0             # 1: no root travel, 0: whatever the prior does


def beat_times(stresses: np.ndarray, onsets: np.ndarray, min_gap: float) -> np.ndarray:
    """Stressed syllables, plus onsets at least ``min_gap`` from every beat taken."""
    beats = sorted(float(b) for b in stresses)
    for o in sorted(float(x) for x in onsets):
        if all(abs(o - b) >= min_gap for b in beats):
            beats.append(o)
            beats.sort()
    return np.array(beats, np.float64)


def target_speed(beats: np.ndarray, loudness: np.ndarray, speaking: np.ndarray, fps: float,
                 settings: BeatSettings) -> np.ndarray:
    """(frames - 1,) target wrist speed between consecutive frames, m/s.

    ``loudness`` and ``speaking`` are per frame (0..1 and bool)."""
    frames = len(loudness)
    t = (np.arange(frames - 1) + 1.0) / fps          # the instant between frames i and i+1
    base = np.where(speaking[:-1] | speaking[1:], settings.hold_speed, settings.idle_speed)
    bumps = np.zeros(frames - 1)
    previous = -np.inf
    for b in np.sort(beats):
        k = int(np.clip(round(b * fps), 0, frames - 1))
        height = settings.peak_speed * (0.4 + 0.6 * float(loudness[k]))
        if settings.shape == "bump":
            bump = height * np.exp(-0.5 * ((t - (b - settings.lead)) / settings.stroke_width) ** 2)
        else:   # a stroke that ends on the beat: speed sin^2 from its start to the beat
            length = min(settings.stroke_seconds, b - previous)
            u = (t - (b - length)) / length
            bump = np.where((u > 0) & (u < 1), height * np.sin(np.pi * u) ** 2, 0.0)
        bumps = np.maximum(bumps, bump)
        previous = b
    out = np.maximum(base, bumps)
    if settings.shape != "bump":   # the hold on the beat: back to the base speed
        for b in beats:
            out[np.abs(t - b) < 0.5 / fps] = base[np.abs(t - b) < 0.5 / fps]
    return out


def speed_loss(positions: np.ndarray, target: np.ndarray, weight: np.ndarray, fps: float) -> float:
    """Mean weighted squared error between wrist speeds and targets.

    ``positions`` (T, W, 3) of W wrists; ``target`` and ``weight`` (T - 1, W)."""
    speed = np.linalg.norm(np.diff(positions, axis=0), axis=-1) * fps
    return float(np.sum(weight * (speed - target) ** 2) / max(weight.sum(), 1e-9))


def speed_gradient(positions: np.ndarray, target: np.ndarray, weight: np.ndarray, fps: float
                   ) -> np.ndarray:
    """dL/dp of the unnormalised loss sum_t w (s - r)^2 for positions (T, W, 3)."""
    d = np.diff(positions, axis=0)                         # (T-1, W, D)
    speed = np.linalg.norm(d, axis=-1) * fps
    # direction of the change from a wider window, so frame noise is not amplified
    c = np.concatenate([np.zeros((1,) + d.shape[1:]), np.cumsum(d, axis=0)])
    n = len(d)
    lo = np.clip(np.arange(n) - SMOOTH, 0, n)
    hi = np.clip(np.arange(n) + SMOOTH + 1, 0, n)
    wide = c[hi] - c[lo]
    norm = np.linalg.norm(wide, axis=-1, keepdims=True)
    u = np.where(norm > 1e-9, wide / np.maximum(norm, 1e-12), 0.0)
    g = (2.0 * weight * (speed - target) * fps)[..., None] * u   # dL/dp_{t+1}
    grad = np.zeros_like(positions)
    grad[1:] += g
    grad[:-1] -= g
    return grad


@dataclass
class BeatGuidance:
    """The ``guidance(x0, step)`` hook for ``compose`` (normalised x0, padded frames).

    ``target`` (frames - 1, 2): per left/right arm target speed; ``weight`` (frames - 1,
    2): 0 where the arm is left to a semantic gesture."""

    normalizer: Normalizer
    fps: float
    target: np.ndarray
    weight: np.ndarray
    settings: BeatSettings = field(default_factory=BeatSettings)
    losses: list[float] = field(default_factory=list)   # loss before each guided step
    free_root: np.ndarray | None = None   # (frames,) 1 where the timeline moves the legs

    def __post_init__(self) -> None:
        # per side: the shoulder's and the elbow's 6D channels, (2, 12)
        self._channels = np.stack([np.concatenate([rotation_channels(s), rotation_channels(e)])
                                   for s, e in zip(SHOULDERS, ELBOWS)])
        self._lengths = np.concatenate([np.full(6, UPPER_ARM), np.full(6, FOREARM)]) / np.sqrt(2.0)
        self._arm_positions = np.concatenate([position_channels(j) for j in ARM_JOINTS])

    def arm_state(self, x0: np.ndarray) -> np.ndarray:
        """(T, 2, 12) left/right arm state in metres from normalised x0 (see module doc)."""
        ch = self._channels
        raw = x0[:, ch].astype(np.float64) * self.normalizer.std[ch] + self.normalizer.mean[ch]
        return raw * self._lengths

    def __call__(self, x0: np.ndarray, step: SamplerStep) -> np.ndarray:
        st = self.settings
        out = x0.copy()
        if st.stay > 0:
            root = np.arange(0, 3)   # heading rate, planar velocity
            stay = np.full((len(out), 1), st.stay)
            if self.free_root is not None:
                n = min(len(out), len(self.free_root))
                stay[:n, 0] *= 1.0 - np.clip(self.free_root[:n], 0.0, 1.0)
            raw = out[:, root] * self.normalizer.std[root] + self.normalizer.mean[root]
            out[:, root] = ((1.0 - stay) * raw - self.normalizer.mean[root]) / self.normalizer.std[root]
        if st.scale <= 0 or step.index < st.start_fraction * step.total:
            return out
        frames = len(self.target) + 1
        v = self.arm_state(out[:frames])
        self.losses.append(speed_loss(v, self.target, self.weight, self.fps))
        lr = st.scale / (8.0 * self.fps ** 2)
        for _ in range(st.iterations):
            v = v - lr * speed_gradient(v, self.target, self.weight, self.fps)
        ch = self._channels
        before = self._denormalized(out[:frames])
        raw = v / self._lengths
        out[:frames, ch] = ((raw - self.normalizer.mean[ch]) / self.normalizer.std[ch]).astype(out.dtype)
        # keep the position channels consistent with the edited rotations, so the
        # denoiser reads one arm, not two that disagree
        after = self._denormalized(out[:frames])
        shift = body_positions(after)[:, ARM_JOINTS] - body_positions(before)[:, ARM_JOINTS]
        pc = self._arm_positions
        out[:frames, pc] += (shift.reshape(frames, -1) / self.normalizer.std[pc]).astype(out.dtype)
        return out

    def _denormalized(self, x: np.ndarray) -> np.ndarray:
        return x.astype(np.float64) * self.normalizer.std + self.normalizer.mean


def arm_speed(features: np.ndarray, fps: float) -> np.ndarray:
    """(T - 1, 2) left/right arm speed (m/s, see the module docstring) of denormalised
    features: what the guidance steers."""
    lengths = np.concatenate([np.full(6, UPPER_ARM), np.full(6, FOREARM)]) / np.sqrt(2.0)
    v = np.stack([np.concatenate([features[:, rotation_channels(s)], features[:, rotation_channels(e)]], axis=1)
                  for s, e in zip(SHOULDERS, ELBOWS)], axis=1) * lengths
    return np.linalg.norm(np.diff(v, axis=0), axis=-1) * fps


