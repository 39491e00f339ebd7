"""Train -> resume -> export -> generate, end to end on the real data, a few steps."""
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from cadence.dataset import bandai_namco, paths  # noqa: E402

pytestmark = pytest.mark.skipif(not (paths.data_dir() / bandai_namco.ARCHIVE).exists(),
                                reason="the shared data archive is not present")


@pytest.fixture(scope="module")
def autoencoder(tmp_path_factory):
    from cadence.training import train_autoencoder
    ae = tmp_path_factory.mktemp("models") / "motion_autoencoder"
    assert train_autoencoder.main(["--out", str(ae), "--frames-per-batch", "256", "--threads", "1",
                                   "--workers", "1", "--steps", "2"]) == 0
    ck = torch.load(ae / "final.pt", weights_only=False)
    assert ck["step"] == 2 and ck["latent_std"].shape == (16,) and "mse" in ck["report"]
    return ae


def test_train_resume_export_generate(tmp_path, monkeypatch, autoencoder):
    from cadence.inference.motion.model import GenerationRequest, MotionModel
    from cadence.inference.runtime.weights import DEFAULT_WEIGHTS_DIR
    from cadence.training import export_motion, train_motion

    ae = autoencoder
    out = tmp_path / "models" / "motion_diffusion"
    common = ["--out", str(out), "--autoencoder", str(ae), "--frames-per-batch", "256", "--threads", "1",
              "--workers", "1", "--steps"]
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
    assert model.references is not None and set(model.references.contents.tolist()) == set(range(24))
    r = model.generate(GenerationRequest("a person walks", 1.0, {"happy": 0.5}, seed=0))[0]
    assert r.motion.num_frames == 30 and np.isfinite(r.features).all()


def test_gesture_trainer_runs_in_the_latent_space(tmp_path, autoencoder):
    from test_speech_gesture_data import beat2_fixture

    from cadence.training import train_gesture
    beat2_fixture(tmp_path / "beat2", frames=96)
    out = tmp_path / "gesture"
    assert train_gesture.main(["--data", str(tmp_path / "beat2"), "--autoencoder", str(autoencoder),
                               "--steps", "2", "--threads", "1", "--frames-per-batch", "256",
                               "--out", str(out)]) == 0
    ck = torch.load(out / "final.pt", weights_only=False)
    assert ck["step"] == 2 and ck["styles"] == ["scott"] and ck["config"]["latent"] == 16
