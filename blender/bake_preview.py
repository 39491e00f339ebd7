"""Bake: the preview becomes a named action the user keeps.

:func:`bake_preview` copies the preview action (``blender/preview_action.py``) under the
Bake name with a fake user, assigns it to the armature in the preview's slot, keeps the
armature's previous action (it would otherwise have lost its only user), stores the bone
map used on the armature, and with NLA Strips lays the action out as one strip per
prompt on one NLA track per timeline track.
"""
from __future__ import annotations

import json

import bpy

from .action_slots import active_slot, active_slot_identifier, assign_action, set_strip_slot
from .panel_settings import InputError, settings_of
from .preview_action import PREVIEW_TAG, RESTORE_PROPERTY, has_preview
from .rig_retarget import MAP_PROPERTY, armature_problem
from .runs import active_run


def bake_problem(settings) -> str | None:
    """Why Bake is disabled (None: it can bake)."""
    if active_run() is not None:
        return "a generation is running"
    if not has_preview(settings):
        return "no preview to bake: generate first"
    problem = armature_problem(settings.preview_object)
    if problem:
        return problem
    if not settings.bake_name.strip():
        return "the action name is empty"
    return None


def bake_preview(context: bpy.types.Context, name: str | None = None,
                 nla: bool | None = None) -> bpy.types.Action:
    """Turn the preview into the action ``name`` (fake user, assigned to the armature;
    with ``nla`` also one NLA strip per prompt). The armature's previous action is kept.
    Raises InputError (nothing changed)."""
    settings = settings_of(context)
    problem = bake_problem(settings)
    if problem:
        raise InputError(problem)
    name = (name if name is not None else settings.bake_name).strip()
    if not name:
        raise InputError("the action name is empty")
    nla = settings.bake_nla if nla is None else nla
    obj, preview = settings.preview_object, settings.preview_action
    info = json.loads(preview.get(PREVIEW_TAG, "{}") or "{}")
    previous = settings.preview_previous_action

    baked = preview.copy()
    baked.name = name
    baked.use_fake_user = True
    for key in (PREVIEW_TAG, MAP_PROPERTY):
        if key in baked:
            del baked[key]
    if MAP_PROPERTY in preview:
        obj.data[MAP_PROPERTY] = preview[MAP_PROPERTY]
    assign_action(obj, baked, active_slot_identifier(obj))
    if previous is not None and not previous.use_fake_user and previous.users <= 1:
        previous.use_fake_user = True  # only the preview remembered it: keep the user's action
    if RESTORE_PROPERTY in obj:
        del obj[RESTORE_PROPERTY]
    settings.preview_object = settings.preview_action = settings.preview_previous_action = None
    bpy.data.actions.remove(preview)
    if nla:
        _lay_out_nla(obj, baked, info)
    return baked


def _lay_out_nla(obj: bpy.types.Object, action: bpy.types.Action, info: dict) -> None:
    """A base NLA track with the whole action, one track per timeline track with a strip
    per prompt and a Targets track with a strip per look or reach (same action, the
    prompt's or target's frames); the action is then played from the NLA (not as the
    active action)."""
    anim = obj.animation_data
    slot = active_slot(obj)
    origin = int(info.get("origin", bpy.context.scene.frame_start))
    end = int(info.get("end", origin + max(1, int(action.frame_range[1] - action.frame_range[0]))))

    def strip(track, label: str, start: int, stop: int) -> None:
        s = track.strips.new(label[:63] or action.name, start, action)
        set_strip_slot(s, slot)
        s.action_frame_start, s.action_frame_end = start, max(stop, start + 1)
        s.frame_end = max(stop, start + 1)
        s.blend_type = 'REPLACE'

    base = anim.nla_tracks.new()
    base.name = action.name
    strip(base, action.name, origin, end)
    by_track: dict[str, list[dict]] = {}
    for seg in info.get("layout", []):
        by_track.setdefault(seg["track"], []).append(seg)
    tracks = [(f"{action.name}: {name}", segs) for name, segs in by_track.items()]
    # the Targets list, where each look and reach acts: strips on one track cannot overlap,
    # so each goes on the first Targets track free at its frames
    lanes: list[list[dict]] = []
    for t in sorted((dict(t, start=max(int(t["start"]), origin)) for t in info.get("targets", [])),
                    key=lambda t: t["start"]):
        lane = next((lane for lane in lanes if int(lane[-1]["end"]) < t["start"]), None)
        if lane is None:
            lanes.append([t])
        else:
            lane.append(t)
    tracks += [(f"{action.name}: Targets" + (f" {k + 1}" if k else ""), lane) for k, lane in enumerate(lanes)]
    for track_name, segs in tracks:
        track = anim.nla_tracks.new(prev=None)
        track.name = track_name[:63]
        for seg in sorted(segs, key=lambda s: s["start"]):
            strip(track, seg["text"], int(seg["start"]), min(int(seg["end"]), end))
    anim.action = None
