"""Issue 21: hostile or broken inputs refused by a limit, in one line, before the work
(and the memory) they would cost: BVH, timelines, SMPL-X .npz, audio, transcripts, bone
maps, rigs and the training data; the limits as documented; all of it under a memory cap."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from cadence import limits
from cadence.cli.main import main
from cadence.errors import LimitError
from cadence.motion.bvh import BvhError, parse_bvh, read_bvh
from cadence.motion.kinematics import rest_motion

from conftest import ROOT
from hardening_support import SPEECH, WALK, bvh_text, deep_hierarchy, npz_with_header, one_error_line

# --- BVH ----------------------------------------------------------------------------------

def test_a_10000_deep_hierarchy_is_refused_without_recursion():
    with pytest.raises(BvhError, match="nested more than 256"):
        parse_bvh(bvh_text(joints=deep_hierarchy(10_000)))


def test_a_deep_but_allowed_hierarchy_parses():
    bvh = parse_bvh(bvh_text(joints=deep_hierarchy(200), data=" ".join(["0"] * (6 + 600))))
    assert bvh.skeleton.num_joints == 201 and bvh.skeleton.parents[-1] == 199


def test_too_many_joints_are_refused():
    wide = "".join(f"JOINT j{i}\n{{\nOFFSET 0 1 0\nCHANNELS 0\nEnd Site\n{{\nOFFSET 0 1 0\n}}\n}}\n"
                   for i in range(1001))
    with pytest.raises(BvhError, match="more than 1000 joints"):
        parse_bvh(bvh_text(joints=wide))


@pytest.mark.parametrize("kwargs,message", [
    ({"frames": "0"}, "at least 1"),
    ({"frames": "-5"}, "at least 1"),
    ({"frames": "1000001"}, "limit"),
    ({"offset": "1e300 0 0"}, "beyond the limit"),
    ({"offset": "nan 0 0"}, "non-finite"),
    ({"frame_time": "1e6"}, "frame time"),
    ({"frame_time": "1e-9"}, "frame time"),
    ({"frame_time": "inf"}, "frame time"),
    ({"data": "0 0 1e300 0 0 0"}, "beyond the limit"),
])
def test_bvh_fields_are_checked(kwargs, message):
    with pytest.raises(BvhError, match=message):
        parse_bvh(bvh_text(**kwargs))


def test_bvh_channel_count_is_bounded():
    text = bvh_text().replace("CHANNELS 6", "CHANNELS 99999999")
    with pytest.raises(BvhError, match="at most 6"):
        parse_bvh(text)


def test_reading_a_fifo_or_folder_is_refused(tmp_path):
    os.mkfifo(tmp_path / "pipe.bvh")
    with pytest.raises(BvhError, match="not a regular file"):
        read_bvh(tmp_path / "pipe.bvh")
    with pytest.raises(BvhError, match="folder"):
        read_bvh(tmp_path)


def test_a_resample_that_would_not_fit_is_refused():
    motion = rest_motion(100, fps=0.1)
    with pytest.raises(LimitError, match="limit is 100000"):
        motion.resample(240.0)
    with pytest.raises(ValueError):
        motion.resample(float("nan"))


def test_convert_with_an_absurd_frame_time_is_one_line(tmp_path, capsys):
    src = tmp_path / "slow.bvh"
    lines = WALK.read_text().splitlines()
    lines = [("Frame Time: 10" if ln.startswith("Frame Time") else ln) for ln in lines]
    src.write_text("\n".join(lines) + "\n")
    # hundreds of frames 10 s apart, at 240 fps: millions of frames, refused before allocating
    assert main(["convert", str(src), "--out", str(tmp_path / "o.bvh"), "--fps", "240"]) == 2
    err = capsys.readouterr().err
    assert one_error_line(err, "convert") and "limit is 100000" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slow.bvh"]


# --- timelines ----------------------------------------------------------------------------

@pytest.mark.parametrize("text,message", [
    ("[" * 10_000 + "]" * 10_000, "nested more than 16"),
    ('{"tracks": [{"segments": [{"text": "walk", "start": 0, "end": 1' + "0" * 400 + "}]}]}", "number"),
    ('{"segments": [{"text": "walk", "start": 0, "end": 1, "style": ["happy"]}]}', "style must be"),
    ('{"segments": [{"text": "walk", "start": 0, "end": 1, "style": {"happy": [1]}}]}', "weights go"),
    ('{"segments": [{"text": "walk", "start": 0, "end": 1, "parts": 3}]}', "parts must be"),
    ('{"segments": [{"text": "walk", "start": NaN, "end": 1}]}', "NaN"),
    ('{"segments": [{"text": "walk", "start": [0], "end": 1}]}', "not a number"),
    ('{"duration": true, "segments": [{"text": "walk", "start": 0, "end": 1}]}', "duration"),
])
def test_timeline_json_is_checked(text, message):
    from cadence.inference.motion.timeline import TimelineError, parse_json
    with pytest.raises(TimelineError, match=message):
        parse_json(text)


def test_too_many_segments_are_refused_before_any_work(tmp_path, capsys):
    tl = tmp_path / "many.txt"
    tl.write_text("".join(f"walk # {i * 0.05:.2f} # {i * 0.05 + 0.05:.2f}\n" for i in range(10_000)))
    assert main(["generate", "--timeline", str(tl), "--out", str(tmp_path / "o.bvh")]) == 2
    err = capsys.readouterr().err
    assert one_error_line(err, "generate") and "200 segments" in err


def test_a_huge_timeline_file_is_refused_unread(tmp_path):
    from cadence.inference.motion.timeline import TimelineError, load_timeline
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:
        f.truncate(limits.MAX_TIMELINE_BYTES + 1)
    with pytest.raises(TimelineError, match="MiB"):
        load_timeline(big)


# --- SMPL-X npz ---------------------------------------------------------------------------

def test_npz_arrays_are_sized_from_their_headers(tmp_path):
    from cadence.motion.smplx_format import SmplxFormatError, load_smplx_motion
    npz_with_header(tmp_path / "bomb.npz", "poses", (2_000_000_000, 165))
    with pytest.raises(SmplxFormatError, match="MiB"):
        load_smplx_motion(tmp_path / "bomb.npz")


def test_empty_betas_are_refused(tmp_path, capsys):
    from cadence.motion.smplx_format import SmplxFormatError, load_smplx_motion
    np.savez(tmp_path / "m.npz", poses=np.zeros((4, 165)), trans=np.zeros((4, 3)),
             betas=np.zeros((0, 10)), mocap_frame_rate=30.0)
    with pytest.raises(SmplxFormatError, match="betas"):
        load_smplx_motion(tmp_path / "m.npz")
    assert main(["convert", str(tmp_path / "m.npz"), "--out", str(tmp_path / "o.bvh")]) == 2
    assert one_error_line(capsys.readouterr().err, "convert")


def test_npz_with_no_frames_is_refused(tmp_path):
    from cadence.motion.smplx_format import SmplxFormatError, load_smplx_motion
    np.savez(tmp_path / "m.npz", poses=np.zeros((0, 165)), mocap_frame_rate=30.0)
    with pytest.raises(SmplxFormatError, match="frames"):
        load_smplx_motion(tmp_path / "m.npz")


# --- audio and transcripts ----------------------------------------------------------------

def test_audio_length_is_checked_from_the_header(tmp_path, monkeypatch):
    from cadence.inference.speech import audio as audio_mod
    rate = 8000
    sf.write(tmp_path / "two.wav", 0.1 * np.sin(np.arange(2 * rate) * 0.3), rate)
    decoded = []
    real_blocks = sf.SoundFile.blocks
    monkeypatch.setattr(sf.SoundFile, "blocks", lambda self, *a, **k: decoded.append(1) or real_blocks(self, *a, **k))
    with pytest.raises(audio_mod.AudioError, match="lasts 2 s; the limit is 1 s"):
        audio_mod.load_audio(tmp_path / "two.wav", max_seconds=1.0)
    assert decoded == []  # refused before decoding


def test_an_absurd_sample_rate_is_refused(tmp_path):
    from cadence.inference.speech.audio import AudioError, load_audio
    sf.write(tmp_path / "fast.wav", np.zeros(1000, np.float32), 1_000_000)
    with pytest.raises(AudioError, match="above the limit"):
        load_audio(tmp_path / "fast.wav")


def test_too_many_source_samples_are_refused_from_the_header(tmp_path, monkeypatch):
    from cadence.inference.speech import audio as audio_mod
    monkeypatch.setattr(audio_mod, "MAX_AUDIO_SAMPLES", 4000)
    sf.write(tmp_path / "one.wav", 0.1 * np.sin(np.arange(8000) * 0.3), 8000)
    with pytest.raises(audio_mod.AudioError, match="resample it to 48 kHz"):
        audio_mod.load_audio(tmp_path / "one.wav")


def test_a_transcript_pipe_or_huge_file_is_refused_unread(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe.txt")
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:
        f.truncate(limits.MAX_TRANSCRIPT_BYTES + 1)
    for name in ("pipe.txt", "big.txt"):
        assert main(["face", "--audio", str(SPEECH), "--method", "phoneme", "--transcript",
                     f"@{tmp_path / name}", "--out", str(tmp_path / "f.csv")]) == 2
        assert one_error_line(capsys.readouterr().err, "face")
        assert main(["gesture", "--audio", str(SPEECH), "--transcript", str(tmp_path / name),
                     "--out", str(tmp_path / "g.bvh")]) == 2
        assert one_error_line(capsys.readouterr().err, "gesture")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt", "pipe.txt"]


# --- rigs and bone maps -------------------------------------------------------------------

def test_bake_onto_a_garbage_rig_is_one_line_and_quiet(tmp_path):
    """Blender's importer prints its traceback to the process's stdout: held back."""
    (tmp_path / "rig.bvh").write_bytes(bytes(range(256)) * 8)
    result = subprocess.run([sys.executable, str(ROOT / "cadence"), "bake", "--motion", str(WALK),
                             "--rig", str(tmp_path / "rig.bvh"), "--out", str(tmp_path / "s.blend")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert one_error_line(result.stderr, "bake")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rig.bvh"]


def test_bake_refuses_a_bone_map_pipe_unread(tmp_path, capsys):
    os.mkfifo(tmp_path / "map.json")
    assert main(["bake", "--motion", str(WALK), "--rig", str(WALK), "--map", str(tmp_path / "map.json"),
                 "--out", str(tmp_path / "s.blend")]) == 2
    assert one_error_line(capsys.readouterr().err, "bake")


# --- the training data --------------------------------------------------------------------

def test_a_garbage_or_hostile_data_archive_is_one_line(tmp_path, monkeypatch, capsys):
    import io
    import tarfile

    from cadence.dataset import bandai_namco
    monkeypatch.setenv("CADENCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CADENCE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "data").mkdir()
    archive = tmp_path / "data" / bandai_namco.ARCHIVE
    archive.write_bytes(b"\x1f\x8b not a tarball" * 10)
    assert main(["dataset", "stats"]) == 2
    assert one_error_line(capsys.readouterr().err, "dataset")
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    assert main(["dataset", "stats"]) == 2
    err = capsys.readouterr().err
    assert one_error_line(err, "dataset") and "outside the destination" in err
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "cache" / "escape.txt").exists()


def test_a_damaged_data_cache_is_one_line(tmp_path, monkeypatch, capsys):
    from cadence.dataset import pipeline
    monkeypatch.setenv("CADENCE_CACHE_DIR", str(tmp_path / "cache"))
    path = pipeline.cache_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 damaged")
    assert main(["dataset", "stats"]) == 2
    err = capsys.readouterr().err
    assert one_error_line(err, "dataset") and "dataset build" in err


# --- the documented limits ----------------------------------------------------------------

def test_troubleshooting_lists_the_limits():
    text = (ROOT / "docs" / "guide" / "troubleshooting.md").read_text()
    for figure in ("1-240", "0.1-10,000", "100,000", "256 MiB", "1,000 joints", "256 deep",
                   "5,000,000", "10,000,000", "64 arrays", "512 MiB", "1 MiB", "200 segments",
                   "600 s", "16 deep", "1,800 s", "86,400,000 samples", "384 kHz", "4,294,967,295",
                   "at most 1 MiB, a regular"):
        assert figure in text, figure
    assert limits.MAX_FRAMES == 100_000 and limits.MAX_SEGMENTS == 200
    assert limits.MAX_BVH_DEPTH == 256 and limits.MAX_JSON_DEPTH == 16
    assert limits.MAX_SEED == 4_294_967_295 and limits.MAX_AUDIO_SECONDS == 1800


# --- memory stays bounded -----------------------------------------------------------------

MEMORY_CAP = 1536 << 20  # address space for the whole process (Python, numpy, the command)


def test_hostile_inputs_are_refused_under_a_memory_cap(tmp_path):
    """In a process capped at 1.5 GiB of address space, inputs that used to allocate
    gigabytes are refused by a limit (not by running out of memory)."""
    lines = WALK.read_text().splitlines()
    (tmp_path / "slow.bvh").write_text("\n".join(
        "Frame Time: 10" if ln.startswith("Frame Time") else ln for ln in lines) + "\n")
    (tmp_path / "deep.bvh").write_text(bvh_text(joints=deep_hierarchy(10_000)))
    npz_with_header(tmp_path / "bomb.npz", "poses", (10**9, 165))
    (tmp_path / "many.txt").write_text("".join(f"walk # {i} # {i + 1}\n" for i in range(10_000)))
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    cases = [["convert", str(tmp_path / "slow.bvh"), "--fps", "240", "--out", str(tmp_path / "a.bvh")],
             ["convert", str(tmp_path / "deep.bvh"), "--out", str(tmp_path / "b.bvh")],
             ["convert", str(tmp_path / "bomb.npz"), "--out", str(tmp_path / "c.bvh")]]
    code = (
        "import json, resource, sys, io, contextlib\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_CAP}, {MEMORY_CAP}))\n"
        f"sys.path.insert(0, {str(ROOT / 'cli')!r}); from _package import load_package\n"
        f"from pathlib import Path; load_package(Path({str(ROOT)!r}))\n"
        "from cadence.cli.main import main\n"
        "from cadence.inference.motion.timeline import TimelineError, load_timeline\n"
        "out = []\n"
        f"for argv in {cases!r}:\n"
        "    err = io.StringIO()\n"
        "    with contextlib.redirect_stderr(err):\n"
        "        out.append([main(argv), err.getvalue()])\n"
        f"for name in ('many.txt', 'deep.json'):\n"
        "    try:\n"
        f"        load_timeline(Path({str(tmp_path)!r}) / name); out.append([0, ''])\n"
        "    except TimelineError as exc:\n"
        "        out.append([2, str(exc)])\n"
        "print(json.dumps(out))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for code_, message in json.loads(result.stdout):
        assert code_ == 2 and "out of memory" not in message and "Traceback" not in message, message
        assert "limit" in message or "nested more than" in message, message
    assert not list(tmp_path.glob("*.bvh.*")) and not (tmp_path / "a.bvh").exists()
