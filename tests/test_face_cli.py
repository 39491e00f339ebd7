"""``cadence face``: CSV out, clear errors with exit status 2 and no partial file."""
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from cadence.cli.main import main
from cadence.face.arkit import ARKIT_NAMES
from cadence.face.csv_io import HEADER, read_face_csv

from conftest import FIXTURES, ROOT

SLICE = FIXTURES / "facegood_1114_2_05_slice.flac"


def test_writes_csv(tmp_path, capsys):
    out = tmp_path / "face.csv"
    assert main(["face", "--audio", str(SLICE), "--emotion", "happy=0.8", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].split(",") == list(HEADER) and len(lines) == 241
    assert tuple(lines[0].split(",")[1:53]) == ARKIT_NAMES
    assert "240 frames at 30 fps" in capsys.readouterr().out
    anim = read_face_csv(out)
    assert anim.fps == 30.0 and anim.weights[:, ARKIT_NAMES.index("mouthSmileLeft")].mean() > 0.3


def test_fps_and_seed(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(["face", "--audio", str(SLICE), "--fps", "24", "--seed", "5", "--out", str(a), "--quiet"]) == 0
    assert main(["face", "--audio", str(SLICE), "--fps", "24", "--seed", "5", "--out", str(b), "--quiet"]) == 0
    assert a.read_text() == b.read_text() and len(a.read_text().splitlines()) == 193


def test_methods(tmp_path):
    english = FIXTURES / "english_bear.flac"
    paths = {}
    for method in ("learned", "phoneme", "blend"):
        paths[method] = tmp_path / f"{method}.csv"
        assert main(["face", "--audio", str(english), "--method", method, "--out", str(paths[method]),
                     "--quiet", "--no-blinks", "--no-gaze", "--no-head"]) == 0
    jaw = ARKIT_NAMES.index("jawOpen")
    tracks = {m: read_face_csv(p).weights for m, p in paths.items()}
    assert not np.allclose(tracks["learned"], tracks["phoneme"])
    # the blend lies between the two where no closure is enforced
    between = (np.minimum(tracks["learned"][:, jaw], tracks["phoneme"][:, jaw]) - 1e-4 <= tracks["blend"][:, jaw])
    assert between.mean() > 0.9
    (tmp_path / "said.txt").write_text("The big brown bear jumped over a bubbling brook.")
    aligned = tmp_path / "aligned.csv"
    assert main(["face", "--audio", str(english), "--method", "phoneme", "--transcript",
                 f"@{tmp_path / 'said.txt'}", "--out", str(aligned), "--quiet"]) == 0
    assert read_face_csv(aligned).weights[:, ARKIT_NAMES.index("mouthClose")].max() > 0.03


def test_list_emotions(capsys):
    assert main(["face", "--list-emotions"]) == 0
    assert capsys.readouterr().out.split() == ["neutral", "happy", "angry", "sad", "contempt", "surprise",
                                               "fear", "disgust"]


def bad_inputs(tmp_path):
    sf.write(tmp_path / "silent.wav", np.zeros(16000, np.float32), 16000)
    (tmp_path / "text.mp3").write_text("not audio at all\n" * 20)
    (tmp_path / "empty.wav").write_bytes(b"")
    return {"missing": (tmp_path / "nope.wav", "no such file"),
            "silent": (tmp_path / "silent.wav", "silent"),
            "not audio": (tmp_path / "text.mp3", "not an audio file"),
            "empty": (tmp_path / "empty.wav", "empty")}


@pytest.mark.parametrize("case", ["missing", "silent", "not audio", "empty"])
def test_bad_audio_exit_2_no_file(tmp_path, capsys, case):
    path, message = bad_inputs(tmp_path)[case]
    out = tmp_path / "out.csv"
    assert main(["face", "--audio", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cadence face: error:") and message in err and "Traceback" not in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.csv")]


@pytest.mark.parametrize("args,message", [
    (["--out", "x.csv"], "--audio is required"),
    (["--audio", str(SLICE)], "--out is required"),
    (["--audio", str(SLICE), "--out", "x.csv", "--emotion", "joy=1"], "unknown emotion"),
    (["--audio", str(SLICE), "--out", "x.csv", "--emotion", "sad=3"], "outside 0..1"),
    (["--audio", str(SLICE), "--out", "no/such/folder/x.csv"], "does not exist"),
    (["--audio", str(SLICE), "--out", "x.csv", "--fps", "0"], "--fps"),
    (["--audio", str(SLICE), "--out", "x.csv", "--method", "learned", "--transcript", "hi"], "--method phoneme"),
    (["--audio", str(SLICE), "--out", "x.csv", "--transcript", "@nope.txt"], "cannot read the transcript"),
    (["--audio", str(SLICE), "--out", "x.csv", "--transcript", "zzxqv"], "dictionary"),
])
def test_argument_errors(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["face", *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_launcher_exit_status(tmp_path):
    out = tmp_path / "o.csv"
    proc = subprocess.run([sys.executable, str(ROOT / "cadence"), "face", "--audio", str(tmp_path / "nope.wav"),
                           "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no such file" in proc.stderr and not out.exists()
