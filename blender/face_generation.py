"""Generate Face in Blender: inputs out of the scene (main thread), the result back in.

:func:`prepare_face` reads the operator's and panel's settings into a bpy-free
:class:`~cadence.inference.face_job.FaceSpec` plus a :class:`FaceRun` (object names,
frame, options), raising :class:`~cadence.blender.generation.InputError` with the reason;
the spec is run synchronously or in the worker thread; :func:`apply_face` bakes the
animation: ARKit shape keys on the mesh (``blender/shape_keys.py``), and on the
armature that deforms the mesh (or the panel's target) the head motion on the head and
neck bones and, when the mesh has no jawOpen shape key, jawOpen on the jaw bone
(``blender/face_rig.py``). Nothing is changed before the result is there, so an error
or a cancel leaves the scene as it was.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import bpy

from ..face.animation import FaceAnimation
from ..face.arkit import match_shape_keys
from ..inference.face_job import FaceSpec
from .face_rig import FaceRigResult, bake_face_rig, face_armature, face_bones
from .generation import InputError
from .scene import scene_fps, set_frame_range
from .shape_keys import FaceBakeResult, bake_face, shape_key_names


@dataclass
class FaceRun:
    mesh: str
    armature: str | None
    start_frame: int
    update_scene: bool
    drive_jaw: bool                    # the mesh has no jawOpen key: the jaw bone opens
    head: bool = True
    notes: list[str] = field(default_factory=list)


@dataclass
class FaceApplied:
    keys: FaceBakeResult | None
    rig: FaceRigResult | None
    frames: int
    notes: list[str]


def face_targets(mesh: bpy.types.Object | None, context: bpy.types.Context):
    """(matched shape-key map or None, armature with face bones or None) for ``mesh``."""
    from .generation import effective_target
    if mesh is None or mesh.type != 'MESH':
        return None, None
    names = shape_key_names(mesh)
    key_map = match_shape_keys(names) if names else None
    if key_map is not None and not key_map.keys:
        key_map = None
    arm = face_armature(mesh, effective_target(context))
    if arm is not None and not face_bones(arm):
        arm = None
    return key_map, arm


def prepare_face(context: bpy.types.Context, path: str, *, start_frame: int, emotions: dict,
                 seed: int, blinks: bool, gaze: bool, head: bool, method: str, transcript: str,
                 update_scene: bool, weights_dir: str | None) -> tuple[FaceSpec, FaceRun]:
    mesh = context.active_object
    if mesh is None or mesh.type != 'MESH':
        raise InputError("select the face mesh (with ARKit shape keys such as jawOpen, or "
                         "deformed by an armature with a jaw bone)")
    key_map, arm = face_targets(mesh, context)
    if key_map is None and arm is None:
        raise InputError(f"{mesh.name!r} has no ARKit shape keys (jawOpen, eyeBlinkLeft, ...) "
                         "and no armature with a head or jaw bone: nothing to animate")
    drive_jaw = key_map is None or "jawOpen" not in key_map.found
    notes = []
    if drive_jaw:
        if arm is not None and "jaw" in face_bones(arm):
            notes.append(f"{mesh.name!r} has no jawOpen shape key: the jaw bone "
                         f"{face_bones(arm)['jaw']!r} of {arm.name!r} opens the mouth instead")
        else:
            notes.append(f"{mesh.name!r} has no jawOpen shape key and no jaw bone was found: "
                         "the mouth will not open")
    spec = FaceSpec(path, emotions, seed, blinks, gaze, head and arm is not None,
                    scene_fps(context.scene), weights_dir or None, method.lower(),
                    transcript.strip() or None)
    return spec, FaceRun(mesh.name, arm.name if arm is not None else None, start_frame,
                         update_scene, drive_jaw, head, notes)


def apply_face(context: bpy.types.Context, run: FaceRun, anim: FaceAnimation) -> FaceApplied:
    """Bake ``anim`` as ``run`` says (main thread); InputError if the objects are gone."""
    mesh = bpy.data.objects.get(run.mesh)
    if mesh is None:
        raise InputError(f"the face mesh {run.mesh!r} was removed while the face was generated")
    arm = bpy.data.objects.get(run.armature) if run.armature else None
    if run.armature and arm is None:
        raise InputError(f"the armature {run.armature!r} was removed while the face was generated")
    names = shape_key_names(mesh)
    keys = None
    if names and match_shape_keys(names).keys:
        keys = bake_face(mesh, anim, action_name=f"{mesh.name}Face", start_frame=run.start_frame,
                         update_scene=run.update_scene)
    rig = None
    if arm is not None:
        rig = bake_face_rig(arm, anim, head=run.head, jaw=run.drive_jaw, start_frame=run.start_frame,
                            action_name=f"{arm.name}FaceRig")
    frames = anim.resample(scene_fps(context.scene)).num_frames
    if keys is None and run.update_scene:
        set_frame_range(context.scene, run.start_frame, run.start_frame + frames - 1)
    return FaceApplied(keys, rig, frames, list(run.notes))
