"""Objects as look and reach targets in Blender (issue 22; docs/path_control.md,
"Targets in Blender").

The panel's Targets (``scene.cadence.targets``, ``timeline_properties.CadenceTarget``)
name an object (an Empty, the Camera, a mesh) to look at over a frame range or to reach
with a hand at a frame. On the main thread:

1. :func:`read_targets` (before sampling) reads each unmuted target's world location,
   evaluated at each of its frames (so an animated Empty or a parented object is read
   where it is then), into plain :class:`ObjectTarget` s kept with the run; a target
   without an object or outside the generated frames is refused in one line.
2. :func:`with_targets` (when the motions arrive, before anything is written) applies
   them to every variation with ``motion/targets.py`` (``reach``, ``look_at``: the same
   passes as the command line's ``--target`` and ``--look-at``), in the frame the motion
   is baked in: world points go back through ``path_curve.ground_frame`` (the target
   armature's placement, the retargeter's leg-ratio scale and rest-pose axes). A rig's
   arms are not a scaled copy of the canonical arms, so a reach's canonical point is
   corrected until the *rig's* wrist, as the retargeter poses it (``solve_world``, foot
   clean-up and root-motion mode included), is on the object; a look's point is taken
   from the rig's head. A point out of the arm's reach makes the spine lean towards it
   (``motion.targets.reach``); one out of reach even leaning is refused with the distances.

Reading changes nothing in the scene (the current frame is restored after evaluating an
animated object at its frames).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import bpy
import numpy as np

from ..motion.canonical_to_rig import RetargetOptions, solve_world
from ..motion.kinematics import Motion, motion_world
from ..motion.rig_target import RigTarget
from ..motion.skeleton import CANONICAL
from ..motion.targets import HANDS, MAX_LEAN_DEG, REACH_BLEND, LookAt, Reach, TargetError, look_at, reach
from .panel_settings import InputError, settings_of
from .path_curve import GroundFrame, ground_frame, rig_target

KINDS = {'LOOK_AT': "look_at", 'REACH_RIGHT': "right_hand", 'REACH_LEFT': "left_hand"}
LABELS = {'LOOK_AT': "Look At", 'REACH_RIGHT': "Reach Right Hand", 'REACH_LEFT': "Reach Left Hand"}
FIT_ITERATIONS = 4     # corrections of a reach's canonical point for the rig's own arm
FIT_TOLERANCE = 0.002  # world metres: a reach this close to its object is done
_JOINT = {n: i for i, n in enumerate(CANONICAL.names)}


@dataclass
class ObjectTarget:
    """One target read out of the scene (plain data, kept with the run)."""

    kind: str             # "look_at", "right_hand" or "left_hand"
    where: str            # how messages name it: "target 1 (Reach Right Hand 'Empty', frame 40)"
    first: int            # scene frame (a reach's frame, a look's start)
    last: int             # scene frame (== first for a reach)
    points: np.ndarray    # (last - first + 1, 3) the object's world location at each frame
    label: str = ""       # how the NLA names its strip: "Look At Camera"


def describe(item, index: int) -> str:
    name = repr(item.target.name) if item.target is not None else "(no object)"
    frames = (f"frames {item.frame_start}-{item.frame_end}" if item.kind == 'LOOK_AT'
              else f"frame {item.frame_start}")
    return f"target {index + 1} ({LABELS[item.kind]} {name}, {frames})"


def timeline_frames(settings, scene: bpy.types.Scene) -> tuple[int, int] | None:
    """(first, last) scene frames a Generate makes, by ``build_timeline``'s rule (time 0 is
    the earlier of the scene's start and the first prompt; the last prompt's End belongs
    to what follows); None when no prompt is live."""
    segs = [seg for tr in settings.tracks if not tr.mute for seg in tr.segments if not seg.mute]
    if not segs:
        return None
    return min([scene.frame_start] + [s.frame_start for s in segs]), max(s.frame_end for s in segs) - 1


def target_problem(item, index: int, frames: tuple[int, int] | None,
                   within: str = "the timeline's prompts") -> str | None:
    """Why a target cannot be used (None: it can, or it is muted); ``within``: what
    makes the ``frames``, for the remedy."""
    if item.mute:
        return None
    where = describe(item, index)
    if item.target is None:
        return f"{where}: pick the object to {'look at' if item.kind == 'LOOK_AT' else 'reach'}"
    last = item.frame_end if item.kind == 'LOOK_AT' else item.frame_start
    if last <= item.frame_start and item.kind == 'LOOK_AT':
        return f"{where}: its End is not after its Start: set End after Start"
    if frames is not None and (item.frame_start < frames[0] or last > frames[1]):
        return f"{where} is outside the generated frames {frames[0]}-{frames[1]}: move it inside {within}"
    return None


def targets_problem(context: bpy.types.Context) -> str | None:
    """The first unusable target, for the line under the Targets list and Generate."""
    settings = settings_of(context)
    frames = timeline_frames(settings, context.scene)
    for i, item in enumerate(settings.targets):
        problem = target_problem(item, i, frames)
        if problem:
            return problem
    return None


def _may_move(obj: bpy.types.Object) -> bool:
    while obj is not None:
        if obj.animation_data is not None or len(obj.constraints):
            return True
        obj = obj.parent
    return False


def world_locations(context: bpy.types.Context, obj: bpy.types.Object, frames: list[int]) -> np.ndarray:
    """(len(frames), 3): ``obj``'s evaluated world location at each scene frame (the scene's
    current frame is restored)."""
    if not _may_move(obj):
        depsgraph = context.evaluated_depsgraph_get()
        where = np.array(obj.evaluated_get(depsgraph).matrix_world.translation, dtype=float)
        return np.tile(where, (len(frames), 1))
    scene = context.scene
    current, sub = scene.frame_current, scene.frame_subframe
    out = []
    try:
        for f in frames:
            scene.frame_set(f)
            depsgraph = context.evaluated_depsgraph_get()
            out.append(np.array(obj.evaluated_get(depsgraph).matrix_world.translation, dtype=float))
    finally:
        scene.frame_set(current, subframe=sub)
    return np.array(out)


def read_targets(context: bpy.types.Context, frames: tuple[int, int] | None,
                 within: str = "the timeline's prompts") -> list[ObjectTarget]:
    """The unmuted targets as plain data for a generation of scene ``frames`` (first, last;
    ``within``: what makes them, for the message). Raises InputError naming the target
    (nothing changed)."""
    out = []
    for i, item in enumerate(settings_of(context).targets):
        problem = target_problem(item, i, frames, within)
        if problem:
            raise InputError(problem)
        if item.mute:
            continue
        last = item.frame_end if item.kind == 'LOOK_AT' else item.frame_start
        points = world_locations(context, item.target, list(range(item.frame_start, last + 1)))
        if not np.all(np.isfinite(points)) or np.abs(points).max() > 10_000:
            raise InputError(f"{describe(item, i)}: the object is not within 10 km of the origin")
        out.append(ObjectTarget(KINDS[item.kind], describe(item, i), item.frame_start, last, points,
                                f"{LABELS[item.kind]} {item.target.name}"))
    return out


# --- applying them in the frame the motion is baked in ------------------------------------------

def rig_world(rig: RigTarget, motion: Motion, options: RetargetOptions, placement: GroundFrame) -> np.ndarray:
    """(T, bones, 3): every bone head of ``rig`` in the world as the retargeter poses it."""
    return placement.to_world(solve_world(rig, motion, options).heads(rig))


def _bone(rig: RigTarget, joint: str) -> int:
    bone = rig.joint_bone.get(_JOINT[joint])
    if bone is None:
        raise InputError(f"the target armature has no bone mapped to {joint.replace('_', ' ')}: "
                         "map it (Check Rig) to use this target")
    return bone


def _key(target: ObjectTarget, origin: int, motion: Motion) -> int:
    k = target.first - origin
    if not 0 <= k < motion.num_frames:
        raise InputError(f"{target.where} is outside the generated frames {origin}-"
                         f"{origin + motion.num_frames - 1}")
    return k


def fit_reaches(motion: Motion, targets: list[ObjectTarget], rig: RigTarget, options: RetargetOptions,
                frame: GroundFrame, placement: GroundFrame, origin: int) -> Motion:
    """``motion`` with each reach's wrist on its object, as the rig will show it."""
    if not targets:
        return motion
    world = rig_world(rig, motion, options, placement)
    keys = [_key(t, origin, motion) for t in targets]

    def too_far(t: ObjectTarget, k: int) -> InputError:
        s, e, w = (world[k, _bone(rig, n)] for n in HANDS[t.kind])
        arm = float(np.linalg.norm(e - s) + np.linalg.norm(w - e))
        dist = float(np.linalg.norm(t.points[0] - s))
        return InputError(f"{t.where}: the object is {dist:.2f} m from the shoulder at that frame, the arm "
                          f"reaches {arm:.2f} m, leaning at most {MAX_LEAN_DEG:g} degrees: move it closer (or "
                          "have the character walk there first)")
    inverse = np.linalg.inv(frame.linear)
    goals = [frame.to_canonical(t.points[0]) for t in targets]
    fitted = motion
    for _ in range(FIT_ITERATIONS):
        fitted = motion
        for t, k, goal in zip(targets, keys, goals):
            try:             # a point out of the arm's reach: the spine leans (motion.targets.reach)
                fitted = reach(fitted, Reach(t.kind, goal, k / motion.fps))
            except TargetError as exc:
                raise too_far(t, k) from exc
        world = rig_world(rig, fitted, options, placement)
        errors = [t.points[0] - world[k, _bone(rig, HANDS[t.kind][2])] for t, k in zip(targets, keys)]
        if max(float(np.linalg.norm(e)) for e in errors) < FIT_TOLERANCE:
            break
        goals = [g + inverse @ e for g, e in zip(goals, errors)]
    return fitted


def fit_looks(motion: Motion, targets: list[ObjectTarget], rig: RigTarget, options: RetargetOptions,
              frame: GroundFrame, placement: GroundFrame, origin: int) -> Motion:
    """``motion`` with the head turned towards each look's object, seen from the rig's head."""
    if not targets:
        return motion
    inverse = np.linalg.inv(frame.linear)
    head_bone = _bone(rig, "head")
    for t in targets:
        a = _key(t, origin, motion)
        b = min(t.last - origin, motion.num_frames - 1)
        world = rig_world(rig, motion, options, placement)
        _, pos = motion_world(motion)
        span = np.arange(a, b + 1)
        points = np.empty((motion.num_frames, 3))
        # the direction from the rig's head to the object, from the canonical head
        points[span] = pos[span, _JOINT["head"]] + (t.points[:len(span)] - world[span, head_bone]) @ inverse.T
        points[:a], points[b + 1:] = points[a], points[b]
        motion = look_at(motion, LookAt(points, a / motion.fps, b / motion.fps))
    return motion


def target_spans(targets: list[ObjectTarget], fps: float) -> list[dict]:
    """Where each target acts, in scene frames, for the NLA's Targets track: a look from
    its Start to its End, a reach over the frames it eases in and out (REACH_BLEND each
    side of its frame)."""
    blend = int(round(REACH_BLEND * fps))
    return [{"text": t.label or t.where, "start": t.first if t.kind == "look_at" else t.first - blend,
             "end": t.last if t.kind == "look_at" else t.first + blend} for t in targets]


def apply_object_targets(motion: Motion, targets: list[ObjectTarget], rig: RigTarget,
                         options: RetargetOptions, frame: GroundFrame, placement: GroundFrame,
                         origin: int) -> Motion:
    """Reaches first, then looks (as ``motion.targets.apply_targets``)."""
    reaches = [t for t in targets if t.kind != "look_at"]
    looks = [t for t in targets if t.kind == "look_at"]
    motion = fit_reaches(motion, reaches, rig, options, frame, placement, origin)
    return fit_looks(motion, looks, rig, options, frame, placement, origin)


def placement_of(obj: bpy.types.Object, rig: RigTarget, depsgraph) -> GroundFrame:
    """Rig units in canonical axes (``solve_world``'s heads) -> the world."""
    m = np.array(obj.evaluated_get(depsgraph).matrix_world, dtype=float)
    return GroundFrame(m[:3, :3] @ rig.axes.T, m[:3, 3])


def with_targets(context: bpy.types.Context, run, result):
    """``result`` with the run's targets applied to every variation (``result`` itself
    when it has none or the target armature is gone). Raises InputError; writes nothing."""
    targets = getattr(run, "targets", None)
    obj = bpy.data.objects.get(run.target)
    if not targets or obj is None:
        return result
    depsgraph = context.evaluated_depsgraph_get()
    try:
        rig = rig_target(obj)
        frame = ground_frame(obj, run.options.scale, depsgraph)
    except ValueError as exc:
        raise InputError(f"{obj.name!r}: {exc}") from exc
    placement = placement_of(obj, rig, depsgraph)
    motions = [apply_object_targets(m, targets, rig, run.options, frame, placement, run.origin)
               for m in result.motions]
    return dataclasses.replace(result, motions=motions)


__all__ = ["KINDS", "LABELS", "ObjectTarget", "apply_object_targets", "describe", "placement_of",
           "read_targets", "rig_world", "target_problem", "targets_problem", "target_spans", "timeline_frames",
           "with_targets", "world_locations"]
