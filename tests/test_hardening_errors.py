"""Issue 21: one error hierarchy, every failure one line on stderr with its exit code,
cancelling that leaves nothing behind, and numbers at the edge refused in one line.

The command line runs in-process (``cli.main.main``) except where a fresh process is the
point (a real SIGTERM).
"""
import errno
import importlib
import subprocess
import sys

import pytest

from cadence.cli.main import main
from cadence.errors import CadenceError, LimitError
from cadence.motion.bvh import BvhError

from conftest import ROOT
from hardening_support import SPEECH, WALK, one_error_line

ERROR_CLASSES = [
    ("cadence.motion.bvh", "BvhError"), ("cadence.motion.smplx_format", "SmplxFormatError"),
    ("cadence.motion.smplx_model", "SmplxModelError"), ("cadence.face.csv_io", "FaceCsvError"),
    ("cadence.face.smplx_expression", "ArkitMappingError"), ("cadence.inference.speech.audio", "AudioError"),
    ("cadence.inference.runtime.jobs", "DeviceError"), ("cadence.inference.motion.model", "GenerationError"),
    ("cadence.inference.runtime.weights", "WeightsError"), ("cadence.inference.motion.timeline", "TimelineError"),
    ("cadence.inference.gesture.generate", "GestureError"), ("cadence.cli.main", "CliError"),
    ("cadence.dataset.speech_gesture", "PairedDataError"),
]


# --- one error hierarchy ------------------------------------------------------------------

@pytest.mark.parametrize("module,name", ERROR_CLASSES)
def test_every_error_class_is_a_cadence_error(module, name):
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, CadenceError)


def test_old_bases_are_kept():
    from cadence.inference.runtime.weights import WeightsError
    from cadence.inference.speech.audio import AudioError
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
        f"import sys, time; sys.path.insert(0, {str(ROOT / 'cli')!r}); from _package import load_package; "
        f"from pathlib import Path; load_package(Path({str(ROOT)!r})); "
        "from cadence.cli import convert, main as m; from cadence.output_file import open_output\n"
        "def run(args):\n"
        "    with open_output(args.out) as f:\n"
        "        f.write('partial'); print('writing', flush=True); time.sleep(30)\n"
        "convert.run = run\n"
        f"sys.exit(m.main(['convert', {str(WALK)!r}, '--out', {str(tmp_path / 'o.bvh')!r}]))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.terminate()
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130 and "cadence convert: cancelled" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_traceback_inside_a_message_is_cut_to_its_last_line():
    from cadence.errors import one_line
    message = ("cannot import x.bvh: Error: Python: Traceback (most recent call last):\n"
               '  File "/b/import_bvh.py", line 105, in read_bvh\n    file_lines = file.readlines()\n'
               "                 ^^^^^^^^\nUnicodeDecodeError: 'utf-8' codec can't decode byte 0xab\n"
               "Location: /b/ops.py:109\n")
    assert one_line(message) == ("cannot import x.bvh: Error: Python: UnicodeDecodeError: 'utf-8' "
                                 "codec can't decode byte 0xab")


# --- numbers at the edge ------------------------------------------------------------------

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
