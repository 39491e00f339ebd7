"""The motion model's ONNX export: dynamic batch and length, parity with torch."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from cadence.training.autoencoder import FRAMES_PER_TOKEN, AutoencoderConfig, MotionAutoencoder  # noqa: E402
from cadence.training.denoiser import DenoiserConfig, MotionDenoiser, exportable  # noqa: E402
from cadence.training.export_motion import INPUTS, export_autoencoder, export_denoiser, fixed_inputs  # noqa: E402


def _randomise(model: torch.nn.Module) -> None:
    """Zero-initialised layers would hide mistakes in the export."""
    for p in model.parameters():
        p.data.normal_(0.0, 0.05)


def test_denoiser_export_parity_at_several_lengths(tmp_path):
    import onnxruntime as ort
    torch.manual_seed(0)
    cfg = DenoiserConfig(width=32, cond_dim=32, num_contents=5, num_styles=4, attention_layers=1, heads=2)
    model = MotionDenoiser(cfg).eval()
    _randomise(model)
    err = export_denoiser(model, tmp_path / "d.onnx")
    assert err < 1e-4
    session = ort.InferenceSession(str(tmp_path / "d.onnx"), providers=["CPUExecutionProvider"])
    reference = exportable(model).eval()
    for batch, tokens in ((1, 8), (4, 75)):
        feed = fixed_inputs(cfg, batch, tokens, seed=tokens)
        got = session.run(None, feed)[0]
        with torch.no_grad():
            want = reference(*(torch.from_numpy(feed[k]) for k in INPUTS)).numpy()
        assert got.shape == (batch, tokens, cfg.latent)
        assert np.abs(got - want).max() < 1e-4
        # The conditioning matters: dropping the action changes the prediction.
        feed["content_keep"][:] = 1 - feed["content_keep"]
        assert np.abs(session.run(None, feed)[0] - got).max() > 1e-5


def test_autoencoder_export_keeps_lengths(tmp_path):
    import onnxruntime as ort
    torch.manual_seed(1)
    model = MotionAutoencoder(AutoencoderConfig(width=32, latent=4, blocks=1)).eval()
    _randomise(model)
    err = export_autoencoder(model, tmp_path)
    assert max(err.values()) < 1e-4
    encoder = ort.InferenceSession(str(tmp_path / "motion_encoder.onnx"), providers=["CPUExecutionProvider"])
    decoder = ort.InferenceSession(str(tmp_path / "motion_decoder.onnx"), providers=["CPUExecutionProvider"])
    for frames in (8, 200):
        x = np.random.default_rng(frames).normal(size=(2, frames, 206)).astype(np.float32)
        z = encoder.run(None, {"x": x})[0]
        assert z.shape == (2, frames // FRAMES_PER_TOKEN, 4)
        assert decoder.run(None, {"z": z})[0].shape == (2, frames, 206)
