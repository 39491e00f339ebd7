"""SMPL-X / SMPL-H / SMPL parameter files: every layout, axes by FK, round trip, bad files."""
import pickle

import numpy as np
import pytest

from cadence.motion import rotations as rot
from cadence.motion.convert import load_canonical_motion
from cadence.motion.kinematics import Motion
from cadence.motion.skeleton import CANONICAL
from cadence.motion.smplx_format import SmplxFormatError, load_smplx_motion
from cadence.motion.smplx_model import load_smplx_model
from cadence.motion.smplx_write import save_smplx_motion

from smplx_support import (
    AMASS_ROOT,
    CADENCE_TO_MODEL,
    NUM_EXPR,
    raised_arm_poses,
    synthetic_model_arrays,
    write_npz,
    write_synthetic_model,
)

J = {n: i for i, n in enumerate(CANONICAL.names)}


def assert_raised_arm_standing(motion: Motion) -> None:
    """Z up, facing -Y, left at +X, and the left hand above the head."""
    p = motion.positions()
    assert np.all(p[:, J["head"], 2] - p[:, J["left_ankle"], 2] > 1.2)
    assert np.all(p[:, J["left_wrist"], 2] > p[:, J["head"], 2] + 0.3)
    assert np.all(p[:, J["right_wrist"], 2] < p[:, J["head"], 2])
    assert np.all(p[:, J["left_hip"], 0] > p[:, J["right_hip"], 0])
    # Facing -Y: the feet point forward.
    assert np.all(p[:, J["left_foot"], 1] < p[:, J["left_ankle"], 1])


def test_amass_smplx_z_up(tmp_path):
    aa = raised_arm_poses(5, AMASS_ROOT)
    trans = np.tile([0.2, 0.5, 0.9], (5, 1))
    trans[:, 0] += np.linspace(0, 0.4, 5)
    path = write_npz(tmp_path / "amass.npz", poses=aa.reshape(5, -1), trans=trans,
                     mocap_frame_rate=np.array(120.0), gender=np.array("female"),
                     betas=np.zeros(16), surface_model_type=np.array("smplx"))
    sm = load_smplx_motion(path)
    assert (sm.layout, sm.up, sm.model_type, sm.gender, sm.fps) == ("amass", "z", "smplx",
                                                                     "female", 120.0)
    assert sm.expressions is None and sm.betas.shape == (16,)
    assert_raised_arm_standing(sm.motion)
    # Z-up files keep their world: the travel along +X stays along +X.
    np.testing.assert_allclose(np.diff(sm.motion.root_positions[:, 0]), 0.1, atol=1e-9)
    # Feet on the floor (canonical proportions, the model's pelvis offset unknown).
    feet = sm.motion.positions()[:, [J["left_ankle"], J["left_foot"]], 2]
    assert abs(feet.min() - CANONICAL.rest_positions()[J["left_foot"], 2]) < 1e-6


def test_amass_smplh_156_maps_hands_and_leaves_face_at_rest(tmp_path):
    aa = raised_arm_poses(3, AMASS_ROOT)
    aa[:, J["right_index1"]] = [0.0, 0.0, 0.7]
    smplh = np.concatenate([aa[:, :22], aa[:, 25:]], axis=1).reshape(3, -1)
    assert smplh.shape == (3, 156)
    path = write_npz(tmp_path / "smplh.npz", poses=smplh, trans=np.zeros((3, 3)),
                     mocap_framerate=np.array(60.0), gender=np.array(b"male"))
    sm = load_smplx_motion(path)
    assert (sm.model_type, sm.fps, sm.gender) == ("smplh", 60.0, "male")
    assert_raised_arm_standing(sm.motion)
    q = sm.motion.rotations
    for joint in ("jaw", "left_eye_smplhf", "right_eye_smplhf", "left_index1"):
        np.testing.assert_allclose(rot.angle_between_quats(q[:, J[joint]], [1, 0, 0, 0]), 0,
                                   atol=1e-9)
    # The finger bends 0.7 rad about the model's Z = Cadence's -Y.
    np.testing.assert_allclose(q[:, J["right_index1"]],
                               np.tile(rot.axis_angle_to_quat([0, -0.7, 0]), (3, 1)), atol=1e-9)


def test_smpl_72_body_only(tmp_path):
    aa = raised_arm_poses(2, AMASS_ROOT)[:, :24]
    aa[:, 22:] = 0.5  # SMPL's hand joints: no canonical counterpart
    sm = load_smplx_motion(write_npz(tmp_path / "smpl.npz", poses=aa.reshape(2, -1),
                                     trans=np.zeros((2, 3))))
    assert sm.model_type == "smpl" and any("dropped" in n for n in sm.notes)
    assert any("30 fps assumed" in n for n in sm.notes) and sm.fps == 30.0
    assert_raised_arm_standing(sm.motion)
    hands = sm.motion.rotations[:, 25:]
    np.testing.assert_allclose(np.abs(hands[..., 0]), 1.0)


def test_beat2_y_up_with_expressions(tmp_path):
    frames = 4
    aa = raised_arm_poses(frames, np.zeros(3))
    aa[:, J["jaw"]] = [0.3, 0.0, 0.0]
    expressions = np.random.default_rng(0).normal(size=(frames, 100))
    path = write_npz(tmp_path / "beat2.npz", poses=aa.reshape(frames, -1),
                     trans=np.tile([0.0, 0.9, 0.0], (frames, 1)), expressions=expressions,
                     betas=np.zeros(300), model=np.array("smplx2020"), gender=np.array("neutral"),
                     mocap_frame_rate=np.array(30))
    sm = load_smplx_motion(path)
    assert (sm.layout, sm.up) == ("beat2", "y")
    np.testing.assert_array_equal(sm.expressions, expressions)
    assert_raised_arm_standing(sm.motion)
    # Jaw opens: +0.3 rad about X (the chin goes down and back) in both frames.
    np.testing.assert_allclose(sm.motion.rotations[:, J["jaw"]],
                               np.tile(rot.axis_angle_to_quat([0.3, 0, 0]), (frames, 1)), atol=1e-9)
    world = sm.motion.forward_kinematics()[0]
    chin = world[:, J["jaw"]] @ [0.0, -1.0, 0.0]  # forward (-Y) from the jaw
    assert np.all(chin[:, 2] < -0.25)


def test_split_keys_missing_optional_keys_tolerated(tmp_path):
    frames = 3
    aa = raised_arm_poses(frames, np.zeros(3))
    path = write_npz(tmp_path / "split.npz", global_orient=aa[:, 0],
                     body_pose=aa[:, 1:22], jaw_pose=aa[:, 22],
                     left_hand_pose=np.zeros((frames, 45)), right_hand_pose=np.zeros((frames, 45)),
                     transl=np.zeros((frames, 3)), betas=np.zeros((1, 10)))
    sm = load_smplx_motion(path)
    assert sm.layout == "split" and sm.up == "y" and sm.expressions is None
    assert any("leye_pose" in n and "reye_pose" in n for n in sm.notes)
    assert_raised_arm_standing(sm.motion)


def test_split_single_frame_with_expression(tmp_path):
    path = write_npz(tmp_path / "one.npz", global_orient=np.zeros(3), body_pose=np.zeros(63),
                     expression=np.ones((1, 10)), transl=np.zeros((1, 3)))
    sm = load_smplx_motion(path, fps=25)
    assert sm.motion.num_frames == 1 and sm.expressions.shape == (1, 10) and sm.fps == 25


def test_pca_hands_need_the_model(tmp_path):
    path = write_npz(tmp_path / "pca.npz", global_orient=np.zeros((2, 3)),
                     body_pose=np.zeros((2, 63)), left_hand_pose=np.ones((2, 12)))
    with pytest.raises(SmplxFormatError, match="PCA.*hands_components.*smpl-x.is.tue.mpg.de"):
        load_smplx_motion(path)


def test_pca_hands_expanded_with_the_model(tmp_path):
    model = load_smplx_model(write_synthetic_model(tmp_path / "models"))
    coeffs = np.random.default_rng(1).normal(size=(2, 6))
    path = write_npz(tmp_path / "pca.npz", global_orient=np.zeros((2, 3)),
                     body_pose=np.zeros((2, 63)), left_hand_pose=coeffs)
    sm = load_smplx_motion(path, model=model)
    arrays = synthetic_model_arrays()
    full = (coeffs @ arrays["hands_componentsl"][:6] + arrays["hands_meanl"]).reshape(2, 15, 3)
    c = CADENCE_TO_MODEL.T
    expected = rot.matrix_to_quat(c @ rot.axis_angle_to_matrix(full) @ c.T)
    assert np.all(rot.angle_between_quats(sm.motion.rotations[:, 25:40], expected) < 1e-6)


def test_model_gives_the_pelvis_position(tmp_path):
    model = load_smplx_model(write_synthetic_model(tmp_path / "m"))
    transl = np.array([[0.1, 1.1, 0.2]])
    path = write_npz(tmp_path / "b.npz", poses=np.zeros((1, 165)), trans=transl,
                     expressions=np.zeros((1, 10)))
    sm = load_smplx_motion(path, model=model)
    pelvis_model = model.joint_positions(None)[0] + transl[0]
    np.testing.assert_allclose(sm.motion.root_positions[0], CADENCE_TO_MODEL.T @ pelvis_model)


@pytest.mark.parametrize("up", ["z", "y"])
def test_round_trip_is_lossless(tmp_path, up):
    rng = np.random.default_rng(2)
    frames = 20
    rotations = rot.normalize(rng.normal(size=(frames, 55, 4)))
    motion = Motion(rotations, rng.normal(size=(frames, 3)) + [0, 0, 1], 24.0)
    expressions = rng.normal(size=(frames, 50))
    path = save_smplx_motion(tmp_path / "out.npz", motion, expressions=expressions,
                             gender="male", up=up)
    with np.load(path, allow_pickle=False) as data:
        assert data["poses"].shape == (frames, 165) and data["trans"].shape == (frames, 3)
        assert float(data["mocap_frame_rate"]) == 24.0 and str(data["gender"]) == "male"
        assert str(data["surface_model_type"]) == "smplx"
    back = load_smplx_motion(path)
    assert back.up == up and back.fps == 24.0 and back.gender == "male"
    assert rot.angle_between_quats(back.motion.rotations, rotations).max() <= 1e-5
    np.testing.assert_allclose(back.motion.root_positions, motion.root_positions, atol=1e-9)
    np.testing.assert_allclose(back.expressions, expressions)


def test_round_trip_with_model_pelvis(tmp_path):
    model = load_smplx_model(write_synthetic_model(tmp_path / "m"))
    motion = Motion(rot.quat_identity((2, 55)), np.array([[0.0, 0.0, 0.9], [0.1, 0.0, 0.9]]))
    betas = np.full(10, 0.5)
    path = save_smplx_motion(tmp_path / "o.npz", motion, betas=betas, model=model)
    with np.load(path) as data:  # trans is the pelvis minus the shaped model's pelvis joint
        np.testing.assert_allclose(data["trans"] + model.joint_positions(betas)[0],
                                   motion.root_positions)
    back = load_smplx_motion(path, model=model)
    np.testing.assert_allclose(back.motion.root_positions, motion.root_positions, atol=1e-9)


def test_wrong_default_up_is_refused_explicit_up_is_kept(tmp_path):
    # Y-up data (root at identity) in the AMASS layout, whose default is Z up.
    aa = raised_arm_poses(3, np.zeros(3))
    path = write_npz(tmp_path / "yup.npz", poses=aa.reshape(3, -1), trans=np.zeros((3, 3)))
    with pytest.raises(SmplxFormatError, match="--up y"):
        load_smplx_motion(path)
    assert_raised_arm_standing(load_smplx_motion(path, up="y").motion)
    kept = load_smplx_motion(path, up="z")
    assert any("lies down" in n for n in kept.notes)


def test_load_canonical_motion_reads_npz_and_resamples(tmp_path):
    aa = raised_arm_poses(13, AMASS_ROOT)
    path = write_npz(tmp_path / "a.npz", poses=aa.reshape(13, -1), trans=np.zeros((13, 3)),
                     mocap_frame_rate=np.array(60.0))
    motion = load_canonical_motion(path, fps=30)
    assert motion.fps == 30 and motion.num_frames == 7
    assert_raised_arm_standing(motion)


class _Trap:
    """Unpickling this would create a file: the test checks it never exists."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_object_array_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    objects = np.empty(1, dtype=object)
    objects[0] = _Trap(marker)
    path = tmp_path / "evil.npz"
    with open(path, "wb") as f:
        np.savez(f, poses=np.zeros((2, 165)), betas=objects)
    with pytest.raises(SmplxFormatError, match="'betas'.*pickled.*arbitrary code"):
        load_smplx_motion(path)
    assert not marker.exists()


def test_pickle_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    for name in ("motion.pkl", "disguised.npz"):
        path = tmp_path / name
        path.write_bytes(pickle.dumps({"poses": _Trap(marker)}))
        with pytest.raises(SmplxFormatError, match="pickle.*arbitrary code"):
            load_smplx_motion(path)
    with pytest.raises(ValueError, match="pickle"):
        load_canonical_motion(tmp_path / "motion.pkl")
    assert not marker.exists()


@pytest.mark.parametrize("arrays, message", [
    ({"trans": np.zeros((2, 3))}, "no 'poses' array.*keys found: trans"),
    ({"poses": np.zeros((2, 100))}, r"\(frames, 165\) SMPL-X"),
    ({"poses": np.full((2, 165), np.nan)}, "'poses' contains NaN"),
    ({"poses": np.zeros((2, 165)), "trans": np.zeros((3, 3))}, "'trans' has 3 frames"),
    ({"poses": np.zeros((2, 165)), "trans": np.zeros((2, 2))}, "'trans' must have 3 values"),
    ({"poses": np.array(["a", "b"])}, "'poses' must be numbers"),
    ({"poses": np.zeros((2, 165)), "mocap_frame_rate": np.array(-5.0)}, "positive"),
    ({"global_orient": np.zeros((2, 3)), "body_pose": np.zeros((2, 60))},
     "'body_pose' must have 63 values"),
    ({"poses": np.zeros((0, 165))}, "no frames"),
])
def test_malformed_files_are_refused(tmp_path, arrays, message):
    path = write_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(SmplxFormatError, match=message):
        load_smplx_motion(path)


def test_other_files_are_refused(tmp_path):
    npy = tmp_path / "poses.npy"
    np.save(npy, np.zeros((2, 165)))
    with pytest.raises(SmplxFormatError, match="single .npy array"):
        load_smplx_motion(npy)
    text = tmp_path / "t.npz"
    text.write_text("poses")
    with pytest.raises(SmplxFormatError, match="not an .npz"):
        load_smplx_motion(text)
    with pytest.raises(SmplxFormatError, match="cannot read"):
        load_smplx_motion(tmp_path / "missing.npz")


def test_synthetic_model_reads_and_refuses_non_smplx(tmp_path):
    model = load_smplx_model(write_synthetic_model(tmp_path))
    assert (model.num_betas, model.num_expressions) == (10, NUM_EXPR)
    bad = synthetic_model_arrays()
    bad["kintree_table"] = bad["kintree_table"][:, :24]
    write_npz(tmp_path / "SMPLX_MALE.npz", **bad)
    with pytest.raises(ValueError, match="not a SMPL-X model"):
        load_smplx_model(tmp_path / "SMPLX_MALE.npz")
    with pytest.raises(ValueError, match="smpl-x.is.tue.mpg.de"):
        load_smplx_model(tmp_path / "empty_folder_that_is_missing")


def test_cli_convert_npz_to_bvh_and_back(tmp_path, capsys):
    from cadence.cli.main import main
    from cadence.motion.bvh import read_bvh
    aa = raised_arm_poses(9, np.zeros(3))
    src = write_npz(tmp_path / "beat2.npz", poses=aa.reshape(9, -1), trans=np.zeros((9, 3)),
                    expressions=np.ones((9, 100)), mocap_frame_rate=np.array(15.0))
    assert main(["convert", str(src), "--out", str(tmp_path / "m.bvh")]) == 0
    assert read_bvh(tmp_path / "m.bvh").num_frames == 17
    assert main(["convert", str(tmp_path / "m.bvh"), "--out", str(tmp_path / "m.npz")]) == 0
    assert_raised_arm_standing(load_smplx_motion(tmp_path / "m.npz").motion)
    # npz -> npz keeps the expressions, at the new frame rate.
    assert main(["convert", str(src), "--out", str(tmp_path / "e.npz"), "--fps", "15",
                 "--out-up", "y"]) == 0
    back = load_smplx_motion(tmp_path / "e.npz")
    assert back.up == "y" and back.expressions.shape == (9, 100)
    assert "wrote" in capsys.readouterr().out


def test_cli_convert_errors(tmp_path, capsys):
    from cadence.cli.main import main
    aa = raised_arm_poses(3, np.zeros(3))
    src = write_npz(tmp_path / "y.npz", poses=aa.reshape(3, -1))
    assert main(["convert", str(src), "--out", str(tmp_path / "o.bvh")]) == 2
    assert "--up y" in capsys.readouterr().err
    assert main(["convert", str(src), "--out", str(tmp_path / "o.bvh"), "--up", "y"]) == 0
    assert "note: no translation" in capsys.readouterr().out
    assert main(["convert", str(src), "--out", str(tmp_path / "o.fbx")]) == 2
    pca = write_npz(tmp_path / "p.npz", global_orient=np.zeros((2, 3)),
                    body_pose=np.zeros((2, 63)), left_hand_pose=np.zeros((2, 6)))
    assert main(["convert", str(pca), "--out", str(tmp_path / "o.bvh")]) == 2
    assert "hands_components" in capsys.readouterr().err
    model_dir = tmp_path / "models"
    write_synthetic_model(model_dir)
    assert main(["convert", str(pca), "--out", str(tmp_path / "o.npz"),
                 "--model", str(model_dir)]) == 0


def test_joint_motion_from_samples_undoes_any_bone_rest_and_object_turn():
    from cadence.motion.rest_rig import RestRig, RigSamples
    from cadence.motion.smplx_write import joint_motion_from_samples
    rng = np.random.default_rng(4)
    motion = Motion(rot.normalize(rng.normal(size=(3, 55, 4))), rng.normal(size=(3, 3)), 25.0)
    world_m, world_p = motion.forward_kinematics()
    rest = rot.quat_to_matrix(rot.normalize(rng.normal(size=(55, 4))))  # arbitrary bone rolls
    turn = np.eye(4)
    turn[:3, :3] = rot.axis_angle_to_matrix([0.0, 0.0, 0.7])  # the object is turned
    pose = np.zeros((3, 55, 4, 4))
    pose[..., :3, :3] = turn[:3, :3].T @ world_m @ rest
    pose[..., :3, 3] = world_p @ turn[:3, :3]
    pose[..., 3, 3] = 1.0
    heads = CANONICAL.rest_positions()
    rig = RestRig(CANONICAL.names, CANONICAL.parents, heads, heads + 0.1, rest)
    back = joint_motion_from_samples(RigSamples(rig, pose, turn, 25.0))
    assert rot.angle_between_quats(back.rotations, motion.rotations).max() < 1e-6
    np.testing.assert_allclose(back.root_positions, motion.root_positions, atol=1e-9)
