"""Look at a point, reach a point (issue 22, motion/targets.py)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.motion import rotations as rot
from cadence.motion.kinematics import motion_world, rest_motion
from cadence.motion.skeleton import CANONICAL
from cadence.motion.targets import (
    EYES,
    HEAD_FORWARD,
    MAX_EYE_DEG,
    MAX_LEAN_DEG,
    MAX_LOOK_DEG,
    LookAt,
    Reach,
    TargetError,
    eye_angles,
    look_at,
    parse_look_at,
    parse_reach,
    reach,
)

J = {n: i for i, n in enumerate(CANONICAL.names)}


def standing(seconds: float = 4.0):
    return rest_motion(int(seconds * 30))


def head_angle(motion, point):
    world, pos = motion_world(motion)
    fwd = rot.quat_rotate(world[:, J["head"]], np.broadcast_to(HEAD_FORWARD, (len(world), 3)))
    d = point[None] - pos[:, J["head"]]
    cos = np.sum(rot.normalize(fwd) * rot.normalize(d), axis=1)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def test_parsing_and_refusals():
    lk = parse_look_at("2,-3,1.6@1-4")
    assert np.allclose(lk.point, [2, -3, 1.6]) and (lk.start, lk.end) == (1.0, 4.0)
    r = parse_reach("left_hand=0.3,-0.5,1.2@2.5")
    assert r.hand == "left_hand" and r.time == 2.5
    for bad, msg in [("2,-3@1-4", "X,Y,Z"), ("2,-3,1@4-1", "after the start"), ("1,2,nan@1-2", "X,Y,Z"),
                     ("1,2,3", "START-END")]:
        with pytest.raises(TargetError, match=msg):
            parse_look_at(bad)
    for bad, msg in [("foot=1,2,3@1", "right_hand or left_hand"), ("right_hand=1,2,3", "HAND=X,Y,Z@SECONDS"),
                     ("right_hand=1,2,3@-1", "seconds"), ("right_hand=1e9,0,0@1", "10 km")]:
        with pytest.raises(TargetError, match=msg):
            parse_reach(bad)


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_text_is_a_target_or_one_clear_error(text):
    for parse in (parse_look_at, parse_reach):
        try:
            parse(text)
        except TargetError as exc:
            assert str(exc) and "\n" not in str(exc)


def test_head_turns_to_the_point_and_eases_back():
    m = standing()
    point = np.array([1.5, -1.5, 1.5])  # 45 degrees to the character's left-front
    out = look_at(m, LookAt(point, 1.0, 3.0))
    ang = head_angle(out, point)
    assert ang[40:80].max() < 1.0  # inside the range, after the ease
    assert ang[0] == pytest.approx(head_angle(m, point)[0], abs=1e-6)  # before: untouched
    np.testing.assert_allclose(out.rotations[:, :J["neck"]], m.rotations[:, :J["neck"]])  # body below untouched
    behind = np.array([0.0, 3.0, 1.5])
    limited = head_angle(look_at(m, LookAt(behind, 1.0, 3.0)), behind)
    assert limited[60] == pytest.approx(180.0 - MAX_LOOK_DEG, abs=2.0)  # over the shoulder, no further


def gaze_angles(motion, point):
    """Per eye, the angle (degrees) between its forward axis and the point, per frame."""
    world, pos = motion_world(motion)
    out = []
    for name in EYES:
        fwd = rot.quat_rotate(world[:, J[name]], np.broadcast_to(HEAD_FORWARD, (len(world), 3)))
        d = point[None] - pos[:, J[name]]
        out.append(np.degrees(np.arccos(np.clip(np.sum(rot.normalize(fwd) * rot.normalize(d), axis=1), -1, 1))))
    return np.stack(out)


def test_the_eyes_look_at_the_point_converge_and_carry_the_gaze_past_the_neck():
    m = standing()
    near = np.array([0.15, -0.45, 1.6])  # a hand's width left of the nose, 40 cm ahead
    out = look_at(m, LookAt(near, 1.0, 3.0))
    assert gaze_angles(out, near)[:, 40:80].max() < 0.5  # both eyes on it, once eased in
    world, _ = motion_world(out)
    left, right = (rot.quat_rotate(world[60, J[e]], HEAD_FORWARD) for e in EYES)
    assert np.degrees(np.arccos(np.clip(left @ right, -1, 1))) > 5.0  # they converge
    np.testing.assert_allclose(out.rotations[:20, [J[e] for e in EYES]], m.rotations[:20, [J[e] for e in EYES]])
    behind = np.array([0.0, 3.0, 1.6])
    gaze = gaze_angles(look_at(m, LookAt(behind, 1.0, 3.0)), behind)[:, 60]
    np.testing.assert_allclose(gaze, 180.0 - MAX_LOOK_DEG - MAX_EYE_DEG, atol=2.5)  # the eyes' last 30 degrees


def test_eye_angles_read_the_look_and_the_face_s_eyelook_shapes_follow_it():
    from cadence.face.animation import FaceAnimation
    from cadence.face.arkit import INDEX
    from cadence.face.expression import GAZE_LIMIT, with_look
    m = standing()
    side = np.array([3.0, 0.5, 1.6])        # far to the character's left, a little behind
    out = look_at(m, LookAt(side, 1.0, 3.0))
    eyes = eye_angles(out)
    np.testing.assert_allclose(eye_angles(m), 0.0, atol=1e-6)                  # at rest: straight ahead
    beyond = np.degrees(np.arctan2(3.0, -0.5)) - MAX_LOOK_DEG  # what the neck leaves (forward is -Y): ~19.5
    np.testing.assert_allclose(eyes[60, [0, 2]], beyond, atol=2.0)     # both turn to the left
    assert abs(eyes[60, 1]) < 5 and abs(eyes[60, 3]) < 5   # level
    near = np.array([0.15, -0.45, 1.6])                    # left of the nose: the eyes converge
    close = eye_angles(look_at(m, LookAt(near, 1.0, 3.0)))[60]
    assert close[2] > close[0] + 2.0                       # the right eye turns further in
    rng = np.random.default_rng(0)
    face = FaceAnimation(rng.uniform(0, 1, (m.num_frames, 52)), None, rng.uniform(-20, 20, (m.num_frames, 4)))
    looking = with_look(face, out, [(1.0, 3.0)])
    w = looking.weights
    np.testing.assert_allclose(w[60, INDEX["eyeLookOutLeft"]], eyes[60, 0] / GAZE_LIMIT, atol=1e-5)
    np.testing.assert_allclose(w[60, INDEX["eyeLookInRight"]], eyes[60, 2] / GAZE_LIMIT, atol=1e-5)
    assert w[60, INDEX["eyeLookInLeft"]] == 0 and w[60, INDEX["eyeLookOutRight"]] == 0
    np.testing.assert_allclose(looking.eyes[60], eyes[60], atol=1e-4)
    gaze = {INDEX[n] for n in INDEX if n.startswith("eyeLook")}
    keep = [k for k in range(52) if k not in gaze]
    np.testing.assert_allclose(w[:, keep], face.weights[:, keep], atol=1e-6)    # the rest of the face
    np.testing.assert_allclose(w[:20], face.weights[:20], atol=1e-6)            # before the look
    np.testing.assert_allclose(looking.eyes[:20], face.eyes[:20], atol=1e-4)
    assert with_look(face, out, []) is face


def test_the_head_follows_a_moving_point():
    """A point per frame (an animated object in Blender): the head tracks it."""
    m = standing()
    t = np.arange(m.num_frames) / m.fps
    points = np.stack([2.0 * np.cos(t), -2.0 + 0 * t, 1.5 + 0 * t], axis=1)  # sweeping left and right
    out = look_at(m, LookAt(points, 1.0, 3.0))
    world, pos = motion_world(out)
    fwd = rot.quat_rotate(world[:, J["head"]], np.broadcast_to(HEAD_FORWARD, (len(world), 3)))
    d = points - pos[:, J["head"]]
    cos = np.sum(rot.normalize(fwd) * rot.normalize(d), axis=1)
    assert np.degrees(np.arccos(np.clip(cos, -1, 1)))[40:80].max() < 1.0


def test_hand_reaches_the_point_and_nothing_else_moves():
    m = standing()
    _, pos = motion_world(m)
    point = pos[60, J["right_shoulder"]] + np.array([-0.1, -0.35, -0.2])
    out = reach(m, Reach("right_hand", point, 2.0))
    world2, pos2 = motion_world(out)
    assert np.linalg.norm(pos2[60, J["right_wrist"]] - point) < 1e-3
    arm = [J[n] for n in ("right_shoulder", "right_elbow", "right_wrist")]
    others = [k for k in range(len(CANONICAL.names)) if k not in arm and not k > J["right_wrist"]]
    np.testing.assert_allclose(out.rotations[:, others], m.rotations[:, others])
    np.testing.assert_allclose(pos2[:, J["left_ankle"]], pos[:, J["left_ankle"]])  # feet stay put
    world, _ = motion_world(m)
    assert np.allclose(np.abs(np.sum(world2[:, J["right_wrist"]] * world[:, J["right_wrist"]], -1)), 1.0, atol=1e-6)
    assert np.allclose(out.rotations[:30], m.rotations[:30]) and np.allclose(out.rotations[-30:], m.rotations[-30:])


def test_a_point_past_the_arm_bends_the_spine_towards_it_and_the_feet_stay():
    m = standing()
    _, pos = motion_world(m)
    shoulder = pos[60, J["right_shoulder"]]
    point = shoulder + np.array([-0.1, -0.55, -0.25])         # 0.61 m ahead and down: the arm is 0.51 m
    out = reach(m, Reach("right_hand", point, 2.0))
    world2, pos2 = motion_world(out)
    assert np.linalg.norm(pos2[60, J["right_wrist"]] - point) < 1e-3
    np.testing.assert_allclose(pos2[:, [J["left_ankle"], J["right_foot"], J["pelvis"]]],
                               pos[:, [J["left_ankle"], J["right_foot"], J["pelvis"]]], atol=1e-9)
    back = pos2[60, J["neck"]] - pos2[60, J["spine1"]]
    upright = pos[60, J["neck"]] - pos[60, J["spine1"]]
    bend = np.degrees(np.arccos(back @ upright / np.linalg.norm(back) / np.linalg.norm(upright)))
    assert 5.0 < bend < MAX_LEAN_DEG and back[1] < upright[1]          # leaning forward (-Y), not folded
    assert np.allclose(out.rotations[:30], m.rotations[:30]) and np.allclose(out.rotations[-30:], m.rotations[-30:])
    spine = pos2[:, J["spine3"]]
    assert np.abs(np.diff(spine, 2, axis=0)).max() < 0.01                   # eased in and out, no pop
    near = shoulder + np.array([-0.1, -0.35, -0.2])                         # within reach: no bend
    np.testing.assert_allclose(reach(m, Reach("right_hand", near, 2.0)).rotations[:, J["spine2"]],
                               m.rotations[:, J["spine2"]])


def test_unreachable_and_late_targets_are_refused_in_words():
    m = standing(3.0)
    with pytest.raises(TargetError, match=r"m from the shoulder, the arm reaches 0.\d\d m \(2.\d\d m away "
                                          r"leaning 40 degrees\)"):
        reach(m, Reach("left_hand", np.array([3.0, 0.0, 1.0]), 1.0))
    with pytest.raises(TargetError, match="after the clip's end"):
        reach(m, Reach("left_hand", np.array([0.3, -0.3, 1.2]), 5.0))
    with pytest.raises(TargetError, match="after the clip's end"):
        look_at(m, LookAt(np.zeros(3), 4.0, 5.0))


def test_cli_targets(tmp_path, capsys):
    from cadence.cli.main import main
    out = tmp_path / "a.bvh"
    assert main(["generate", "--prompt", "a person waves", "--seconds", "3", "--look-at", "2,-1,1.6@1-2.5",
                 "--out", str(out)]) == 0 and out.exists()
    bad = tmp_path / "b.bvh"
    assert main(["generate", "--prompt", "a person waves", "--seconds", "3", "--target", "right_hand=5,5,1@1",
                 "--out", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "the arm reaches" in err and not bad.exists()


def test_eyes_reach_a_rig_with_eye_bones():
    """Mixamo-named characters carry LeftEye / RightEye bones: the retargeter maps the
    canonical eyes onto them, and on the rig they look at the point too."""
    from cadence.motion.canonical_to_rig import RetargetOptions, pose_matrices, retarget_to_rig
    from cadence.motion.rig_mapping import match_rig
    from cadence.motion.rig_target import prepare_target

    import rig_builders as rb
    spec = rb.mixamo(eyes=True, roll_seed=3)
    rig = rb.rest_rig(spec)
    bone_map = match_rig(rig)
    assert bone_map.bones["left_eye_smplhf"] == "mixamorig:LeftEye"
    point = np.array([0.6, -1.2, 1.7])
    motion = look_at(standing(3.0), LookAt(point, 0.5, 2.5))
    orient, heads = pose_matrices(rig, retarget_to_rig(prepare_target(rig, bone_map), motion, RetargetOptions()))
    rest = rot.orthonormalize(rig.matrices)
    for joint in EYES:
        b = rig.index[spec.joints[joint]]
        world_turn = orient[45, b] @ rest[b].T  # the bone's turn from its rest, armature space
        look = world_turn @ HEAD_FORWARD
        to_point = rot.normalize(point - heads[45, b])
        assert np.degrees(np.arccos(np.clip(look @ to_point, -1, 1))) < 1.0
