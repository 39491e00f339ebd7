"""Forward kinematics and the Motion container.

A :class:`Motion` is local joint rotations plus the root joint's world position over
time, on a :class:`~motion.skeleton.Skeleton`. Everything that produces motion
(BVH import, models, timeline) makes one; everything downstream consumes one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import LimitError
from ..limits import MAX_FRAMES
from . import rotations as rot
from .skeleton import CANONICAL, Skeleton


def forward_kinematics(parents: tuple[int, ...] | list[int], local_rotations: np.ndarray,
                       local_translations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World rotation matrices and positions of every joint.

    local_rotations: (..., J, 4) quaternions, each joint relative to its parent.
    local_translations: (..., J, 3) each joint's position in its parent's frame (the
    root's is its world position).
    Returns (world rotation matrices (..., J, 3, 3), world positions (..., J, 3)).
    """
    local_m = rot.quat_to_matrix(local_rotations)
    world_m = np.empty_like(local_m)
    world_p = np.empty(local_translations.shape[:-1] + (3,))
    for j, p in enumerate(parents):
        if p < 0:
            world_m[..., j, :, :] = local_m[..., j, :, :]
            world_p[..., j, :] = local_translations[..., j, :]
        else:
            world_m[..., j, :, :] = world_m[..., p, :, :] @ local_m[..., j, :, :]
            world_p[..., j, :] = world_p[..., p, :] + np.einsum(
                "...ij,...j->...i", world_m[..., p, :, :], local_translations[..., j, :])
    return world_m, world_p


def world_to_local(parents: tuple[int, ...] | list[int], world_m: np.ndarray) -> np.ndarray:
    """Local rotation matrices from world ones (inverse of the rotation part of FK)."""
    local = np.empty_like(world_m)
    for j, p in enumerate(parents):
        local[..., j, :, :] = world_m[..., j, :, :] if p < 0 else (
            np.swapaxes(world_m[..., p, :, :], -1, -2) @ world_m[..., j, :, :])
    return local


@dataclass
class Motion:
    """Local rotations (T, J, 4) and root positions (T, 3) on a skeleton, at ``fps``."""

    rotations: np.ndarray
    root_positions: np.ndarray
    fps: float = 30.0
    skeleton: Skeleton = CANONICAL

    def __post_init__(self) -> None:
        self.rotations = np.asarray(self.rotations, dtype=np.float64)
        self.root_positions = np.asarray(self.root_positions, dtype=np.float64)
        t, j = self.rotations.shape[:2]
        if self.rotations.shape != (t, j, 4) or j != self.skeleton.num_joints:
            raise ValueError(f"rotations must be (frames, {self.skeleton.num_joints}, 4), "
                             f"got {self.rotations.shape}")
        if self.root_positions.shape != (t, 3):
            raise ValueError(f"root_positions must be ({t}, 3), got {self.root_positions.shape}")
        if not np.all(np.isfinite(self.rotations)) or not np.all(np.isfinite(self.root_positions)):
            raise ValueError("motion contains NaN or infinite values")
        if not np.isfinite(self.fps) or self.fps <= 0:
            raise ValueError(f"fps must be a positive number (got {self.fps})")

    @property
    def num_frames(self) -> int:
        return len(self.rotations)

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    def local_translations(self) -> np.ndarray:
        tr = np.broadcast_to(self.skeleton.offsets, self.rotations.shape[:2] + (3,)).copy()
        tr[:, 0] = self.root_positions
        return tr

    def forward_kinematics(self) -> tuple[np.ndarray, np.ndarray]:
        """(world rotation matrices (T, J, 3, 3), world positions (T, J, 3))."""
        return forward_kinematics(self.skeleton.parents, self.rotations, self.local_translations())

    def positions(self) -> np.ndarray:
        return self.forward_kinematics()[1]

    def slice(self, start: int, stop: int) -> Motion:
        return Motion(self.rotations[start:stop], self.root_positions[start:stop], self.fps,
                      self.skeleton)

    def resample(self, fps: float) -> Motion:
        """Resample in time: slerp for rotations, linear for the root."""
        if not np.isfinite(fps) or fps <= 0:
            raise ValueError(f"the frame rate must be a positive number (got {fps})")
        if abs(fps - self.fps) < 1e-9:
            return self
        exact = (self.num_frames - 1) * fps / self.fps + 1
        if exact > MAX_FRAMES:
            raise LimitError(f"{self.num_frames} frames at {self.fps:g} fps resampled to {fps:g} fps "
                             f"would be {exact:.0f} frames; the limit is {MAX_FRAMES}")
        n = max(1, int(round((self.num_frames - 1) * fps / self.fps)) + 1)
        out = self.at_frames(np.arange(n) * self.fps / fps)
        out.fps = float(fps)
        return out

    def at_frames(self, source: np.ndarray) -> Motion:
        """The motion sampled at fractional frames ``source`` (one output frame each, same
        frame rate): slerp for rotations, linear for the root. A resampling or a re-timing."""
        src = np.clip(np.asarray(source, np.float64), 0.0, self.num_frames - 1)
        i0 = np.clip(np.floor(src).astype(int), 0, self.num_frames - 1)
        i1 = np.clip(i0 + 1, 0, self.num_frames - 1)
        w = (src - i0)[:, None]
        q = rot.quat_continuous(self.rotations)
        rots = rot.quat_slerp(q[i0], q[i1], np.broadcast_to(w, (len(src), q.shape[1])))
        root = self.root_positions[i0] * (1 - w) + self.root_positions[i1] * w
        return Motion(rots, root, self.fps, self.skeleton)


def rest_motion(num_frames: int, skeleton: Skeleton = CANONICAL, fps: float = 30.0) -> Motion:
    """The rest pose held for ``num_frames`` frames."""
    return Motion(rot.quat_identity((num_frames, skeleton.num_joints)),
                  np.tile(skeleton.offsets[0], (num_frames, 1)), fps, skeleton)


def motion_world(motion: Motion, joints: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Forward kinematics in quaternions: world rotations (T, J, 4) and positions (T, J, 3).
    (Cheaper than matrices for long clips; the retargeter needs quaternions anyway.)

    ``joints``: compute only these joints and their ancestors (the others are NaN), for
    callers that need a few chains (the foot lock: the legs, a fifth of the joints)."""
    skeleton = motion.skeleton
    q = motion.rotations
    t, j = q.shape[:2]
    world = np.full((t, j, 4), np.nan)
    positions = np.full((t, j, 3), np.nan)
    needed = set(range(j))
    if joints is not None:
        needed = set()
        for k in joints:
            while k >= 0 and k not in needed:
                needed.add(k)
                k = skeleton.parents[k]
    for k, p in enumerate(skeleton.parents):
        if k not in needed:
            continue
        if p < 0:
            world[:, k] = q[:, k]
            positions[:, k] = motion.root_positions
        else:
            world[:, k] = rot.quat_mul(world[:, p], q[:, k])
            positions[:, k] = positions[:, p] + rot.quat_rotate(
                world[:, p], np.broadcast_to(skeleton.offsets[k], (t, 3)))
    return world, positions
