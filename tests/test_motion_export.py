"""The denoiser's ONNX export: dynamic batch and length, parity with torch."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from cadence.training.denoiser import DenoiserConfig, MotionDenoiser  # noqa: E402
from cadence.training.export_motion import INPUTS, export_onnx, fixed_inputs  # noqa: E402


def test_export_parity_at_several_lengths(tmp_path):
    import onnxruntime as ort
    torch.manual_seed(0)
    cfg = DenoiserConfig(widths=(32, 48, 64), cond_dim=64, num_styles=5, attention_layers=1)
    model = MotionDenoiser(cfg).eval()
    for p in model.parameters():  # zero-initialised layers would hide mistakes
        p.data.normal_(0.0, 0.05)
    err = export_onnx(model, tmp_path / "d.onnx")
    assert err < 1e-4
    session = ort.InferenceSession(str(tmp_path / "d.onnx"), providers=["CPUExecutionProvider"])
    for batch, frames in ((1, 32), (4, 300)):
        feed = fixed_inputs(cfg, batch, frames, seed=frames)
        got = session.run(None, feed)[0]
        with torch.no_grad():
            want = model(*(torch.from_numpy(feed[k]) for k in INPUTS)).numpy()
        assert got.shape == (batch, frames, cfg.features)
        assert np.abs(got - want).max() < 1e-4
        # The conditioning matters: dropping the text changes the prediction.
        feed["text_keep"][:] = 1 - feed["text_keep"]
        assert np.abs(session.run(None, feed)[0] - got).max() > 1e-5
