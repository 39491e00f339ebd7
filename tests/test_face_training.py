"""Face model training smoke test: a few steps, test metrics, ONNX export with parity."""
import json

import pytest

from cadence.dataset.paths import cache_dir, data_dir


def test_train_export_smoke(tmp_path):
    torch = pytest.importorskip("torch")
    have = (cache_dir() / "face" / "takes.npz").exists() or \
        (data_dir() / "facegood-audio2face.tar.xz").exists()
    if not have:
        pytest.skip("FACEGOOD data not available")
    from cadence.training import train_face
    torch.set_num_threads(1)
    weights = tmp_path / "w"
    assert train_face.main(["--max-steps", "4", "--eval-every", "2", "--batch", "2", "--crop", "64",
                            "--out", str(tmp_path), "--weights", str(weights)]) == 0
    assert (weights / "face_speech.onnx").exists()
    manifest = json.loads((weights / "manifest.json").read_text())
    assert [e["file"] for e in manifest["files"]] == ["face_speech.onnx"]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["onnx_parity"] < 1e-4 and metrics["test_take"] == "1114_2_05"
    assert set(metrics["onnx"]["per_shape"]) >= {"jawOpen", "mouthFunnel"}
