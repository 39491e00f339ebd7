"""A canonical Motion written as an AMASS-style SMPL-X parameter file (.npz).

The inverse of ``motion/smplx_format.py`` (docs/smplx.md), with the same change of basis
and the keys Cadence adds so that its own reader gets the file back exactly; and the
exact way back from an armature whose rest pose is the joints' T-pose (Cadence's
canonical rig, the SMPL-X body) for exporting from Blender.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..output_file import open_output
from . import rotations as rot
from .kinematics import Motion, world_to_local
from .rest_rig import RigSamples
from .skeleton import CANONICAL, JOINT_NAMES
from .smplx_format import PELVIS_KEY, UP_KEY, canonical_to_axis_angle, world_to_cadence
from .smplx_model import SmplxModel


def joint_motion_from_samples(samples: RigSamples) -> Motion:
    """The canonical motion of an armature whose rest pose *is* the joints' world-aligned
    T-pose (Cadence's canonical rig, the SMPL-X body): bones named like every canonical
    joint, any bone rolls. Exact, unlike a retarget: each joint's world rotation is its
    posed bone matrix times the bone's rest rotation transposed (``B^T L B`` undone)."""
    rig = samples.rig
    missing = [n for n in JOINT_NAMES if n not in rig.index]
    if missing:
        raise ValueError(f"the armature has no bones for {', '.join(missing[:5])}")
    idx = [rig.index[n] for n in JOINT_NAMES]
    world = np.asarray(samples.world)
    posed = (world[:, None] if world.ndim == 3 else world) @ samples.pose[:, idx]
    rotations = rot.orthonormalize(posed[..., :3, :3]) @ np.swapaxes(
        rot.orthonormalize(rig.matrices[idx]), -1, -2)
    local = world_to_local(CANONICAL.parents, rotations)
    return Motion(rot.matrix_to_quat(local), posed[:, 0, :3, 3], samples.fps)


def save_smplx_motion(path: str | Path, motion: Motion, *, expressions: np.ndarray | None = None,
                      betas: np.ndarray | None = None, gender: str = "neutral", up: str = "z",
                      model: SmplxModel | None = None) -> Path:
    """Write a canonical motion as an AMASS-style SMPL-X .npz.

    Keys: ``poses`` (T, 165) axis-angle in SMPL-X joint order, ``trans`` (T, 3),
    ``mocap_frame_rate``, ``gender``, ``betas``, ``surface_model_type`` ("smplx"),
    ``expressions`` when given, and Cadence's ``cadence_up_axis`` and
    ``cadence_pelvis_offset``. ``up`` "z" (AMASS's convention, the default) or "y"
    (SMPL-X's own frame). ``trans`` is the pelvis minus the shaped model's pelvis joint
    (``model`` and ``betas``), or the pelvis itself without a model.
    """
    if tuple(motion.skeleton.names) != JOINT_NAMES:
        raise ValueError("only motion on the canonical skeleton can be written as SMPL-X")
    if gender not in ("neutral", "male", "female"):
        raise ValueError(f"gender must be neutral, male or female, got {gender!r}")
    frames = motion.num_frames
    betas = np.zeros(16) if betas is None else np.asarray(betas, dtype=np.float64).ravel()
    pelvis_offset = model.joint_positions(betas)[0] if model is not None else np.zeros(3)
    a = world_to_cadence(up)
    arrays = {
        "poses": canonical_to_axis_angle(motion.rotations, up).reshape(frames, -1),
        "trans": motion.root_positions @ a - pelvis_offset,
        "mocap_frame_rate": np.float64(motion.fps),
        "gender": np.array(gender),
        "betas": betas,
        "num_betas": np.int64(len(betas)),
        "surface_model_type": np.array("smplx"),
        UP_KEY: np.array(up),
        PELVIS_KEY: pelvis_offset,
    }
    if expressions is not None:
        expressions = np.asarray(expressions, dtype=np.float64)
        if expressions.ndim != 2 or len(expressions) != frames:
            raise ValueError(f"expressions must be ({frames}, E), got {expressions.shape}")
        arrays["expressions"] = expressions
    path = Path(path)
    with open_output(path, "wb", what="", example="out.npz") as f:  # atomic: no 0-byte file
        np.savez(f, **arrays)
    return path
