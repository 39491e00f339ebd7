"""Characters from files: .blend, glTF, FBX and BVH rigs imported with Blender's importers
and retargeted; ``./cadence bake --rig``."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cadence.motion.convert import load_canonical_motion
from cadence.motion.export import write_canonical_bvh

import rig_builders as rb

ROOT = Path(__file__).resolve().parents[1]
WALK = ROOT / "tests" / "fixtures" / "bandai_walk_normal.bvh"
CHECK = ("left_wrist", "right_wrist", "left_ankle", "right_foot")


@pytest.fixture(scope="module")
def walk():
    return load_canonical_motion(WALK)


def export_character(bpy, spec, path: Path) -> Path:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    obj = rb.build_object(bpy, spec, name="Character")
    rb.add_skinned_mesh(bpy, obj)
    suffix = path.suffix.lower()
    if suffix == ".blend":
        bpy.ops.wm.save_as_mainfile(filepath=str(path))
    else:
        import addon_utils
        module = {".glb": "io_scene_gltf2", ".fbx": "io_scene_fbx"}[suffix]
        addon_utils.enable(module, default_set=False, persistent=False)
        if suffix == ".glb":
            bpy.ops.export_scene.gltf(filepath=str(path), export_format='GLB')
        else:
            bpy.ops.export_scene.fbx(filepath=str(path))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return path


def hands_feet_error(bpy, obj, spec, motion, frames=(0, 40, 80, 119)) -> float:
    """World-space error (canonical metres) of hands and feet; the spec's world placement
    (object transform) is what the imported character keeps."""
    positions = motion.positions()
    worst = 0.0
    for f in frames:
        bpy.context.scene.frame_set(f + 1)
        for j in CHECK:
            world = np.array(obj.matrix_world @ obj.pose.bones[spec.joints[j]].head)
            want = positions[f, rb.J[j]]
            worst = max(worst, float(np.linalg.norm(world - want)))
    return worst


@pytest.mark.parametrize("suffix", [".blend", ".glb", ".fbx"])
def test_import_and_retarget(blender, tmp_path, walk, suffix):
    from cadence.blender.rig_import import import_rig
    from cadence.blender.rig_retarget import retarget_onto

    spec = rb.mixamo(roll_seed=2, arm_angle=30.0)
    path = export_character(blender, spec, tmp_path / f"character{suffix}")
    obj = import_rig(path)
    result = retarget_onto(obj, walk)
    assert result.bone_map.convention == "mixamo" and len(result.bone_map.bones) == 52
    error = hands_feet_error(blender, obj, spec, walk)
    print(f"\n{suffix}: hands/feet {100 * error:.3f} cm")
    assert error < 0.005


def test_bvh_as_rig(blender, tmp_path, walk):
    from cadence.blender.rig_import import import_rig
    from cadence.blender.rig_retarget import retarget_onto

    path = tmp_path / "rest.bvh"
    write_canonical_bvh(path, walk.slice(0, 1))  # the canonical skeleton, Y up, cm
    obj = import_rig(path)
    result = retarget_onto(obj, walk)
    assert result.bone_map.convention == "smpl"
    # Blender's BVH importer keeps centimetres: compare in the rig's own scale.
    scale = result.pose.scale
    positions = walk.positions()
    blender.context.scene.frame_set(61)
    for j in CHECK:
        world = np.array(obj.matrix_world @ obj.pose.bones[j].head) / scale
        assert np.linalg.norm(world - positions[60, rb.J[j]]) < 0.005, j


@pytest.mark.parametrize("name, message", [
    ("missing.glb", "rig file not found"), ("character.obj", "supported rig files are")])
def test_bad_rig_files(blender, tmp_path, name, message):
    from cadence.blender.rig_import import RigFileError, import_rig

    (tmp_path / "character.obj").write_text("")
    with pytest.raises(RigFileError, match=message):
        import_rig(tmp_path / name)


def test_blend_without_armature(blender, tmp_path):
    from cadence.blender.rig_import import RigFileError, import_rig

    blender.ops.wm.save_as_mainfile(filepath=str(tmp_path / "empty.blend"))
    blender.ops.wm.read_factory_settings(use_empty=True)
    with pytest.raises(RigFileError, match="contains no armature"):
        import_rig(tmp_path / "empty.blend")
    with pytest.raises(RigFileError, match="no armature named 'Hero'"):
        import_rig(tmp_path / "empty.blend", armature="Hero")


def cadence(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cadence"), *args],
                          capture_output=True, text=True, timeout=180)


def test_cli_bake_onto_rig(blender, tmp_path, walk):
    spec = rb.unreal(arm_angle=40.0, roll_seed=3)
    character = export_character(blender, spec, tmp_path / "hero.glb")
    out = tmp_path / "scene.blend"
    result = cadence("bake", "--motion", str(WALK), "--rig", str(character), "--out", str(out),
                     "--root-motion", "root")
    assert result.returncode == 0, result.stderr
    assert "onto 'Character' (unreal, 52 bones mapped)" in result.stdout
    blender.ops.wm.open_mainfile(filepath=str(out))
    obj = blender.data.objects["Character"]
    assert obj.animation_data.action.name == WALK.stem
    assert blender.context.scene.frame_end == walk.num_frames
    assert hands_feet_error(blender, obj, spec, walk) < 0.005


def test_cli_rig_errors(tmp_path):
    result = cadence("bake", "--motion", str(WALK), "--rig", str(tmp_path / "none.fbx"),
                     "--out", str(tmp_path / "x.blend"))
    assert result.returncode == 2 and "rig file not found" in result.stderr
    result = cadence("bake", "--motion", str(WALK), "--map", "m.json", "--out", str(tmp_path / "x.blend"))
    assert result.returncode == 2 and "--map and --armature need --rig" in result.stderr
    assert not (tmp_path / "x.blend").exists()


def test_bvh_rig_with_a_lying_rest_pose(blender, walk):
    """The Bandai Namco BVH's rest pose is not a standing pose (Maya-style, every joint
    along X): its most upright frame becomes the rest pose before retargeting."""
    from cadence.blender.rig_import import import_rig, upright_frame
    from cadence.blender.rig_retarget import retarget_onto

    bandai = ROOT / "tests" / "fixtures" / "bandai_bow_happy.bvh"
    assert upright_frame(bandai) is not None
    obj = import_rig(bandai)
    retarget_onto(obj, walk)
    positions = walk.positions()
    for f in (10, 70):
        blender.context.scene.frame_set(f + 1)
        for a, b, ja, jb in (("UpperArm_R", "LowerArm_R", "right_shoulder", "right_elbow"),
                             ("LowerArm_L", "Hand_L", "left_elbow", "left_wrist"),
                             ("Spine", "Neck", "spine1", "neck")):
            world = lambda n: np.array(obj.matrix_world @ obj.pose.bones[n].head)  # noqa: E731
            u = world(b) - world(a)
            v = positions[f, rb.J[jb]] - positions[f, rb.J[ja]]
            cos = np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v)
            assert np.degrees(np.arccos(min(1.0, cos))) < 1.0, (a, b, f)


def test_bvh_rig_whose_zero_pose_has_the_legs_up(blender, tmp_path, walk):
    """An iClone / Character Creator BVH (CC_Base_* names, not a BVH naming) whose zero
    pose folds the legs above the hips: a standing frame of the file becomes the rest
    pose, the walk bakes upright, and the report says which reference was used."""
    from cadence.blender.rig_import import import_rig
    from cadence.blender.rig_retarget import retarget_onto

    path = tmp_path / "cc_character.bvh"
    path.write_text(rb.lying_zero_pose_bvh(rb.character_creator()), encoding="utf-8")
    obj = import_rig(path)
    result = retarget_onto(obj, walk)
    assert any("rest reference: frame 2 of cc_character.bvh" in n for n in result.notes)
    positions = walk.positions()
    scale = result.pose.scale
    for f in (0, 40, 80, 119):
        blender.context.scene.frame_set(f + 1)
        world = {j: np.array(obj.matrix_world @ obj.pose.bones[b].head) / scale
                 for j, b in (("head", "CC_Base_Head"), ("pelvis", "CC_Base_Hip"),
                              ("left_ankle", "CC_Base_L_Foot"), ("right_wrist", "CC_Base_R_Hand"))}
        assert world["head"][2] > world["pelvis"][2] + 0.4  # upright, not lying
        for j in ("left_ankle", "right_wrist"):
            assert np.linalg.norm(world[j] - positions[f, rb.J[j]]) < 0.01, (j, f)


def test_bvh_rig_with_nothing_standing_is_refused_and_changes_nothing(blender, tmp_path):
    from cadence.blender.rig_import import RigFileError, import_rig

    blender.ops.wm.read_factory_settings(use_empty=True)
    path = tmp_path / "folded.bvh"
    path.write_text(rb.lying_zero_pose_bvh(rb.character_creator(), frames=1), encoding="utf-8")
    with pytest.raises(RigFileError, match="standing T- or A-pose"):
        import_rig(path)
    assert len(blender.data.objects) == 0
