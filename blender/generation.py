"""The Generate / preview / Bake workflow behind the Cadence panel (main thread only).

1. :func:`prepare_generation` reads the panel's settings into plain data (a bpy-free
   ``Timeline``, slider values, seed, ...; ``inference/jobs.GenerationSpec``) and checks
   everything that can be checked before sampling: target armature and bone map,
   timeline (empty, overlaps, end before start, empty text), weights. A problem raises
   :class:`InputError` and nothing has changed.
2. ``inference.runtime.jobs.run_generation`` (synchronously, or in a worker thread through
   ``GenerationJob``) turns that into canonical motions; no bpy there.
3. :func:`apply_result` retargets one variation onto the target as a *preview*: a
   temporary action (``Cadence Preview``) that replaces the previous preview, remembering
   the armature's own action and pose so that :func:`clear_preview` restores them.
   :func:`show_variation` steps through the variations of the last run (held in memory).
4. :func:`bake_preview` turns the preview into a named action with a fake user (and
   optionally NLA strips, one per prompt), keeps the user's actions, and stores the bone
   map used on the armature.

Timeline frames are scene frames; time 0 of the generated motion is the earlier of the
scene's first frame and the first prompt's start, and the motion is resampled to the
scene's frame rate.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

import bpy

from typing import TYPE_CHECKING

from ..errors import CadenceError
from ..inference.runtime.model_info import ModelInfo, motion_model_info
from ..motion.rig_retarget import RetargetOptions
from ..timeline_properties import ALL_PARTS, PART_ITEMS
from .action_slots import active_slot, active_slot_identifier, assign_action, set_strip_slot
from .rig_retarget import (MAP_PROPERTY, RigError, armature_problem, automatic_bone_map,
                           check_bone_map, driven_bones, read_rest_rig, retarget_onto,
                           stored_bone_map)
from .scene import scene_fps

if TYPE_CHECKING:  # imported where used: registering stays light
    from ..inference.runtime.jobs import GenerationJob, GenerationSpec, JobResult
    from ..inference.motion.timeline import Timeline

PREVIEW_ACTION_NAME = "Cadence Preview"
PREVIEW_TAG = "cadence_preview"             # custom property on the preview action: the run's layout
RESTORE_PROPERTY = "cadence_preview_restore"  # on the armature: its pose before the preview
PART_ORDER = tuple(item[0] for item in PART_ITEMS)
MAX_RUNS_KEPT = 4


class InputError(CadenceError, ValueError):
    """The panel's settings cannot be generated or baked; the message says what to change."""


# --- settings and model ------------------------------------------------------------------

def settings_of(context: bpy.types.Context):
    return context.scene.cadence


def weights_dir(context: bpy.types.Context) -> str:
    from ..preferences import weights_dir as prefs_weights_dir
    return prefs_weights_dir(context)


def model_info(context: bpy.types.Context) -> ModelInfo:
    """The motion model's styles and defaults (metadata only; no onnxruntime)."""
    return motion_model_info(weights_dir(context))


# --- sliders -----------------------------------------------------------------------------

def sync_sliders(collection, names) -> bool:
    """Make ``collection`` hold one slider per name, in order, keeping the values of
    names it already had. Returns True when it changed anything."""
    names = list(names)
    if [s.name for s in collection] == names:
        return False
    values = {s.name: s.value for s in collection}
    collection.clear()
    for name in names:
        item = collection.add()
        item.name = name
        item.value = values.get(name, 0.0)
    return True


def sync_scene_sliders(context: bpy.types.Context) -> bool:
    """Style sliders of the scene (and of prompts with their own) from the model's list."""
    from .speech_input import speech_emotion_names
    settings = settings_of(context)
    changed = sync_sliders(settings.speech_emotions, speech_emotion_names(weights_dir(context)))
    info = model_info(context)
    if not info.available or not info.styles:
        return changed
    changed |= sync_sliders(settings.styles, info.styles)
    for track in settings.tracks:
        for seg in track.segments:
            if seg.use_style:
                changed |= sync_sliders(seg.styles, info.styles)
    return changed


def sync_segment_sliders(segment, context: bpy.types.Context) -> bool:
    info = model_info(context)
    if not info.available:
        return False
    return sync_sliders(segment.styles, info.styles)


def sliders_in_sync(context: bpy.types.Context) -> bool:
    from .speech_input import speech_emotion_names
    settings = settings_of(context)
    if [s.name for s in settings.speech_emotions] != list(speech_emotion_names(weights_dir(context))):
        return False
    info = model_info(context)
    if not info.available:
        return True
    names = list(info.styles)
    if [s.name for s in settings.styles] != names:
        return False
    return all([s.name for s in seg.styles] == names
               for track in settings.tracks for seg in track.segments if seg.use_style)


_SYNC_PENDING: dict[str, float] = {}  # scene name -> when a sync was scheduled


def request_slider_sync(context: bpy.types.Context) -> None:
    """From a panel's draw (which may not write data): sync the sliders on a timer."""
    import time
    scene_name = context.scene.name
    if time.monotonic() - _SYNC_PENDING.get(scene_name, -1e9) < 2.0:
        return
    _SYNC_PENDING[scene_name] = time.monotonic()

    def run() -> None:
        _SYNC_PENDING.pop(scene_name, None)
        scene = bpy.data.scenes.get(scene_name)
        if scene is None:
            return None
        with bpy.context.temp_override(scene=scene):
            if sync_scene_sliders(bpy.context):
                for window in bpy.context.window_manager.windows:
                    for area in window.screen.areas:
                        area.tag_redraw()
        return None

    bpy.app.timers.register(run, first_interval=0.0)


def reset_sliders(context: bpy.types.Context) -> None:
    """All sliders to 0, guidance and steps to the model's defaults."""
    settings = settings_of(context)
    sync_scene_sliders(context)
    for slider in settings.styles:
        slider.value = 0.0
    defaults = model_info(context).defaults
    settings.text_guidance = float(defaults.get("text_guidance", 2.5))
    settings.style_guidance = float(defaults.get("style_guidance", 2.0))
    settings.steps = 0


def slider_values(collection, names, keep_zero: bool = False) -> dict[str, float]:
    known = set(names)
    return {s.name: float(s.value) for s in collection
            if s.name in known and (keep_zero or s.value > 0.0)}


# --- target --------------------------------------------------------------------------------

def effective_target(context: bpy.types.Context) -> bpy.types.Object | None:
    """The panel's Target, else the active object when it is an armature."""
    settings = settings_of(context)
    if settings.target is not None:
        return settings.target
    obj = context.active_object
    return obj if obj is not None and obj.type == 'ARMATURE' else None


@dataclass
class RigStatus:
    text: str
    icon: str
    convention: str = ""
    mapped: int = 0
    stored: bool = False
    ok: bool = False


_STATUS_CACHE: dict[tuple, RigStatus] = {}
RIG_NAMES = {
    "smpl": "SMPL-X", "mixamo": "Mixamo", "rigify_deform": "Rigify (deform bones)",
    "rigify_original": "Rigify meta-rig (ORG bones)", "blender_metarig": "Blender human meta-rig",
    "rigify_control": "Rigify control rig (FK controls)",
    "unreal": "Unreal mannequin", "unity_humanoid": "Unity humanoid", "vrm": "VRM / VRoid",
    "mmd": "MMD", "character_creator": "Character Creator", "daz_genesis": "Daz Genesis",
    "max_biped": "3ds Max Biped", "geometry": "Unrecognised names (mapped by shape)",
    "custom": "Custom",
}


def rig_type_name(convention: str) -> str:
    """A readable name for a bone-map convention (``mixamo+geometry`` included)."""
    base, plus, _ = convention.partition("+")
    name = RIG_NAMES.get(base, base.replace("_", " ").title())
    return f"{name}, partly by shape" if plus else name


def rig_status(obj: bpy.types.Object | None) -> RigStatus:
    """The target's rig type and mapping status for the panel (cached per rig state)."""
    problem = armature_problem(obj)
    if problem:
        return RigStatus(problem[0].upper() + problem[1:], 'ERROR')
    stored_text = obj.data.get(MAP_PROPERTY) or ""
    key = (obj.name, obj.data.name, len(obj.data.bones), stored_text)
    if key in _STATUS_CACHE:
        return _STATUS_CACHE[key]
    try:
        bone_map = stored_bone_map(obj)
        stored = bone_map is not None
        if bone_map is None:
            bone_map = automatic_bone_map(obj)
        bone_map = check_bone_map(obj, read_rest_rig(obj), bone_map)
        how = "stored map" if stored else "detected, not stored yet"
        status = RigStatus(f"{rig_type_name(bone_map.convention)}: "
                           f"{len(bone_map.bones)} bones mapped ({how})", 'CHECKMARK',
                           bone_map.convention, len(bone_map.bones), stored, True)
    except (RigError, ValueError) as exc:
        status = RigStatus(f"Bone map: {exc}", 'ERROR')
    if len(_STATUS_CACHE) > 64:
        _STATUS_CACHE.clear()
    _STATUS_CACHE[key] = status
    return status


def check_target(obj: bpy.types.Object | None, allow_driven: bool = False) -> None:
    """Raise InputError when the motion cannot go onto ``obj`` (before any sampling)."""
    problem = armature_problem(obj)
    if problem:
        raise InputError(problem[0].upper() + problem[1:] +
                         " (or set the Target in the Cadence panel)")
    rig = read_rest_rig(obj)
    try:
        bone_map = check_bone_map(obj, rig, stored_bone_map(obj) or automatic_bone_map(obj, rig))
    except (RigError, ValueError) as exc:
        raise InputError(f"{obj.name!r}: {exc}") from exc
    if not allow_driven:
        driven = driven_bones(obj, set(bone_map.bones.values()))
        if driven:
            listed = ", ".join(sorted(driven)[:4]) + (" ..." if len(driven) > 4 else "")
            raise InputError(f"bones of {obj.name!r} that the motion drives are controlled by "
                             f"constraints or drivers ({listed}); disable them or enable "
                             "Allow Driven Bones")


# --- timeline ------------------------------------------------------------------------------

def segment_parts(segment) -> tuple[str, ...]:
    parts = set(segment.parts)
    if parts >= ALL_PARTS:
        return ("full_body",)
    return tuple(p for p in PART_ORDER if p in parts)


def segment_label(segment) -> str:
    parts = segment_parts(segment)
    if parts == ("full_body",):
        return "Full Body"
    if set(parts) == {"left_arm", "right_arm"}:
        return "Arms"
    return ", ".join(dict(item[:2] for item in PART_ITEMS)[p] for p in parts) or "No Parts"


@dataclass
class TimelineBuild:
    timeline: Timeline
    origin: int                       # scene frame of time 0
    fps: float
    layout: list[dict] = field(default_factory=list)  # per segment: track, text, start, end (frames)
    path: tuple[int, bpy.types.Object] | None = None  # (segment index, its Curve): the prompt with a path


def _check_path(segment, where: str) -> None:
    """A prompt's path: a Curve object with a walkable first spline, on a prompt that
    drives the legs. Raises InputError (cheap: the curve's own points, no depsgraph)."""
    from .path_curve import CurvePathError, curve_ground_path, path_object_problem
    obj = segment.path
    problem = path_object_problem(obj)
    if problem:
        raise InputError(f"{where}: {problem}")
    if "legs" not in set(segment.parts):
        raise InputError(f"{where}: a path moves the whole body along the ground, so the prompt must "
                         "drive the legs: tick Legs in its body parts (or clear its Path)")
    try:
        curve_ground_path(obj)
    except CurvePathError as exc:
        raise InputError(f"{where}: {exc}") from exc


def track_label(track, index: int) -> str:
    return f"track {track.name!r}" if track.name else f"track {index + 1}"


def build_timeline(settings, scene: bpy.types.Scene, style_names=()) -> TimelineBuild:
    """The bpy-free timeline of the panel's tracks (muted ones left out), in seconds from
    the origin frame. Raises InputError naming the track, prompt and frames at fault."""
    from ..inference.motion.timeline import Segment, Timeline, TimelineError, Track
    fps = scene_fps(scene)
    live = [(ti, tr) for ti, tr in enumerate(settings.tracks) if not tr.mute]
    entries = [(ti, tr, si, seg) for ti, tr in live for si, seg in enumerate(tr.segments)
               if not seg.mute]
    if not entries:
        if any(len(tr.segments) for tr in settings.tracks):
            raise InputError("every prompt is muted: unmute a prompt or a track")
        raise InputError("the timeline is empty: add a prompt to a track (Timeline, +)")
    for ti, tr, si, seg in entries:
        where = f"{track_label(tr, ti)}, prompt {si + 1}"
        if not seg.text.strip():
            raise InputError(f"{where}: the prompt is empty: describe the motion, e.g. 'walks forward'")
        if seg.frame_end <= seg.frame_start:
            raise InputError(f"{where} {seg.text.strip()!r}: its end (frame {seg.frame_end}) is not "
                             f"after its start (frame {seg.frame_start}): set End after Start")
        if not seg.parts:
            raise InputError(f"{where} {seg.text.strip()!r}: no body parts selected")
        if seg.path is not None:
            _check_path(seg, f"{where} {seg.text.strip()!r}")
    with_path = [(ti, tr, si, seg) for ti, tr, si, seg in entries if seg.path is not None]
    if len(with_path) > 1:
        named = ", ".join(f"{seg.text.strip()!r} ({track_label(tr, ti)}, prompt {si + 1})"
                          for ti, tr, si, seg in with_path)
        raise InputError(f"only one prompt may walk a path in a generation, and {len(with_path)} have one: "
                         f"{named}; clear the Path of all but one (or mute them)")
    for ti, tr in live:
        segs = sorted((s for s in tr.segments if not s.mute), key=lambda s: s.frame_start)
        for a, b in zip(segs, segs[1:]):
            if b.frame_start < a.frame_end:
                raise InputError(
                    f"{track_label(tr, ti)}: {a.text.strip()!r} (frames {a.frame_start}-{a.frame_end}) "
                    f"overlaps {b.text.strip()!r} (frames {b.frame_start}-{b.frame_end}); prompts on "
                    "one track must not overlap: move one to another track")
    origin = min([scene.frame_start] + [seg.frame_start for _, _, _, seg in entries])
    tracks, layout, path = [], [], None
    for ti, tr in live:
        segments = []
        for si, seg in sorted(((si, s) for si, s in enumerate(tr.segments) if not s.mute),
                              key=lambda item: item[1].frame_start):
            style = slider_values(seg.styles, style_names, keep_zero=True) if seg.use_style else {}
            segments.append(Segment(seg.text.strip(), (seg.frame_start - origin) / fps,
                                    (seg.frame_end - origin) / fps, segment_parts(seg), style))
            if seg.path is not None:
                path = (len(layout), seg.path)
            layout.append({"track": tr.name or f"Track {ti + 1}", "text": seg.text.strip(),
                           "start": seg.frame_start, "end": seg.frame_end, "index": [ti, si]})
        if segments:
            tracks.append(Track(segments, tr.name or f"track {ti + 1}"))
    timeline = Timeline(tracks)
    try:
        timeline.validate()
    except TimelineError as exc:
        raise InputError(str(exc)) from exc
    return TimelineBuild(timeline, origin, fps, layout, path)


def timeline_problem(context: bpy.types.Context) -> str | None:
    try:
        build_timeline(settings_of(context), context.scene)
    except InputError as exc:
        return str(exc)
    return None


# --- generation ----------------------------------------------------------------------------

@dataclass
class RunContext:
    """What the main thread needs to apply a run's result (plain data)."""

    scene: str
    target: str
    origin: int
    fps: float
    layout: list[dict]
    options: RetargetOptions
    allow_driven: bool
    play: bool
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    warnings: list[str] = field(default_factory=list)  # reported by the operator, not errors
    path_index: int | None = None  # the segment that walks a path


@dataclass
class Run:
    context: RunContext
    result: JobResult


_RUNS: dict[str, Run] = {}


def prepare_generation(context: bpy.types.Context, only_active: bool = False
                       ) -> tuple[GenerationSpec, RunContext]:
    """Plain-data inputs of a generation from the panel (reads only; sliders whose names
    the model does not know are ignored); raises InputError.

    ``only_active``: regenerate only the active prompt, keeping the rest of the variation
    on preview (the last run must be in memory, with the same timeline length)."""
    from ..inference.runtime.jobs import GenerationSpec
    from ..preferences import get_preferences
    if active_run() is not None:
        raise InputError("a generation is already running: wait for it or cancel it (Esc)")
    settings = settings_of(context)
    obj = effective_target(context)
    check_target(obj, settings.allow_driven)
    info = model_info(context)
    if not info.available:
        raise InputError(info.problem)
    build = build_timeline(settings, context.scene, info.styles)
    keep = active_prompt_keep(context, build) if only_active else None
    prefs = get_preferences(context)
    device = str(getattr(prefs, "device", 'AUTO'))
    if device == 'CUDA':  # say so now rather than after the model loads in the worker
        from ..inference.runtime.jobs import DeviceError, providers_for
        try:
            providers_for(device)
        except DeviceError as exc:
            raise InputError(str(exc)) from exc
    path, warnings = None, []
    if build.path is not None:
        path, warnings = target_path(context, obj, build, settings)
    spec = GenerationSpec(
        timeline=build.timeline, styles=slider_values(settings.styles, info.styles),
        seed=int(settings.seed), variations=int(settings.variations),
        steps=int(settings.steps) or None, text_guidance=float(settings.text_guidance),
        style_guidance=float(settings.style_guidance), weights_dir=weights_dir(context) or None,
        threads=int(getattr(prefs, "threads", 0)) or None, device=device,
        fps=build.fps, keep=keep, path=path)
    run = RunContext(context.scene.name, obj.name, build.origin, build.fps, build.layout,
                     RetargetOptions(root_motion=settings.root_motion, foot_cleanup=settings.foot_cleanup),
                     bool(settings.allow_driven), bool(settings.play_preview), warnings=warnings,
                     path_index=None if build.path is None else build.path[0])
    return spec, run


def target_path(context: bpy.types.Context, obj: bpy.types.Object, build: TimelineBuild, settings):
    """((segment index, path in canonical metres for ``obj``), warnings) for the prompt
    with a path: the curve read in the frame the motion will be baked in, so that the
    hips follow it in the world. Raises InputError."""
    from .path_curve import CurvePathError, curve_ground_path, ground_frame, pace, prompt_seconds
    index, curve = build.path
    entry = build.layout[index]
    where = f"{entry['track']}, {entry['text']!r}"
    if settings.root_motion == 'in_place':
        raise InputError(f"{where} walks a path, but Root Motion is In Place (Retarget): set it to Hips "
                         "or Root so that the character travels")
    depsgraph = context.evaluated_depsgraph_get()  # world matrices as they are now
    try:
        frame = ground_frame(obj, depsgraph=depsgraph)
        read = curve_ground_path(curve, frame, depsgraph)
    except CurvePathError as exc:
        raise InputError(f"{where}: {exc}") from exc
    except ValueError as exc:
        raise InputError(f"{obj.name!r}: {exc}") from exc
    warnings = list(read.warnings)
    seconds = prompt_seconds(entry["start"], entry["end"], build.fps)
    speed, words, ok = pace(read.world_length, seconds)
    if not ok:
        warnings.append(f"{where} walks {read.world_length:.1f} m in {seconds:.1f} s ({speed:.1f} m/s), "
                        f"{words}")
    return (index, read.path), warnings


def active_prompt_keep(context: bpy.types.Context, build: TimelineBuild | None = None):
    """(segment indices, previous features) to regenerate the active prompt alone; raises
    InputError when that is not possible."""
    settings = settings_of(context)
    run = current_run(settings)
    if run is None:
        raise InputError("regenerating one prompt needs the last run in memory: generate the "
                         "whole timeline first")
    if not len(settings.tracks):
        raise InputError("no prompt selected")
    ti = min(settings.active_track_index, len(settings.tracks) - 1)
    track = settings.tracks[ti]
    if not len(track.segments):
        raise InputError("no prompt selected")
    key = [ti, min(track.active_segment_index, len(track.segments) - 1)]
    if build is None:
        build = build_timeline(settings, context.scene, model_info(context).styles)
    index = next((i for i, entry in enumerate(build.layout) if entry["index"] == key), None)
    if index is None:
        raise InputError("the selected prompt is muted")
    previous = run.result.timeline
    if (previous is None or build.origin != run.context.origin
            or abs(build.timeline.end - previous.end) > 1e-6):
        raise InputError("the timeline's length changed since the last run: generate the whole "
                         "timeline again")
    variation = min(settings.variation_index, len(run.result.features) - 1)
    return [index], run.result.features[variation]


def regenerate_problem(context: bpy.types.Context) -> str | None:
    try:
        active_prompt_keep(context)
    except InputError as exc:
        return str(exc)
    return None


# One generation at a time: the running job and its context (read by the panel).
_ACTIVE: list[tuple[GenerationJob, RunContext]] = []


def start_job(spec: GenerationSpec, run: RunContext, job: GenerationJob | None = None) -> GenerationJob:
    from ..inference.runtime.jobs import GenerationJob
    job = (job or GenerationJob(spec)).start()
    _ACTIVE[:] = [(job, run)]
    return job


def active_run() -> tuple[GenerationJob, RunContext] | None:
    return _ACTIVE[0] if _ACTIVE else None


def end_job(job: GenerationJob) -> None:
    if _ACTIVE and _ACTIVE[0][0] is job:
        _ACTIVE.clear()


def cancel_active() -> bool:
    """Ask the running generation to stop (the modal operator cleans up)."""
    current = active_run()
    if current is None:
        return False
    current[0].cancel()
    return True


def finish_run(context: bpy.types.Context, run: RunContext, result: JobResult) -> bpy.types.Action:
    """Keep the run in memory for variations, preview variation 0, fill the summary."""
    from ..inference.runtime.jobs import prompt_readings
    action = apply_result(context, run, result, 0)
    if run.path_index is not None and run.path_index < len(result.matches) and result.matches[run.path_index]:
        from ..inference.motion.path_follow import LOCOMOTION
        action_read = result.matches[run.path_index][0][0]
        if action_read not in LOCOMOTION:
            text = run.layout[run.path_index]["text"]
            run.warnings.append(f"{text!r} reads as {action_read!r}, not a walk or a run: the path moves "
                                "the character, but its legs may not step along it")
    _RUNS[run.token] = Run(run, result)
    while len(_RUNS) > MAX_RUNS_KEPT:
        _RUNS.pop(next(iter(_RUNS)))
    settings = settings_of(context)
    motion = result.motions[0]
    r = settings.result
    r.frames, r.seconds = motion.num_frames, motion.duration
    r.seconds_taken, r.device = result.seconds_taken, result.device
    r.variations, r.seed, r.token = len(result.motions), result.seed, run.token
    r.readings = "\n".join(prompt_readings(result))
    settings.variation_index = 0
    return action


def generate_now(context: bpy.types.Context, only_active: bool = False) -> bpy.types.Action:
    """Generate synchronously (scripts, tests, the operator's execute) and preview it."""
    from ..inference.runtime.jobs import run_generation
    spec, run = prepare_generation(context, only_active)
    return finish_run(context, run, run_generation(spec))


# --- preview -------------------------------------------------------------------------------

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
    run = _RUNS.get(settings.result.token)
    if run is None or not has_preview(settings):
        return None
    return run


def variation_problem(settings) -> str | None:
    if not has_preview(settings):
        return "no preview: generate first"
    if settings.result.variations < 2:
        return "one variation: set Variations above 1 and generate"
    if current_run(settings) is None:
        return "the variations of the last run are gone (file reloaded): generate again"
    return None


def show_variation(context: bpy.types.Context, index: int) -> bpy.types.Action:
    settings = settings_of(context)
    problem = variation_problem(settings)
    if problem:
        raise InputError(problem)
    run = current_run(settings)
    index %= len(run.result.motions)
    return apply_result(context, run.context, run.result, index)


# --- bake ----------------------------------------------------------------------------------

def bake_problem(settings) -> str | None:
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
    """A base NLA track with the whole action, and one track per timeline track with a
    strip per prompt (same action, the prompt's frames); the action is then played from
    the NLA (not as the active action)."""
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
    for track_name, segs in by_track.items():
        track = anim.nla_tracks.new(prev=None)
        track.name = f"{action.name}: {track_name}"[:63]
        for seg in sorted(segs, key=lambda s: s["start"]):
            strip(track, seg["text"], int(seg["start"]), min(int(seg["end"]), end))
    anim.action = None
