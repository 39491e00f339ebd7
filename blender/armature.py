"""Build an armature object from a :class:`~motion.skeleton.Skeleton`.

Bones carry the joint names, their heads sit on the joints' rest positions and their
tails point at the joint's primary child, so the rig reads as a skeleton in the
viewport. Bone orientations are simply what Blender derives from head, tail and roll
0: the bake (``blender/action.py``) handles any bone rest frame, so nothing here has to
match the skeleton's world-aligned joint frames.
"""
from __future__ import annotations

import bpy
import numpy as np

from ..motion.skeleton import CANONICAL, PRIMARY_CHILD, Skeleton

# Leaf bones get a tail along their own offset from the parent, this fraction of it,
# clamped so fingertips stay visible and long leaves do not dominate.
_LEAF_FRACTION = 0.6
_LEAF_MIN, _LEAF_MAX = 0.01, 0.12
_FALLBACK_DIRECTION = np.array([0.0, 0.0, 1.0])


def bone_tails(skeleton: Skeleton) -> np.ndarray:
    """Rest tail position of every joint's bone, (J, 3); never equal to the head.

    The tail goes to the primary child (``PRIMARY_CHILD`` for canonical names, else an
    only child), else to the joint's End Site, else along the joint's offset from its
    parent.
    """
    heads = skeleton.rest_positions()
    tails = np.empty_like(heads)
    for j, name in enumerate(skeleton.names):
        children = skeleton.children(j)
        child = PRIMARY_CHILD.get(name)
        target = None
        if child in skeleton.names:
            target = heads[skeleton.index(child)]
        elif len(children) == 1:
            target = heads[children[0]]
        elif j in skeleton.end_sites:
            target = heads[j] + np.asarray(skeleton.end_sites[j], dtype=float)
        if target is not None and np.linalg.norm(target - heads[j]) > 1e-6:
            tails[j] = target
            continue
        offset = skeleton.offsets[j] if skeleton.parents[j] >= 0 else np.zeros(3)
        length = np.linalg.norm(offset)
        direction = offset / length if length > 1e-6 else _FALLBACK_DIRECTION
        tails[j] = heads[j] + direction * np.clip(length * _LEAF_FRACTION, _LEAF_MIN, _LEAF_MAX)
    return tails


def build_armature(skeleton: Skeleton = CANONICAL, name: str = "Cadence",
                   collection: bpy.types.Collection | None = None) -> bpy.types.Object:
    """A new armature object with one bone per skeleton joint, linked into
    ``collection`` (default: the active scene's master collection) and made active.

    Edit bones can only be created in edit mode, which needs the object active in the
    view layer; the previous mode is left for object mode, as Blender's own "add"
    operators do.
    """
    context = bpy.context
    if collection is None:
        collection = context.scene.collection
    data = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, data)
    collection.objects.link(obj)

    if context.mode != 'OBJECT' and context.view_layer.objects.active is not None:
        bpy.ops.object.mode_set(mode='OBJECT')
    for other in context.selected_objects:  # else they would enter edit mode too
        other.select_set(False)
    context.view_layer.objects.active = obj
    obj.select_set(True)

    heads, tails = skeleton.rest_positions(), bone_tails(skeleton)
    bpy.ops.object.mode_set(mode='EDIT')
    try:
        edit_bones = []
        for j, joint in enumerate(skeleton.names):
            bone = data.edit_bones.new(joint)
            bone.head, bone.tail, bone.roll = heads[j], tails[j], 0.0
            bone.use_connect = False
            parent = skeleton.parents[j]
            if parent >= 0:
                bone.parent = edit_bones[parent]
            edit_bones.append(bone)
    finally:
        bpy.ops.object.mode_set(mode='OBJECT')

    for pose_bone in obj.pose.bones:
        pose_bone.rotation_mode = 'QUATERNION'
    return obj
