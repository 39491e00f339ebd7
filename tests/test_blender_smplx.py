"""SMPL-X in Blender: File > Import / Export operators, bad files change nothing, and the
optional body built from a (synthetic) model file."""
import pickle

import numpy as np
import pytest

from cadence.motion import rotations as rot
from cadence.motion.skeleton import CANONICAL
from cadence.motion.smplx_format import load_smplx_motion
from cadence.motion.smplx_model import load_smplx_model

from bpy_support import evaluated_pose
from smplx_support import (
    AMASS_ROOT,
    CADENCE_TO_MODEL,
    VERTS_PER_JOINT,
    raised_arm_poses,
    write_npz,
    write_synthetic_model,
)

J = {n: i for i, n in enumerate(CANONICAL.names)}


def data_counts(bpy) -> tuple[int, ...]:
    return (len(bpy.data.objects), len(bpy.data.actions), len(bpy.data.armatures),
            len(bpy.data.meshes), bpy.context.scene.frame_end)


def scene_at_30_fps() -> None:
    import bpy
    bpy.context.scene.render.fps, bpy.context.scene.render.fps_base = 30, 1.0


def beat2_file(tmp_path, frames=12):
    """A BEAT2-style file at 30 fps; the scene is set to 30 fps too (no resampling)."""
    scene_at_30_fps()
    aa = raised_arm_poses(frames, np.zeros(3))
    aa[:, J["right_elbow"]] = np.outer(np.linspace(0, 1, frames), [0.0, 1.0, 0.0])
    trans = np.zeros((frames, 3))
    trans[:, 2] = np.linspace(0, 0.5, frames)  # walks towards +Z (its facing) in SMPL-X
    expressions = np.outer(np.linspace(-1, 2, frames), np.ones(100))
    return write_npz(tmp_path / "speech.npz", poses=aa.reshape(frames, -1), trans=trans,
                     expressions=expressions, betas=np.full(300, 0.3),
                     mocap_frame_rate=np.array(30.0), gender=np.array("neutral"))


def test_import_bakes_onto_a_new_armature(blender, tmp_path):
    path = beat2_file(tmp_path)
    assert blender.ops.cadence.import_smplx(filepath=str(path)) == {'FINISHED'}
    obj = blender.context.active_object
    assert obj.type == 'ARMATURE' and obj.animation_data.action.name == "speech"
    assert not any(o.type == 'MESH' for o in blender.data.objects)  # no body asked for
    motion = load_smplx_motion(path).motion
    world_m, world_p = motion.forward_kinematics()
    for frame in (0, 11):
        _, heads = evaluated_pose(blender, obj, frame + 1)
        np.testing.assert_allclose(heads, world_p[frame], atol=1e-4)
        assert heads[J["left_wrist"], 2] > heads[J["head"], 2] + 0.3
    # Walking towards its facing: -Y in Blender.
    assert world_p[-1, 0, 1] < world_p[0, 0, 1] - 0.4


def test_bad_files_change_nothing(blender, tmp_path):
    pickled = tmp_path / "evil.npz"
    pickled.write_bytes(pickle.dumps({"poses": np.zeros((2, 165))}))
    missing = write_npz(tmp_path / "noposes.npz", trans=np.zeros((2, 3)))
    nan = write_npz(tmp_path / "nan.npz", poses=np.full((2, 165), np.nan))
    before = data_counts(blender)
    for path, message in ((pickled, "pickle"), (missing, "no 'poses'"), (nan, "NaN"),
                          (tmp_path / "absent.npz", "not found")):
        with pytest.raises(RuntimeError, match=message):
            blender.ops.cadence.import_smplx(filepath=str(path))
        assert data_counts(blender) == before


def test_body_without_model_files_explains_where_to_get_them(blender, tmp_path,
                                                             monkeypatch):
    monkeypatch.delenv("CADENCE_SMPLX_MODEL_DIR", raising=False)
    before = data_counts(blender)
    with pytest.raises(RuntimeError, match="smpl-x.is.tue.mpg.de"):
        blender.ops.cadence.import_smplx(filepath=str(beat2_file(tmp_path)), body=True)
    assert data_counts(blender) == before


def test_body_from_model_files(blender, tmp_path, monkeypatch):
    model_dir = tmp_path / "models"
    write_synthetic_model(model_dir)
    monkeypatch.setenv("CADENCE_SMPLX_MODEL_DIR", str(model_dir))
    path = beat2_file(tmp_path)
    assert blender.ops.cadence.import_smplx(filepath=str(path), body=True) == {'FINISHED'}
    mesh = next(o for o in blender.data.objects if o.type == 'MESH')
    armature = mesh.parent
    assert armature.type == 'ARMATURE' and mesh.modifiers["Armature"].object == armature
    assert len(mesh.vertex_groups) == 55
    model = load_smplx_model(model_dir)
    betas = np.full(300, 0.3)
    # Shape from the betas: rest vertices and bone heads are the shaped model's.
    rest = np.array([v.co for v in mesh.data.vertices])
    np.testing.assert_allclose(rest, model.shaped_vertices(betas) @ CADENCE_TO_MODEL, atol=1e-5)
    heads = np.array([armature.data.bones[n].head_local for n in CANONICAL.names])
    np.testing.assert_allclose(heads, model.joint_positions(betas) @ CADENCE_TO_MODEL, atol=1e-5)
    # Expression shape keys (the model has 10), keyed from the file's coefficients.
    keys = mesh.data.shape_keys.key_blocks
    assert [k.name for k in keys][1:] == [f"Expression{k:03d}" for k in range(10)]
    scene = blender.context.scene
    scene.frame_set(12)
    assert keys["Expression003"].value == pytest.approx(2.0, abs=1e-5)
    # The skinned mesh follows the motion: the left hand's vertices end above the head's,
    # and the pelvis sits at the model's pelvis plus transl (Y up file -> Z up).
    depsgraph = blender.context.evaluated_depsgraph_get()
    evaluated = mesh.evaluated_get(depsgraph).to_mesh()
    posed = np.array([v.co for v in evaluated.vertices])
    mesh.evaluated_get(depsgraph).to_mesh_clear()
    cluster = lambda joint: posed[J[joint] * VERTS_PER_JOINT:(J[joint] + 1) * VERTS_PER_JOINT]  # noqa: E731
    assert cluster("left_wrist")[:, 2].min() > cluster("head")[:, 2].max() + 0.2
    pelvis = (model.joint_positions(betas)[0] + [0.0, 0.0, 0.5]) @ CADENCE_TO_MODEL
    np.testing.assert_allclose(evaluated_pose(blender, armature, 12)[1][0], pelvis, atol=1e-5)


def test_export_round_trip(blender, tmp_path):
    aa = raised_arm_poses(10, AMASS_ROOT)
    aa[:, J["left_knee"]] = np.outer(np.linspace(0, 1.2, 10), [1.0, 0.0, 0.0])
    src = write_npz(tmp_path / "amass.npz", poses=aa.reshape(10, -1),
                    trans=np.tile([0.0, 0.0, 0.9], (10, 1)), mocap_frame_rate=np.array(30.0))
    scene_at_30_fps()
    blender.ops.cadence.import_smplx(filepath=str(src))
    out = tmp_path / "out.npz"
    assert blender.ops.cadence.export_smplx(filepath=str(out)) == {'FINISHED'}
    before, after = load_smplx_motion(src).motion, load_smplx_motion(out).motion
    assert after.num_frames == 10 and after.fps == 30
    # Exact read-back (Cadence's own rig): only the float32 F-Curves round.
    assert rot.angle_between_quats(after.rotations, before.rotations).max() < 1e-4
    np.testing.assert_allclose(after.root_positions, before.root_positions, atol=1e-5)


def test_bake_motion_file_accepts_npz(blender, tmp_path):
    from cadence.blender.bake_file import bake_motion_file
    result = bake_motion_file(beat2_file(tmp_path, frames=11), fps=15)
    assert result.motion.num_frames == 6 and result.action.name == "speech"


def test_menus_offer_the_operators(blender):
    from cadence.operators.smplx import menu_export, menu_import
    assert menu_import in blender.types.TOPBAR_MT_file_import._dyn_ui_initialize()
    assert menu_export in blender.types.TOPBAR_MT_file_export._dyn_ui_initialize()


def test_face_csv_onto_body_through_the_users_arkit_shapes(blender, tmp_path,
                                                           monkeypatch):
    from cadence.face.animation import FaceAnimation
    from cadence.face.arkit import INDEX
    from cadence.face.csv_io import write_face_csv

    from smplx_support import synthetic_model_arrays
    model_dir = tmp_path / "models"
    write_synthetic_model(model_dir)
    monkeypatch.setenv("CADENCE_SMPLX_MODEL_DIR", str(model_dir))
    blender.ops.cadence.import_smplx(filepath=str(beat2_file(tmp_path)), body=True)
    mesh = next(o for o in blender.data.objects if o.type == 'MESH')
    blender.context.view_layer.objects.active = mesh
    csv = tmp_path / "face.csv"
    weights = np.zeros((6, 52), np.float32)
    weights[:, INDEX["mouthSmileLeft"]] = np.linspace(0, 1, 6)
    write_face_csv(csv, FaceAnimation(weights, None, None, fps=30.0))
    # Without the user's ARKit shapes: a clear refusal, nothing keyed.
    with pytest.raises(RuntimeError, match="not part of SMPL-X"):
        blender.ops.cadence.bake_smplx_face(filepath=str(csv))
    # With them (here: mouthSmileLeft = expression 2 minus half of expression 5).
    exprdirs = synthetic_model_arrays()["shapedirs"][:, :, 10:]
    offsets = np.zeros((52,) + exprdirs.shape[:2])
    offsets[INDEX["mouthSmileLeft"]] = exprdirs[:, :, 2] - 0.5 * exprdirs[:, :, 5]
    write_npz(model_dir / "SMPLX_ARKIT.npz", arkit_offsets=offsets)
    assert blender.ops.cadence.bake_smplx_face(filepath=str(csv)) == {'FINISHED'}
    keys = mesh.data.shape_keys.key_blocks
    blender.context.scene.frame_set(6)
    assert keys["Expression002"].value == pytest.approx(1.0, abs=1e-3)
    assert keys["Expression005"].value == pytest.approx(-0.5, abs=1e-3)
    assert keys["Expression000"].value == pytest.approx(0.0, abs=1e-3)


def test_cli_bake_reads_npz_with_explicit_up(blender, tmp_path, capsys):
    from cadence.cli.main import main
    from cadence.motion.bvh import read_bvh
    aa = raised_arm_poses(4, np.zeros(3))  # Y-up data in the AMASS layout (default Z up)
    src = write_npz(tmp_path / "y.npz", poses=aa.reshape(4, -1), mocap_frame_rate=np.array(30.0))
    out = tmp_path / "y.bvh"
    assert main(["bake", "--motion", str(src), "--bvh", str(out)]) == 2
    assert "--up y" in capsys.readouterr().err and not out.exists()
    assert main(["bake", "--motion", str(src), "--bvh", str(out), "--up", "y"]) == 0
    assert read_bvh(out).num_frames == 4


def test_preferences_say_whether_the_body_is_available(blender, tmp_path):
    from cadence.blender.smplx_io import body_available
    from cadence.preferences import smplx_model_status
    assert "smpl-x.is.tue.mpg.de" in smplx_model_status("")
    assert not body_available("") and not body_available(str(tmp_path))
    write_synthetic_model(tmp_path / "smplx", name="SMPLX_FEMALE.npz")
    assert body_available(str(tmp_path))  # found in the smplx/ sub-folder, any gender
    assert smplx_model_status(str(tmp_path)) == "SMPL-X body available: SMPLX_FEMALE.npz"


def test_body_export_keeps_shape_gender_and_expressions(blender, tmp_path,
                                                        monkeypatch):
    model_dir = tmp_path / "models"
    write_synthetic_model(model_dir)
    monkeypatch.setenv("CADENCE_SMPLX_MODEL_DIR", str(model_dir))
    path = beat2_file(tmp_path)
    blender.ops.cadence.import_smplx(filepath=str(path), body=True)
    armature = next(o for o in blender.data.objects if o.type == 'ARMATURE')
    blender.context.view_layer.objects.active = armature
    out = tmp_path / "body_out.npz"
    assert blender.ops.cadence.export_smplx(filepath=str(out), up='Y') == {'FINISHED'}
    source, back = load_smplx_motion(path), load_smplx_motion(out)
    assert back.up == "y" and back.gender == "neutral"
    np.testing.assert_allclose(back.betas, source.betas)
    np.testing.assert_allclose(back.expressions, source.expressions[:, :10], atol=1e-5)
    assert rot.angle_between_quats(back.motion.rotations, source.motion.rotations).max() < 1e-4


def test_export_of_another_rig_goes_through_its_bone_map(blender, tmp_path):
    from cadence.blender.action import bake_motion
    from cadence.blender.armature import build_armature
    from cadence.motion.kinematics import Motion
    from cadence.motion.skeleton import Skeleton
    from cadence.motion.smplx_format import axis_angle_to_canonical
    # Canonical names but other proportions (a taller body): not read back exactly but
    # retargeted to the canonical skeleton through its bone map.
    tall = Skeleton(CANONICAL.names, CANONICAL.parents, CANONICAL.offsets * 1.2)
    obj = build_armature(tall, name="Tall")
    aa = raised_arm_poses(6, np.zeros(3))
    bake_motion(obj, Motion(axis_angle_to_canonical(aa, "y"), np.tile(tall.offsets[0], (6, 1))))
    out = tmp_path / "tall.npz"
    assert blender.ops.cadence.export_smplx(filepath=str(out)) == {'FINISHED'}
    positions = load_smplx_motion(out).motion.positions()
    assert np.all(positions[:, J["left_wrist"], 2] > positions[:, J["head"], 2] + 0.3)
    # On the canonical skeleton: the pelvis at the canonical height, not 1.2 times it.
    np.testing.assert_allclose(positions[:, 0, 2], CANONICAL.offsets[0, 2], atol=0.02)
