"""The learning representation: what the models read and write, one row per frame.

Layout of a frame (version ``REPRESENTATION_VERSION``; 206 values for the 22 body joints):

=========  ====  ==========================================================
slice      size  meaning
=========  ====  ==========================================================
root       4     heading rate (rad/s), planar velocity in the heading frame
                 (x: to the character's left, y: backwards; m/s), pelvis height (m)
rotations  132   6D of each body joint's local rotation; the pelvis's is its
                 world rotation with the heading taken out
positions  66    body joint positions in the heading frame, relative to the
                 point on the floor under the pelvis (m); redundant with the
                 rotations, kept because denoisers learn better with them
contacts   4     left ankle, right ankle, left foot, right foot on the floor (0/1)
=========  ====  ==========================================================

Heading is the yaw of the pelvis's left-right axis, which stays defined when the
character bows or sits. Decoding integrates the root from a start heading/position,
so a clip always starts facing -Y at the origin unless told otherwise; decoding what
was encoded is exact (float64 round-off).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import rotations as rot
from .kinematics import Motion, forward_kinematics
from .skeleton import CANONICAL, FOOT_JOINTS, NUM_BODY_JOINTS, Skeleton

REPRESENTATION_VERSION = "cadence-rep-v1"
NUM_JOINTS = NUM_BODY_JOINTS
ROOT = slice(0, 4)
ROTATIONS = slice(4, 4 + 6 * NUM_JOINTS)
POSITIONS = slice(ROTATIONS.stop, ROTATIONS.stop + 3 * NUM_JOINTS)
CONTACTS = slice(POSITIONS.stop, POSITIONS.stop + len(FOOT_JOINTS))
FEATURE_DIM = CONTACTS.stop

_FOOT_INDICES = [CANONICAL.index(n) for n in FOOT_JOINTS]
# A foot joint is on the floor when it is slow and low (heights above the rest pose's).
CONTACT_SPEED = 0.30  # m/s
CONTACT_HEIGHT = np.array([0.08, 0.08, 0.05, 0.05])  # m above its rest height


def heading_angles(pelvis_world: np.ndarray) -> np.ndarray:
    """Yaw (rad) of the pelvis's left axis (its rest +X), per frame."""
    left = pelvis_world[..., :, 0]
    return np.arctan2(left[..., 1], left[..., 0])


def _yaw_matrices(theta: np.ndarray) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    m = np.zeros(theta.shape + (3, 3))
    m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1], m[..., 2, 2] = c, -s, s, c, 1.0
    return m


def _wrap(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2 * np.pi) - np.pi


def root_velocities(theta: np.ndarray, xy: np.ndarray, fps: float) -> np.ndarray:
    """The root channels (T, 3) of a course: heading rate and planar velocity in the
    heading frame, from headings ``theta`` (T,) and floor positions ``xy`` (T, 2) (the
    last frame repeats the one before). ``integrate_root`` retraces the course."""
    out = np.empty((len(theta), 3))
    d = np.diff(xy, axis=0) * fps
    c, s = np.cos(theta[:-1]), np.sin(theta[:-1])
    out[:-1, 0] = _wrap(np.diff(theta)) * fps
    out[:-1, 1] = c * d[:, 0] + s * d[:, 1]
    out[:-1, 2] = -s * d[:, 0] + c * d[:, 1]
    out[-1] = out[-2]
    return out


def integrate_root(root: np.ndarray, fps: float, start: Start | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Headings (T,) and floor positions (T, 2) of root channels (T, 3) from ``start``
    (default: the origin facing -Y): what decoding does with the root."""
    start = start or Start()
    theta = start.heading + np.concatenate([[0.0], np.cumsum(root[:-1, 0]) / fps])
    c, s = np.cos(theta[:-1]), np.sin(theta[:-1])
    step = np.stack([c * root[:-1, 1] - s * root[:-1, 2], s * root[:-1, 1] + c * root[:-1, 2]], axis=1) / fps
    return theta, np.asarray(start.position) + np.concatenate([np.zeros((1, 2)), np.cumsum(step, axis=0)])


def foot_contacts(positions: np.ndarray, fps: float) -> np.ndarray:
    """(T, 4) 0/1 contacts of the foot joints from canonical positions (T, J, 3)."""
    feet = positions[:, _FOOT_INDICES]
    vel = np.zeros(feet.shape[:2])
    if len(feet) > 1:
        speed = np.linalg.norm(np.diff(feet, axis=0), axis=-1) * fps
        vel[1:] = speed
        vel[0] = speed[0]
    rest_h = CANONICAL.rest_positions()[_FOOT_INDICES, 2]
    return ((vel < CONTACT_SPEED) & (feet[..., 2] < rest_h + CONTACT_HEIGHT)).astype(np.float64)


@dataclass
class Start:
    """Where a decoded clip starts: heading (rad) and floor position (x, y)."""

    heading: float = 0.0
    position: tuple[float, float] = (0.0, 0.0)


def encode(motion: Motion) -> tuple[np.ndarray, Start]:
    """Motion on the canonical skeleton -> (features (T, FEATURE_DIM), its start).

    Hand and face joints are not represented (the data has none); decoding puts them
    at rest.
    """
    if motion.skeleton.names[:NUM_JOINTS] != CANONICAL.names[:NUM_JOINTS]:
        raise ValueError("encode needs a motion on the canonical skeleton")
    t, fps = motion.num_frames, motion.fps
    if t < 2:
        raise ValueError("a motion needs at least 2 frames to encode")
    body = motion.rotations[:, :NUM_JOINTS]
    tr = np.broadcast_to(CANONICAL.offsets[:NUM_JOINTS], (t, NUM_JOINTS, 3)).copy()
    tr[:, 0] = motion.root_positions
    world, pos = forward_kinematics(CANONICAL.parents[:NUM_JOINTS], body, tr)
    theta = heading_angles(world[:, 0])
    unyaw = _yaw_matrices(-theta)
    xy = pos[:, 0, :2]

    feats = np.zeros((t, FEATURE_DIM))
    feats[:, :3] = root_velocities(theta, xy, fps)
    feats[:, 3] = pos[:, 0, 2]

    local = rot.quat_to_matrix(body)
    local[:, 0] = unyaw @ world[:, 0]
    feats[:, ROTATIONS] = rot.matrix_to_6d(local).reshape(t, -1)

    floor = np.concatenate([xy, np.zeros((t, 1))], axis=1)
    rel = np.einsum("tij,tkj->tki", unyaw, pos - floor[:, None])
    feats[:, POSITIONS] = rel.reshape(t, -1)
    feats[:, CONTACTS] = foot_contacts(pos, fps)
    return feats, Start(float(theta[0]), (float(xy[0, 0]), float(xy[0, 1])))


def decode(features: np.ndarray, fps: float = 30.0, start: Start | None = None,
           skeleton: Skeleton = CANONICAL) -> Motion:
    """Features (T, FEATURE_DIM) -> Motion on the canonical skeleton.

    Rotations come from the 6D channels (the position channels are not used, so a
    network's slightly inconsistent positions cannot distort the skeleton).
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[1] != FEATURE_DIM:
        raise ValueError(f"features must be (frames, {FEATURE_DIM}), got {features.shape}")
    t = len(features)
    theta, xy = integrate_root(features[:, :3], fps, start)
    yaw = _yaw_matrices(theta)
    local = rot.sixd_to_matrix(features[:, ROTATIONS].reshape(t, NUM_JOINTS, 6))
    local[:, 0] = yaw @ local[:, 0]
    rotations = rot.quat_identity((t, skeleton.num_joints))
    rotations[:, :NUM_JOINTS] = rot.quat_continuous(rot.matrix_to_quat(local))
    root = np.concatenate([xy, features[:, 3:4]], axis=1)
    return Motion(rotations, root, fps, skeleton)


@dataclass
class Normalizer:
    """Per-feature mean and std of the training set, stored with the weights."""

    mean: np.ndarray
    std: np.ndarray
    version: str = REPRESENTATION_VERSION

    @classmethod
    def fit(cls, clips: list[np.ndarray], min_std: float = 1e-3) -> Normalizer:
        data = np.concatenate(clips, axis=0)
        std = data.std(axis=0)
        # Contacts are left as 0/1 around their mean; tiny stds are floored so that
        # near-constant channels are not blown up.
        return cls(data.mean(axis=0), np.maximum(std, min_std))

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std

    def denormalize(self, x: np.ndarray) -> np.ndarray:
        return x * self.std + self.mean

    def save(self, path: str | Path) -> None:
        np.savez(path, mean=self.mean, std=self.std, version=np.array(self.version))

    @classmethod
    def load(cls, path: str | Path) -> Normalizer:
        with np.load(path, allow_pickle=False) as data:
            version = str(data["version"])
            if version != REPRESENTATION_VERSION:
                raise ValueError(f"{path}: representation {version!r}, this Cadence reads "
                                 f"{REPRESENTATION_VERSION!r}")
            return cls(data["mean"], data["std"], version)
