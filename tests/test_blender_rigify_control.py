"""Baking onto a generated Rigify control rig (Rigify's Generate Rig on Blender's human
meta-rig, made headless here): the FK controls, the torso and the IK/FK switches are
keyed, and the DEF bones, which follow the controls through Rigify's constraints, play
the motion as on a deform-only rig."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cadence.motion import rotations as rot
from cadence.motion.bone_map import preset_for
from cadence.motion.canonical_to_rig import RetargetOptions, pose_heads, retarget_to_rig
from cadence.motion.convert import load_canonical_motion
from cadence.motion.rig_mapping import match_rig
from cadence.motion.rig_target import prepare_target
from cadence.motion.rigify_control import deform_view
from cadence.motion.skeleton import BODY_JOINT_NAMES, CANONICAL, PRIMARY_CHILD

from bpy_support import _registered_bpy

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
WALK = FIXTURES / "bandai_walk_normal.bvh"
WAVE = FIXTURES / "bandai_wave_right_hand.bvh"
J = {n: i for i, n in enumerate(CANONICAL.names)}


def _human_metarig(bpy):
    """Blender's human meta-rig without its face (the face rig is nearly all of the
    generation time: seconds instead of a tenth of one; the body's controls are the same)."""
    bpy.ops.object.armature_human_metarig_add()
    meta = bpy.context.active_object
    bpy.ops.object.mode_set(mode='EDIT')
    edit = meta.data.edit_bones
    for bone in [b for b in edit if b.name == "face" or "face" in (p.name for p in b.parent_recursive)]:
        edit.remove(bone)
    bpy.ops.object.mode_set(mode='OBJECT')
    return meta


def _canonical_metarig(bpy):
    """The human meta-rig with its body and finger joints moved onto the canonical
    skeleton's rest positions (T-pose, metres, Z up, facing -Y)."""
    from mathutils import Vector

    meta = _human_metarig(bpy)
    meta.name = "canonical_metarig"
    bones = preset_for("blender_metarig").bones
    rest = CANONICAL.rest_positions()
    at = lambda j: Vector(rest[J[j]])  # noqa: E731
    bpy.ops.object.mode_set(mode='EDIT')
    edit = meta.data.edit_bones
    for joint, name in bones.items():
        bone = edit[name]
        along = bone.tail - bone.head
        bone.head = at(joint)
        child = PRIMARY_CHILD.get(joint)
        bone.tail = at(child) if child in bones else bone.head + along
    middle = (at("neck") + at("head")) / 2  # spine.005: the upper neck, unmapped
    edit["spine.004"].tail = edit["spine.005"].head = middle
    edit["spine.005"].tail = at("head")
    bpy.ops.object.mode_set(mode='OBJECT')
    return meta


@pytest.fixture(scope="module")
def rigify_file(tmp_path_factory) -> Path:
    """Two generated rigs, made once per module and saved in one file: ``rig`` from the
    human meta-rig as Blender ships it, ``canonical_rig`` from one reshaped to the
    canonical proportions. Rigify stays enabled meanwhile (its load
    handler reads its own properties)."""
    pytest.importorskip("bpy")
    import addon_utils

    bpy = _registered_bpy()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if addon_utils.enable("rigify", default_set=True, persistent=False) is None:
        pytest.skip("Rigify is not available")
    try:
        _human_metarig(bpy)
        bpy.ops.pose.rigify_generate()
        assert bpy.context.active_object.name == "rig" and "rig_id" in bpy.data.objects["rig"].data
        _canonical_metarig(bpy)
        bpy.ops.pose.rigify_generate()
        bpy.context.active_object.name = "canonical_rig"
        for obj in [o for o in bpy.data.objects if "metarig" in o.name]:
            bpy.data.objects.remove(obj)
        path = tmp_path_factory.mktemp("rigify") / "rigs.blend"
        bpy.ops.wm.save_as_mainfile(filepath=str(path))
        yield path
    finally:
        addon_utils.disable("rigify", default_set=True)


@pytest.fixture
def control_rig(blender, rigify_file):
    blender.ops.wm.open_mainfile(filepath=str(rigify_file))
    obj = blender.data.objects["rig"]
    blender.context.view_layer.objects.active = obj
    return obj


@pytest.fixture(scope="module")
def walk():
    return load_canonical_motion(WALK)


def deform_heads(bpy, obj, names, frames) -> np.ndarray:
    out = []
    for f in frames:
        bpy.context.scene.frame_set(f)
        out.append([np.array(obj.matrix_world @ obj.pose.bones[n].head) for n in names])
    return np.array(out)


def expected_deform(obj, motion, options=None):
    """What the retargeter makes the DEF bones do (the deform view retargeted as a plain
    deform rig): (deform map, armature-space heads (T, N, 3), names)."""
    from cadence.blender.rig_retarget import read_rest_rig

    view = deform_view(read_rest_rig(obj))
    target = prepare_target(view, match_rig(view))
    return target.bone_map, pose_heads(view, retarget_to_rig(target, motion, options)), view.names


def test_walk_on_controls_matches_deform_bones(control_rig, blender, walk):
    """Through the operator animators use: the automatic map keys the controls; the DEF
    bones land where the retargeter puts a deform rig's bones, every frame."""
    obj = control_rig
    scene = blender.context.scene
    scene.cadence.motion_path = str(WALK)
    scene.render.fps = 30  # the take's rate: no resampling
    assert blender.ops.cadence.retarget_motion() == {'FINISHED'}
    stored = json.loads(obj.data["cadence_bone_map"])
    assert stored["convention"] == "rigify_control" and len(stored["bones"]) == 52
    assert stored["bones"]["left_shoulder"] == "upper_arm_fk.L"

    deform_map, expected, names = expected_deform(obj, walk)
    bones = list(deform_map.bones.values())
    cols = [names.index(b) for b in bones]
    frames = list(range(walk.num_frames))
    heads = deform_heads(blender, obj, bones, [f + 1 for f in frames])
    m = np.array(obj.matrix_world)
    want = expected[frames][:, cols] @ m[:3, :3].T + m[:3, 3]
    err = np.linalg.norm(heads - want, axis=-1)
    print(f"\ncontrol rig: DEF heads vs the deform-rig retarget mean {100 * err.mean():.4f} cm, "
          f"max {100 * err.max():.4f} cm ({len(bones)} bones, {len(frames)} frames)")
    assert err.max() < 2e-4

    # The switches are keyed to FK and the IK side is off.
    fcurves = {f.data_path: f for layer in obj.animation_data.action.layers for s in layer.strips
               for bag in s.channelbags for f in bag.fcurves}
    evaluated = obj.evaluated_get(blender.context.evaluated_depsgraph_get()).pose.bones
    for limb in ("upper_arm_parent.L", "upper_arm_parent.R", "thigh_parent.L", "thigh_parent.R"):
        assert f'pose.bones["{limb}"]["IK_FK"]' in fcurves
    for org in ("ORG-upper_arm.L", "ORG-thigh.R", "ORG-hand.R"):
        ik = [c for c in evaluated[org].constraints if "_ik" in c.subtarget or "ik_target" in c.subtarget]
        assert ik and all(c.influence == 0.0 for c in ik)
    keyed = {p.split('"')[1] for p in fcurves}
    assert {"torso", "spine_fk", "upper_arm_fk.L", "shin_fk.R", "f_index.02.L"} <= keyed
    assert not any(n.startswith(("DEF-", "ORG-", "MCH-")) for n in keyed)


@pytest.mark.parametrize("mode", ["root", "in_place"])
def test_root_motion_modes(control_rig, blender, walk, mode):
    """The root bone carries the travel on the floor (``root``), or nobody does
    (``in_place``); the DEF bones still land where the deform-rig retarget puts them."""
    from cadence.blender.rig_retarget import retarget_onto

    clip = walk.slice(0, 40)
    options = RetargetOptions(root_motion=mode)
    result = retarget_onto(control_rig, clip, options=options)
    assert ("root" in result.pose.locations) == (mode == "root")
    assert "torso" in result.pose.locations
    deform_map, expected, names = expected_deform(control_rig, clip, options)
    bones = list(deform_map.bones.values())
    heads = deform_heads(blender, control_rig, bones, range(1, clip.num_frames + 1))
    want = expected[:, [names.index(b) for b in bones]]
    assert np.linalg.norm(heads - want, axis=-1).max() < 2e-4


def test_canonical_proportions_follow_the_motion(blender, rigify_file, walk):
    """A control rig of the canonical proportions: its DEF bones play the canonical
    motion's joint positions (the error figure of the other rigs)."""
    from cadence.blender.rig_retarget import retarget_onto

    blender.ops.wm.open_mainfile(filepath=str(rigify_file))
    obj = blender.data.objects["canonical_rig"]
    result = retarget_onto(obj, walk)
    assert result.bone_map.convention == "rigify_control" and result.pose.scale == pytest.approx(1.0)
    deform_map, _, _ = expected_deform(obj, walk.slice(0, 2))
    joints = list(deform_map.bones)
    heads = deform_heads(blender, obj, [deform_map.bones[j] for j in joints],
                         range(1, walk.num_frames + 1))
    err = np.linalg.norm(heads - walk.positions()[:, [J[j] for j in joints]], axis=-1)
    print(f"\ncanonical control rig: DEF heads vs canonical FK mean {100 * err.mean():.4f} cm, "
          f"max {100 * err.max():.4f} cm ({len(joints)} joints, {walk.num_frames} frames)")
    assert err.max() < 6e-4


def test_feet_on_floor_and_directions(control_rig, blender, walk):
    from cadence.blender.rig_retarget import retarget_onto

    obj = control_rig
    result = retarget_onto(obj, walk)
    assert result.bone_map.convention == "rigify_control"
    positions = walk.positions()
    pairs = [("DEF-upper_arm.L", "DEF-forearm.L", "left_shoulder", "left_elbow"),
             ("DEF-forearm.R", "DEF-hand.R", "right_elbow", "right_wrist"),
             ("DEF-spine.004", "DEF-spine.006", "neck", "head"),
             ("DEF-spine", "DEF-spine.001", "pelvis", "spine1"),
             ("DEF-spine.002", "DEF-spine.003", "spine2", "spine3"),
             ("DEF-hand.L", "DEF-f_middle.01.L", "left_wrist", "left_middle1")]
    worst, lowest = {}, []
    for f in range(0, walk.num_frames, 3):
        blender.context.scene.frame_set(f + 1)
        head = lambda n: np.array(obj.matrix_world @ obj.pose.bones[n].head)  # noqa: E731
        for a, b, ja, jb in pairs:
            u = rot.normalize(head(b) - head(a))
            v = rot.normalize(positions[f, J[jb]] - positions[f, J[ja]])
            worst[a] = max(worst.get(a, 0.0), np.degrees(np.arccos(np.clip(u @ v, -1, 1))))
        lowest.append(min(head(n)[2] for n in ("DEF-toe.L", "DEF-toe.R")))
    rest = obj.data.bones["DEF-toe.L"].head_local[2]
    worst = max(worst.values())
    print(f"\ncontrol rig: directions {worst:.3f} deg, lowest ball of foot {100 * min(lowest):.2f} cm "
          f"(rest {100 * rest:.2f} cm)")
    assert worst < 0.5
    assert rest - 0.005 < min(lowest) < rest + 0.005


def test_raised_hand_above_head(control_rig, blender):
    from cadence.blender.rig_retarget import retarget_onto

    wave = load_canonical_motion(WAVE)
    positions = wave.positions()
    f = int(np.argmax(positions[:, J["right_wrist"], 2] - positions[:, J["head"], 2]))
    assert positions[f, J["right_wrist"], 2] > positions[f, J["head"], 2] + 0.05  # the source waves
    obj = control_rig
    retarget_onto(obj, wave, options=RetargetOptions(root_motion="in_place"))
    blender.context.scene.frame_set(f + 1)
    z = lambda n: (obj.matrix_world @ obj.pose.bones[n].head)[2]  # noqa: E731
    assert z("DEF-hand.R") > z("DEF-spine.006") + 0.05
    assert z("DEF-hand.L") < z("DEF-spine.003")


def test_canonical_bvh_export_reads_the_deform_bones(blender, rigify_file, walk, tmp_path):
    """Exporting the baked control rig on the canonical skeleton reads the DEF bones
    (which follow the controls), not the controls' own hierarchy."""
    from cadence.blender.export import export_bvh
    from cadence.blender.rig_retarget import retarget_onto

    blender.ops.wm.open_mainfile(filepath=str(rigify_file))
    obj = blender.data.objects["canonical_rig"]
    clip = walk.slice(0, 30)
    retarget_onto(obj, clip)
    result = export_bvh(obj, tmp_path / "canonical.bvh", skeleton="canonical")
    body = [J[j] for j in BODY_JOINT_NAMES]
    err = np.linalg.norm(load_canonical_motion(result.path).positions()[:, body]
                         - clip.positions()[:, body], axis=-1)
    print(f"\ncanonical BVH from the control rig: body joints within {100 * err.max():.3f} cm")
    assert err.max() < 0.005


def test_panel_status_and_detect_operator(control_rig, blender):
    from cadence.blender.rig_status import check_target, rig_status

    status = rig_status(control_rig)
    assert status.ok and status.text.startswith("Rigify control rig (FK controls): 52 bones mapped")
    check_target(control_rig)  # Generate would accept it
    assert blender.ops.cadence.detect_bone_map() == {'FINISHED'}
    assert json.loads(control_rig.data["cadence_bone_map"])["bones"]["pelvis"] == "spine_fk"
    assert control_rig.pose.bones["upper_arm_parent.L"]["IK_FK"] == 0.0  # detecting sets nothing


def test_deform_map_still_refused_with_hint(control_rig, walk):
    from cadence.blender.presets import load_preset
    from cadence.blender.rig_retarget import RigError, retarget_onto

    with pytest.raises(RigError, match="rigify_control preset"):
        retarget_onto(control_rig, walk, bone_map=load_preset("rigify_deform"))
    assert control_rig.animation_data is None or control_rig.animation_data.action is None


def test_cli_bake_onto_control_rig(rigify_file, blender, tmp_path):
    out = tmp_path / "out.blend"
    result = subprocess.run([sys.executable, str(ROOT / "cadence"), "bake", "--motion", str(WALK),
                             "--rig", str(rigify_file), "--armature", "rig", "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    blender.ops.wm.open_mainfile(filepath=str(out))
    obj = blender.data.objects["rig"]
    assert json.loads(obj.data["cadence_bone_map"])["convention"] == "rigify_control"
    blender.context.scene.frame_set(1)
    assert obj.pose.bones["thigh_parent.L"]["IK_FK"] == 1.0
    assert obj.pose.bones["torso"].location.length > 0.0
