"""Generate from the panel's timeline of prompts (main thread only).

1. :func:`prepare_generation` reads the panel's settings into plain data (a bpy-free
   ``Timeline``, slider values, seed, ...; ``inference.runtime.jobs.GenerationSpec``) and
   checks everything that can be checked before sampling: target armature and bone map,
   timeline (empty, overlaps, end before start, empty text, the path), the scene's
   targets (read into plain data, ``blender/object_targets.py``), weights, device.
   A problem raises :class:`InputError` and nothing has changed.
2. ``inference.runtime.jobs.run_generation`` (synchronously here in :func:`generate_now`,
   or in a worker thread through ``blender/runs.py``'s ``start_job``) turns that into
   canonical motions; no bpy there.
3. ``blender/preview_action.py``'s ``finish_run`` applies the targets (look at, reach)
   and previews the result on the target.

The generated motion starts at the timeline's origin frame and is resampled to the
scene's frame rate.
"""
from __future__ import annotations

import bpy
import numpy as np

from ..inference.runtime.jobs import DeviceError, GenerationSpec, providers_for, run_generation
from ..motion.canonical_to_rig import RetargetOptions
from ..preferences import get_preferences, weights_dir
from .object_targets import read_targets
from .panel_settings import InputError, effective_target, model_info, settings_of
from .path_curve import CurvePathError, curve_ground_path, ground_frame, pace, prompt_seconds
from .preview_action import current_run, finish_run
from .rig_status import check_target
from .runs import RunContext, active_run
from .sliders import slider_values
from .timeline_build import TimelineBuild, build_timeline


def check_can_start(context: bpy.types.Context):
    """What every generator's button checks first, in this order: no other generation
    running, a target the settings allow, the motion model installed. Returns (settings,
    target object, model info); raises InputError with the reason (nothing changed)."""
    if active_run() is not None:
        raise InputError("a generation is already running: wait for it or cancel it (Esc)")
    settings = settings_of(context)
    obj = effective_target(context)
    check_target(obj, settings.allow_driven)
    info = model_info(context)
    if not info.available:
        raise InputError(info.problem)
    return settings, obj, info


def prepare_generation(context: bpy.types.Context, only_active: bool = False
                       ) -> tuple[GenerationSpec, RunContext]:
    """Plain-data inputs of a generation from the panel (reads only; sliders whose names
    the model does not know are ignored); raises InputError.

    ``only_active``: regenerate only the active prompt, keeping the rest of the variation
    on preview (the last run must be in memory, with the same timeline length)."""
    settings, obj, info = check_can_start(context)
    build = build_timeline(settings, context.scene, info.styles)
    keep = active_prompt_keep(context, build) if only_active else None
    if settings.fast_preview and keep is not None:
        raise InputError("Fast Preview samples whole timelines: turn it off to regenerate one prompt")
    prefs = get_preferences(context)
    device = str(getattr(prefs, "device", 'AUTO'))
    if device == 'CUDA':  # say so now rather than after the model loads in the worker
        try:
            providers_for(device)
        except DeviceError as exc:
            raise InputError(str(exc)) from exc
    path, warnings = None, []
    if build.path is not None:
        path, warnings = target_path(context, obj, build, settings)
    last = build.origin + int(round(build.timeline.end * build.fps)) - 1
    targets = read_targets(context, (build.origin, last))
    spec = GenerationSpec(
        timeline=build.timeline, styles=slider_values(settings.styles, info.styles),
        seed=int(settings.seed), variations=int(settings.variations),
        steps=int(settings.steps) or None, text_guidance=float(settings.text_guidance),
        style_guidance=float(settings.style_guidance), weights_dir=weights_dir(context) or None,
        threads=int(getattr(prefs, "threads", 0)) or None, device=device,
        fps=build.fps, keep=keep, path=path, solver="distilled" if settings.fast_preview else None)
    run = RunContext(context.scene.name, obj.name, build.origin, build.fps, build.layout,
                     RetargetOptions(root_motion=settings.root_motion, foot_cleanup=settings.foot_cleanup),
                     bool(settings.allow_driven), bool(settings.play_preview), warnings=warnings,
                     path_index=None if build.path is None else build.path[0], targets=targets)
    return spec, run


def target_path(context: bpy.types.Context, obj: bpy.types.Object, build: TimelineBuild, settings):
    """((segment index, path in canonical metres for ``obj``), warnings) for the prompt
    with a path: the curve read in the frame the motion will be baked in, so that the
    hips follow it in the world. Raises InputError."""
    index, curve, facing = build.path
    entry = build.layout[index]
    where = f"{entry['track']}, {entry['text']!r}"
    if settings.root_motion == 'in_place':
        raise InputError(f"{where} walks a path, but Root Motion is In Place (Retarget): set it to Hips "
                         "or Root so that the character travels")
    depsgraph = context.evaluated_depsgraph_get()  # world matrices as they are now
    try:
        frame = ground_frame(obj, depsgraph=depsgraph)
        face = None if facing is None else np.array(facing.evaluated_get(depsgraph).matrix_world.translation)
        read = curve_ground_path(curve, frame, depsgraph, face)
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
    """Why Regenerate This Prompt is disabled (None: it can run)."""
    try:
        active_prompt_keep(context)
    except InputError as exc:
        return str(exc)
    return None


def generate_now(context: bpy.types.Context, only_active: bool = False) -> bpy.types.Action:
    """Generate synchronously (scripts, tests, the operator's execute) and preview it."""
    spec, run = prepare_generation(context, only_active)
    return finish_run(context, run, run_generation(spec))
