"""Any BVH -> a Motion on the canonical skeleton.

Handles what BVH files disagree on: joint names (see :mod:`motion.bone_names`), units
(the motion is scaled by the ratio of leg lengths, which also turns cm into m), up axis
and facing (found from the body itself, snapped to the nearest axes, so a Y-up file
facing +Z and a Z-up file facing -Y both come out Z-up facing -Y), rest poses that are
not a T-pose (see :mod:`motion.source_to_canonical`), frame rate (resampled), and a floor that is
not at zero.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import rotations as rot
from .body_frame import UPRIGHT_LIMIT_DEG, detect_axes, floor_offset, uprightness
from .bone_names import match_names
from .bvh import Bvh, read_bvh
from .kinematics import Motion, forward_kinematics
from .skeleton import CANONICAL
from .smplx_format import load_smplx_motion
from .source_to_canonical import Alignment, estimate_alignment, leg_length, transfer


@dataclass
class SourcePose:
    """A source motion's FK, in canonical axes: world rotations and positions."""

    world: np.ndarray      # (T, J, 3, 3)
    positions: np.ndarray  # (T, J, 3)


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
    if uprightness(rest.positions, names)[0] <= UPRIGHT_LIMIT_DEG:
        world, positions = rest.world[0], rest.positions[0]
    else:
        best = int(np.argmin(uprightness(pose.positions, names)))
        world, positions = pose.world[best], pose.positions[best]
    return estimate_alignment(mapping, world, positions, scale, axes=axes)


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
        motion = load_smplx_motion(path, **smplx_options).motion
        return motion.resample(fps) if fps else motion
    return bvh_to_canonical(read_bvh(path), fps=fps)
