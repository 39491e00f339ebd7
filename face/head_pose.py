"""Head and jaw bone rotations from a :class:`~cadence.face.animation.FaceAnimation`
(numpy; the Blender bake is ``blender/face_rig.py``).

The animation's head angles are degrees in the character's frame (yaw + toward its
left, pitch + up, roll + toward its left shoulder); a rig's bones have arbitrary rest
orientations. :func:`head_rotations` turns the angles into rotations in armature space
(given where the character's left, forward and up point there), :func:`jaw_rotations`
turns jawOpen into the chin swinging down about the left axis, and
:func:`to_pose_quaternions` expresses armature-space rotations as pose-bone
quaternions of a bone with rest rotation ``M`` (``M^T R M``: the rotation about the
bone's head, in its own rest frame, with its parent at rest or carrying its own share).
The neck takes :data:`NECK_SHARE` of the head motion when the rig has one, as a real
neck does.
"""
from __future__ import annotations

import numpy as np

from ..motion import rotations as rot

NECK_SHARE = 0.35          # of the head angles turned by the neck (the head turns the rest)
JAW_MAX_DEGREES = 22.0     # the jaw bone's rotation at jawOpen = 1 (a wide-open mouth)


def _about(axis: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    return rot.axis_angle_to_matrix(np.radians(np.asarray(degrees, float))[:, None] * axis[None, :])


def head_rotations(angles: np.ndarray, left: np.ndarray, forward: np.ndarray,
                   up: np.ndarray, share: float = 1.0) -> np.ndarray:
    """(T, 3, 3) armature-space rotations for ``share`` of (T, 3) yaw, pitch, roll degrees."""
    a = share * np.asarray(angles, float)
    yaw = _about(up, a[:, 0])                    # + turns the face toward the character's left
    pitch = _about(-np.asarray(left, float), a[:, 1])    # + raises the chin
    roll = _about(-np.asarray(forward, float), a[:, 2])  # + tilts the top toward the left
    return yaw @ pitch @ roll


def jaw_rotations(jaw_open: np.ndarray, left: np.ndarray,
                  max_degrees: float = JAW_MAX_DEGREES) -> np.ndarray:
    """(T, 3, 3): the chin swings down (about the left axis) by jawOpen * ``max_degrees``."""
    return _about(left, np.clip(np.asarray(jaw_open, float), 0.0, 1.0) * max_degrees)


def to_pose_quaternions(rotations: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """(T, 4) sign-continuous pose-bone quaternions (w, x, y, z) of armature-space
    ``rotations`` for a bone whose rest rotation (``bone.matrix_local``) is ``rest``."""
    rest = np.asarray(rest, float)
    local = rest.T[None] @ np.asarray(rotations, float) @ rest[None]
    return rot.quat_continuous(rot.matrix_to_quat(local))
