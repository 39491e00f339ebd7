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

from ..motion.smplx_format import SmplxMotion, load_smplx_motion, save_smplx_motion
from ..motion.smplx_model import find_model_file, model_missing_message
from .action import bake_motion
from .armature import build_armature
from .bake_file import MotionFileError
from .export import ExportError, checked_output_path, read_canonical_motion
from .smplx_body import BODY_PROPERTY, SmplxBody, bake_expressions, build_smplx_body


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


@dataclass
class SmplxExport:
    path: Path
    frames: int
    fps: float


def export_smplx(obj: bpy.types.Object | None, path: str | Path, up: str = "z") -> SmplxExport:
    """Write the armature's action as AMASS-style SMPL-X (poses, trans, frame rate, and the
    shape and gender of a body imported by Cadence). Raises ExportError, writing nothing."""
    path = checked_output_path(path)
    if path.suffix.lower() != ".npz":
        raise ExportError(f"SMPL-X files end in .npz, got {path.name}")
    motion = read_canonical_motion(obj)
    stored = obj.get(BODY_PROPERTY)
    options = {}
    if stored is not None:
        options = {"gender": str(stored.get("gender", "neutral")),
                   "betas": list(stored.get("betas", [])) or None}
    try:
        save_smplx_motion(path, motion, up=up, **options)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return SmplxExport(path, motion.num_frames, motion.fps)
