"""What every step of the panel's workflow reads first: the scene's Cadence settings, the
target armature, the motion model's metadata, and the one error for settings that cannot
be used (:class:`InputError`, whose message says what to change).

The bottom of the Blender workflow: it imports no other workflow module, so the slider
sync, the rig status, the speech inputs, the timeline and the generators all build on it.
"""
from __future__ import annotations

import bpy

from ..errors import CadenceError
from ..inference.runtime.model_info import ModelInfo, motion_model_info
from ..preferences import weights_dir


class InputError(CadenceError, ValueError):
    """The panel's settings cannot be generated or baked; the message says what to change."""


def settings_of(context: bpy.types.Context):
    """The scene's Cadence settings (``scene.cadence``, properties.py)."""
    return context.scene.cadence


def model_info(context: bpy.types.Context) -> ModelInfo:
    """The motion model's styles and defaults (metadata only; no onnxruntime)."""
    return motion_model_info(weights_dir(context))


def effective_target(context: bpy.types.Context) -> bpy.types.Object | None:
    """The panel's Target, else the active object when it is an armature."""
    settings = settings_of(context)
    if settings.target is not None:
        return settings.target
    obj = context.active_object
    return obj if obj is not None and obj.type == 'ARMATURE' else None
