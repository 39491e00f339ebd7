"""Where a body stands: its axes, how upright it is, and how far its feet float.

Measured from joint positions alone, so the BVH import (``motion/convert.py``), the rig
bone matcher (``motion/rig_geometry.py``), the standing-pose finder and the SMPL-X reader
all share one answer without importing each other.
"""
from __future__ import annotations

import numpy as np

from . import rotations as rot
from .skeleton import CANONICAL, FOOT_JOINTS

# A pose whose legs and spine are all within this angle of vertical counts as standing.
UPRIGHT_LIMIT_DEG = 30.0


def _snap_axis(v: np.ndarray) -> np.ndarray:
    out = np.zeros(3)
    k = int(np.argmax(np.abs(v)))
    out[k] = np.sign(v[k])
    return out


def detect_axes(positions: np.ndarray, names: dict[str, int]) -> np.ndarray:
    """Rotation taking the source's axes to canonical ones (Z up, left = +X, facing -Y).

    Found from the body over all frames (head above feet, left hip on the left), then
    snapped to the nearest coordinate axes so the file's own ground plane and facing
    are kept exactly.
    """
    feet = positions[:, [names["left_hip"], names["right_hip"]]].mean(1)
    if "left_ankle" in names and "right_ankle" in names:
        feet = positions[:, [names["left_ankle"], names["right_ankle"]]].mean(1)
    top_name = next((n for n in ("head", "neck", "spine3", "spine2", "spine1") if n in names), None)
    top = positions[:, names[top_name]] if top_name else positions[:, names["pelvis"]]
    up = _snap_axis((top - feet).mean(0))
    left_vec = (positions[:, names["left_hip"]] - positions[:, names["right_hip"]]).mean(0)
    if "left_shoulder" in names and "right_shoulder" in names:
        left_vec = left_vec + (positions[:, names["left_shoulder"]]
                               - positions[:, names["right_shoulder"]]).mean(0)
    left_vec = left_vec - np.dot(left_vec, up) * up
    left = _snap_axis(left_vec)
    back = rot.cross(up, left)  # right-handed: left x back = up
    # Rows are the source directions that become X, Y, Z: R @ left = X, R @ back = Y, R @ up = Z.
    return np.stack([left, back, up])


def uprightness(positions: np.ndarray, names: dict[str, int]) -> np.ndarray:
    """Per frame: worst angle (deg) of legs from straight down and spine from straight up."""
    down = np.array([0.0, 0.0, -1.0])
    angles = []
    for side in ("left", "right"):
        hip, ankle = f"{side}_hip", f"{side}_ankle"
        if hip in names and ankle in names:
            v = rot.normalize(positions[:, names[ankle]] - positions[:, names[hip]])
            angles.append(np.degrees(np.arccos(np.clip(v @ down, -1, 1))))
    top_name = next((n for n in ("neck", "spine3", "head") if n in names), None)
    if top_name:
        v = rot.normalize(positions[:, names[top_name]] - positions[:, names["pelvis"]])
        angles.append(np.degrees(np.arccos(np.clip(-(v @ down), -1, 1))))
    return np.max(angles, axis=0)


def floor_offset(positions: np.ndarray, percentile: float = 5.0) -> float:
    """How far the feet float above the floor: canonical (T, J, 3) positions.

    The low percentile of the per-frame lowest foot joint, compared with the lowest foot
    joint of the rest pose (where the canonical character stands on z = 0). Robust to
    jumps and to a few frames of foot penetration.
    """
    feet = [CANONICAL.index(n) for n in FOOT_JOINTS]
    lowest = positions[:, feet, 2].min(axis=1)
    rest_lowest = CANONICAL.rest_positions()[feet, 2].min()
    return float(np.percentile(lowest, percentile) - rest_lowest)
