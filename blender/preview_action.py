"""The preview: one variation of a run shown on its target as a temporary action.

:func:`finish_run` keeps a finished run in memory (``blender/runs.py``) and previews its
first variation; :func:`apply_result` retargets one variation onto the target as the
action ``Cadence Preview``, replacing the previous preview and remembering the
armature's own action (and slot) and pose, which :func:`clear_preview` gives back.
:func:`show_variation` steps through the variations of the last run. Bake
(``blender/bake_preview.py``) turns the preview into a named action.

("Preview" means only this: the ``pictures/`` package draws stand-in meshes and pictures.)
"""
from __future__ import annotations

import json

import bpy

from ..inference.motion.path_follow import LOCOMOTION
from ..inference.runtime.jobs import JobResult, prompt_readings
from .action_slots import active_slot_identifier, assign_action
from .object_targets import target_spans, with_targets
from .panel_settings import InputError, settings_of
from .rig_retarget import MAP_PROPERTY, RigError, retarget_onto
from .runs import Run, RunContext, keep_run, kept_run

PREVIEW_ACTION_NAME = "Cadence Preview"
PREVIEW_TAG = "cadence_preview"             # custom property on the preview action: the run's layout
RESTORE_PROPERTY = "cadence_preview_restore"  # on the armature: its pose before the preview


def finish_run(context: bpy.types.Context, run: RunContext, result: JobResult) -> bpy.types.Action:
    """Apply the run's targets (look at, reach: ``blender/object_targets.py``; InputError
    and nothing written when one cannot be met), keep the run in memory for variations,
    preview variation 0, fill the summary."""
    result = with_targets(context, run, result)
    action = apply_result(context, run, result, 0)
    if run.path_index is not None and run.path_index < len(result.matches) and result.matches[run.path_index]:
        action_read = result.matches[run.path_index][0][0]
        if action_read not in LOCOMOTION:
            text = run.layout[run.path_index]["text"]
            run.warnings.append(f"{text!r} reads as {action_read!r}, not a walk or a run: the path moves "
                                "the character, but its legs may not step along it")
    keep_run(run, result)
    settings = settings_of(context)
    motion = result.motions[0]
    r = settings.result
    r.frames, r.seconds = motion.num_frames, motion.duration
    r.seconds_taken, r.device, r.fast = result.seconds_taken, result.device, result.fast
    r.variations, r.seed, r.token = len(result.motions), result.seed, run.token
    r.readings = "\n".join(prompt_readings(result))
    settings.variation_index = 0
    return action


def _pose_snapshot(obj: bpy.types.Object) -> dict:
    return {"slot": active_slot_identifier(obj),
            "bones": {pb.name: [pb.rotation_mode, list(pb.location), list(pb.rotation_quaternion),
                                list(pb.rotation_euler), list(pb.rotation_axis_angle), list(pb.scale)]
                      for pb in obj.pose.bones}}


def _restore_pose(obj: bpy.types.Object, snapshot: dict) -> None:
    for name, (mode, loc, quat, euler, axis_angle, scale) in snapshot.get("bones", {}).items():
        pb = obj.pose.bones.get(name)
        if pb is None:
            continue
        pb.rotation_mode = mode
        pb.location, pb.rotation_quaternion, pb.rotation_euler = loc, quat, euler
        pb.rotation_axis_angle, pb.scale = axis_angle, scale


def has_preview(settings) -> bool:
    """Whether a preview is showing (its action and armature both still exist)."""
    return settings.preview_action is not None and settings.preview_object is not None


def apply_result(context: bpy.types.Context, run: RunContext, result: JobResult,
                 variation: int = 0) -> bpy.types.Action:
    """Show one variation as the preview on the run's target, replacing any preview.

    Raises InputError (nothing changed) when the target is gone or cannot take the motion.
    """
    settings = settings_of(context)
    scene = bpy.data.scenes.get(run.scene)
    if scene is None or scene != context.scene:
        raise InputError(f"the scene {run.scene!r} of this generation is no longer the current one")
    obj = bpy.data.objects.get(run.target)
    if obj is None:
        raise InputError(f"the target armature {run.target!r} is gone: generate again")
    if not 0 <= variation < len(result.motions):
        raise InputError(f"there is no variation {variation + 1} (the run made {len(result.motions)})")
    same = has_preview(settings) and settings.preview_object == obj
    snapshot = None if same else _pose_snapshot(obj)
    previous = None if same else (obj.animation_data.action if obj.animation_data else None)
    try:
        res = retarget_onto(obj, result.motions[variation], None, run.options,
                            action_name=PREVIEW_ACTION_NAME, start_frame=run.origin,
                            update_scene=False, allow_driven=run.allow_driven, store_map=False)
    except RigError as exc:
        raise InputError(str(exc)) from exc
    action = res.action
    action.use_fake_user = False
    action[PREVIEW_TAG] = json.dumps({"layout": run.layout, "origin": run.origin,
                                      "end": run.origin + res.pose.num_frames - 1,
                                      "targets": target_spans(run.targets, run.fps),
                                      "variation": variation, "token": run.token})
    action[MAP_PROPERTY] = json.dumps(res.bone_map.to_dict(), ensure_ascii=False)
    old = settings.preview_action
    if same:
        if old is not None and old != action:
            bpy.data.actions.remove(old)
    else:
        if has_preview(settings):
            clear_preview(settings)
        elif old is not None:  # a preview whose armature is gone
            bpy.data.actions.remove(old)
            settings.preview_action = None
        obj[RESTORE_PROPERTY] = json.dumps(snapshot)
        settings.preview_previous_action = previous if previous is not action else None
        settings.preview_object = obj
    settings.preview_action = action
    settings.variation_index = variation
    action.name = PREVIEW_ACTION_NAME
    if run.play:
        play_animation(context)
    return action


def play_animation(context: bpy.types.Context) -> None:
    """Start playback (the Play Preview option) unless it runs already or headless."""
    screen = getattr(context, "screen", None)
    if screen is None or screen.is_animation_playing or bpy.app.background:
        return
    try:
        bpy.ops.screen.animation_play()
    except RuntimeError:
        pass


def clear_preview(settings) -> bool:
    """Remove the preview action, give the armature back its action and pose."""
    obj, action = settings.preview_object, settings.preview_action
    if obj is None and action is None:
        return False
    if obj is not None:
        text = obj.get(RESTORE_PROPERTY)
        snapshot = json.loads(text) if text else {}
        assign_action(obj, settings.preview_previous_action, snapshot.get("slot", ""))
        if snapshot:
            _restore_pose(obj, snapshot)
        if RESTORE_PROPERTY in obj:
            del obj[RESTORE_PROPERTY]
    if action is not None:
        bpy.data.actions.remove(action)
    settings.preview_object = None
    settings.preview_action = None
    settings.preview_previous_action = None
    return True


def current_run(settings) -> Run | None:
    """The last run's variations, when they are still in memory (not after a reload)."""
    run = kept_run(settings.result.token)
    if run is None or not has_preview(settings):
        return None
    return run


def variation_problem(settings) -> str | None:
    """Why the variation stepper is disabled (None: it can step)."""
    if not has_preview(settings):
        return "no preview: generate first"
    if settings.result.variations < 2:
        return "one variation: set Variations above 1 and generate"
    if current_run(settings) is None:
        return "the variations of the last run are gone (file reloaded): generate again"
    return None


def show_variation(context: bpy.types.Context, index: int) -> bpy.types.Action:
    """Preview variation ``index`` (wrapping around) of the last run; raises InputError."""
    settings = settings_of(context)
    problem = variation_problem(settings)
    if problem:
        raise InputError(problem)
    run = current_run(settings)
    index %= len(run.result.motions)
    return apply_result(context, run.context, run.result, index)
