"""Skeleton-space rotations to and from a rig's pose space (bone rest frames).

A skeleton here stores, for every joint, a *local* rotation relative to its parent with
every joint's rest frame aligned with the world (BVH semantics, and Cadence's canonical
skeleton). A Blender bone instead animates a rotation expressed in its own rest frame
``B`` (its rest orientation in armature space, ``bone.matrix_local``): with parent rest
``Bp`` its armature-space pose is ``pose(parent) · Bp^T · B · P``.

Asking that a bone follows its joint, ``pose(bone) = W · B`` with ``W`` the joint's
world rotation, gives by induction ``P = B^T · L · B`` for the joint's local rotation
``L`` -- exact, with no dependence on the parent, because both rest frames of the
skeleton are world-aligned. The root's location is the head's displacement expressed in
the bone's frame: ``B^T · (position - rest_head)``. Bones above the skeleton's root
(a rig's extra "root" bone, say) are assumed to stay at rest.

This file is pure numpy so that the Blender bake and the retargeting code share it.
"""
from __future__ import annotations

import numpy as np

from . import rotations as rot


def rest_quats(bone_rest: np.ndarray) -> np.ndarray:
    """Unit quaternions of bone rest rotations given as (..., 3, 3) matrices.

    Blender hands out float32 matrices that may have drifted from orthonormality (and
    may carry scale), so they are orthonormalised first.
    """
    return rot.matrix_to_quat(rot.orthonormalize(np.asarray(bone_rest, dtype=float)))


def to_pose_space(local_rotations: np.ndarray, bone_rest: np.ndarray) -> np.ndarray:
    """Pose-bone quaternions ``B^T · L · B`` for joint-local quaternions ``L``.

    local_rotations: (..., J, 4) local joint quaternions (w, x, y, z).
    bone_rest: (J, 3, 3) rest rotations of the matching bones in armature space.
    Returns (..., J, 4). Conjugation is linear in ``L``, so a sign-continuous input
    stays sign-continuous.
    """
    q_rest = rest_quats(bone_rest)
    return rot.quat_mul(rot.quat_conjugate(q_rest), rot.quat_mul(local_rotations, q_rest))


def from_pose_space(pose_rotations: np.ndarray, bone_rest: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_pose_space`: joint-local quaternions ``B · P · B^T``."""
    q_rest = rest_quats(bone_rest)
    return rot.quat_mul(q_rest, rot.quat_mul(pose_rotations, rot.quat_conjugate(q_rest)))


def root_location_to_pose_space(root_positions: np.ndarray, rest_head: np.ndarray,
                                bone_rest: np.ndarray) -> np.ndarray:
    """Pose-bone location ``B^T · (p - rest_head)`` of the root bone, (..., 3).

    root_positions: (..., 3) root joint positions in armature space.
    rest_head: (3,) the root bone's rest head in armature space.
    bone_rest: (3, 3) the root bone's rest rotation in armature space.
    """
    b = rot.orthonormalize(np.asarray(bone_rest, dtype=float))
    delta = np.asarray(root_positions, dtype=float) - np.asarray(rest_head, dtype=float)
    return delta @ b  # row vectors: (B^T d)^T = d^T B


def root_location_from_pose_space(location: np.ndarray, rest_head: np.ndarray,
                                  bone_rest: np.ndarray) -> np.ndarray:
    """Inverse of :func:`root_location_to_pose_space`: ``rest_head + B · location``."""
    b = rot.orthonormalize(np.asarray(bone_rest, dtype=float))
    return np.asarray(rest_head, dtype=float) + np.asarray(location, dtype=float) @ b.T
