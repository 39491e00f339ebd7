"""Retargeting a real take onto programmatically built rigs of several naming conventions,
in Blender: hands, feet and bone directions follow the canonical motion; bad input is
refused with a clear message and nothing changes."""
import json
from pathlib import Path

import numpy as np
import pytest

from cadence.motion import rotations as rot
from cadence.motion.canonical_to_rig import RetargetOptions, pose_heads
from cadence.motion.convert import load_canonical_motion
from cadence.motion.skeleton import PRIMARY_CHILD

import rig_builders as rb

FIXTURE = Path(__file__).parent / "fixtures" / "bandai_walk_normal.bvh"
HANDS_FEET = ("left_wrist", "right_wrist", "left_ankle", "right_ankle", "left_foot", "right_foot")


@pytest.fixture(scope="module")
def walk():
    return load_canonical_motion(FIXTURE)


def world_heads(bpy, obj, names, frames):
    """World-space heads (F, len(names), 3) as Blender evaluates them."""
    out = []
    for f in frames:
        bpy.context.scene.frame_set(f)
        out.append([np.array(obj.matrix_world @ obj.pose.bones[n].head) for n in names])
    return np.array(out)


def rig_errors(bpy, spec, obj, motion, frames):
    """Errors in canonical metres/degrees: (hands and feet max, all joints on canonical
    positions max, bone directions max)."""
    joints = {j: b for j, b in spec.joints.items()
              if np.allclose(spec.bones[b][1], rb.P[rb.J[j]])}
    names = list(joints.values())
    heads = spec.to_canonical_space(world_heads(bpy, obj, names, [f + 1 for f in frames]))
    positions = motion.positions()[frames]
    col = {j: k for k, j in enumerate(joints)}
    err = {j: np.linalg.norm(heads[:, col[j]] - positions[:, rb.J[j]], axis=-1).max() for j in joints}
    angles = []
    for j, child in PRIMARY_CHILD.items():
        if j in col and child in col:
            a = rot.normalize(heads[:, col[child]] - heads[:, col[j]])
            b = rot.normalize(positions[:, rb.J[child]] - positions[:, rb.J[j]])
            angles.append(np.degrees(np.arccos(np.clip(np.sum(a * b, -1), -1, 1))).max())
    return max(err[j] for j in HANDS_FEET), max(err.values()), max(angles)


@pytest.mark.parametrize("spec", rb.test_rigs(), ids=lambda s: s.label)
def test_retarget_walk_onto_rig(blender, spec, walk):
    from cadence.blender.rig_retarget import read_rest_rig, retarget_onto

    obj = rb.build_object(blender, spec)
    rig = read_rest_rig(obj)
    expected = rb.rest_rig(spec)
    order = [expected.index[n] for n in rig.names]  # Blender keeps its own bone order
    np.testing.assert_allclose(rig.heads, expected.heads[order], atol=1e-4 * spec.data_scale)
    np.testing.assert_allclose(rig.matrices, np.array(
        [obj.data.bones[n].matrix_local.to_3x3() for n in rig.names]), atol=1e-6)
    result = retarget_onto(obj, walk, action_name="walk")
    assert obj.animation_data.action == result.action
    assert result.bone_map.bones == spec.joints
    scene = blender.context.scene
    assert (scene.frame_start, scene.frame_end, scene.render.fps) == (1, walk.num_frames, 30)

    frames = list(range(0, walk.num_frames, 7)) + [walk.num_frames - 1]
    hands_feet, joints, angle = rig_errors(blender, spec, obj, walk, frames)
    print(f"\n{spec.label:18s} hands/feet {100 * hands_feet:.3f} cm  all joints "
          f"{100 * joints:.3f} cm  directions {angle:.3f} deg")
    assert hands_feet < 0.02 and joints < 0.02 and angle < 2.0
    # The bpy-free evaluation agrees with Blender's.
    ours = pose_heads(rig, result.pose)[frames]
    m = np.array(obj.matrix_world)
    theirs = world_heads(blender, obj, rig.names, [f + 1 for f in frames])
    np.testing.assert_allclose(ours @ m[:3, :3].T + m[:3, 3], theirs, atol=2e-4)


def test_rest_bones_and_unmapped_bones(blender, walk):
    from cadence.blender.rig_retarget import retarget_onto

    obj = rb.build_object(blender, rb.unreal(arm_angle=45.0))
    obj.pose.bones["root"].location = (1.0, 2.0, 3.0)  # must go back to rest
    obj.pose.bones["ik_foot_l"].location = (0.0, 0.0, 5.0)  # unmapped: the user's pose stays
    retarget_onto(obj, walk.slice(0, 10), options=RetargetOptions(root_motion="hips"))
    assert tuple(obj.pose.bones["root"].location) == (0.0, 0.0, 0.0)
    assert tuple(obj.pose.bones["ik_foot_l"].location) == (0.0, 0.0, 5.0)
    fcurves = _fcurves(obj.animation_data.action)
    assert not any('"upperarm_twist_01_l"' in f.data_path for f in fcurves)


def _fcurves(action):
    if hasattr(action, "layers") and action.layers:
        return [f for layer in action.layers for strip in layer.strips
                for bag in strip.channelbags for f in bag.fcurves]
    return list(action.fcurves)


def test_root_motion_on_root_bone(blender, walk):
    from cadence.blender.rig_retarget import retarget_onto

    obj = rb.build_object(blender, rb.unreal())
    result = retarget_onto(obj, walk, options=RetargetOptions(root_motion="root"))
    assert set(result.pose.locations) == {"root", "pelvis"}
    paths = {(f.data_path, f.array_index) for f in _fcurves(result.action)}
    assert ('pose.bones["root"].location', 0) in paths


def test_stored_map_is_reused_and_editable(blender, walk):
    from cadence.blender.rig_retarget import MAP_PROPERTY, retarget_onto

    obj = rb.build_object(blender, rb.mixamo())
    first = retarget_onto(obj, walk.slice(0, 3))
    data = first.bone_map.to_dict()
    del data["bones"]["left_foot"]  # the user edits the stored map
    obj.data[MAP_PROPERTY] = json.dumps(data)
    second = retarget_onto(obj, walk.slice(0, 3))
    assert "left_foot" not in second.bone_map.bones and "right_foot" in second.bone_map.bones


def data_state(bpy):
    return (len(bpy.data.objects), len(bpy.data.actions), bpy.context.scene.frame_end,
            tuple(o.animation_data is not None and o.animation_data.action is not None
                  for o in bpy.data.objects))


def test_no_recognisable_bones(blender, walk):
    from cadence.blender.rig_retarget import RigError, retarget_onto

    spec = rb.RigSpec("chain", {f"chain{k}": (f"chain{k - 1}" if k else None,
                                              np.array([0.0, 0.0, 0.3 * k])) for k in range(4)}, {})
    obj = rb.build_object(blender, spec)
    before = data_state(blender)
    with pytest.raises(RigError, match="cannot recognise the rig"):
        retarget_onto(obj, walk)
    assert data_state(blender) == before


def test_mesh_is_refused(blender, walk):
    from cadence.blender.rig_retarget import RigError, retarget_onto

    mesh = blender.data.objects.new("Body", blender.data.meshes.new("Body"))
    blender.context.scene.collection.objects.link(mesh)
    before = data_state(blender)
    with pytest.raises(RigError, match="is a mesh, not an armature"):
        retarget_onto(mesh, walk)
    assert data_state(blender) == before


def test_constraints_and_drivers_are_reported(blender, walk):
    from cadence.blender.rig_retarget import RigError, retarget_onto

    obj = rb.build_object(blender, rb.mixamo(prefix=""))
    obj.pose.bones["LeftForeArm"].constraints.new('COPY_ROTATION')
    before = data_state(blender)
    with pytest.raises(RigError, match="LeftForeArm: copy_rotation constraint"):
        retarget_onto(obj, walk)
    assert data_state(blender) == before
    obj.pose.bones["LeftForeArm"].constraints[0].enabled = False
    fcurve = obj.pose.bones["Head"].driver_add("rotation_quaternion", 1)
    fcurve.driver.expression = "0.1"
    with pytest.raises(RigError, match="Head: driver on rotation_quaternion"):
        retarget_onto(obj, walk)
    assert data_state(blender) == before
    retarget_onto(obj, walk.slice(0, 2), allow_driven=True)  # when the user says so


def test_linked_and_override_rigs_are_refused(blender, walk, tmp_path):
    from cadence.blender.rig_retarget import RigError, retarget_onto

    rb.build_object(blender, rb.mixamo(prefix=""), name="Linked")
    library = tmp_path / "rig.blend"
    blender.ops.wm.save_as_mainfile(filepath=str(library))
    blender.ops.wm.read_factory_settings(use_empty=True)
    with blender.data.libraries.load(str(library), link=True) as (src, dst):
        dst.objects = ["Linked"]
    linked = dst.objects[0]
    blender.context.scene.collection.objects.link(linked)
    before = data_state(blender)
    with pytest.raises(RigError, match="is linked from"):
        retarget_onto(linked, walk)
    assert data_state(blender) == before
    override = linked.override_create(remap_local_usages=True)
    with pytest.raises(RigError, match="library override"):
        retarget_onto(override, walk)


def test_blender_human_metarig(blender, walk):
    """Blender's own human meta-rig (Rigify): real proportions and rest pose, rolls as
    Rigify sets them. Bone directions follow the motion; the feet stay on the floor."""
    import addon_utils

    from cadence.blender.rig_retarget import retarget_onto

    if addon_utils.enable("rigify", default_set=True, persistent=False) is None:
        pytest.skip("Rigify is not available")
    try:
        blender.ops.object.armature_human_metarig_add()
        obj = blender.context.active_object
        result = retarget_onto(obj, walk)
    finally:
        addon_utils.disable("rigify", default_set=True)
    assert result.bone_map.convention == "blender_metarig" and len(result.bone_map.bones) == 52
    positions = walk.positions()
    pairs = [("thigh.L", "shin.L", "left_hip", "left_knee"), ("shin.R", "foot.R", "right_knee", "right_ankle"),
             ("upper_arm.L", "forearm.L", "left_shoulder", "left_elbow"),
             ("forearm.R", "hand.R", "right_elbow", "right_wrist"), ("spine.004", "spine.006", "neck", "head"),
             ("hand.L", "f_middle.01.L", "left_wrist", "left_middle1")]
    worst, legs, lowest = 0.0, 0.0, []
    for f in range(0, walk.num_frames, 3):
        blender.context.scene.frame_set(f + 1)
        head = lambda n: np.array(obj.matrix_world @ obj.pose.bones[n].head)  # noqa: E731
        for a, b, ja, jb in pairs:
            u = rot.normalize(head(b) - head(a))
            v = rot.normalize(positions[f, rb.J[jb]] - positions[f, rb.J[ja]])
            angle = np.degrees(np.arccos(np.clip(u @ v, -1, 1)))
            if a in ("thigh.L", "shin.R"):  # the foot clean-up bends the legs a little
                legs = max(legs, angle)
            else:
                worst = max(worst, angle)
        lowest.append(min(head(n)[2] for n in ("toe.L", "toe.R")))  # balls of the feet
    rest = obj.data.bones['toe.L'].head_local[2]
    print(f"\nhuman metarig: directions {worst:.3f} deg (legs {legs:.3f} deg), lowest ball of "
          f"foot {100 * min(lowest):.2f} cm (at rest {100 * rest:.2f} cm)")
    assert worst < 2.0 and legs < 15.0
    assert rest - 0.005 < min(lowest) < rest + 0.005  # the source's feet dip 3 mm
