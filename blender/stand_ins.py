"""Stand-in meshes so renders show something: a capsule body skinned to any armature,
and a cartoon head with ARKit shape keys. The geometry is ``pictures/`` (bpy-free); this
module only turns it into objects (mesh, materials, vertex groups, shape keys)."""
from __future__ import annotations

import bpy
import numpy as np

from ..motion.bone_map import BoneMap
from ..pictures.body import body_mesh, head_ball
from ..pictures.face_mesh import COLOURS, MATERIALS, build_face, face_height
from .rig_retarget import current_bone_map

BODY_COLOUR = (0.35, 0.55, 0.80, 1.0)


def material(name: str, colour: tuple[float, float, float, float]) -> bpy.types.Material:
    """A material with ``colour`` as its viewport/Workbench colour (created or reused)."""
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    mat.diffuse_color = colour
    return mat


def mesh_object(name: str, vertices: np.ndarray, faces, collection=None) -> bpy.types.Object:
    """A new mesh object from vertices and faces, linked into ``collection`` (default:
    the scene's), smooth shaded."""
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([tuple(v) for v in np.asarray(vertices, float)], [], [tuple(f) for f in faces])
    mesh.shade_smooth()
    mesh.validate()
    obj = bpy.data.objects.new(name, mesh)
    (collection or bpy.context.scene.collection).objects.link(obj)
    return obj


def add_body(armature: bpy.types.Object, bone_map: BoneMap | None = None, *,
             colour: tuple[float, float, float, float] = BODY_COLOUR,
             with_head: bool = True, name: str | None = None) -> bpy.types.Object:
    """A capsule body for ``armature`` (its bone map: given, stored, or matched
    automatically), parented to it with an Armature modifier and one vertex group per
    mapped bone, so it follows any Action on the armature."""
    mapped, heads, tails = _rest_joints(armature, bone_map)
    mesh, owners = body_mesh(heads, tails, with_head=with_head)
    obj = mesh_object(name or f"{armature.name}_body", mesh.vertices, mesh.faces,
                      armature.users_collection[0])
    obj.data.materials.append(material(f"{obj.name}_colour", colour))
    obj.parent = armature  # vertices are in armature space: no parent inverse needed
    for k, joint in enumerate(owners):
        group = obj.vertex_groups.new(name=mapped[joint])
        group.add(np.flatnonzero(mesh.owners == k).tolist(), 1.0, 'REPLACE')
    obj.modifiers.new("Armature", 'ARMATURE').object = armature
    return obj


def _rest_joints(armature: bpy.types.Object, bone_map: BoneMap | None):
    """(joint -> bone, joint -> rest head, joint -> rest tail) in armature space."""
    bone_map = bone_map or current_bone_map(armature)
    bones = armature.data.bones
    mapped = {j: b for j, b in bone_map.bones.items() if b in bones}
    heads = {j: np.array(bones[b].head_local) for j, b in mapped.items()}
    tails = {j: np.array(bones[b].tail_local) for j, b in mapped.items()}
    return mapped, heads, tails


def add_face_on_head(armature: bpy.types.Object, bone_map: BoneMap | None = None,
                     name: str = "CadenceFace") -> bpy.types.Object:
    """The cartoon head (:func:`add_face`) sized and placed where :func:`add_body` puts
    a head, parented to the head bone; use with ``add_body(..., with_head=False)``."""
    from mathutils import Matrix

    mapped, heads, tails = _rest_joints(armature, bone_map)
    centre, radius = head_ball(heads, tails)
    face = add_face(name, armature.users_collection[0])
    size = 2.0 * radius * 1.1 / face_height()
    world = armature.matrix_world @ Matrix.Translation(tuple(centre)) @ Matrix.Scale(size, 4)
    attach_to_bone(face, armature, mapped["head"], world)
    return face


def add_face(name: str = "CadenceFace", collection=None) -> bpy.types.Object:
    """The cartoon head of ``pictures/face_mesh.py``: materials skin/dark/white/lips and
    one shape key per ARKit shape it models (named exactly as ARKit names them)."""
    face = build_face()
    obj = mesh_object(name, face.vertices, face.faces, collection)
    for m in MATERIALS:
        obj.data.materials.append(material(f"cadence_face_{m}", COLOURS[m]))
    obj.data.polygons.foreach_set("material_index", np.asarray(face.materials, dtype=np.int32))
    obj.shape_key_add(name="Basis", from_mix=False)
    for shape, positions in face.shape_keys.items():
        key = obj.shape_key_add(name=shape, from_mix=False)
        key.data.foreach_set("co", positions.astype(np.float32).ravel())
    obj.data.update()
    return obj


def attach_to_bone(obj: bpy.types.Object, armature: bpy.types.Object, bone: str,
                   world_matrix) -> None:
    """Parent ``obj`` to ``armature``'s ``bone`` keeping ``world_matrix`` (its placement
    in the armature's rest pose), so it rides along with the bone's animation."""
    pose_position = armature.data.pose_position
    armature.data.pose_position = 'REST'
    try:
        obj.parent = armature
        obj.parent_type = 'BONE'
        obj.parent_bone = bone
        bpy.context.view_layer.update()
        obj.matrix_world = world_matrix
        bpy.context.view_layer.update()
    finally:
        armature.data.pose_position = pose_position
