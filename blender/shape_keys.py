"""Bake a :class:`~cadence.face.animation.FaceAnimation` onto a mesh's shape keys.

Which key gets which ARKit curve is decided bpy-free by
:func:`cadence.face.shape_key_match.match_shape_keys` (any case or separators, alias tables for
ReadyPlayerMe, VRM, Faceit, MetaHuman-like, Character Creator, FACEGOOD); this module only
writes the curves: one new Action on the mesh's shape-key datablock, linear keys written
in bulk by ``blender/action_slots.py`` as for bones.
"""
from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np

from ..face.animation import FaceAnimation
from ..face.arkit import NUM_SHAPES
from ..face.shape_key_match import ShapeKeyMap, match_shape_keys
from .action_slots import fcurve_factory, write_keys
from .scene import scene_fps, set_frame_range, set_scene_fps


@dataclass
class FaceBakeResult:
    action: bpy.types.Action
    key_map: ShapeKeyMap
    frames: int


def shape_key_names(obj: bpy.types.Object) -> list[str]:
    """The mesh's shape keys other than its basis (reference) key."""
    if obj is None or obj.type != 'MESH':
        raise ValueError(f"{getattr(obj, 'name', None)!r} is not a mesh")
    key = obj.data.shape_keys
    if key is None:
        return []
    return [kb.name for kb in key.key_blocks if kb != key.reference_key]


def bake_face(obj: bpy.types.Object, anim: FaceAnimation, *, key_map: ShapeKeyMap | None = None,
              action_name: str = "CadenceFace", start_frame: int = 1, fps: float | None = None,
              update_scene: bool = False) -> FaceBakeResult:
    """Key the mesh's ARKit shape keys from ``anim`` in a new Action.

    ``fps``: the frame rate to key at (default: the scene's); the animation is resampled
    to it. Earlier Actions keep a fake user, so a second bake never loses the first.
    Raises ValueError when ``obj`` is not a mesh, has no shape keys, or none of them
    matches an ARKit shape (the message lists what was looked for).
    """
    names = shape_key_names(obj)
    if not names:
        raise ValueError(f"mesh {obj.name!r} has no shape keys: add ARKit shape keys "
                         "(jawOpen, eyeBlinkLeft, ...) or use a rig that has them")
    key_map = key_map or match_shape_keys(names)
    if not key_map.keys:
        raise ValueError(f"none of the {len(names)} shape keys of {obj.name!r} matches an ARKit "
                         f"shape (e.g. jawOpen, eyeBlinkLeft); keys: {', '.join(names[:6])}"
                         + ("..." if len(names) > 6 else ""))
    scene = bpy.context.scene
    rate = fps or scene_fps(scene)
    anim = anim.resample(rate)
    if anim.weights.shape[1] != NUM_SHAPES:
        raise ValueError("the animation must have 52 ARKit curves")
    curves = key_map.key_curves(anim.weights)

    key = obj.data.shape_keys
    action = bpy.data.actions.new(action_name)
    action.use_fake_user = True
    new_fcurve, _ = fcurve_factory(action, key, assign=True)
    frames = start_frame + np.arange(anim.num_frames, dtype=float)
    for name, values in curves.items():
        block = key.key_blocks[name]
        block.slider_min = min(block.slider_min, 0.0)
        block.slider_max = max(block.slider_max, 1.0)
        write_keys(new_fcurve(block.path_from_id("value")), frames, values, 'LINEAR')
    if update_scene:
        set_scene_fps(scene, rate)
        set_frame_range(scene, start_frame, start_frame + anim.num_frames - 1)
    return FaceBakeResult(action, key_map, anim.num_frames)
