"""blender.armature: the canonical rig as a Blender armature."""
import numpy as np

from cadence.blender.armature import bone_tails, build_armature
from cadence.motion.skeleton import CANONICAL, CANONICAL_BODY, PRIMARY_CHILD


def test_bone_tails_never_degenerate():
    for skeleton in (CANONICAL, CANONICAL_BODY):
        lengths = np.linalg.norm(bone_tails(skeleton) - skeleton.rest_positions(), axis=1)
        assert lengths.min() > 0.005


def test_canonical_armature(blender):
    obj = build_armature()
    assert obj.type == 'ARMATURE' and obj.name in blender.context.scene.objects
    bones = obj.data.bones
    assert sorted(b.name for b in bones) == sorted(CANONICAL.names)
    heads = np.array([bones[n].head_local for n in CANONICAL.names])
    np.testing.assert_allclose(heads, CANONICAL.rest_positions(), atol=1e-6)
    for j, name in enumerate(CANONICAL.names):
        bone = bones[name]
        parent = CANONICAL.parents[j]
        assert (bone.parent.name if bone.parent else None) == (
            CANONICAL.names[parent] if parent >= 0 else None)
        assert not bone.use_connect and bone.length > 0.005
        if name in PRIMARY_CHILD:
            child = CANONICAL.rest_positions()[CANONICAL.index(PRIMARY_CHILD[name])]
            np.testing.assert_allclose(bone.tail_local, child, atol=1e-6)
    assert all(pb.rotation_mode == 'QUATERNION' for pb in obj.pose.bones)
    assert blender.context.mode == 'OBJECT'


def test_armature_into_collection(blender):
    collection = blender.data.collections.new("Rigs")
    blender.context.scene.collection.children.link(collection)
    obj = build_armature(CANONICAL_BODY, name="Body", collection=collection)
    assert obj.name in collection.objects and len(obj.data.bones) == 22
