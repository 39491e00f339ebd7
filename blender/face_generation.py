"""Generate Face in Blender: inputs out of the scene (main thread), the result back in.

:func:`prepare_face` reads the operator's and panel's settings into a bpy-free
:class:`~cadence.inference.face.job.FaceSpec` plus a :class:`FaceRun` (object names,
frame, options), raising :class:`~cadence.blender.panel_settings.InputError` with the reason;
the spec is run synchronously or in the worker thread; :func:`apply_face` bakes the
animation: ARKit shape keys on every mesh of the character that has some (the chosen
mesh, the armature's other meshes, the selected meshes: ``blender/face_meshes.py``), one
Action per shape-key datablock with the same timing, and on the armature that deforms
the mesh (or the panel's target) the head motion on the head and neck bones and, when
the chosen mesh has no jawOpen shape key, jawOpen on the jaw bone
(``blender/face_rig.py``). Nothing is changed before the result is there, so an error
or a cancel leaves the scene as it was.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import bpy

from ..face.animation import FaceAnimation
from ..inference.face.job import FaceSpec
from .face_meshes import FaceMesh, arkit_key_map, bake_face_meshes, face_meshes, group_by_key
from .face_rig import FaceRigResult, bake_face_rig, face_armature, face_bones
from .panel_settings import InputError, effective_target
from .scene import scene_fps, set_frame_range
from .shape_keys import FaceBakeResult


@dataclass
class FaceRun:
    mesh: str                          # the chosen face mesh ("" when an armature was chosen)
    armature: str | None
    start_frame: int
    update_scene: bool
    drive_jaw: bool                    # the chosen mesh has no jawOpen key: the jaw bone opens
    head: bool = True
    notes: list[str] = field(default_factory=list)
    meshes: list[str] = field(default_factory=list)   # objects whose ARKit keys are driven


@dataclass
class FaceApplied:
    keys: FaceBakeResult | None        # the first mesh's bake (the chosen mesh's when it has keys)
    rig: FaceRigResult | None
    frames: int
    notes: list[str]
    meshes: list[FaceMesh] = field(default_factory=list)
    bakes: list[FaceBakeResult] = field(default_factory=list)   # one per entry of ``meshes``


def selected_objects(context: bpy.types.Context) -> list[bpy.types.Object]:
    return list(getattr(context, "selected_objects", None) or [])


def face_targets(obj: bpy.types.Object | None, context: bpy.types.Context,
                 selected: list[bpy.types.Object] | None = None
                 ) -> tuple[list[FaceMesh], bpy.types.Object | None]:
    """(meshes whose ARKit keys are driven, armature with face bones or None) for the
    chosen ``obj`` (a mesh or an armature) and the selection (default: the context's)."""
    if selected is None:
        selected = selected_objects(context)
    chosen = obj if obj is not None and obj.type in ('MESH', 'ARMATURE') else None
    meshes = face_meshes(chosen, selected, context.scene)
    if chosen is not None and chosen.type == 'ARMATURE':
        arm = chosen
    else:
        mesh = chosen or (meshes[0].obj if meshes else None)
        arm = face_armature(mesh, effective_target(context)) if mesh is not None else None
    if arm is not None and not face_bones(arm):
        arm = None
    return meshes, arm


def prepare_face(context: bpy.types.Context, path: str, *, start_frame: int, emotions: dict,
                 seed: int, blinks: bool, gaze: bool, head: bool, method: str, transcript: str,
                 update_scene: bool, weights_dir: str | None,
                 all_meshes: bool = True) -> tuple[FaceSpec, FaceRun]:
    """``all_meshes``: drive every mesh of the character and the selection; False: the
    chosen mesh only (as before multi-mesh faces)."""
    obj = context.active_object
    selected = selected_objects(context) if all_meshes else []
    if obj is not None and obj.type not in ('MESH', 'ARMATURE'):
        obj = None
    if obj is None and not any(o.type == 'MESH' for o in selected):
        raise InputError("select the face mesh (with ARKit shape keys such as jawOpen, or "
                         "deformed by an armature with a jaw bone)")
    meshes, arm = face_targets(obj, context, selected)
    if not all_meshes:                         # the chosen mesh, or the armature's best one
        meshes = [m for m in meshes if obj in m.objects] if obj is not None and obj.type == 'MESH' \
            else meshes[:1]
    if obj is None or obj.type != 'MESH':      # an armature or the selection: its best mesh
        mesh = meshes[0].obj if meshes else None
    else:
        mesh = obj
    who = (mesh or obj or selected[0]).name
    if not meshes and arm is None:
        raise InputError(f"{who!r} has no ARKit shape keys (jawOpen, eyeBlinkLeft, ...) "
                         "and no armature with a head or jaw bone: nothing to animate")
    key_map = arkit_key_map(mesh)
    drive_jaw = key_map is None or "jawOpen" not in key_map.found
    jaw_keys = [n for m in meshes if "jawOpen" in m.key_map.keys for n in m.names]
    notes = []
    if drive_jaw:
        if arm is not None and "jaw" in face_bones(arm):
            notes.append(f"{who!r} has no jawOpen shape key: the jaw bone "
                         f"{face_bones(arm)['jaw']!r} of {arm.name!r} opens the mouth instead")
        elif not jaw_keys:
            notes.append(f"{who!r} has no jawOpen shape key and no jaw bone was found: "
                         "the mouth will not open")
    spec = FaceSpec(path, emotions, seed, blinks, gaze, head and arm is not None,
                    scene_fps(context.scene), weights_dir or None, method.lower(),
                    transcript.strip() or None)
    return spec, FaceRun(mesh.name if mesh is not None else "", arm.name if arm is not None else None,
                         start_frame, update_scene, drive_jaw, head, notes,
                         [n for m in meshes for n in m.names])


def apply_face(context: bpy.types.Context, run: FaceRun, anim: FaceAnimation) -> FaceApplied:
    """Bake ``anim`` as ``run`` says (main thread); InputError if the objects are gone."""
    objects = []
    for name in run.meshes or ([run.mesh] if run.mesh else []):
        obj = bpy.data.objects.get(name)
        if obj is None:
            raise InputError(f"the face mesh {name!r} was removed while the face was generated")
        objects.append(obj)
    arm = bpy.data.objects.get(run.armature) if run.armature else None
    if run.armature and arm is None:
        raise InputError(f"the armature {run.armature!r} was removed while the face was generated")
    meshes = group_by_key(objects, run.mesh or None)
    bakes = bake_face_meshes(meshes, anim, start_frame=run.start_frame,
                             update_scene=run.update_scene)
    rig = None
    if arm is not None:
        rig = bake_face_rig(arm, anim, head=run.head, jaw=run.drive_jaw, start_frame=run.start_frame,
                            action_name=f"{arm.name}FaceRig")
    frames = anim.resample(scene_fps(context.scene)).num_frames
    if not bakes and run.update_scene:
        set_frame_range(context.scene, run.start_frame, run.start_frame + frames - 1)
    return FaceApplied(bakes[0] if bakes else None, rig, frames, list(run.notes), meshes, bakes)
