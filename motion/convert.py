"""Any BVH -> a Motion on the canonical skeleton.

Handles what BVH files disagree on: joint names (see :mod:`motion.bone_names`), units
(the motion is scaled by the ratio of leg lengths, which also turns cm into m), up axis
and facing (found from the body itself, snapped to the nearest axes, so a Y-up file
facing +Z and a Z-up file facing -Y both come out Z-up facing -Y), rest poses that are
not a T-pose (see :mod:`motion.retarget`), frame rate (resampled), and a floor that is
not at zero.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import rotations as rot
from .bone_names import match_names
from .bvh import Bvh, read_bvh
from .kinematics import Motion, forward_kinematics
from .retarget import Alignment, estimate_alignment, leg_length, transfer
from .skeleton import CANONICAL, FOOT_JOINTS

_UPRIGHT_LIMIT_DEG = 30.0


@dataclass
class SourcePose:
    """A source motion's FK, in canonical axes: world rotations and positions."""

    world: np.ndarray      # (T, J, 3, 3)
    positions: np.ndarray  # (T, J, 3)


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
    back = np.cross(up, left)  # right-handed: left x back = up
    # Rows are the source directions that become X, Y, Z: R @ left = X, R @ back = Y, R @ up = Z.
    return np.stack([left, back, up])


def _uprightness(positions: np.ndarray, names: dict[str, int]) -> np.ndarray:
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


def source_pose(bvh: Bvh, axes: np.ndarray | None = None,
                local_rotations: np.ndarray | None = None) -> SourcePose:
    """FK of the BVH (or of ``local_rotations`` on its skeleton), in canonical axes."""
    q = bvh.local_rotations() if local_rotations is None else local_rotations
    tr = bvh.local_translations() if local_rotations is None else np.broadcast_to(
        bvh.skeleton.offsets, q.shape[:-1] + (3,))
    world, pos = forward_kinematics(bvh.skeleton.parents, q, tr)
    if axes is not None:
        world = axes @ world @ axes.T
        pos = pos @ axes.T
    return SourcePose(world, pos)


def bvh_alignment(bvh: Bvh, mapping: dict[int, int], axes: np.ndarray,
                  pose: SourcePose) -> Alignment:
    """Alignment from the rest pose if it is upright, else from the most upright frame."""
    names = {CANONICAL.names[c]: s for c, s in mapping.items()}
    rest = source_pose(bvh, axes, np.tile(rot.quat_identity(), (1, bvh.skeleton.num_joints, 1)))
    scale = leg_length(CANONICAL, *(CANONICAL.index(n) for n in ("left_hip", "left_knee", "left_ankle")))
    src_leg = leg_length(bvh.skeleton, names["left_hip"], names["left_knee"],
                         names.get("left_ankle", names["left_knee"]))
    if src_leg <= 0:
        raise ValueError("the source skeleton's legs have no length")
    scale /= src_leg
    if _uprightness(rest.positions, names)[0] <= _UPRIGHT_LIMIT_DEG:
        world, positions = rest.world[0], rest.positions[0]
    else:
        best = int(np.argmin(_uprightness(pose.positions, names)))
        world, positions = pose.world[best], pose.positions[best]
    return estimate_alignment(mapping, world, positions, scale, axes=axes)


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


def bvh_to_canonical(bvh: Bvh, fps: float | None = 30.0, alignment: Alignment | None = None,
                     fix_floor: bool = True, names: dict[str, str] | None = None) -> Motion:
    """Convert a parsed BVH to the canonical skeleton (metres, Z up, facing -Y).

    ``alignment`` reuses one computed earlier for the same skeleton (the dataset does
    this so every take of a capture set gets the same joint frames). ``names`` (canonical
    joint -> BVH joint) replaces matching the names against the tables, for skeletons
    whose bone map is known (a rig's, see :mod:`motion.rig_export`).
    """
    by_name = dict(names) if names is not None else match_names(bvh.skeleton.names)[1]
    src_index = {n: i for i, n in enumerate(bvh.skeleton.names)}
    mapping = {CANONICAL.index(c): src_index[s] for c, s in by_name.items()}
    raw = source_pose(bvh)
    names = {CANONICAL.names[c]: s for c, s in mapping.items()}
    axes = detect_axes(raw.positions, names)
    pose = SourcePose(axes @ raw.world @ axes.T, raw.positions @ axes.T)
    alignment = (bvh_alignment(bvh, mapping, axes, pose) if alignment is None
                 else alignment.for_axes(axes))
    rotations, root = transfer(alignment, pose.world, pose.positions)
    motion = Motion(rotations, root, bvh.fps, CANONICAL)
    if fix_floor:
        motion.root_positions[:, 2] -= floor_offset(motion.positions())
    return motion.resample(fps) if fps else motion


SMPLX_SUFFIXES = (".npz", ".pkl", ".pickle")


def load_canonical_motion(path: str | Path, fps: float = 30.0, **smplx_options) -> Motion:
    """Read any BVH file, or a SMPL-X / SMPL-H / SMPL parameter file (.npz; pickles are
    refused there), on the canonical skeleton at ``fps``.

    ``smplx_options`` (``up``, ``fps`` of the file, ``model``) go to
    :func:`motion.smplx_format.load_smplx_motion`; see docs/smplx.md.
    """
    if Path(path).suffix.lower() in SMPLX_SUFFIXES:
        from .smplx_format import load_smplx_motion
        motion = load_smplx_motion(path, **smplx_options).motion
        return motion.resample(fps) if fps else motion
    return bvh_to_canonical(read_bvh(path), fps=fps)
