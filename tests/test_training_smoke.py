"""Train -> resume -> export -> generate, end to end on the real data, a few steps."""
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from cadence.dataset import bandai_namco, paths  # noqa: E402

pytestmark = pytest.mark.skipif(not (paths.data_dir() / bandai_namco.ARCHIVE).exists(),
                                reason="the shared data archive is not present")


def test_train_resume_export_generate(tmp_path, monkeypatch):
    from cadence.inference.motion_model import GenerationRequest, MotionModel
    from cadence.inference.weights import DEFAULT_WEIGHTS_DIR
    from cadence.training import export_motion, train_motion

    out = tmp_path / "models" / "motion_diffusion"
    common = ["--out", str(out), "--frames-per-batch", "256", "--threads", "1", "--steps"]
    assert train_motion.main(common + ["2"]) == 0
    first = torch.load(out / "checkpoint.pt", weights_only=False)
    assert first["step"] == 2
    assert train_motion.main(common + ["3"]) == 0  # resumes from step 2
    assert torch.load(out / "final.pt", weights_only=False)["step"] == 3

    weights = tmp_path / "weights"
    weights.mkdir()
    for f in DEFAULT_WEIGHTS_DIR.glob("text_encoder*"):
        shutil.copy(f, weights / f.name)
    shutil.copy(DEFAULT_WEIGHTS_DIR / "manifest.json", weights / "manifest.json")
    monkeypatch.setattr(export_motion, "OUT", out)
    assert export_motion.main(["--checkpoint", str(out / "final.pt"), "--out", str(weights)]) == 0
    model = MotionModel.load(weights)
    assert len(model.styles) == 16 and model.meta["training"]["steps"] == 3
    r = model.generate(GenerationRequest("a person walks", 1.0, {"happy": 0.5}, seed=0))[0]
    assert r.motion.num_frames == 30 and np.isfinite(r.features).all()
