"""Actions and their F-Curves on every Blender Cadence supports (4.2 to 5.x), in one place.

Blender 4.4 made actions layered: F-Curves live per *slot* in a channelbag, and an
animated datablock plays the slot assigned to it (``animation_data.action_slot``, and
``action_slot`` on NLA strips); 5.0 removed the legacy ``Action.fcurves``. Blender
4.2/4.3 have only ``action.fcurves`` and no slots. Every module that creates F-Curves,
assigns an action or lays out strips goes through these functions, so that the version
difference is handled here alone.

Keys are written in bulk (``keyframe_points.add`` + ``foreach_set``): inserting them one
by one is two orders of magnitude slower on long clips.
"""
from __future__ import annotations

from collections.abc import Callable

import bpy
import numpy as np

try:  # Blender 4.4+; 4.2/4.3 have no slots and use action.fcurves
    from bpy_extras.anim_utils import action_ensure_channelbag_for_slot
except ImportError:
    action_ensure_channelbag_for_slot = None

# new_fcurve(data path, array index, group name or None for no group)
FCurveFactory = Callable[[str, int, "str | None"], bpy.types.FCurve]

# Enum values of BezTriple interpolation, for foreach_set.
_INTERPOLATION = {'CONSTANT': 0, 'LINEAR': 1, 'BEZIER': 2}


def has_slots(action: bpy.types.Action) -> bool:
    """Whether ``action`` is a layered action with slots (Blender 4.4+)."""
    return hasattr(action, "slots")


def fcurve_factory(action: bpy.types.Action, owner: bpy.types.ID, *,
                   assign: bool) -> tuple[FCurveFactory, object | None]:
    """(a function creating F-Curves of ``action`` for ``owner``, the slot they are in).

    ``owner``: an object or a shape-key datablock. With ``assign`` the action (and its
    slot) becomes ``owner``'s active action; without, it is left for an NLA strip (give
    the strip the returned slot with :func:`set_strip_slot`). The slot is None before
    Blender 4.4.
    """
    anim = (owner.animation_data or owner.animation_data_create()) if assign else None
    if not has_slots(action):
        if anim is not None:
            anim.action = action

        def new_legacy_fcurve(path: str, index: int = 0, group: str | None = None) -> bpy.types.FCurve:
            return action.fcurves.new(path, index=index, action_group=group or "")
        return new_legacy_fcurve, None
    id_type = 'KEY' if isinstance(owner, bpy.types.Key) else 'OBJECT'
    slot = action.slots.new(id_type=id_type, name=owner.name)
    if anim is not None:
        anim.action = action
        anim.action_slot = slot
    channelbag = action_ensure_channelbag_for_slot(action, slot)

    def new_fcurve(path: str, index: int = 0, group: str | None = None) -> bpy.types.FCurve:
        return channelbag.fcurves.new(path, index=index, group_name=group or "")
    return new_fcurve, slot


def assign_action(owner: bpy.types.ID, action: bpy.types.Action | None, slot_identifier: str = "") -> None:
    """Make ``action`` (None: no action) the active action of ``owner``, playing its slot
    ``slot_identifier`` when it has one, else the slot Blender kept, else its first
    object slot."""
    anim = owner.animation_data or owner.animation_data_create()
    anim.action = action
    if action is None or not has_slots(action) or not len(action.slots):
        return
    slot = next((s for s in action.slots if s.identifier == slot_identifier), None)
    if slot is None and anim.action_slot is None:
        slot = next((s for s in action.slots if s.target_id_type == 'OBJECT'), None)
    if slot is not None:
        anim.action_slot = slot


def active_slot(owner: bpy.types.ID):
    """The slot ``owner`` plays of its active action (None before 4.4 or without one)."""
    anim = owner.animation_data
    return getattr(anim, "action_slot", None) if anim is not None else None


def active_slot_identifier(owner: bpy.types.ID) -> str:
    """The identifier of :func:`active_slot` ("" when there is none), to store and
    give back with :func:`assign_action`."""
    slot = active_slot(owner)
    return getattr(slot, "identifier", "") if slot is not None else ""


def set_strip_slot(strip: bpy.types.NlaStrip, slot) -> None:
    """Make the NLA ``strip`` play ``slot`` of its action (nothing before 4.4)."""
    if slot is not None and hasattr(strip, "action_slot"):
        strip.action_slot = slot


def write_keys(fcurve: bpy.types.FCurve, frames: np.ndarray, values: np.ndarray,
               interpolation: str | None = None) -> None:
    """Key ``values`` at ``frames`` on ``fcurve`` in bulk. ``interpolation`` ('LINEAR',
    'CONSTANT', 'BEZIER'): set on every key; None keeps the user's default."""
    co = np.empty((len(frames), 2), dtype=np.float32)
    co[:, 0], co[:, 1] = frames, values
    fcurve.keyframe_points.add(len(frames))
    fcurve.keyframe_points.foreach_set("co", co.ravel())
    if interpolation is not None:
        fcurve.keyframe_points.foreach_set(
            "interpolation", np.full(len(frames), _INTERPOLATION[interpolation], dtype=np.int32))
    fcurve.update()  # sorts keys and computes handles
