"""Issue 21: outputs that never destroy a file. Written through a temporary file and
renamed; folders, devices, pipes, dangling links and the command's own inputs refused;
the old file kept when writing fails; a .blend checked before it is announced."""
import errno
import os
import shutil
import stat
import subprocess
import sys

import numpy as np
import pytest

from cadence.cli.main import main
from cadence.errors import OutputError
from cadence.motion.kinematics import rest_motion
from cadence.output_file import check_output, open_output, write_text

from conftest import ROOT
from hardening_support import SPEECH, WALK, one_error_line, snapshot

# --- outputs ------------------------------------------------------------------------------

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
    from cadence.motion import smplx_write
    monkeypatch.setattr(np, "savez", lambda f, **a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(OSError):
        smplx_write.save_smplx_motion(tmp_path / "o.npz", rest_motion(3))
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


# --- the command line's outputs -----------------------------------------------------------

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


def test_bake_refuses_its_motion_as_an_output(tmp_path, capsys):
    src = tmp_path / "walk.bvh"
    shutil.copy(WALK, src)
    assert main(["bake", "--motion", str(src), "--bvh", str(src)]) == 2
    assert one_error_line(capsys.readouterr().err, "bake")
    assert main(["bake", "--motion", str(src), "--out", str(tmp_path / "s.blend"), "--fps", "nan"]) == 2
    capsys.readouterr()
    assert src.read_bytes() == WALK.read_bytes() and [p.name for p in tmp_path.iterdir()] == ["walk.bvh"]


# --- .blend files -------------------------------------------------------------------------

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


def test_a_saved_blend_is_announced_once_by_its_real_name(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "cadence"), "bake", "--motion", str(WALK),
                             "--out", str(tmp_path / "s.blend")], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert ".tmp" not in result.stdout and "s.blend." not in result.stdout
    assert f"-> {tmp_path / 's.blend'}" in result.stdout
