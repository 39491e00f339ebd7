"""FaceAnimation: what every face producer emits (ARKit-52 curves + head and eye angles).

Angles are degrees in the character's frame: yaw + turns toward the character's left,
pitch + lifts the chin (or the gaze) up, roll + tilts the head toward its left shoulder.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .arkit import NUM_SHAPES

HEAD_COLUMNS = ("headYaw", "headPitch", "headRoll")
EYE_COLUMNS = ("leftEyeYaw", "leftEyePitch", "rightEyeYaw", "rightEyePitch")


@dataclass
class FaceAnimation:
    weights: np.ndarray          # (T, 52) float32 in 0..1, Apple's order
    head: np.ndarray             # (T, 3) yaw, pitch, roll in degrees
    eyes: np.ndarray             # (T, 4) left yaw, left pitch, right yaw, right pitch
    fps: float = 30.0
    warnings: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        self.weights = np.asarray(self.weights, dtype=np.float32)
        t = len(self.weights)
        if self.weights.shape != (t, NUM_SHAPES):
            raise ValueError(f"weights must be (frames, {NUM_SHAPES}), got {self.weights.shape}")
        self.head = np.zeros((t, 3), np.float32) if self.head is None else np.asarray(self.head, np.float32)
        self.eyes = np.zeros((t, 4), np.float32) if self.eyes is None else np.asarray(self.eyes, np.float32)
        if self.head.shape != (t, 3) or self.eyes.shape != (t, 4):
            raise ValueError(f"head must be ({t}, 3) and eyes ({t}, 4); got {self.head.shape}, "
                             f"{self.eyes.shape}")
        if self.fps <= 0:
            raise ValueError("fps must be positive")

    @property
    def num_frames(self) -> int:
        return len(self.weights)

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.num_frames) / self.fps

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    def resample(self, fps: float) -> FaceAnimation:
        """The same animation at another frame rate (linear interpolation; same duration)."""
        if fps <= 0:
            raise ValueError("fps must be positive")
        if abs(fps - self.fps) < 1e-9:
            return self
        count = max(1, int(np.floor(self.duration * fps + 1e-9)))
        src = self.times
        dst = np.arange(count) / fps

        def interp(a):
            return np.stack([np.interp(dst, src, a[:, k]) for k in range(a.shape[1])], axis=1)

        return FaceAnimation(interp(self.weights), interp(self.head), interp(self.eyes), fps,
                             list(self.warnings), dict(self.info))
