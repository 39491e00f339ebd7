"""What the Cadence panel shows and why a button is disabled: plain functions of the
context, kept out of ``draw`` so they can be tested headless (``draw`` only lays out
what these return).

Every ``*_state`` function returns a :class:`ButtonState`: whether the button is enabled
and, when it is not, the reason shown under it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import bpy

from ..blender.bake_preview import bake_problem
from ..blender.face_meshes import face_meshes, meshes_label
from ..blender.object_targets import targets_problem
from ..blender.panel_settings import InputError, effective_target, model_info, settings_of
from ..blender.path_curve import CurvePathError, curve_ground_path, pace, prompt_seconds
from ..blender.preview_action import variation_problem
from ..blender.prompt_generation import regenerate_problem
from ..blender.rig_retarget import MAP_PROPERTY, armature_problem
from ..blender.rig_status import rig_status
from ..blender.runs import active_run
from ..blender.scene import scene_fps
from ..blender.timeline_build import build_timeline
from ..motion.bone_map import CONFIDENCE, BoneMap
from ..motion.skeleton import CANONICAL


@dataclass
class ButtonState:
    enabled: bool
    reason: str = ""

    @classmethod
    def of(cls, problem: str | None) -> ButtonState:
        return cls(problem is None, _sentence(problem) if problem else "")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def generate_problem(context: bpy.types.Context) -> str | None:
    """Why Generate cannot start (cheap enough for every redraw)."""
    if active_run() is not None:
        return "a generation is running"
    settings = settings_of(context)
    obj = effective_target(context)
    if obj is None:
        return "no target armature: pick one (Target) or add the Cadence rig"
    problem = armature_problem(obj)
    if problem:
        return problem
    status = rig_status(obj)
    if not status.ok:
        return status.text
    info = model_info(context)
    if not info.available:
        return info.problem
    try:
        build_timeline(settings, context.scene)
    except InputError as exc:
        return str(exc)
    return targets_problem(context)


def generate_state(context: bpy.types.Context) -> ButtonState:
    return ButtonState.of(generate_problem(context))


def regenerate_state(context: bpy.types.Context) -> ButtonState:
    """Regenerate the active prompt alone (keeping the rest of the preview)."""
    problem = generate_problem(context)
    return ButtonState.of(problem or regenerate_problem(context))


def bake_state(context: bpy.types.Context) -> ButtonState:
    return ButtonState.of(bake_problem(settings_of(context)))


def clear_state(context: bpy.types.Context) -> ButtonState:
    settings = settings_of(context)
    if active_run() is not None:
        return ButtonState(False, "A generation is running")
    if settings.preview_action is None and settings.preview_object is None:
        return ButtonState(False, "No preview")
    return ButtonState(True)


def variation_state(context: bpy.types.Context) -> tuple[ButtonState, str]:
    """(can step, label "Variation i / n")."""
    settings = settings_of(context)
    n = max(1, settings.result.variations)
    label = f"Variation {min(settings.variation_index, n - 1) + 1} / {n}"
    if active_run() is not None:
        return ButtonState(False, "A generation is running"), label
    return ButtonState.of(variation_problem(settings)), label


def progress_state() -> tuple[float, str] | None:
    """(fraction, text) of the running generation, or None."""
    current = active_run()
    if current is None:
        return None
    job = current[0]
    if job.cancel_requested:
        return job.progress, "Cancelling..."
    return job.progress, f"{job.message} ({job.elapsed:.0f} s)"


def summary_lines(context: bpy.types.Context) -> list[str]:
    """A compact summary of the last result (empty before the first)."""
    r = settings_of(context).result
    if r.frames <= 0:
        return []
    took = f"Took {r.seconds_taken:.1f} s on {r.device or 'CPU'}" + (", Fast Preview" if r.fast else "")
    lines = [f"{r.seconds:.1f} s, {r.frames} frames", took]
    if r.variations > 1:
        lines.append(f"{r.variations} variations, seeds {r.seed}-{r.seed + r.variations - 1}")
    else:
        lines.append(f"Seed {r.seed}")
    lines += [f"Read {line}" for line in r.readings.splitlines() if line]
    return lines


def target_lines(context: bpy.types.Context) -> list[tuple[str, str]]:
    """(text, icon) lines under the Target field: which armature and its mapping."""
    settings = settings_of(context)
    obj = effective_target(context)
    out: list[tuple[str, str]] = []
    if obj is None:
        out.append(("No armature: pick the Target or add the Cadence rig", 'INFO'))
        return out
    if settings.target is None:
        out.append((f"Using the active armature {obj.name!r}", 'OBJECT_DATA'))
    status = rig_status(obj)
    out.append((status.text, status.icon))
    return out


def segment_frames_label(segment, scene: bpy.types.Scene) -> str:
    fps = scene_fps(scene)
    seconds = (segment.frame_end - segment.frame_start) / fps
    return f"{segment.frame_start}-{segment.frame_end} ({seconds:.1f} s)"


def segment_path_line(segment, scene: bpy.types.Scene) -> tuple[str, str] | None:
    """(text, icon) under a prompt's Path: how far and how fast the character walks it
    (None without a path, or when the path cannot be read: the timeline's problem line
    says why)."""
    if segment.path is None or segment.path.type != 'CURVE':
        return None
    try:
        read = curve_ground_path(segment.path)
    except CurvePathError:
        return None
    seconds = prompt_seconds(segment.frame_start, segment.frame_end, scene_fps(scene))
    speed, words, ok = pace(read.world_length, seconds)
    return (f"Walks {read.world_length:.1f} m in {seconds:.1f} s ({speed:.1f} m/s, {words})",
            'INFO' if ok else 'ERROR')


def stored_map(obj):
    """The bone map stored on the target (Check Rig stores one for review), or None."""
    if armature_problem(obj) or not obj.data.get(MAP_PROPERTY):
        return None
    try:
        return BoneMap.from_dict(json.loads(obj.data[MAP_PROPERTY]))
    except (ValueError, TypeError):
        return None


def bone_map_rows(obj) -> list[tuple[str, str, str]]:
    """(joint, bone, icon) rows of the map stored on the target, body joints only (empty
    when no map is stored): a check mark where names found the bone, a question mark
    where only the limb shapes did (worth a look), an error icon where nothing did."""
    bone_map = stored_map(obj)
    if bone_map is None:
        return []
    rows = []
    for j in CANONICAL.names[:22]:
        bone = bone_map.bones.get(j, "")
        sure = bone_map.confidence.get(j, 1.0) >= CONFIDENCE["name"]
        rows.append((j, bone, ('CHECKMARK' if sure else 'QUESTION') if bone else 'ERROR'))
    return rows


def bone_map_summary(obj) -> list[str]:
    """The stored map's summary lines (BoneMap.summary) and its notes (bones left alone)."""
    bone_map = stored_map(obj)
    return [] if bone_map is None else bone_map.summary()


def face_meshes_line(context: bpy.types.Context) -> tuple[str, str] | None:
    """(text, icon): which meshes Generate Face will drive for the panel's Face mesh (the
    character's meshes with ARKit keys and the selected ones), or None without a Face."""
    obj = settings_of(context).face_mesh
    if obj is None:
        return None
    meshes = face_meshes(obj, getattr(context, "selected_objects", None) or [], context.scene)
    if not meshes:
        return f"No ARKit shape keys on {obj.name!r}", 'INFO'
    count = sum(len(m.objects) for m in meshes)
    return f"Drives {count} mesh{'es' if count != 1 else ''}: {meshes_label(meshes, 3)}", 'SHAPEKEY_DATA'
