"""Motion files out: the canonical skeleton as BVH, Y up, centimetres.

Internally Cadence works Z up, metres, facing -Y (Blender). Most tools expect BVH to be
Y up in centimetres facing +Z, so the writer converts (x, y, z) -> (x, z, -y) * 100;
Blender's BVH importer (default axes) brings such a file back facing -Y.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .bvh import write_bvh
from .kinematics import Motion
from .rotations import matrix_to_quat, quat_continuous, quat_to_matrix
from .skeleton import Skeleton

# Z-up (Blender) to Y-up (BVH): x -> x, z -> y, y -> -z.
Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
METRES_TO_CM = 100.0


def vectors_to_y_up_cm(v: np.ndarray) -> np.ndarray:
    """Points or offsets (..., 3) from Z up, metres to Y up, centimetres."""
    return np.asarray(v, dtype=float) @ Z_UP_TO_Y_UP.T * METRES_TO_CM


def to_y_up_cm(motion: Motion) -> tuple[Skeleton, np.ndarray, np.ndarray]:
    """(skeleton, local rotations, root positions) in BVH's Y-up centimetre convention."""
    c = Z_UP_TO_Y_UP
    sk = motion.skeleton
    skeleton = Skeleton(sk.names, sk.parents, vectors_to_y_up_cm(sk.offsets),
                        {j: vectors_to_y_up_cm(v) for j, v in sk.end_sites.items()})
    rotations = quat_continuous(matrix_to_quat(c @ quat_to_matrix(motion.rotations) @ c.T))
    return skeleton, rotations, vectors_to_y_up_cm(motion.root_positions)


def write_canonical_bvh(path: str | Path, motion: Motion, order: str = "ZXY") -> None:
    skeleton, rotations, root = to_y_up_cm(motion)
    write_bvh(path, skeleton, rotations, root, motion.fps, order)
