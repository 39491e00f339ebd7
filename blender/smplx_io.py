"""SMPL-X motion files in Blender: File > Import and File > Export "SMPL-X Motion (.npz)".

Import reads the whole file first (``motion/smplx_format.py``; and the user's model when
the body is asked for), so a bad file leaves the scene untouched, then bakes the motion
onto a new canonical armature -- or, with the user's SMPL-X model files configured, onto
a skinned SMPL-X body shaped by the file's betas, with its expression shape keys keyed
(``blender/smplx_body.py``). Export reads the active armature's animation back onto the
canonical skeleton through its bone map (``blender/export.py``) and writes AMASS-style
SMPL-X.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from ..motion.kinematics import Motion
from ..motion.skeleton import CANONICAL, JOINT_NAMES
from ..motion.smplx_format import SmplxMotion, load_smplx_motion
from ..motion.smplx_model import find_model_file, model_missing_message
from ..motion.smplx_write import joint_motion_from_samples, save_smplx_motion
from .action import bake_motion
from .armature import build_armature
from .bake_file import MotionFileError
from .export import (
    ExportError,
    action_frames,
    checked_output_path,
    export_problem,
    read_canonical_motion,
    sample_armature,
)
from .smplx_body import BODY_PROPERTY, SmplxBody, bake_expressions, build_smplx_body, expression_keys


@dataclass
class SmplxImport:
    armature: bpy.types.Object
    action: bpy.types.Action
    source: SmplxMotion             # at the scene's frame rate
    body: SmplxBody | None
    expression_action: bpy.types.Action | None


def body_available(model_dir: str) -> bool:
    """Whether the user's SMPL-X model files are where the preferences say."""
    return bool(model_dir) and find_model_file(model_dir) is not None


def import_smplx(path: str | Path, fps: float, up: str | None = None,
                 source_fps: float | None = None, body: bool = False, model_dir: str = "",
                 update_scene: bool = True) -> SmplxImport:
    """Read a SMPL-X / SMPL-H / SMPL .npz and bake it (resampled to ``fps``) from the
    scene's first frame, on a new canonical armature, or with ``body`` on a SMPL-X body
    built from the model files in ``model_dir``.

    Raises MotionFileError, before anything in the scene changes.
    """
    if not str(path).strip():
        raise MotionFileError("no SMPL-X file given")
    path = Path(path)
    if not path.is_file():
        raise MotionFileError(f"motion file not found: {path}")
    if body and not body_available(model_dir):
        raise MotionFileError(model_missing_message(model_dir or None))
    try:
        source = load_smplx_motion(path, up=up, fps=source_fps,
                                   model=model_dir if body else None).resample(fps)
    except ValueError as exc:
        raise MotionFileError(str(exc)) from exc
    start = bpy.context.scene.frame_start
    built = None
    expression_action = None
    if body:
        count = 0 if source.expressions is None else source.expressions.shape[1]
        built = build_smplx_body(source.model, source.betas, count, source.gender, name=path.stem)
        armature = built.armature
    else:
        armature = build_armature()
    action = bake_motion(armature, source.motion, action_name=path.stem, start_frame=start,
                         update_scene=update_scene)
    if built is not None and source.expressions is not None:
        expression_action = bake_expressions(built, source.expressions,
                                             f"{path.stem} Expressions", start)
    return SmplxImport(armature, action, source, built, expression_action)


def _exact_motion(obj: bpy.types.Object | None) -> Motion | None:
    """The armature's motion read back exactly when its rest pose is the joints'
    world-aligned T-pose: a SMPL-X body, or Cadence's canonical rig (its rest joints are
    the canonical ones). Other rigs (None) go through their bone map, a retarget."""
    if export_problem(obj) is not None:
        return None
    bones = obj.data.bones
    if any(name not in bones for name in JOINT_NAMES):
        return None
    heads = np.array([bones[name].head_local for name in JOINT_NAMES])
    if obj.get(BODY_PROPERTY) is None and not np.allclose(heads, CANONICAL.rest_positions(),
                                                          atol=1e-4):
        return None
    return joint_motion_from_samples(sample_armature(obj, action_frames(obj)))


def body_expressions(armature: bpy.types.Object, frames: range) -> np.ndarray | None:
    """The expression coefficients (T, E) a SMPL-X body child of ``armature`` plays at
    ``frames`` (None without one, or when its keys are not animated)."""
    mesh = next((c for c in armature.children if expression_keys(c)), None)
    if mesh is None or mesh.data.shape_keys.animation_data is None:
        return None
    blocks = [mesh.data.shape_keys.key_blocks[n] for n in expression_keys(mesh)]
    scene = bpy.context.scene
    current, subframe = scene.frame_current, scene.frame_subframe
    values = np.empty((len(frames), len(blocks)))
    try:
        for k, frame in enumerate(frames):
            scene.frame_set(frame)
            values[k] = [b.value for b in blocks]
    finally:
        scene.frame_set(current, subframe=subframe)
    return values


@dataclass
class SmplxExport:
    path: Path
    frames: int
    fps: float


def export_smplx(obj: bpy.types.Object | None, path: str | Path, up: str = "z") -> SmplxExport:
    """Write the armature's action as AMASS-style SMPL-X (poses, trans, frame rate, and the
    shape, gender and expressions of a body imported by Cadence). Raises ExportError,
    writing nothing."""
    path = checked_output_path(path)
    if path.suffix.lower() != ".npz":
        raise ExportError(f"SMPL-X files end in .npz, got {path.name}")
    motion = _exact_motion(obj) or read_canonical_motion(obj)
    stored = obj.get(BODY_PROPERTY)
    options = {}
    if stored is not None:
        options = {"gender": str(stored.get("gender", "neutral")),
                   "betas": list(stored.get("betas", [])) or None,
                   "expressions": body_expressions(obj, action_frames(obj))}
    try:
        save_smplx_motion(path, motion, up=up, **options)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return SmplxExport(path, motion.num_frames, motion.fps)
