"""Export in Blender: BVH of a retargeted take on the target rig's own skeleton and on the
canonical one (read back from the evaluated armature, re-read with motion/bvh.py and
converted back with motion/convert.py), glTF through Blender's exporter tested by
re-import, the export operator, ``./cadence bake --bvh --gltf``, and bad input."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cadence.motion.bvh import read_bvh
from cadence.motion.convert import bvh_to_canonical, load_canonical_motion
from cadence.motion.export import vectors_to_y_up_cm
from cadence.motion.kinematics import forward_kinematics

import rig_builders as rb

ROOT = Path(__file__).resolve().parents[1]
WALK = ROOT / "tests" / "fixtures" / "bandai_walk_normal.bvh"
BODY = list(range(22))  # canonical body joints (the take's fingers stay at rest)
# Same-proportion rigs with object scale 0.01: an FBX-style T-pose (data Y up in cm,
# object turned 90 degrees about X) and an A-pose.
RIGS = {
    "mixamo_T_fbx": lambda: rb.mixamo(roll_seed=1, data_rotation=rb.Y_UP, data_scale=100.0,
                                      object_euler=(np.pi / 2, 0, 0), object_scale=0.01),
    "mixamo_A": lambda: rb.mixamo(arm_angle=40.0, roll_seed=5, data_scale=100.0,
                                  object_scale=0.01),
}


@pytest.fixture(scope="module")
def walk():
    return load_canonical_motion(WALK)


def retargeted(bpy, spec, motion):
    from cadence.blender.rig_retarget import retarget_onto

    obj = rb.build_object(bpy, spec, name="Hero")
    retarget_onto(obj, motion, action_name="walk")
    return obj


def world_heads(bpy, obj, frames, names=None):
    names = names or [b.name for b in obj.data.bones]
    out = []
    for f in frames:
        bpy.context.scene.frame_set(f)
        out.append([np.array(obj.matrix_world @ obj.pose.bones[n].head) for n in names])
    return np.array(out)


def import_gltf(bpy, path):
    import addon_utils
    addon_utils.enable("io_scene_gltf2", default_set=False, persistent=False)
    bpy.ops.import_scene.gltf(filepath=str(path))


def bvh_fk(path):
    bvh = read_bvh(path)
    return bvh, forward_kinematics(bvh.skeleton.parents, bvh.local_rotations(),
                                   bvh.local_translations())[1]


def canonical_error(motion, reference):
    diff = motion.positions()[:, BODY] - reference.positions()[:, BODY]
    return np.linalg.norm(diff, axis=-1).max()


@pytest.mark.parametrize("rig", RIGS)
def test_target_bvh(blender, tmp_path, walk, rig):
    from cadence.blender.export import export_bvh, sample_armature
    from cadence.blender.rig_retarget import read_rest_rig, stored_bone_map
    from cadence.motion.canonical_to_rig import RetargetOptions, retarget_to_rig
    from cadence.motion.rig_export import pose_matrices
    from cadence.motion.rig_target import prepare_target

    spec = RIGS[rig]()
    obj = retargeted(blender, spec, walk)
    blender.context.scene.frame_set(7)
    result = export_bvh(obj, tmp_path / "hero.bvh")
    assert blender.context.scene.frame_current == 7  # sampling leaves the frame alone
    assert (result.frames, result.joints, result.skeleton) == (120, len(obj.data.bones), "target")
    assert not result.notes
    bvh, positions = bvh_fk(tmp_path / "hero.bvh")
    assert set(bvh.skeleton.names) == {b.name for b in obj.data.bones}
    assert bvh.fps == pytest.approx(30.0)
    # The file plays every bone head where Blender evaluates it (world space, Y up, cm).
    frames = [0, 33, 77, 119]
    want = vectors_to_y_up_cm(world_heads(blender, obj, [f + 1 for f in frames],
                                          list(bvh.skeleton.names)))
    assert np.abs(positions[frames] - want).max() < 1e-3
    # Read back from Blender == computed by the retarget maths.
    rest = read_rest_rig(obj)
    pose = retarget_to_rig(prepare_target(rest, stored_bone_map(obj)), walk, RetargetOptions())
    mats = pose_matrices(rest, pose.bones, pose.rotations, pose.locations)
    sampled = sample_armature(obj, [1, 60]).pose  # float32, chained down the bones
    np.testing.assert_allclose(sampled[..., :3, :3], mats[[0, 59], :, :3, :3], atol=1e-4)
    np.testing.assert_allclose(sampled[..., :3, 3], mats[[0, 59], :, :3, 3],
                               atol=1e-4 * spec.data_scale)
    # Converted back with motion/convert.py: the canonical motion that was retargeted.
    err = canonical_error(bvh_to_canonical(bvh, fps=None), walk)
    print(f"\n{rig}: target BVH -> canonical, joints within {100 * err:.3f} cm")
    assert err < 0.01


def test_canonical_bvh_from_a_rig(blender, tmp_path, walk):
    from cadence.blender.export import export_bvh

    obj = retargeted(blender, RIGS["mixamo_A"](), walk)
    result = export_bvh(obj, tmp_path / "canonical.bvh", skeleton="canonical")
    assert (result.frames, result.joints) == (120, 55)
    bvh = read_bvh(tmp_path / "canonical.bvh")
    assert bvh.skeleton.names[0] == "pelvis" and len(bvh.skeleton.names) == 55
    err = canonical_error(bvh_to_canonical(bvh, fps=None), walk)
    print(f"\nmixamo A-pose -> canonical BVH: joints within {100 * err:.3f} cm")
    assert err < 0.01


def test_bvh_from_the_canonical_rig(blender, tmp_path, walk):
    from cadence.blender.bake_file import bake_motion_file
    from cadence.blender.export import export_bvh

    blender.context.scene.render.fps = 30
    rig = bake_motion_file(WALK, fps=30).armature
    for skeleton in ("target", "canonical"):
        export_bvh(rig, tmp_path / f"{skeleton}.bvh", skeleton=skeleton)
        err = canonical_error(bvh_to_canonical(read_bvh(tmp_path / f"{skeleton}.bvh"), fps=None),
                              walk)
        assert err < 1e-3, skeleton


def test_gltf_round_trip(blender, tmp_path, walk):
    """Re-imported, the .glb plays the bones where the scene did. glTF stores float32
    node transforms sampled on every frame; chained over ~10 bones of a 1.7 m character
    that is good to ~2e-5 m (measured), so 0.2 mm leaves a 10x margin and is still far
    below the 1 cm this issue asks of a retarget."""
    from cadence.blender.export import export_gltf

    spec = RIGS["mixamo_T_fbx"]()
    obj = retargeted(blender, spec, walk)
    names = [b.name for b in obj.data.bones]
    frames = [1, 31, 64, 120]
    before = world_heads(blender, obj, frames, names)
    path = export_gltf(tmp_path / "hero.glb", animation_name="walk")
    blender.ops.wm.read_factory_settings(use_empty=True)
    blender.context.scene.render.fps = 30  # glTF keys are in seconds
    import_gltf(blender, path)
    armatures = [o for o in blender.data.objects if o.type == 'ARMATURE']
    assert len(armatures) == 1
    imported = armatures[0]
    assert imported.animation_data.action.name == "walk"
    assert set(names) <= {b.name for b in imported.data.bones}
    after = world_heads(blender, imported, frames, names)
    err = np.abs(after - before).max()
    print(f"\nglTF round trip: bone heads within {1000 * err:.4f} mm")
    assert err < 2e-4


def test_export_operator(blender, tmp_path, walk):
    spec = rb.unreal(arm_angle=45.0, roll_seed=2, data_scale=100.0, object_scale=0.01)
    obj = retargeted(blender, spec, walk.slice(0, 10))
    for b in ("upperarm_twist_01_l", "ik_foot_l", "root"):
        obj.data.bones[b].use_deform = False
    path = tmp_path / "deform.bvh"
    assert blender.ops.cadence.export_bvh(filepath=str(path), deform_only=True) == {'FINISHED'}
    names = read_bvh(path).skeleton.names
    assert "pelvis" in names and not {"upperarm_twist_01_l", "ik_foot_l", "root"} & set(names)
    path = tmp_path / "canonical.bvh"
    assert blender.ops.cadence.export_bvh(filepath=str(path), skeleton='CANONICAL') == {'FINISHED'}
    assert read_bvh(path).skeleton.num_joints == 55


@pytest.mark.parametrize("case, message", [
    ("nothing", "no armature selected"),
    ("mesh", "is a mesh, not an armature"),
    ("no_action", "has no action to export"),
    ("no_path", "no output file given"),
    ("missing_folder", "folder not found"),
    ("unknown_canonical", "cannot put 'Chain' on the canonical skeleton"),
])
def test_export_operator_refuses(blender, tmp_path, case, message):
    obj = rb.build_object(blender, rb.mixamo(prefix=""), name="Hero")
    obj.animation_data_create().action = blender.data.actions.new("pose")
    path = tmp_path / "out.bvh"
    kwargs = {}
    if case == "unknown_canonical":
        chain = rb.RigSpec("chain", {f"c{k}": (f"c{k - 1}" if k else None, [0, 0, 0.3 * k])
                                     for k in range(3)}, {})
        obj = rb.build_object(blender, chain, name="Chain")
        obj.animation_data_create().action = blender.data.actions.new("pose")
        kwargs["skeleton"] = 'CANONICAL'
    elif case == "nothing":
        blender.context.view_layer.objects.active = None
    elif case == "mesh":
        mesh = blender.data.objects.new("Body", blender.data.meshes.new("Body"))
        blender.context.scene.collection.objects.link(mesh)
        blender.context.view_layer.objects.active = mesh
    elif case == "no_action":
        obj.animation_data.action = None
    elif case == "no_path":
        path = ""
    elif case == "missing_folder":
        path = tmp_path / "nope" / "out.bvh"
    with pytest.raises(RuntimeError, match=message):
        blender.ops.cadence.export_bvh(filepath=str(path), **kwargs)
    if case in ("nothing", "mesh", "no_action"):  # refused before the file browser opens
        with pytest.raises(RuntimeError, match=message):
            blender.ops.cadence.export_bvh('INVOKE_DEFAULT')
    assert not list(tmp_path.rglob("*"))


def test_gltf_refuses(blender, tmp_path):
    from cadence.blender.export import ExportError, export_gltf

    rb.build_object(blender, rb.mixamo(prefix=""), name="Hero")
    with pytest.raises(ExportError, match="nothing in the scene is animated"):
        export_gltf(tmp_path / "x.glb")
    with pytest.raises(ExportError, match="glTF files end in"):
        export_gltf(tmp_path / "x.fbx")
    assert not list(tmp_path.iterdir())


def cadence(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cadence"), *args],
                          capture_output=True, text=True, timeout=300)


def test_cli_bake_exports(blender, tmp_path, walk):
    # One subprocess (each spends seconds importing bpy): a character file in, BVH on its
    # own skeleton and a .glb out, no .blend.
    spec = rb.mixamo(arm_angle=30.0, roll_seed=2)
    obj = rb.build_object(blender, spec, name="Character")
    rb.add_skinned_mesh(blender, obj)
    blender.ops.wm.save_as_mainfile(filepath=str(tmp_path / "hero.blend"))
    out = tmp_path / "out"
    result = cadence("bake", "--motion", str(WALK), "--rig", str(tmp_path / "hero.blend"),
                     "--bvh", str(out / "walk.bvh"), "--gltf", str(out / "walk.glb"))
    assert result.returncode == 0, result.stderr
    assert f"-> {out / 'walk.bvh'}, {out / 'walk.glb'}" in result.stdout
    bvh = read_bvh(out / "walk.bvh")
    assert set(bvh.skeleton.names) == {b.name for b in obj.data.bones}
    assert canonical_error(bvh_to_canonical(bvh, fps=None), walk) < 0.01
    blender.ops.wm.read_factory_settings(use_empty=True)
    import_gltf(blender, out / "walk.glb")
    armature = next(o for o in blender.data.objects if o.type == 'ARMATURE')
    assert armature.animation_data.action.name == WALK.stem


def test_cli_bake_canonical_bvh(tmp_path, walk):
    result = cadence("bake", "--motion", str(WALK), "--bvh", str(tmp_path / "walk.bvh"))
    assert result.returncode == 0, result.stderr
    assert not list(tmp_path.glob("*.blend"))
    bvh = read_bvh(tmp_path / "walk.bvh")  # the canonical motion as baked, exactly
    assert bvh.skeleton.names[0] == "pelvis" and bvh.skeleton.num_joints == 55
    assert canonical_error(bvh_to_canonical(bvh, fps=None), walk) < 1e-4


@pytest.mark.parametrize("args, message", [
    (("--motion", "x.bvh"), "give --out scene.blend, --bvh OUT.bvh or --gltf OUT.glb"),
    (("--motion", "x.bvh", "--bvh", "x.txt"), "--bvh must be a .bvh file"),
    (("--motion", "x.bvh", "--gltf", "x.fbx"), "--gltf must be a .glb or .gltf file"),
    (("--motion", "x.bvh", "--out", "x.blend", "--bvh-skeleton", "target"),
     "--bvh-skeleton needs --bvh"),
])
def test_cli_export_argument_errors(tmp_path, args, message):
    result = cadence("bake", *(str(tmp_path / a) if "." in a else a for a in args))
    assert result.returncode == 2 and message in result.stderr
    assert not list(tmp_path.iterdir())
