"""BEAT2 / ZEGGS readers (bring-your-own paired data): format handling on small fixtures."""
import shutil

import numpy as np
import pytest
import soundfile as sf

from cadence.dataset.speech_gesture import (
    PairedDataError,
    find_takes,
    read_beat2_take,
    read_takes,
    read_zeggs_take,
    training_pair,
)
from cadence.motion.representation import FEATURE_DIM

from conftest import FIXTURES


def speech(seconds, rate=16000):
    t = np.arange(int(seconds * rate)) / rate
    return (0.2 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def beat2_fixture(root, name="2_scott_0_1_1", frames=60, fps=30, audio_seconds=None):
    (root / "smplxflame_30").mkdir(parents=True, exist_ok=True)
    (root / "wave16k").mkdir(exist_ok=True)
    poses = np.zeros((frames, 165), np.float32)
    poses[:, 16 * 3 + 2] = -1.2 + 0.3 * np.sin(np.arange(frames) / 5)   # left shoulder moves
    np.savez(root / "smplxflame_30" / f"{name}.npz", poses=poses,
             trans=np.tile([0.0, 0.9, 0.0], (frames, 1)).astype(np.float32),
             betas=np.zeros(300, np.float32), expressions=np.zeros((frames, 100), np.float32),
             mocap_frame_rate=np.array(fps))
    sf.write(root / "wave16k" / f"{name}.wav", speech(audio_seconds or frames / fps), 16000)
    return root / "smplxflame_30" / f"{name}.npz"


def test_beat2_take(tmp_path):
    take = read_beat2_take(beat2_fixture(tmp_path))
    assert take.corpus == "beat2" and take.style == "scott" and take.name == "2_scott_0_1_1"
    assert take.motion.num_frames == 60 and take.motion.fps == 30.0
    assert len(take.audio) == 32000 and take.duration == pytest.approx(2.0)
    features, mel = training_pair(take)
    assert features.shape == (60, FEATURE_DIM) and mel.shape == (240, 80)
    # the shoulder's motion survives the conversion
    assert np.ptp(take.motion.rotations[:, 16], axis=0).max() > 0.05


def test_lengths_that_do_not_match(tmp_path):
    with pytest.raises(PairedDataError, match="not one take"):
        read_beat2_take(beat2_fixture(tmp_path, audio_seconds=5.0))
    take = read_beat2_take(beat2_fixture(tmp_path, name="3_solomon_0_2_2", audio_seconds=1.8))
    assert take.motion.num_frames == 54 and any("cut" in n for n in take.notes)


def test_zeggs_take_and_folder_scan(tmp_path):
    bvh = tmp_path / "zeggs" / "001_Neutral_0_x_1_0.bvh"
    bvh.parent.mkdir()
    shutil.copy(FIXTURES / "bandai_bow_happy.bvh", bvh)
    from cadence.motion.bvh import read_bvh
    src = read_bvh(bvh)
    seconds = src.num_frames / src.fps
    sf.write(bvh.with_suffix(".wav"), speech(seconds, 48000), 48000)
    take = read_zeggs_take(bvh)
    assert take.corpus == "zeggs" and take.style == "neutral" and take.motion.fps == 30.0
    assert abs(take.duration - seconds) < 0.05 and len(take.audio) == pytest.approx(take.duration * 16000, abs=2)
    # a folder with both corpora, one take without audio and one non-BVH
    beat2_fixture(tmp_path / "beat")
    lonely = tmp_path / "zeggs" / "002_Sad_0_x_1_0.bvh"
    shutil.copy(FIXTURES / "bandai_bow_happy.bvh", lonely)
    (tmp_path / "zeggs" / "003_Happy_0_x_1_0.bvh").write_text("not a bvh")
    sf.write(tmp_path / "zeggs" / "003_Happy_0_x_1_0.wav", speech(1.0), 16000)
    assert [c for c, _ in find_takes(tmp_path)] == ["beat2", "zeggs", "zeggs", "zeggs"]
    takes = list(read_takes(tmp_path))
    assert sorted(t.name for t in takes) == ["001_Neutral_0_x_1_0", "2_scott_0_1_1"]
    with pytest.raises(PairedDataError, match="no audio"):
        read_zeggs_take(lonely)
    with pytest.raises(PairedDataError, match="002_Sad"):   # the first bad take, in path order
        list(read_takes(tmp_path, skip_bad=False))


def test_bad_files(tmp_path):
    bad = tmp_path / "smplxflame_30" / "1_wayne_0_1_1.npz"
    bad.parent.mkdir()
    np.savez(bad, something=np.zeros(3))
    (tmp_path / "wave16k").mkdir()
    sf.write(tmp_path / "wave16k" / "1_wayne_0_1_1.wav", speech(1.0), 16000)
    with pytest.raises(PairedDataError, match="1_wayne_0_1_1"):
        read_beat2_take(bad)
    with pytest.raises(PairedDataError, match="not a folder"):
        find_takes(tmp_path / "nowhere")
