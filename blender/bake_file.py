"""Load a motion file and bake it onto a rig: the one workflow behind both the
"Bake Motion File" operator and ``./cadence bake``.

The file is read completely before anything in Blender changes, so a bad file leaves
the scene untouched; every reading error becomes a :class:`MotionFileError` whose
message is fit to show the user.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import bpy

from ..errors import CadenceError
from ..motion.convert import load_canonical_motion
from ..motion.kinematics import Motion
from .action import bake_motion
from .armature import build_armature


class MotionFileError(CadenceError):
    """A motion file could not be read; the message names the file and the reason."""


@dataclass
class BakeResult:
    armature: bpy.types.Object
    action: bpy.types.Action
    motion: Motion
    built_armature: bool


def load_motion_file(path: str | Path, fps: float, up: str | None = None) -> Motion:
    """The canonical motion in ``path`` (BVH, or SMPL-X .npz read ``up``: "y", "z" or
    None for the file's own or its layout's default), resampled to ``fps``."""
    if not str(path).strip():
        raise MotionFileError("no motion file given")
    path = Path(path)
    if not path.is_file():
        raise MotionFileError(f"motion file not found: {path}")
    try:
        return load_canonical_motion(path, fps=fps, **({"up": up} if up else {}))
    except (ValueError, OSError) as exc:  # BvhError is a ValueError
        message = str(exc)
        if path.name not in message:  # BVH errors already name the file and line
            message = f"cannot read {path.name}: {message}"
        raise MotionFileError(message) from exc


def bake_motion_file(path: str | Path, fps: float, target: bpy.types.Object | None = None,
                     update_scene: bool = True, action_name: str | None = None,
                     up: str | None = None) -> BakeResult:
    """Load ``path`` and bake it onto ``target`` (a new canonical rig when None); ``up``
    is a SMPL-X file's up axis (see :func:`load_motion_file`).

    Keys start on the scene's first frame; the action is named after the file unless
    ``action_name`` is given.
    Raises MotionFileError (nothing changed) or ValueError (no matching bones).
    """
    motion = load_motion_file(path, fps, up)
    built = target is None
    armature = build_armature() if built else target
    action = bake_motion(armature, motion, action_name=action_name or Path(path).stem,
                         start_frame=bpy.context.scene.frame_start,
                         update_scene=update_scene)
    return BakeResult(armature, action, motion, built)
