"""Standing idle (inference/motion/standing.py): "stands still", "idle", "waits" stand."""
import numpy as np
import pytest

from cadence.bench.metrics import foot_skating_ratio
from cadence.inference.motion import standing
from cadence.inference.motion.compose import compose
from cadence.inference.motion.model import GenerationRequest, MotionModel
from cadence.inference.motion.timeline import parse_stmc
from cadence.motion import rotations as rot
from cadence.motion.foot_lock import decode_generated
from cadence.motion.kinematics import Motion
from cadence.motion.skeleton import JOINT_NAMES

WRISTS = [JOINT_NAMES.index("left_wrist"), JOINT_NAMES.index("right_wrist")]


@pytest.fixture(scope="module")
def model():
    return MotionModel.load()


def travel(motion: Motion) -> float:
    p = motion.root_positions[:, :2]
    return float(np.linalg.norm(p - p[0], axis=1).max())


def wrist_speed(motion: Motion) -> float:
    p = motion.positions()[:, WRISTS]
    return float(np.linalg.norm(np.diff(p, axis=0), axis=-1).mean() * motion.fps)


def test_idle_prompts_read_as_standing_and_action_prompts_keep_their_action(model):
    from cadence.training.prompts import HELD_OUT_PROMPTS
    idle = ["a person stands still", "idle", "a man waits", "someone is standing and waiting",
            "a woman standing quietly"]          # the last two are not among the paraphrases
    reading = model.encode_prompts(idle)
    for i, text in enumerate(idle):
        matches = model.match(reading.probabilities[i], stand=reading.stand_score(i))
        assert matches[0][0] == "stand" and matches[0][1] >= standing.THRESHOLD, (text, matches)
        assert reading.content[i].argmax() == model.labels.index(standing.SAMPLED_AS)
    others = ["a person stands and waves", "a person walks forward", "a person bows", "a person sits still",
              "a person runs", "a person does a cartwheel"]
    reading = model.encode_prompts(others)
    assert not np.any(reading.stand), others
    known = [t for label in model.labels for t in HELD_OUT_PROMPTS[label]]   # never a stand
    assert not np.any(model.encode_prompts(known).stand)


def test_a_standing_prompt_stays_in_place_feet_planted_hands_low(model):
    for seed, solver in ((0, None), (1, "distilled")):
        r = model.generate(GenerationRequest("a person stands still", 5.0, seed=seed, solver=solver))[0]
        assert r.matches[0][0] == "stand"
        p = r.motion.positions()
        assert travel(r.motion) < 0.01
        assert foot_skating_ratio(p, r.motion.fps) < 0.02
        assert np.all(p[:, WRISTS, 2] < p[:, [JOINT_NAMES.index("pelvis")], 2] + 0.15)   # hands hang
        # the same sample without the settling moves more: the calming is what stills it
        raw = decode_generated(r.features, r.motion.fps)
        assert wrist_speed(r.motion) < 0.6 * wrist_speed(raw)
        assert wrist_speed(r.motion) < 0.2


def test_a_standing_segment_on_the_legs_keeps_a_wave_on_the_arm(model):
    timeline = parse_stmc("a person stands still # 0 # 5 # legs\n"
                          "a person waves with the right hand # 1 # 4 # right_arm")
    r = compose(model, timeline, seed=0, solver="distilled")
    assert r.matches[0][0][0] == "stand" and r.matches[1][0][0] == "wave-right-hand"
    assert travel(r.motion) < 0.01
    p = r.motion.positions()
    mid = slice(int(2 * r.motion.fps), int(3 * r.motion.fps))
    assert p[mid, WRISTS[1], 2].mean() > p[mid, JOINT_NAMES.index("head"), 2].mean() - 0.2   # the hand up


def test_ease_weights_still_root_and_calm():
    w = standing.ease_weights([(1.0, 2.0)], 90, 30.0)
    assert w[30:61].min() == 1.0 and w[:15].max() == 0.0 and w[75:].max() == 0.0
    assert 0.0 < w[25] < 1.0 and np.abs(np.diff(w)).max() < 0.2          # eased, no step
    feats = np.ones((90, 10))
    still = standing.still_root(feats, w)
    assert np.all(still[30:61, standing.ROOT_MOTION] == 0.0) and np.all(still[:, 3:] == 1.0)
    assert np.all(still[:10, standing.ROOT_MOTION] == 1.0)
    frames = 90
    q = np.tile(rot.quat_identity(), (frames, len(JOINT_NAMES), 1))
    swing = 0.5 * np.sin(np.arange(frames) / 5.0)
    elbow = JOINT_NAMES.index("right_elbow")
    q[:, elbow] = rot.axis_angle_to_quat(np.stack([swing, 0 * swing, 0 * swing], axis=1))
    m = Motion(q, np.zeros((frames, 3)), 30.0)
    out = standing.calm(m, np.ones(frames), ["right_arm"], keep=0.2)
    angle = np.degrees(rot.angle_between_quats(out.rotations[:, elbow], rot.quat_mean(out.rotations[:, [elbow]])[0]))
    assert angle.max() < 0.3 * np.degrees(np.abs(swing).max()) + 1.0     # a fifth of the swing is left
    untouched = standing.calm(m, np.ones(frames), ["left_arm"])
    np.testing.assert_allclose(untouched.rotations[:, elbow], m.rotations[:, elbow])


def test_a_standing_torso_sways_and_breathes_by_seed():
    roll, pitch = standing.sway_curves(600, 30.0, seed=3)
    assert 0.5 < np.degrees(np.ptp(roll)) <= 2 * standing.Sway().degrees + 1e-9       # posture shifts
    spectrum = np.abs(np.fft.rfft(pitch - pitch.mean()))
    freq = np.fft.rfftfreq(600, 1 / 30.0)[np.argmax(spectrum[1:]) + 1]
    assert abs(1 / freq - standing.Sway().breath_seconds) < 1.5 or np.degrees(np.ptp(pitch)) > 0.5
    other = standing.sway_curves(600, 30.0, seed=4)[0]
    assert not np.allclose(roll, other)                                               # another seed
    frames = 60
    m = Motion(np.tile(rot.quat_identity(), (frames, len(JOINT_NAMES), 1)), np.zeros((frames, 3)), 30.0)
    out = standing.lay_sway(m, np.full(frames, np.radians(3.0)), np.zeros(frames))
    tilt = sum(np.degrees(rot.angle_between_quats(out.rotations[0, j], rot.quat_identity())) for j in standing.SPINE)
    assert abs(tilt - 3.0) < 1e-6                                  # spread over the spine
    assert np.allclose(out.rotations[:, JOINT_NAMES.index("head")], rot.quat_identity())


def test_a_standing_idle_on_a_path_is_refused_in_one_line(model, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from cadence.inference.motion.path_follow import PathFollow
    from cadence.inference.motion.timeline import TimelineError
    from cadence.motion.ground_path import GroundPath
    follow = PathFollow(GroundPath(np.array([[0.0, 0.0], [0.0, -3.0]])), model.normalizer, model.fps)
    with pytest.raises(TimelineError, match="reads as a standing idle"):
        compose(model, parse_stmc("a person stands still # 0 # 4"), path=follow, solver="distilled")
    path = tmp_path / "p.json"
    path.write_text('{"points": [[0, 0], [0, -3]]}')
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, str(root / "cadence"), "generate", "--prompt", "idle", "--path", str(path),
                        "--out", str(tmp_path / "x.bvh")], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "cannot walk a path" in r.stderr
    assert not (tmp_path / "x.bvh").exists()
