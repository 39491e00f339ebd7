"""``cadence gesture`` and generate_gestures end to end on short clips, and bad input."""
from dataclasses import dataclass

import numpy as np
import pytest
import soundfile as sf

from cadence.cli.main import main
from cadence.inference.gesture.generate import GestureError, add_head_shakes, generate_gestures
from cadence.inference.gesture.lexicon import gesture_by_name
from cadence.inference.gesture.plan import PlacedGesture
from cadence.inference.speech.audio import AudioError, load_audio
from cadence.motion.bvh import read_bvh
from cadence.motion.kinematics import rest_motion
from cadence.motion.skeleton import JOINT_NAMES

from conftest import FIXTURES

SLICE = FIXTURES / "facegood_1114_2_05_slice.flac"   # real speech (Mandarin), 8 s


@dataclass(frozen=True)
class W:
    text: str
    start: float
    end: float


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """3 s of the real speech, stereo at 44.1 kHz (an odd rate and layout)."""
    x, sr = sf.read(SLICE, dtype="float32")
    x = x[:3 * sr]
    t = np.arange(int(3 * 44100)) / 44100
    y = np.interp(t, np.arange(len(x)) / sr, x).astype(np.float32)
    path = tmp_path_factory.mktemp("gesture") / "clip.wav"
    sf.write(path, np.stack([y, 0.5 * y], 1), 44100)
    return path


def test_cli_writes_a_bvh_as_long_as_the_audio(clip, tmp_path, capsys):
    out, tl = tmp_path / "g.bvh", tmp_path / "g.json"
    assert main(["gesture", "--audio", str(clip), "--no-words", "--emotion", "angry=0.6", "--seed", "2",
                 "--out", str(out), "--save-timeline", str(tl)]) == 0
    text = capsys.readouterr().out
    assert "style: {'angry': 0.6}" in text and "90 frames at 30 fps" in text
    motion = read_bvh(out)
    assert motion.num_frames == 90 and motion.fps == pytest.approx(30.0)
    assert '"beat"' in tl.read_text()


def test_fast_gestures_follow_the_voice_like_the_full_sampler(clip, tmp_path, capsys):
    from cadence.inference.motion.model import STUDENT, MotionModel
    session = MotionModel.load()._network(STUDENT)
    rows = []
    real_run = session.run

    def counting(outputs, feeds):
        rows.append(len(feeds["x"]))
        return real_run(outputs, feeds)

    session.run = counting  # the module-cached model's student: restored below
    try:
        fast = generate_gestures(clip, words=[], semantic_amount=0.0, seed=0, solver="distilled").motion
    finally:
        del session.run
    assert 1 <= len(rows) <= 4  # 2 steps (a call per window group), not the full sampler's 4 x 3 rows
    full = generate_gestures(clip, words=[], semantic_amount=0.0, seed=0).motion
    wrist = JOINT_NAMES.index("right_wrist")
    speed = [np.linalg.norm(np.diff(m.positions()[:, wrist], axis=0), axis=1).mean() for m in (fast, full)]
    assert fast.num_frames == full.num_frames == 90 and 0.5 < speed[0] / speed[1] < 2.0  # as lively
    out = tmp_path / "fast.bvh"
    assert main(["gesture", "--audio", str(clip), "--no-words", "--fast", "--out", str(out)]) == 0
    assert read_bvh(out).num_frames == 90
    assert main(["gesture", "--audio", str(clip), "--listen", "--fast", "--out", str(tmp_path / "l.bvh")]) == 2
    assert "drop --fast" in capsys.readouterr().err and not (tmp_path / "l.bvh").exists()


def test_words_place_semantic_gestures_and_style_is_estimated(clip):
    audio = load_audio(clip)
    words = [W("hello", 0.4, 0.7), W("thank", 1.6, 1.8), W("you", 1.8, 2.0)]
    r = generate_gestures(audio, words=words, semantic_amount=1.0, seed=1)
    assert r.motion.num_frames == 90
    assert {p.gesture.name for p in r.plan.semantic} == {"wave", "bow"}
    assert r.style_estimate is not None and r.styles == r.style_estimate.styles
    assert r.activity.segments and set(r.timings) >= {"voice_activity", "prosody", "recognition", "sampling"}
    assert len(r.guidance_losses) > 0
    # the same seed gives the same performance
    again = generate_gestures(audio, words=words, semantic_amount=1.0, seed=1)
    np.testing.assert_allclose(again.motion.rotations, r.motion.rotations, atol=1e-6)


def test_head_shake_turns_only_the_head_inside_its_span():
    m = rest_motion(60)
    shake = PlacedGesture(gesture_by_name("shake"), "no", 0.6, 0.5, 1.5, 1.0)
    out = add_head_shakes(m, [shake])
    head = JOINT_NAMES.index("head")
    changed = np.abs(out.rotations - m.rotations).max(axis=-1) > 1e-9    # (T, J)
    assert set(np.flatnonzero(changed.any(axis=0))) == {head}
    frames = np.flatnonzero(changed[:, head])
    assert frames.min() >= 15 and frames.max() < 45
    yaw = 2 * np.degrees(np.arcsin(np.abs(out.rotations[:, head, 3])))
    assert 8 < yaw.max() <= 14.01


def test_silence_noise_and_no_speech(tmp_path):
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "hum.wav", 0.02 * rng.standard_normal(2 * 16000).astype(np.float32), 16000)
    r = generate_gestures(tmp_path / "hum.wav", recognise=False, seed=0)
    assert r.activity.segments == [] and any("no speech" in w for w in r.warnings)
    assert r.motion.num_frames == 60
    # idle: arms and root move little
    assert np.linalg.norm(r.motion.root_positions[-1, :2] - r.motion.root_positions[0, :2]) < 0.05


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "no such file"),
    (lambda p: p.write_text("not audio at all\n" * 40), "not an audio file"),
    (lambda p: sf.write(p, np.zeros(16000, np.float32), 16000), "silent"),
    (lambda p: sf.write(p, 0.1 * np.ones(3000, np.float32), 3000), "too low"),
])
def test_cli_bad_audio_is_one_line_and_exit_2(tmp_path, capsys, make, message):
    path = tmp_path / "in.wav"
    make(path)
    assert main(["gesture", "--audio", str(path), "--out", str(tmp_path / "g.bvh")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cadence gesture: error:") and message in err and "\n" not in err
    assert not (tmp_path / "g.bvh").exists()


def test_cli_bad_options(clip, tmp_path, capsys):
    out = str(tmp_path / "g.bvh")
    empty = tmp_path / "t.txt"
    empty.write_text("  \n")
    for argv, message in [
        (["--emotion", "furious=0.5"], "unknown style"),
        (["--emotion", "angry=2"], "from 0 to 1"),
        (["--semantic", "1.5"], "--semantic"),
        (["--transcript", str(empty)], "is empty"),
        (["--transcript", str(tmp_path / "missing.txt")], "cannot read transcript"),
        (["--out", str(tmp_path)], "is a folder"),
    ]:
        args = ["gesture", "--audio", str(clip), "--out", out, "--no-words"] if "--transcript" not in argv \
            else ["gesture", "--audio", str(clip), "--out", out]
        assert main(args + argv) == 2, argv
        assert message in capsys.readouterr().err, argv


def test_too_long_audio_is_refused(tmp_path):
    rate = 4000
    x = (0.05 * np.random.default_rng(1).standard_normal(601 * rate)).astype(np.float32)
    sf.write(tmp_path / "long.wav", x, rate)
    # refused from the file's header, before decoding (AudioError), or after (GestureError)
    with pytest.raises((GestureError, AudioError), match="split the recording"):
        generate_gestures(tmp_path / "long.wav", recognise=False)
    with pytest.raises(AudioError):
        generate_gestures(tmp_path / "nothing.wav")


def test_failed_recognition_falls_back_to_beats(clip, monkeypatch):
    transcribe = pytest.importorskip("cadence.inference.speech.transcribe")

    def fail(*args, **kwargs):
        raise transcribe.TranscribeError("pocketsphinx failed on the audio")

    monkeypatch.setattr(transcribe, "transcribe", fail)
    r = generate_gestures(clip, seed=0, steps=2)
    assert r.words == [] and any("recognition failed" in w for w in r.warnings)
    with pytest.raises(transcribe.TranscribeError):   # a given transcript must align
        generate_gestures(clip, "hello there", seed=0, steps=2)


def test_own_timeline_moves_the_legs_where_it_says(clip, tmp_path, capsys):
    from cadence.inference.motion.timeline import TimelineError, parse_stmc
    walk = parse_stmc("a person walks forward # 0 # 2.5 # legs torso")
    r = generate_gestures(clip, recognise=False, timeline=walk, seed=0, steps=4)
    assert [t.name for t in r.plan.timeline.tracks][-1] == "track 1"
    travel = np.linalg.norm(r.motion.root_positions[75 - 1, :2] - r.motion.root_positions[0, :2])
    assert travel > 0.4
    with pytest.raises(TimelineError, match="longer than the speech"):
        generate_gestures(clip, recognise=False, timeline=parse_stmc("walk # 0 # 9 # legs"), steps=2)
    bad = tmp_path / "t.txt"
    bad.write_text("walk # 0 # 9 # legs\n")
    assert main(["gesture", "--audio", str(clip), "--no-words", "--timeline", str(bad),
                 "--out", str(tmp_path / "g.bvh")]) == 2
    assert "longer than the speech" in capsys.readouterr().err


def test_words_found_alongside_the_voice_analysis_reach_the_plan():
    """The transcript is aligned in a thread while voice activity and prosody are read:
    its words, with times, are the ones the plan uses; progress never runs backwards."""
    pytest.importorskip("pocketsphinx")
    from conftest import FIXTURES
    text = "The big brown bear jumped over a bubbling brook."
    seen = []
    r = generate_gestures(FIXTURES / "english_bear.flac", text, seed=0, steps=2, semantic_amount=1.0,
                          progress=lambda f: seen.append(f))
    assert [w.text for w in r.words] == text.lower().rstrip(".").split()
    assert all(0.0 <= w.start < w.end <= r.activity.duration + 1e-6 for w in r.words)
    assert r.timings["recognition"] > 0 and seen == sorted(seen) and seen[-1] == 1.0
