"""The face CSV (face/csv_io.py)."""
import numpy as np
import pytest

from cadence.face import csv_io
from cadence.face.animation import FaceAnimation
from cadence.face.arkit import ARKIT_NAMES, pascal_case


def sample(frames=10, fps=30.0):
    rng = np.random.default_rng(0)
    return FaceAnimation(rng.uniform(size=(frames, 52)), rng.normal(size=(frames, 3)),
                         rng.normal(size=(frames, 4)), fps)


def test_header_and_rows(tmp_path):
    path = csv_io.write_face_csv(tmp_path / "f.csv", sample())
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    assert header[0] == "time" and tuple(header[1:53]) == ARKIT_NAMES
    assert header[53:] == ["headYaw", "headPitch", "headRoll", "leftEyeYaw", "leftEyePitch",
                           "rightEyeYaw", "rightEyePitch"]
    assert len(lines) == 11 and all(len(line.split(",")) == 60 for line in lines)
    assert [float(line.split(",")[0]) for line in lines[1:3]] == [0.0, pytest.approx(1 / 30, abs=1e-4)]


def test_round_trip(tmp_path):
    anim = sample(fps=24.0)
    back = csv_io.read_face_csv(csv_io.write_face_csv(tmp_path / "f.csv", anim))
    assert back.fps == 24.0
    assert np.allclose(back.weights, anim.weights, atol=1e-4)
    assert np.allclose(back.head, anim.head, atol=1e-3) and np.allclose(back.eyes, anim.eyes, atol=1e-3)


def test_reads_other_spellings(tmp_path):
    path = tmp_path / "llf.csv"
    names = [pascal_case(n) for n in ARKIT_NAMES[::-1]]
    path.write_text("Time," + ",".join(names) + ",HeadYaw\n0,"
                    + ",".join(["0.5"] * 52) + ",3\n0.04," + ",".join(["0.25"] * 52) + ",4\n")
    anim = csv_io.read_face_csv(path)
    assert anim.fps == 25.0 and np.allclose(anim.weights[1], 0.25) and anim.head[1, 0] == 4


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(csv_io.np, "savetxt", boom)
    with pytest.raises(OSError):
        csv_io.write_face_csv(tmp_path / "f.csv", sample())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text,msg", [("", "no frames"), ("a,b\n1,2\n", "no ARKit"),
                                      ("time,jawOpen\n0,x\n", "not a number")])
def test_bad_csv(tmp_path, text, msg):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(csv_io.FaceCsvError, match=msg):
        csv_io.read_face_csv(path)
