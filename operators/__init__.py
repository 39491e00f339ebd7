"""Cadence's operators: thin wrappers that call the functions in ``blender/``.

``classes`` lists every operator class in registration order (see registration.py).
"""
from . import export, face, generate, gesture, retarget, smplx, targets, timeline
from .bake_file import CADENCE_OT_bake_motion_file

classes = ((CADENCE_OT_bake_motion_file,) + retarget.classes + export.classes + generate.classes
           + timeline.classes + targets.classes + face.classes + gesture.classes + smplx.classes)
