"""The prompt timeline: parsing, validation, round trips, composition with the model, CLI."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cadence.inference.motion.compose import compose
from cadence.inference.motion.timeline import (
    Segment,
    Timeline,
    TimelineError,
    Track,
    load_timeline,
    parse_json,
    parse_stmc,
)
from cadence.inference.motion.window_plan import CHANNEL_PARTS, plan_timeline, timeline_noise
from cadence.motion.representation import CONTACTS, POSITIONS, ROOT, ROTATIONS
from cadence.motion.skeleton import CANONICAL, MODEL_PARTS

ROOT_DIR = Path(__file__).resolve().parents[1]
J = {n: i for i, n in enumerate(CANONICAL.names)}

EXAMPLE = """\
walk forward # 0 # 6 # legs torso
turn left # 6 # 8 # legs, torso
run # 8 # 12 # legs # spine
wave with the right hand # 1 # 3 # right arm
raise both hands # 9 # 11 # arms
look around # 0 # 12 # head
"""


# --- the timeline model ---------------------------------------------------------------

def test_stmc_parses_parts_in_every_spelling():
    tl = parse_stmc(EXAMPLE)
    segs = {s.text: s for s in tl.segments()}
    assert segs["walk forward"].parts == ("legs", "torso")
    assert segs["turn left"].parts == ("legs", "torso")
    assert segs["run"].parts == ("legs", "torso")  # STMC's separate fields and "spine"
    assert segs["wave with the right hand"].parts == ("right_arm",)
    assert segs["raise both hands"].body_parts() == {"left_arm", "right_arm", "left_hand", "right_hand"}
    assert (segs["run"].start, segs["run"].end) == (8.0, 12.0)
    assert tl.end == 12.0
    # Packed onto tracks: no track holds overlapping segments.
    for tr in tl.tracks:
        ordered = sorted(tr.segments, key=lambda s: s.start)
        assert all(a.end <= b.start for a, b in zip(ordered, ordered[1:]))
    assert len(tl.tracks) == 3


def test_stmc_defaults_comments_and_styles():
    tl = parse_stmc("# a comment line\n\nwalk # 0 # 2\nbow # 2 # 4 # full body # happy=0.5, old=0.2\n")
    walk, bow = tl.segments()
    assert walk.parts == ("full_body",) and walk.style == {}
    assert bow.parts == ("full_body",) and bow.style == {"happy": 0.5, "old": 0.2}


def test_stmc_round_trip():
    tl = parse_stmc(EXAMPLE)
    again = parse_stmc(tl.to_stmc())
    key = lambda s: (s.start, s.text)  # noqa: E731
    assert [s.to_dict() for s in sorted(again.segments(), key=key)] == \
           [s.to_dict() for s in sorted(tl.segments(), key=key)]


def test_json_round_trip_keeps_tracks(tmp_path):
    tl = Timeline([Track([Segment("walk forward", 0, 6, ("legs", "torso")),
                          Segment("run", 6, 9, ("legs",), {"happy": 0.7})], "body"),
                   Track([Segment("wave with the right hand", 1, 3, ("right_arm",))], "arm")],
                  duration=10.0)
    path = tmp_path / "t.json"
    tl.write(path)
    again = load_timeline(path)
    assert again == tl
    data = json.loads(path.read_text())
    assert data["format"] == "cadence-timeline-v1" and data["tracks"][0]["name"] == "body"
    stmc = tmp_path / "t.txt"
    tl.write(stmc)
    assert "run # 6 # 9 # legs # happy=0.7" in stmc.read_text()
    assert load_timeline(stmc).segments() == tl.segments()


def test_json_flat_segments_and_loose_parts():
    tl = parse_json(json.dumps({"segments": [
        {"text": "walk", "start": 0, "end": 4, "parts": "legs torso"},
        {"text": "wave", "start": 1, "end": 2, "parts": ["Right Arm"]}]}))
    assert [s.parts for s in tl.segments()] == [("legs", "torso"), ("right_arm",)]


@pytest.mark.parametrize("text, message", [
    ("walk # 0 # 6 # legs\n # 1 # 2 # head\n", "line 2: a segment at 1 s has no text"),
    ("walk # 3 # 1 # legs\n", "line 1: 'walk' (3-1 s): end must be after start"),
    ("walk # 2 # 2 # legs\n", "end must be after start"),
    ("walk # 0 # 2 # tail\n", "unknown body part 'tail'; valid: legs, torso"),
    ("walk # zero # 2\n", "start 'zero' is not a number"),
    ("walk # -1 # 2\n", "start must not be negative"),
    ("walk forward\n", "line 1: expected 'text # start # end # parts'"),
    ("walk # 0 # 2 # legs # happy=lots\n", "expected NAME=WEIGHT"),
    ("walk # 0 # 2 # legs # happy=2\n", "weights go from 0 to 1"),
    ("", "the timeline is empty"),
])
def test_stmc_errors_are_clear(text, message):
    with pytest.raises(TimelineError) as err:
        parse_stmc(text)
    assert message in str(err.value)


def test_overlap_on_one_track_is_an_error():
    tl = Timeline([Track([Segment("walk", 0, 6, ("legs",)), Segment("turn left", 5, 8, ("legs",))])])
    with pytest.raises(TimelineError, match=r"track 1: 'walk' \(0-6 s\) overlaps 'turn left' \(5-8 s\)"):
        tl.validate()
    # Touching is fine, and so is a gap.
    Timeline([Track([Segment("walk", 0, 5), Segment("turn left", 5, 8), Segment("run", 9, 10)])]).validate()


@pytest.mark.parametrize("data, message", [
    ("[1, 2]", "must be an object"),
    ("{", "not valid JSON"),
    ('{"tracks": [{"segments": [{"text": "walk", "start": 0}]}]}', "track 1, segment 1: missing end"),
    ('{"tracks": [{"segments": [{"text": "walk", "start": 0, "end": 2, "speed": 3}]}]}', "unknown field(s) speed"),
    ('{"format": "other", "segments": []}', "unknown timeline format"),
    ('{"segments": [{"text": "walk", "start": 0, "end": 4}], "duration": 3}', "ends before the last segment"),
    ('{"tracks": [{"segments": [{"text": "a", "start": 0, "end": 4}, {"text": "b", "start": 3, "end": 5}]}]}',
     "overlaps"),
])
def test_json_errors_are_clear(data, message):
    with pytest.raises(TimelineError) as err:
        parse_json(data)
    assert message in str(err.value)


def test_unreadable_file(tmp_path):
    with pytest.raises(TimelineError, match="cannot read timeline"):
        load_timeline(tmp_path / "missing.txt")


# --- the composition plan (no model) ------------------------------------------------

def test_every_channel_belongs_to_one_part():
    legs = MODEL_PARTS.index("legs")
    assert (CHANNEL_PARTS[ROOT] == legs).all() and (CHANNEL_PARTS[CONTACTS] == legs).all()
    rot = CHANNEL_PARTS[ROTATIONS].reshape(22, 6)
    pos = CHANNEL_PARTS[POSITIONS].reshape(22, 3)
    assert (rot == rot[:, :1]).all() and (pos == pos[:, :1]).all() and (rot[:, 0] == pos[:, 0]).all()
    assert rot[J["right_wrist"], 0] == MODEL_PARTS.index("right_arm")
    assert rot[J["spine2"], 0] == MODEL_PARTS.index("torso")
    assert rot[J["neck"], 0] == MODEL_PARTS.index("head")
    assert rot[J["pelvis"], 0] == legs


def test_plan_weights_cover_every_frame_and_channel_once():
    plan = plan_timeline(parse_stmc(EXAMPLE + "bow # 14 # 16\n"), 30.0)
    np.testing.assert_allclose(plan.coverage(), 1.0, atol=1e-5)
    assert all(w.length % 4 == 0 and w.length <= 320 for w in plan.windows)
    assert all(w.start % 4 == 0 for w in plan.windows)  # whole latent tokens
    assert all(0 <= w.start and w.start + w.length <= plan.padded for w in plan.windows)
    # Windows of one call share a length.
    assert all(len({plan.windows[k].length for k in g}) == 1 for g in plan.groups)
    # The gap 12-14 s is background, the segments are not.
    assert plan.background[:, int(13 * 30)].min() == 1.0
    assert plan.background[:, int(5 * 30)].max() == 0.0


@pytest.mark.parametrize("seed", range(6))
def test_random_timelines_cover_every_frame_on_whole_tokens(seed):
    rng = np.random.default_rng(seed)
    parts = ["legs", "torso", "left_arm", "right_arm", "head", "full_body", "arms"]
    tracks = []
    for _ in range(int(rng.integers(1, 4))):
        t, segs = float(rng.uniform(0, 1)), []
        while t < 25 and len(segs) < 4:
            d = float(rng.uniform(0.3, 9.0))
            segs.append(Segment("walk", round(t, 2), round(t + d, 2), (str(rng.choice(parts)),)))
            t += d + float(rng.choice([0.0, rng.uniform(0, 2)]))
        tracks.append(Track(segs))
    plan = plan_timeline(Timeline(tracks), 30.0)
    np.testing.assert_allclose(plan.coverage(), 1.0, atol=1e-5)
    assert all(w.start % 4 == 0 and w.length % 4 == 0 for w in plan.windows)
    assert all(0 <= w.start and w.start + w.length <= plan.padded for w in plan.windows)


def test_plan_assigns_parts_as_sinc_does():
    tl = parse_stmc(EXAMPLE)
    plan = plan_timeline(tl, 30.0)
    names = [s.text for s in tl.segments()]
    share = lambda text, part, sec: plan.alpha[names.index(text), MODEL_PARTS.index(part), int(sec * 30)]  # noqa
    assert share("wave with the right hand", "right_arm", 2.0) == pytest.approx(1.0)
    assert share("walk forward", "left_arm", 2.0) == pytest.approx(1.0)  # a free arm follows the legs
    assert share("look around", "head", 10.0) == pytest.approx(1.0)
    assert share("raise both hands", "left_arm", 10.0) == pytest.approx(1.0)
    assert share("run", "legs", 10.0) == pytest.approx(1.0)
    # A boundary on a track is a symmetric cross-fade around it.
    assert share("walk forward", "legs", 6.0) == pytest.approx(0.5, abs=0.05)
    assert share("turn left", "legs", 5.4) == 0.0 and share("walk forward", "legs", 6.6) == 0.0


def test_more_specific_segment_overrides_a_full_body_one():
    tl = Timeline([Track([Segment("walk", 0, 6, ("full_body",))]),
                   Track([Segment("wave with the right hand", 2, 4, ("right_arm",))])])
    plan = plan_timeline(tl, 30.0)
    arm = MODEL_PARTS.index("right_arm")
    assert plan.alpha[1, arm, 90] == pytest.approx(1.0) and plan.alpha[0, arm, 90] == pytest.approx(0.0)
    assert plan.alpha[0, arm, 30] == pytest.approx(1.0)


def test_long_timelines_are_chunked_with_freenoise():
    tl = Timeline([Track([Segment("walk forward", 0, 30, ("full_body",))])])
    plan = plan_timeline(tl, 30.0)
    assert len([w for w in plan.windows if w.cond == 0]) >= 3
    assert all(w.start % 4 == 0 and w.length <= 320 for w in plan.windows)
    np.testing.assert_allclose(plan.coverage(), 1.0, atol=1e-5)
    n = timeline_noise(900, 206, 0, 192, "freenoise", 16)
    # Frames one window apart hold the same noise vectors, shuffled within blocks.
    block = n[192 + 32:192 + 48]
    src = n[32:48]
    assert sorted(map(tuple, block.round(5))) == sorted(map(tuple, src.round(5)))
    assert not np.array_equal(block, src)
    iid = timeline_noise(900, 206, 0, 192, "iid")
    assert abs(np.corrcoef(iid[:192].ravel(), iid[192:384].ravel())[0, 1]) < 0.02


# --- composition with the shipped model -----------------------------------------------

# Bounds from real motion (the training split of the motion data, 30 fps, 22 body joints;
# bench/timeline_quality.py prints the same figures): 99.9th percentiles over all frames
# of the fastest joint's speed (8.6 m/s) and of the largest frame-to-frame change of a
# joint's velocity (96 m/s^2). A pop at a boundary (a joint jumping a few centimetres in
# one frame) exceeds the second by far.
REAL_MAX_JOINT_SPEED = 8.6
REAL_MAX_JOINT_ACCEL = 96.0


@pytest.fixture(scope="module")
def model():
    from cadence.inference.motion.model import MotionModel
    return MotionModel.load()


@pytest.fixture(scope="module")
def walk_and_wave(model):
    tl = parse_stmc("a person walks forward # 0 # 6 # legs torso\n"
                    "waves with the right hand # 1.5 # 4.5 # right_arm\n")
    return tl, compose(model, tl, seed=0)


def boundary_speeds(pos, fps, seconds):
    v = np.diff(pos[:, :22], axis=0) * fps
    acc = np.linalg.norm(np.diff(v, axis=0), axis=-1) * fps
    out = []
    for b in seconds:
        f = int(round(b * fps))
        sl = slice(max(0, f - int(fps // 2)), f + int(fps // 2))
        out.append((np.linalg.norm(v[sl], axis=-1).max(), acc[sl].max()))
    return out


def test_wave_on_the_right_arm_while_walking(walk_and_wave):
    tl, r = walk_and_wave
    assert r.features.shape == (180, 206) and r.motion.fps == 30.0
    p = r.motion.positions()
    wave = slice(int(2.0 * 30), int(4.0 * 30))
    right = p[:, J["right_wrist"], 2] - p[:, J["right_shoulder"], 2]
    left = p[:, J["left_wrist"], 2] - p[:, J["left_shoulder"], 2]
    assert right[wave].max() > 0.0  # the right hand goes above the shoulder while waving
    assert right[wave].max() > left[wave].max() + 0.2
    travel = np.linalg.norm(p[-1, J["pelvis"], :2] - p[0, J["pelvis"], :2])
    assert travel > 2.0  # and the legs keep walking (6 s)
    feet = p[:, [J["left_foot"], J["right_foot"]], 2]
    assert abs(np.percentile(feet.min(axis=1), 10)) < 0.05
    assert np.all(p[:, J["head"], 2] > 1.3)


def test_no_pop_at_the_boundaries(walk_and_wave):
    tl, r = walk_and_wave
    for speed, accel in boundary_speeds(r.motion.positions(), 30.0, (1.5, 4.5)):
        assert speed < REAL_MAX_JOINT_SPEED and accel < REAL_MAX_JOINT_ACCEL


def test_sequence_changes_action_without_pops(model):
    tl = parse_stmc("a person walks forward # 0 # 3\na person waves both hands # 3 # 6\n"
                    "a person runs forward # 6 # 9\n")
    r = compose(model, tl, seed=0)
    p = r.motion.positions()
    speed = np.linalg.norm(np.diff(p[:, 0, :2], axis=0), axis=1) * 30
    wrists = np.minimum(p[:, J["right_wrist"], 2] - p[:, J["right_shoulder"], 2],
                        p[:, J["left_wrist"], 2] - p[:, J["left_shoulder"], 2])
    walk, wave, run = slice(0, 75), slice(105, 165), slice(195, 270)
    assert speed[walk].mean() > 0.6 and speed[wave].mean() < 0.3 and speed[run].mean() > 0.5
    assert wrists[wave].max() > 0.1 and wrists[walk].max() < -0.2  # both hands up only while waving
    for v, a in boundary_speeds(p, 30.0, (3.0, 6.0)):
        assert v < REAL_MAX_JOINT_SPEED and a < REAL_MAX_JOINT_ACCEL


def test_same_seed_same_motion_other_seed_other_motion(model, walk_and_wave):
    tl, r = walk_and_wave
    again = compose(model, tl, seed=0)
    np.testing.assert_array_equal(r.features, again.features)
    other = compose(model, tl, seed=1)
    assert np.abs(other.features - r.features).max() > 0.05


def test_long_timeline_with_a_gap(model):
    tl = parse_stmc("walk forward # 0 # 10 # legs torso\nwave with the right hand # 3 # 6 # right_arm\n"
                    "run # 14 # 24 # legs torso\n")
    r = compose(model, tl, seed=2)
    assert r.motion.num_frames == 720
    assert len([w for w in r.plan.windows if w.cond == 0]) >= 1
    p = r.motion.positions()
    assert np.all(p[:, J["head"], 2] > 1.2)  # upright all the way, gap included
    speed = np.linalg.norm(np.diff(p[:, 0, :2], axis=0), axis=1) * 30
    assert speed[:300].mean() > 0.6 and speed[14 * 30:].mean() > speed[:300].mean()


def test_regenerating_a_segment_keeps_the_rest(model, walk_and_wave):
    from cadence.inference.motion.compose import keep_mask, regenerate
    tl, r = walk_and_wave
    again = regenerate(model, tl, r.features, [1], seed=7)
    keep = keep_mask(tl, [1], 30.0) == 1.0
    np.testing.assert_array_equal(again.features[keep], r.features[keep])
    assert np.abs(again.features[~keep] - r.features[~keep]).max() > 0.05


def test_progress_and_cancel(model):
    from cadence.inference.motion.sampler import GenerationCancelled
    tl = parse_stmc("walk # 0 # 2\n")
    seen = []
    compose(model, tl, steps=4, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with pytest.raises(GenerationCancelled):
        compose(model, tl, progress=lambda done, total: done < 2)


def test_unknown_style_names_the_segment(model):
    tl = parse_stmc("walk # 0 # 3 # legs # grumpy=0.5\n")
    with pytest.raises(TimelineError, match=r"'walk' \(0-3 s\): unknown style 'grumpy'; valid styles: "):
        compose(model, tl)


def run_cli(*args):
    return subprocess.run([sys.executable, str(ROOT_DIR / "cadence"), *args], capture_output=True,
                          text=True, cwd=ROOT_DIR)


def test_cli_generate_timeline(tmp_path):
    from cadence.motion.bvh import read_bvh
    stmc = tmp_path / "t.txt"
    stmc.write_text(EXAMPLE)
    out = tmp_path / "t.bvh"
    r = run_cli("generate", "--timeline", str(stmc), "--out", str(out), "--seed", "3")
    assert r.returncode == 0, r.stderr
    assert "wave-right-hand" in r.stdout and "360 frames" in r.stdout
    bvh = read_bvh(out)
    assert bvh.num_frames == 360
    js = tmp_path / "t.json"
    parse_stmc(EXAMPLE).write(js)
    out2 = tmp_path / "j.bvh"
    r = run_cli("generate", "--timeline", str(js), "--out", str(out2), "--seed", "3", "--quiet")
    assert r.returncode == 0 and r.stdout == "", r.stderr
    assert out2.read_text() == out.read_text()  # same timeline, same seed: same file


@pytest.mark.parametrize("content, extra, message", [
    ("walk # 2 # 1 # legs\n", [], "line 1: 'walk' (2-1 s): end must be after start"),
    ("walk # 0 # 2 # wings\n", [], "unknown body part 'wings'"),
    ("walk # 0 # 2\n", ["--prompt", "walk"], "--prompt and --timeline are mutually exclusive"),
    ("walk # 0 # 2\n", ["--style", "grumpy=1"], "unknown style 'grumpy'"),
])
def test_cli_timeline_errors(tmp_path, content, extra, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    out = tmp_path / "bad.bvh"
    r = run_cli("generate", "--timeline", str(path), "--out", str(out), *extra)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert not out.exists()



def test_timeline_segments_can_start_from_real_takes(model):
    """A one-take action in a timeline (kick) starting from its reference take: a foot
    rises above the other leg's knee in the kick's segment (the take kicks every ~4.5 s,
    so a 3 s segment's crop does not always hold one: most seeds), deterministic for a
    seed, and the boundary stays free of pops."""
    tl = parse_stmc("a person walks forward # 0 # 3\na person kicks # 3 # 6\n")
    results = [compose(model, tl, seed=seed, reference_strength=0.6) for seed in range(4)]
    lifts = []
    for r in results:
        p = r.motion.positions()
        kick = slice(int(3.5 * 30), 180)
        lifts.append(np.max(np.maximum(p[kick, J["left_foot"], 2] - p[kick, J["right_knee"], 2],
                                       p[kick, J["right_foot"], 2] - p[kick, J["left_knee"], 2])))
        for v, a in boundary_speeds(p, 30.0, (3.0,)):
            assert v < REAL_MAX_JOINT_SPEED and a < REAL_MAX_JOINT_ACCEL
    assert sum(lift > 0.2 for lift in lifts) >= 2, lifts
    again = compose(model, tl, seed=1, reference_strength=0.6)
    np.testing.assert_array_equal(results[1].features, again.features)
    noise_only = compose(model, tl, seed=1, reference_strength=1.0)
    assert np.abs(results[1].features - noise_only.features).max() > 0.05
    from cadence.inference.motion.model import GenerationError
    with pytest.raises(GenerationError, match="reference strength"):
        compose(model, tl, seed=1, reference_strength=1.5)
