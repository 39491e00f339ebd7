"""Issue 21's specific cases: one error hierarchy and one-line errors, outputs that never
destroy a file, limits that keep memory bounded, offline for real.

The command line runs in-process (``cli.main.main``) except where a fresh process is the
point (onnxruntime's telemetry, which is decided when the library loads).
"""
import errno
import importlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import soundfile as sf

from cadence.cli.main import main
from cadence.errors import CadenceError, LimitError, OutputError
from cadence import limits
from cadence.motion.bvh import BvhError, parse_bvh, read_bvh
from cadence.motion.kinematics import rest_motion
from cadence.output_file import check_output, open_output, write_text

from conftest import FIXTURES, ROOT

WALK = FIXTURES / "bandai_walk_normal.bvh"
SPEECH = FIXTURES / "facegood_1114_2_05_slice.flac"

ERROR_CLASSES = [
    ("cadence.motion.bvh", "BvhError"), ("cadence.motion.smplx_format", "SmplxFormatError"),
    ("cadence.motion.smplx_model", "SmplxModelError"), ("cadence.face.csv_io", "FaceCsvError"),
    ("cadence.face.smplx_expression", "ArkitMappingError"), ("cadence.inference.speech.audio", "AudioError"),
    ("cadence.inference.runtime.jobs", "DeviceError"), ("cadence.inference.motion.model", "GenerationError"),
    ("cadence.inference.runtime.weights", "WeightsError"), ("cadence.inference.motion.timeline", "TimelineError"),
    ("cadence.inference.gesture.generate", "GestureError"), ("cadence.cli.main", "CliError"),
    ("cadence.dataset.speech_gesture", "PairedDataError"),
]


def one_error_line(err: str, command: str) -> bool:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    return (len(lines) >= 1 and lines[-1].startswith(f"cadence {command}: error: ")
            and "Traceback" not in err)


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# --- one error hierarchy ------------------------------------------------------------------

@pytest.mark.parametrize("module,name", ERROR_CLASSES)
def test_every_error_class_is_a_cadence_error(module, name):
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, CadenceError)


def test_old_bases_are_kept():
    from cadence.inference.speech.audio import AudioError
    from cadence.inference.runtime.weights import WeightsError
    assert issubclass(BvhError, ValueError) and issubclass(AudioError, ValueError)
    assert issubclass(WeightsError, RuntimeError) and issubclass(LimitError, ValueError)


def _patched_run(monkeypatch, exc):
    from cadence.cli import convert

    def boom(args):
        raise exc
    monkeypatch.setattr(convert, "run", boom)


@pytest.mark.parametrize("exc,code,text", [
    (OSError(errno.ENOSPC, "No space left on device", "/x/out.bvh"), 2,
     "cadence convert: error: cannot use /x/out.bvh: No space left on device"),
    (PermissionError(errno.EACCES, "Permission denied", "/ro/out.bvh"), 2,
     "cadence convert: error: cannot use /ro/out.bvh: Permission denied"),
    (BvhError("x.bvh, line 3: bad\nsecond line"), 2, "cadence convert: error: x.bvh, line 3: bad second line"),
    (MemoryError(), 2, "cadence convert: error: out of memory"),
    (KeyboardInterrupt(), 130, "cadence convert: cancelled"),
    (ZeroDivisionError("x"), 1, "cadence convert: internal error: ZeroDivisionError"),
])
def test_top_level_handler(monkeypatch, capsys, tmp_path, exc, code, text):
    monkeypatch.delenv("CADENCE_DEBUG", raising=False)
    _patched_run(monkeypatch, exc)
    assert main(["convert", str(WALK), "--out", str(tmp_path / "o.bvh")]) == code
    err = capsys.readouterr().err
    assert text in err and "Traceback" not in err
    assert len([ln for ln in err.splitlines() if ln.strip()]) == 1


def test_debug_shows_the_traceback(monkeypatch):
    monkeypatch.setenv("CADENCE_DEBUG", "1")
    _patched_run(monkeypatch, ZeroDivisionError("x"))
    with pytest.raises(ZeroDivisionError):
        main(["convert", str(WALK), "--out", "o.bvh"])


def test_sigterm_cancels_and_removes_the_temporary_file(tmp_path):
    """A real process: SIGTERM while writing is 'cancelled', exit 130, no file left."""
    code = (
        "import sys, time; sys.path.insert(0, %r); from _package import load_package; "
        "from pathlib import Path; load_package(Path(%r)); "
        "from cadence.cli import convert, main as m; from cadence.output_file import open_output\n"
        "def run(args):\n"
        "    with open_output(args.out) as f:\n"
        "        f.write('partial'); print('writing', flush=True); time.sleep(30)\n"
        "convert.run = run\n"
        "sys.exit(m.main(['convert', %r, '--out', %r]))\n"
    ) % (str(ROOT / "cli"), str(ROOT), str(WALK), str(tmp_path / "o.bvh"))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.terminate()
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130 and "cadence convert: cancelled" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


# --- outputs ----------------------------------------------------------------------------

def test_output_refuses_folders_devices_pipes_and_links(tmp_path):
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "to_null").symlink_to("/dev/null")
    (tmp_path / "dangling").symlink_to(tmp_path / "nothing")
    for name, message in [("dir", "is a folder"), ("fifo", "not a regular file"),
                          ("to_null", "not a regular file"), ("dangling", "link to nothing"),
                          ("missing/x.bvh", "does not exist")]:
        with pytest.raises(OutputError, match=message):
            check_output(tmp_path / name)
    with pytest.raises(OutputError, match="not a regular file"):
        check_output("/dev/null")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)  # untouched


def test_output_refuses_an_input_however_named(tmp_path):
    src = tmp_path / "in.bvh"
    src.write_text("x")
    os.link(src, tmp_path / "hard.bvh")
    (tmp_path / "soft.bvh").symlink_to(src)
    for name in ("in.bvh", "hard.bvh", "soft.bvh", "./in.bvh"):
        with pytest.raises(OutputError, match="is the input"):
            check_output(tmp_path / name, [src])
    assert src.read_text() == "x"


def test_output_follows_a_link_to_a_file_and_keeps_the_link(tmp_path):
    real = tmp_path / "real.bvh"
    real.write_text("old")
    (tmp_path / "link.bvh").symlink_to(real)
    write_text(tmp_path / "link.bvh", "new")
    assert (tmp_path / "link.bvh").is_symlink() and real.read_text() == "new"


def test_output_mode_follows_the_umask_and_an_existing_file(tmp_path):
    old = os.umask(0o027)
    try:
        write_text(tmp_path / "a.csv", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "a.csv").st_mode) == 0o640
    (tmp_path / "b.csv").write_text("old")
    os.chmod(tmp_path / "b.csv", 0o604)
    write_text(tmp_path / "b.csv", "new")
    assert stat.S_IMODE(os.stat(tmp_path / "b.csv").st_mode) == 0o604


@pytest.mark.parametrize("exc", [RuntimeError("writer failed"), KeyboardInterrupt()])
def test_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path, exc):
    out = tmp_path / "out.bvh"
    out.write_text("the user's recording")
    with pytest.raises(type(exc)):
        with open_output(out) as handle:
            handle.write("half")
            raise exc
    assert snapshot(tmp_path) == {"out.bvh": b"the user's recording"}


def test_full_disk_is_one_output_error(tmp_path, monkeypatch):
    out = tmp_path / "out.bvh"

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match=f"cannot write {out}: No space left on device"):
        write_text(out, "x" * 1000)
    assert list(tmp_path.iterdir()) == []


def test_a_planted_link_at_the_old_part_name_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "out.bvh.part").symlink_to(victim)
    write_text(tmp_path / "out.bvh", "motion")
    assert victim.read_text() == "keep me" and (tmp_path / "out.bvh").read_text() == "motion"


def test_npz_writer_leaves_no_empty_file(tmp_path, monkeypatch):
    from cadence.motion import smplx_format
    monkeypatch.setattr(np, "savez", lambda f, **a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(OSError):
        smplx_format.save_smplx_motion(tmp_path / "o.npz", rest_motion(3))
    assert list(tmp_path.iterdir()) == []


def test_face_csv_has_the_normal_mode(tmp_path):
    from cadence.face.animation import FaceAnimation
    from cadence.face.csv_io import write_face_csv
    anim = FaceAnimation(np.zeros((3, 52), np.float32), None, None, 30.0)
    old = os.umask(0o022)
    try:
        write_face_csv(tmp_path / "f.csv", anim)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "f.csv").st_mode) == 0o644


def test_convert_refuses_its_input_as_output(tmp_path, capsys):
    src = tmp_path / "walk.bvh"
    shutil.copy(WALK, src)
    before = snapshot(tmp_path)
    assert main(["convert", str(src), "--out", str(src)]) == 2
    assert one_error_line(capsys.readouterr().err, "convert")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("out", ["/dev/null", "FOLDER", "missing/o.bvh"])
def test_convert_refuses_bad_outputs(tmp_path, capsys, out):
    (tmp_path / "FOLDER").mkdir()
    out = out if out.startswith("/") else str(tmp_path / out)
    assert main(["convert", str(WALK), "--out", out]) == 2
    assert one_error_line(capsys.readouterr().err, "convert")
    assert os.path.exists("/dev/null") and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_face_and_gesture_refuse_the_recording_as_output(tmp_path, capsys):
    audio = tmp_path / "line.flac"
    shutil.copy(SPEECH, audio)
    before = snapshot(tmp_path)
    assert main(["face", "--audio", str(audio), "--out", str(audio)]) == 2
    assert one_error_line(capsys.readouterr().err, "face")
    assert main(["gesture", "--audio", str(audio), "--out", str(audio)]) == 2
    assert one_error_line(capsys.readouterr().err, "gesture")
    (tmp_path / "t.txt").write_text("hello")
    assert main(["gesture", "--audio", str(audio), "--transcript", str(tmp_path / "t.txt"),
                 "--out", str(tmp_path / "t.txt")]) == 2
    assert main(["gesture", "--audio", str(audio), "--out", str(tmp_path / "g.bvh"),
                 "--save-timeline", str(tmp_path / "g.bvh")]) == 2
    assert snapshot(tmp_path) == dict(before, **{"t.txt": b"hello"})


def test_generate_refuses_its_timeline_as_output(tmp_path, capsys):
    tl = tmp_path / "t.txt"
    tl.write_text("walk forward # 0 # 2\n")
    assert main(["generate", "--timeline", str(tl), "--out", str(tl)]) == 2
    assert one_error_line(capsys.readouterr().err, "generate")
    assert tl.read_text() == "walk forward # 0 # 2\n"


# --- numbers at the edge ---------------------------------------------------------------------

@pytest.mark.parametrize("command,args", [
    ("face", ["--audio", str(SPEECH), "--seed", "-1"]),
    ("gesture", ["--audio", str(SPEECH), "--seed", "-1"]),
    ("face", ["--audio", str(SPEECH), "--seed", str(2**40)]),
    ("generate", ["--prompt", "walk", "--seed", "-1"]),
    ("generate", ["--prompt", "walk", "--fps", "nan"]),
    ("face", ["--audio", str(SPEECH), "--fps", "inf"]),
    ("gesture", ["--audio", str(SPEECH), "--semantic", "nan"]),
    ("convert", [str(WALK), "--fps", "nan"]),
    ("convert", [str(WALK), "--fps", "1e6"]),
])
def test_bad_numbers_are_one_line(tmp_path, capsys, command, args):
    out = tmp_path / ("o.csv" if command == "face" else "o.bvh")
    assert main([command, *args, "--out", str(out)]) == 2
    assert one_error_line(capsys.readouterr().err, command)
    assert list(tmp_path.iterdir()) == []


# --- BVH ---------------------------------------------------------------------------------

def bvh_text(joints: str = "", frames: str = "1", frame_time: str = "0.0333333",
             data: str = "0 0 0 0 0 0", offset: str = "0 0 0") -> str:
    return (f"HIERARCHY\nROOT Hips\n{{\n OFFSET {offset}\n CHANNELS 6 Xposition Yposition Zposition "
            f"Zrotation Xrotation Yrotation\n{joints} End Site\n {{\n  OFFSET 0 1 0\n }}\n}}\n"
            f"MOTION\nFrames: {frames}\nFrame Time: {frame_time}\n{data}\n")


def deep_hierarchy(depth: int) -> str:
    opening = "".join(f"JOINT j{i}\n{{\nOFFSET 0 1 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n"
                      for i in range(depth))
    return opening + "}\n" * depth


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


# --- timelines ---------------------------------------------------------------------------------

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

def npz_with_header(path, key: str, shape: tuple, dtype="<f8") -> None:
    """An .npz whose array header claims ``shape`` but holds a few bytes: a decompression
    bomb as far as a loader that trusts the header is concerned."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{key}.npy", buf.getvalue() + b"\0" * 64)


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


# --- audio ------------------------------------------------------------------------------

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


# --- offline ------------------------------------------------------------------------------

def test_no_network_attempt_during_a_generation(tmp_path, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise AssertionError("Cadence tried to use the network")
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    out = tmp_path / "w.bvh"
    assert main(["generate", "--prompt", "a person walks forward", "--seconds", "1",
                 "--steps", "2", "--out", str(out), "--quiet"]) == 0
    assert out.is_file()


def test_onnxruntime_telemetry_is_off_in_a_fresh_process(tmp_path):
    """No device id under the cache folder and (where strace exists) no internet socket."""
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    env.pop("ORT_DISABLE_TELEMETRY", None)
    command = [sys.executable, str(ROOT / "cadence"), "generate", "--prompt", "a person waves",
               "--seconds", "1", "--steps", "2", "--out", str(tmp_path / "w.bvh"), "--quiet"]
    trace = tmp_path / "trace.txt"
    if shutil.which("strace"):
        command = ["strace", "-f", "-qq", "-e", "trace=socket,connect", "-o", str(trace)] + command
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert not (home / ".cache" / "Microsoft").exists()
    if trace.exists():
        inet = [ln for ln in trace.read_text().splitlines() if "AF_INET" in ln]
        assert inet == []


def test_speech_workers_get_only_what_they_need(tmp_path, monkeypatch):
    pytest.importorskip("pocketsphinx")
    from cadence.inference.speech import sphinx_pool, transcribe
    assert "-I" in sphinx_pool.worker_command()
    path = sphinx_pool.worker_search_path()
    import pocketsphinx
    assert path == [os.path.dirname(os.path.dirname(os.path.realpath(pocketsphinx.__file__)))]
    # a module on the parent's path that would shadow the standard library in the child
    (tmp_path / "struct.py").write_text("raise SystemExit('shadowed')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    worker = sphinx_pool._Worker({"mode": "phones", "config": transcribe.PHONE_LOOP_CONFIG})
    try:
        assert worker.ready
    finally:
        worker.close()


# --- the documented limits ------------------------------------------------------------------

def test_troubleshooting_lists_the_limits():
    text = (ROOT / "docs" / "guide" / "troubleshooting.md").read_text()
    for figure in ("1-240", "0.1-10,000", "100,000", "256 MiB", "1,000 joints", "256 deep",
                   "5,000,000", "10,000,000", "64 arrays", "512 MiB", "1 MiB", "200 segments",
                   "600 s", "16 deep", "1,800 s", "86,400,000 samples", "384 kHz", "4,294,967,295", "at most 1 MiB, a regular"):
        assert figure in text, figure
    assert limits.MAX_FRAMES == 100_000 and limits.MAX_SEGMENTS == 200
    assert limits.MAX_BVH_DEPTH == 256 and limits.MAX_JSON_DEPTH == 16
    assert limits.MAX_SEED == 4_294_967_295 and limits.MAX_AUDIO_SECONDS == 1800


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


# --- .blend files ------------------------------------------------------------------------

def test_a_truncated_blend_is_never_reported_as_saved(tmp_path, monkeypatch):
    """A full disk under Blender's writer: the check catches the cut-off file and the old
    scene.blend stays as it was."""
    pytest.importorskip("bpy")
    from types import SimpleNamespace
    from cadence.blender import scene

    real = scene.bpy.ops.wm.save_as_mainfile

    def save_half(filepath, copy):
        result = real(filepath=filepath, copy=copy)
        data = open(filepath, "rb").read()
        open(filepath, "wb").write(data[:len(data) // 2])
        return result
    scene.reset_to_empty_file()
    out = tmp_path / "scene.blend"
    scene.save_blend(out)
    good = out.read_bytes()
    scene.verify_blend(out)
    fake = SimpleNamespace(ops=SimpleNamespace(wm=SimpleNamespace(save_as_mainfile=save_half)))
    monkeypatch.setattr(scene, "bpy", fake)
    with pytest.raises(OutputError, match="incomplete or damaged"):
        scene.save_blend(out)
    assert out.read_bytes() == good and [p.name for p in tmp_path.iterdir()] == ["scene.blend"]


def test_save_blend_refuses_devices_and_inputs(tmp_path):
    pytest.importorskip("bpy")
    from cadence.blender import scene
    scene.reset_to_empty_file()
    with pytest.raises(OutputError, match="not a regular file"):
        scene.save_blend("/dev/null")
    src = tmp_path / "in.blend"
    src.write_bytes(b"x")
    with pytest.raises(OutputError, match="is the input"):
        scene.save_blend(src, inputs=[src])
    assert src.read_bytes() == b"x"


def test_bake_refuses_its_motion_as_an_output(tmp_path, capsys):
    src = tmp_path / "walk.bvh"
    shutil.copy(WALK, src)
    assert main(["bake", "--motion", str(src), "--bvh", str(src)]) == 2
    assert one_error_line(capsys.readouterr().err, "bake")
    assert main(["bake", "--motion", str(src), "--out", str(tmp_path / "s.blend"), "--fps", "nan"]) == 2
    capsys.readouterr()
    assert src.read_bytes() == WALK.read_bytes() and [p.name for p in tmp_path.iterdir()] == ["walk.bvh"]


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


def test_a_traceback_inside_a_message_is_cut_to_its_last_line():
    from cadence.errors import one_line
    message = ("cannot import x.bvh: Error: Python: Traceback (most recent call last):\n"
               '  File "/b/import_bvh.py", line 105, in read_bvh\n    file_lines = file.readlines()\n'
               "                 ^^^^^^^^\nUnicodeDecodeError: 'utf-8' codec can't decode byte 0xab\n"
               "Location: /b/ops.py:109\n")
    assert one_line(message) == ("cannot import x.bvh: Error: Python: UnicodeDecodeError: 'utf-8' "
                                 "codec can't decode byte 0xab")


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


def test_too_many_source_samples_are_refused_from_the_header(tmp_path, monkeypatch):
    from cadence.inference.speech import audio as audio_mod
    monkeypatch.setattr(audio_mod, "MAX_AUDIO_SAMPLES", 4000)
    sf.write(tmp_path / "one.wav", 0.1 * np.sin(np.arange(8000) * 0.3), 8000)
    with pytest.raises(audio_mod.AudioError, match="resample it to 48 kHz"):
        audio_mod.load_audio(tmp_path / "one.wav")


def test_bake_refuses_a_bone_map_pipe_unread(tmp_path, capsys):
    os.mkfifo(tmp_path / "map.json")
    assert main(["bake", "--motion", str(WALK), "--rig", str(WALK), "--map", str(tmp_path / "map.json"),
                 "--out", str(tmp_path / "s.blend")]) == 2
    assert one_error_line(capsys.readouterr().err, "bake")


def test_a_saved_blend_is_announced_once_by_its_real_name(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "cadence"), "bake", "--motion", str(WALK),
                             "--out", str(tmp_path / "s.blend")], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert ".tmp" not in result.stdout and "s.blend." not in result.stdout
    assert f"-> {tmp_path / 's.blend'}" in result.stdout
