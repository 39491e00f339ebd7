"""Retarget operators: bake the scene's motion file onto the active armature; bad input
is reported and changes nothing; bone maps are detected, stored, loaded and saved."""
import json
from pathlib import Path

import pytest

import rig_builders as rb

WALK = Path(__file__).parent / "fixtures" / "bandai_walk_normal.bvh"


@pytest.fixture
def presets(monkeypatch, tmp_path):
    monkeypatch.setenv("CADENCE_PRESET_DIR", str(tmp_path / "presets"))
    return tmp_path / "presets"


def state(bpy):
    return (len(bpy.data.objects), len(bpy.data.actions), bpy.context.scene.frame_end,
            tuple(sorted(k for o in bpy.data.objects if o.type == 'ARMATURE' for k in o.data.keys())))


def setup(bpy, spec, motion=WALK):
    obj = rb.build_object(bpy, spec, name="Hero")
    bpy.context.scene.cadence.motion_path = str(motion)
    bpy.context.scene.render.fps = 30
    return obj


def test_retarget_operator(blender, presets):
    obj = setup(blender, rb.vrm(arm_angle=30.0, roll_seed=1))
    assert blender.ops.cadence.retarget_motion(root_motion='root') == {'FINISHED'}
    assert obj.animation_data.action.name == WALK.stem
    assert blender.context.scene.frame_end == 120
    stored = json.loads(obj.data["cadence_bone_map"])
    assert stored["convention"] == "vrm" and stored["root"] == "Root"


@pytest.mark.parametrize("case, message", [
    ("mesh", "is a mesh, not an armature"),
    ("nothing", "no armature selected"),
    ("unknown", "cannot recognise the rig"),
    ("constraint", "constraints or drivers"),
    ("bad_motion", "motion file not found"),
    ("bad_preset", "no bone map preset named 'nope'"),
])
def test_retarget_operator_refuses(blender, presets, case, message):
    obj = setup(blender, rb.mixamo(prefix=""))
    kwargs = {}
    if case == "mesh":
        mesh = blender.data.objects.new("Body", blender.data.meshes.new("Body"))
        blender.context.scene.collection.objects.link(mesh)
        blender.context.view_layer.objects.active = mesh
    elif case == "nothing":
        blender.context.view_layer.objects.active = None
    elif case == "unknown":
        chain = rb.RigSpec("chain", {f"c{k}": (f"c{k - 1}" if k else None, [0, 0, 0.3 * k])
                                     for k in range(3)}, {})
        blender.data.objects.remove(obj)
        rb.build_object(blender, chain, name="Chain")
    elif case == "constraint":
        obj.pose.bones["Spine1"].constraints.new('DAMPED_TRACK')
    elif case == "bad_motion":
        blender.context.scene.cadence.motion_path = "/nonexistent/walk.bvh"
    elif case == "bad_preset":
        kwargs["bone_map"] = "nope"
    before = state(blender)
    with pytest.raises(RuntimeError, match=message):
        blender.ops.cadence.retarget_motion(**kwargs)
    assert state(blender) == before


def test_detect_load_and_save_bone_maps(blender, presets):
    obj = setup(blender, rb.unreal())
    assert blender.ops.cadence.detect_bone_map() == {'FINISHED'}
    assert json.loads(obj.data["cadence_bone_map"])["bones"]["left_knee"] == "calf_l"
    assert blender.ops.cadence.save_bone_map(name="My UE5 rig") == {'FINISHED'}
    saved = presets / "My_UE5_rig.json"
    assert json.loads(saved.read_text())["convention"] == "unreal"
    # A shipped preset loads onto the rig; then the retarget uses the stored map.
    del obj.data["cadence_bone_map"]
    assert blender.ops.cadence.load_bone_map(preset="unreal") == {'FINISHED'}
    assert blender.ops.cadence.retarget_motion() == {'FINISHED'}
    from cadence.blender.presets import available_presets
    assert {"unreal", "mixamo", "My_UE5_rig"} <= set(available_presets())
    # A preset of another convention does not fit: refused, nothing stored.
    before = obj.data["cadence_bone_map"]
    with pytest.raises(RuntimeError, match="no bones for"):
        blender.ops.cadence.load_bone_map(preset="mmd")
    assert obj.data["cadence_bone_map"] == before


def test_edit_bone_map_entries(blender, presets):
    obj = setup(blender, rb.mixamo(prefix=""))
    assert blender.ops.cadence.set_bone_map_entry(joint="left_foot", bone="") == {'FINISHED'}
    stored = json.loads(obj.data["cadence_bone_map"])
    assert "left_foot" not in stored["bones"] and stored["convention"] == "custom"
    assert blender.ops.cadence.set_bone_map_entry(joint="left_foot", bone="LeftToe_End") == {'FINISHED'}
    assert json.loads(obj.data["cadence_bone_map"])["bones"]["left_foot"] == "LeftToe_End"
    with pytest.raises(RuntimeError, match="no bone 'Tail'"):
        blender.ops.cadence.set_bone_map_entry(joint="left_foot", bone="Tail")
    with pytest.raises(RuntimeError, match="no bones for the pelvis"):
        blender.ops.cadence.set_bone_map_entry(joint="pelvis", bone="")
    assert json.loads(obj.data["cadence_bone_map"])["bones"]["pelvis"] == "Hips"
