"""Walking a drawn path (issue 22): the ground path, the root channels that follow it,
and the sampler walking it."""
import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.inference.motion.path_follow import PathFollow, clip_seconds
from cadence.motion.ground_path import GroundPath, PathError, heading_of
from cadence.motion.representation import Normalizer, integrate_root

FPS = 30.0
L_PATH = np.array([[0.0, 0.0], [0.0, -4.0], [4.0, -4.0]])


def identity_normalizer() -> Normalizer:
    from cadence.motion.representation import FEATURE_DIM
    return Normalizer(np.zeros(FEATURE_DIM), np.ones(FEATURE_DIM), "test")


def gait_root(frames: int, speed: float = 1.2, curve: float = 0.0) -> np.ndarray:
    """Root channels of a walk: forward ``speed`` with a step's yaw and sway (1 Hz
    cycle), turning ``curve`` rad/s on average."""
    t = np.arange(frames) / FPS
    root = np.zeros((frames, 3))
    root[:, 0] = curve + 0.35 * np.cos(2 * np.pi * t)      # pelvis yaw swings +-3 deg
    root[:, 1] = 0.15 * np.cos(2 * np.pi * t + 0.3)        # sideways sway
    root[:, 2] = -speed
    return root


@pytest.mark.parametrize("points, message", [
    ([[0, 0]], "2 to"), ([[0, 0], [0, 0.01]], "cm long"), ([[0, 0], [np.nan, 1]], "finite"),
    ([[0, 0], [1e6, 0]], "within"), ([0, 1, 2], "[x, y] pairs")])
def test_bad_paths_are_refused_in_words(points, message):
    with pytest.raises(PathError, match=message.replace("[", r"\[").replace("]", r"\]")):
        GroundPath(np.array(points, dtype=float))


def test_times_are_checked():
    with pytest.raises(PathError, match="one time per point"):
        GroundPath(L_PATH, np.array([0.0, 1.0]))
    with pytest.raises(PathError, match="increase"):
        GroundPath(L_PATH, np.array([0.0, 2.0, 2.0]))
    with pytest.raises(PathError, match="seconds from 0"):
        GroundPath(L_PATH, np.array([-1.0, 2.0, 3.0]))


def test_arc_length_geometry_and_facing():
    p = GroundPath(L_PATH)
    # The corner is walked as a 0.35 m arc: 15 cm shorter, never more than 11 cm off the line.
    assert p.length == pytest.approx(8.0 - 0.35 * (2 - np.pi / 2), abs=1e-3)
    np.testing.assert_allclose(p.point_at([0.0, 2.0, p.length - 2.0, 99.0]), [[0, 0], [0, -2], [2, -4], [4, -4]],
                               atol=1e-9)
    walked = p.point_at(np.linspace(0.0, p.length, 400))
    assert p.distance_to(walked).max() == pytest.approx(0.35 * (1 - np.sqrt(0.5)), abs=0.01)
    assert heading_of(np.array([0.0, -1.0])) == pytest.approx(0.0)  # the default facing
    np.testing.assert_allclose(p.heading_at([1.0, 7.0]), [0.0, np.pi / 2], atol=1e-9)  # then facing +X
    corner = p.heading_at(np.linspace(3.5, 4.5, 11))
    assert np.all(np.diff(corner) >= 0) and 0.3 < corner[5] < 1.3  # a turn, not a snap
    assert p.distance_to(np.array([[1.0, -1.0], [2.0, -5.0]])) == pytest.approx([1.0, 1.0])


@given(st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.sampled_from(
                        ["points", "times", "facing", "x"]), inner, max_size=3), max_leaves=20))
@settings(max_examples=200, deadline=None)
def test_any_json_is_a_path_or_one_clear_error(data):
    try:
        GroundPath.from_dict(data)
    except PathError as exc:
        assert str(exc) and "\n" not in str(exc)


def test_path_file(tmp_path):
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"points": L_PATH.tolist(), "times": [0, 4, 8]}))
    p = GroundPath.load(f)
    assert p.duration == 8.0 and clip_seconds(p, "walk") == pytest.approx(8.5)
    f.write_text('{"points": [[0, 0], [NaN, 1]]}')
    with pytest.raises(PathError, match="NaN"):
        GroundPath.load(f)


@pytest.mark.parametrize("curve", [0.0, 0.3])
def test_root_channels_walk_the_path_keeping_the_gait_sway(curve):
    path = GroundPath(L_PATH)
    frames = int(clip_seconds(path, "walk") * FPS)
    follow = PathFollow(path, identity_normalizer(), FPS)
    root = gait_root(frames, curve=curve)
    out = follow.follow(root)
    start = follow.start(np.pad(out, ((0, 0), (0, 203))))
    theta, xy = integrate_root(out, FPS)
    c, s = np.cos(start.heading), np.sin(start.heading)
    world = xy @ np.array([[c, s], [-s, c]]) + np.array(start.position)
    d = path.distance_to(world)
    assert d.mean() < 0.05 and d.max() < 0.12
    assert np.linalg.norm(world[-1] - L_PATH[-1]) < 0.1  # arrived
    sway = out[:, 0] - np.convolve(out[:, 0], np.ones(31) / 31, mode="same")
    straight = slice(20, 80)  # the first leg, before the corner (4 m at 1.2 m/s)
    assert 0.15 < np.std(sway[straight]) < 0.35  # the step's yaw is still there (0.25 given)


def test_cli_walks_a_path_file(tmp_path, capsys):
    """``generate --prompt --path``: a stroll along an L arrives at its end, on the path;
    bad paths are one line and write nothing."""
    from cadence.cli.main import main
    from cadence.motion.bvh import read_bvh
    from cadence.motion.export import METRES_TO_CM, Z_UP_TO_Y_UP
    f = tmp_path / "path.json"
    f.write_text(json.dumps({"points": L_PATH.tolist()}))
    out = tmp_path / "walk.bvh"
    assert main(["generate", "--prompt", "a person strolls along", "--path", str(f), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "path: 7.8 m" in printed  # the corner walked as an arc
    # The BVH's own convention (Y up, cm), read back into Blender's axes as its importer does.
    bvh = read_bvh(out)
    xy = (bvh.local_translations()[:, 0] / METRES_TO_CM @ Z_UP_TO_Y_UP)[:, :2]
    path = GroundPath(L_PATH)
    assert path.distance_to(xy).mean() < 0.10 and path.distance_to(xy).max() < 0.30
    assert np.linalg.norm(xy[-1] - L_PATH[-1]) < 0.3 and np.linalg.norm(xy[0]) < 0.1
    for text, message in [('{"points": [[0, 0]]}', "2 to"), ('{"points": [[0, 0], [0, 1]], "times": [1, 0]}',
                                                               "increase"), ("[1, 2", "cannot read")]:
        f.write_text(text)
        bad = tmp_path / "bad.bvh"
        assert main(["generate", "--prompt", "walk", "--path", str(f), "--out", str(bad)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and not bad.exists()


def test_a_point_given_twice_with_two_times_is_a_stop():
    p = GroundPath(np.array([[0, 0], [0, -2.0], [0, -2.0], [0, -4.0]]), np.array([0.0, 2.0, 4.0, 6.0]))
    np.testing.assert_allclose(p.arc_length_at([1.0, 2.0, 3.0, 4.0, 5.0, 9.0]), [1.0, 2.0, 2.0, 2.0, 3.0, 4.0])
    assert len(p.points) == 3 and p.duration == 6.0


def test_timeline_json_segment_walks_its_path(tmp_path, capsys):
    """A wave, then a walk along an L: the walk's window follows the path from its first
    point, arriving at the segment's end; the JSON round-trips; two paths are refused."""
    from cadence.cli.main import main
    from cadence.inference.motion.timeline import TimelineError, load_timeline, parse_json
    L = (L_PATH + [1.0, 2.0]).tolist()
    doc = {"segments": [{"text": "a person waves", "start": 0, "end": 2},
                        {"text": "a person walks", "start": 2, "end": 9.5, "parts": ["legs", "torso"],
                         "path": {"points": L}}]}
    f = tmp_path / "t.json"
    f.write_text(json.dumps(doc))
    tl = load_timeline(f)
    again = parse_json(tl.to_json())
    np.testing.assert_allclose(again.segments()[1].path.points, L)
    out = tmp_path / "t.bvh"
    assert main(["generate", "--timeline", str(f), "--out", str(out)]) == 0
    from cadence.motion.bvh import read_bvh
    from cadence.motion.export import METRES_TO_CM, Z_UP_TO_Y_UP
    xy = (read_bvh(out).local_translations()[:, 0] / METRES_TO_CM @ Z_UP_TO_Y_UP)[:, :2]
    path = GroundPath(np.array(L))
    walk = xy[60:284]
    assert path.distance_to(walk).mean() < 0.10 and path.distance_to(walk).max() < 0.30
    assert np.linalg.norm(xy[60] - L[0]) < 0.15 and np.linalg.norm(xy[283] - L[-1]) < 0.3
    doc["segments"][0]["path"] = {"points": L}
    with pytest.raises(TimelineError, match="only one segment may walk a path"):
        parse_json(json.dumps(doc)).validate()
    doc["segments"][0].pop("path")
    doc["segments"][1]["parts"] = ["right_arm"]
    f.write_text(json.dumps(doc))
    assert main(["generate", "--timeline", str(f), "--out", str(tmp_path / "x.bvh")]) == 2
    assert "must drive the legs" in capsys.readouterr().err


def test_the_stop_of_a_timed_path_is_where_the_character_stands():
    path = GroundPath(np.array([[0, 0], [0, -2.0], [0, -2.0], [0, -4.0]]), np.array([0.0, 2.0, 4.0, 6.0]))
    follow = PathFollow(path, identity_normalizer(), FPS, first=15)
    frames = 15 + int(6.5 * FPS)
    root = gait_root(frames - 15, speed=1.0)
    follow.follow(root)
    standing = follow.standing(frames)
    assert standing.shape == (frames,) and not standing[:15].any()  # before the path's segment
    t = (np.arange(frames) - 15) / FPS
    assert standing[(t > 2.5) & (t < 3.5)].all()  # the stop (2-4 s), its edges eased
    assert not standing[(t > 0.8) & (t < 1.5)].any() and not standing[(t > 4.6) & (t < 5.4)].any()


def test_standing_legs_settle_into_a_stance_and_leave_it_smoothly():
    from cadence.motion import rotations as rot
    from cadence.motion.foot_lock import STANCE_SECONDS, stand_legs
    from cadence.motion.kinematics import Motion
    from cadence.motion.skeleton import JOINT_NAMES

    rng = np.random.default_rng(0)
    frames = 90
    walk = rot.axis_angle_to_quat(0.4 * np.sin(np.linspace(0, 6 * np.pi, frames))[:, None, None]
                                  * np.array([1.0, 0.0, 0.0]) * np.ones((1, len(JOINT_NAMES), 1)))
    motion = Motion(walk, np.tile([0.0, 0.0, 0.9], (frames, 1)) + 0.01 * rng.normal(size=(frames, 3)), FPS)
    hold = np.zeros(frames, bool)
    hold[40:60] = True
    out = stand_legs(motion, hold)
    knee, wrist = JOINT_NAMES.index("left_knee"), JOINT_NAMES.index("right_wrist")

    def angle(q):
        return 2 * np.degrees(np.arccos(np.clip(np.abs(q[..., 0]), 0, 1)))

    held = angle(out.rotations[40:60, knee])
    assert np.ptp(held) < 0.5  # the legs stand still (the stance's soft knee)
    np.testing.assert_allclose(out.rotations[:, wrist], motion.rotations[:, wrist])  # arms untouched
    ramp = int(round(STANCE_SECONDS * FPS))
    np.testing.assert_allclose(out.rotations[:40 - ramp - 1, knee], motion.rotations[:40 - ramp - 1, knee])
    step = angle(rot.quat_mul(rot.quat_conjugate(out.rotations[:-1, knee]), out.rotations[1:, knee]))
    assert step.max() < 12.0  # eased in and out: no pop


def test_a_point_to_face_bends_the_last_stretch_towards_it():
    straight = np.array([[0, 0], [0, -4.0]])
    left = GroundPath(straight, None, np.array([-3.0, -4.0]))             # a door to the left of the end
    assert np.degrees(left.heading_at(left.length)) == pytest.approx(-90.0, abs=1.0)
    assert np.linalg.norm(left.point_at(left.length) - [0.0, -4.0]) < 1e-9  # it ends where drawn
    drawn = GroundPath(straight)
    assert drawn.distance_to(left.point_at(np.linspace(0, 1.4, 7))).max() < 1e-6  # as drawn up to 2.5 m before
    ahead = GroundPath(straight, None, np.array([0.0, -9.0]))              # already facing it
    np.testing.assert_allclose(ahead.points, straight)
    timed = GroundPath(straight, np.array([0.0, 4.0]), np.array([-3.0, -4.0]))
    assert timed.arc_length_at(4.0) == pytest.approx(timed.length)        # still arrives at 4 s
    assert GroundPath.from_dict(left.to_dict()).to_dict() == {"points": straight.tolist(), "facing": [-3.0, -4.0]}
    with pytest.raises(PathError, match="where the path ends"):
        GroundPath(straight, None, np.array([0.0, -4.01]))
    with warnings.catch_warnings():                                        # no 0/0 on the way
        warnings.simplefilter("error")
        loop = GroundPath(np.array([[0, 0], [0, -0.5], [0.5, -0.5], [0, 0]]), None, np.array([0.0, 3.0]))
    assert np.all(np.isfinite(loop.points)) and np.linalg.norm(loop.point_at(loop.length)) < 1e-9
    with pytest.raises(PathError, match="facing must be"):
        GroundPath.from_dict({"points": straight.tolist(), "facing": [1, "x"]})


def test_a_walk_along_a_path_arrives_facing_the_point():
    """The sampled walk curves into the end and stands facing the point (a door 3 m to
    the left of where the path ends), on the fast sampler."""
    from cadence.inference.motion.compose import compose
    from cadence.inference.motion.model import MotionModel
    from cadence.inference.motion.timeline import Segment, Timeline, Track
    from cadence.motion import rotations as rot
    from cadence.motion.kinematics import motion_world
    model = MotionModel.load()
    path = GroundPath(np.array([[0, 0], [0, -3.0]]), None, np.array([-3.0, -3.0]))
    follow = PathFollow(path, model.normalizer, model.fps)
    timeline = Timeline([Track([Segment("a person walks", 0.0, clip_seconds(path, "walk"))])])
    r = compose(model, timeline, seed=0, path=follow, solver="distilled")
    world, pos = motion_world(r.motion.slice(0, follow.trimmed(r)))
    forward = rot.quat_rotate(world[-1, 0], np.array([0.0, -1.0, 0.0]))[:2]
    off = np.degrees(np.arccos(forward @ np.array([-1.0, 0.0]) / np.linalg.norm(forward)))
    assert off < 20.0 and np.linalg.norm(pos[-1, 0, :2] - [0.0, -3.0]) < 0.3, (off, pos[-1, 0])
