"""The listener (``inference/gesture/listening.py``, ``cadence gesture --listen``): nods
placed after the speaker's phrases, none in silence, seeded; the body stays put."""
import numpy as np
import pytest
import soundfile as sf

from cadence.cli.main import main
from cadence.inference.gesture.listening import ListenSettings, generate_listening, nod_curve, phrases, place_nods
from cadence.inference.speech.audio import Audio
from cadence.motion.bvh import read_bvh
from cadence.motion.skeleton import JOINT_NAMES

from conftest import FIXTURES

SLICE = FIXTURES / "facegood_1114_2_05_slice.flac"   # real speech (Mandarin), 8 s
HEAD = JOINT_NAMES.index("head")


def test_a_nod_starts_in_the_pause_after_a_phrase():
    for seed in range(8):
        nods = place_nods([(0.0, 3.0), (4.0, 7.0)], 8.0, seed)
        first = [n for n in nods if 3.0 <= n.start <= 3.5]
        assert len(first) == 1 and first[0].cause == "pause", (seed, nods)
        assert 8.0 <= first[0].degrees <= 15.0 and 0.5 <= first[0].seconds <= 0.8 * 1.6
        assert all(not 0.0 < n.start < 3.0 for n in nods)   # nothing in the middle of the first phrase


def test_no_nods_without_speech_or_after_short_bursts():
    assert place_nods([], 10.0, 0) == []
    assert place_nods([], 10.0, 0, np.array([1.0, 2.0]), np.array([1.0, 2.0])) == []
    # 0.4 s bursts with 1.6 s silences: never 1 s of speech heard
    assert place_nods([(t, t + 0.4) for t in np.arange(0, 9, 2.0)], 10.0, 3) == []
    assert phrases([(0, 1), (1.2, 2), (3, 4)], 0.3) == [(0, 2), (3, 4)]


def test_nods_are_seeded_and_spaced():
    segs = [(a, a + 2.5) for a in np.arange(0.0, 60.0, 3.2)]
    a, b = place_nods(segs, 62.0, 5), place_nods(segs, 62.0, 5)
    assert a == b and len(a) >= 10
    assert place_nods(segs, 62.0, 6) != a
    starts = np.array([n.start for n in a])
    assert np.all(np.diff(starts) >= ListenSettings().min_gap - 1e-9)
    assert len({round(n.degrees, 3) for n in a}) > 3          # varied amplitude


def test_nod_curve_goes_down_and_back():
    nods = place_nods([(0.0, 3.0)], 5.0, 1)
    curve = nod_curve(nods, 150, 30.0)
    n = nods[0]
    assert curve[0] == 0.0 and curve[-1] == 0.0
    assert np.degrees(curve.max()) == pytest.approx(n.degrees, abs=0.5)
    assert curve[int(n.start * 30) - 1] == 0.0 and curve[min(149, int((n.start + n.seconds) * 30) + 1)] == 0.0


def _clip(seconds=5.0):
    x, sr = sf.read(SLICE, dtype="float32")
    return Audio(x[:int(seconds * sr)].copy(), sr, sr, 1)


def test_listener_nods_forward_and_stays_in_place():
    r = generate_listening(_clip(8.0), seed=2, steps=2)
    a = generate_listening(_clip(8.0), seed=2, steps=2)
    np.testing.assert_array_equal(r.motion.rotations, a.motion.rotations)
    assert r.motion.num_frames == 240 and r.activity.segments and r.nods
    pos = r.motion.positions()
    assert np.abs(pos[:, 0, :2] - pos[0, 0, :2]).max() < 1e-6          # the pelvis does not travel
    feet = pos[:, [JOINT_NAMES.index(n) for n in ("left_foot", "right_foot")]]
    assert np.ptp(feet, axis=0).max() < 1e-6                           # planted
    for nod in r.nods:   # the head's up axis leans forward (-Y) at the bottom of each nod
        k = int((nod.start + 0.4 * nod.seconds / (2 if nod.double else 1)) * 30)
        mats = r.motion.forward_kinematics()[0]
        before = mats[int(nod.start * 30) - 1, HEAD] @ np.array([0.0, 0.0, 1.0])
        assert (mats[k, HEAD] @ np.array([0.0, 0.0, 1.0]))[1] < before[1] - 0.08


def test_quiet_noise_gives_an_idle_head(tmp_path):
    rng = np.random.default_rng(0)
    noise = (0.01 * rng.standard_normal(16000 * 4)).astype(np.float32)   # -40 dBFS hiss, no voice
    r = generate_listening(Audio(noise, 16000, 16000, 1), seed=0, steps=2)
    assert r.nods == [] and any("no speech" in w for w in r.warnings)


def test_cli_listen_writes_a_bvh_and_refuses_bad_audio(tmp_path, capsys):
    clip = tmp_path / "other.wav"
    sf.write(clip, _clip(3.0).samples, 16000)
    out = tmp_path / "listener.bvh"
    assert main(["gesture", "--audio", str(clip), "--listen", "--steps", "2", "--seed", "4",
                 "--out", str(out)]) == 0
    assert "90 frames at 30 fps (listening to 3.0 s" in capsys.readouterr().out
    assert read_bvh(out).num_frames == 90
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really audio")
    for argv in (["--audio", str(bad)], ["--audio", str(clip), "--emotion", "happy=1"],
                 ["--audio", str(clip), "--semantic", "0.9"], ["--audio", str(clip), "--beat-strength", "2"]):
        assert main(["gesture", *argv, "--listen", "--out", str(tmp_path / "no.bvh")]) == 2
        assert capsys.readouterr().err.startswith("cadence gesture: error: ")
    assert not (tmp_path / "no.bvh").exists()


def test_the_worker_job_runs_the_listener(tmp_path):
    from cadence.inference.gesture.job import GestureSpec, run_gestures
    clip = tmp_path / "other.wav"
    sf.write(clip, _clip(8.0).samples, 16000)
    seen = []
    r = run_gestures(GestureSpec(clip, steps=2, seed=2, fps=24.0, face=True, mode="listening"),
                     progress=lambda done, total: seen.append(done))
    assert r.motions[0].fps == 24.0 and r.motions[0].num_frames == 192
    assert r.face is None and r.semantic and all("nod at" in s for s in r.semantic)
    assert seen and seen[-1] == 100
    with pytest.raises(ValueError, match="listening"):
        run_gestures(GestureSpec(clip, mode="whispering"))


def test_a_long_clip_loops_one_sampled_idle():
    settings = ListenSettings(loop_seconds=3.0, loop_overlap=0.5)
    r = generate_listening(_clip(8.0), seed=2, steps=2, settings=settings)
    assert r.motion.num_frames == 240 and len(r.features) == 240 and r.timeline.end == pytest.approx(8.0)
    q = r.motion.rotations[:, JOINT_NAMES.index("left_elbow")]
    step = np.degrees(2 * np.arccos(np.clip(np.abs(np.sum(q[1:] * q[:-1], axis=-1)), 0, 1)))
    assert step.max() < 3.0                     # no jump where the loops meet


def test_the_listeners_hands_hang_down():
    r = generate_listening(_clip(5.0), seed=0, steps=2)
    pos = r.motion.positions()
    for side in ("left", "right"):
        wrist = pos[:, JOINT_NAMES.index(f"{side}_wrist")]
        assert wrist[:, 2].max() < pos[0, JOINT_NAMES.index("pelvis"), 2] + 0.1   # not raised in a gesture


def test_the_listener_faces_the_canonical_front():
    from cadence.motion import rotations as rot
    for seed in (0, 1):
        r = generate_listening(_clip(3.0), seed=seed, steps=2)
        fwd = rot.quat_rotate(r.motion.rotations[:, 0], np.array([0.0, -1.0, 0.0]))
        assert np.degrees(np.abs(np.arctan2(fwd[:, 0], -fwd[:, 1]))).max() < 1.0
