"""Torch checkpoints rebuilt from the shipped ONNX motion model (training/warm_start.py):
what a fresh checkout fine-tunes from instead of retraining for 85 minutes."""
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from cadence.inference.runtime.weights import DEFAULT_WEIGHTS_DIR  # noqa: E402
from cadence.training import warm_start  # noqa: E402


def test_rebuilt_model_reproduces_the_shipped_onnx_files(tmp_path):
    ae_dir, out = tmp_path / "ae", tmp_path / "den"
    assert warm_start.main(["--autoencoder", str(ae_dir), "--out", str(out)]) == 0
    meta = json.loads((DEFAULT_WEIGHTS_DIR / "motion_diffusion.json").read_text())
    ae = torch.load(ae_dir / "final.pt", weights_only=False)
    den = torch.load(out / warm_start.INIT_FILE, weights_only=False)
    assert ae["step"] == meta["training"]["autoencoder_steps"] and den["step"] == meta["training"]["steps"]
    stats = json.loads((DEFAULT_WEIGHTS_DIR / "motion_diffusion_stats.json").read_text())
    np.testing.assert_allclose(ae["latent_std"], stats["latent_std"], rtol=1e-6)
    # The check inside rebuild() compares against ONNX Runtime; do it once more here on
    # the saved denoiser, with inputs of another shape than the check's.
    from cadence.training.denoiser import DenoiserConfig, MotionDenoiser
    model = MotionDenoiser(DenoiserConfig(**den["config"]))
    model.load_state_dict(den["model"])
    import onnxruntime as ort
    rng = np.random.default_rng(5)
    cfg = model.cfg
    feeds = {"x": rng.normal(size=(2, 11, cfg.latent)).astype(np.float32),
             "t": np.array([10.0, 700.0], np.float32),
             "content": np.eye(cfg.num_contents, dtype=np.float32)[[3, 7]],
             "content_keep": np.ones(2, np.float32),
             "style": np.eye(cfg.num_styles, dtype=np.float32)[[0, 5]],
             "style_keep": np.array([1.0, 0.0], np.float32)}
    got = ort.InferenceSession(str(DEFAULT_WEIGHTS_DIR / "motion_diffusion.onnx"),
                               providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    with torch.no_grad():
        want = model.eval()(*(torch.from_numpy(v) for v in feeds.values())).numpy()
    assert np.abs(got - want).max() < 1e-4


def test_committed_v2_0_checkpoint_is_the_fine_tunes_small_starting_point():
    """tools/reproduce_motion fine-tunes v2.1 from v2.0's denoiser, committed in float16
    (issue 19: a longer schedule resumes from a small committed checkpoint, <= 15 MB)."""
    from cadence.training.denoiser import DenoiserConfig
    path = Path(__file__).resolve().parents[1] / "training/checkpoints/motion_denoiser_v2.0.fp16.pt"
    assert path.stat().st_size <= 15 * 2 ** 20
    ck = torch.load(path, map_location="cpu", weights_only=False)
    assert all(v.dtype == torch.float16 for v in ck["model"].values())
    _, shipped, info = warm_start.rebuild(DEFAULT_WEIGHTS_DIR)
    # train.py motion --init refuses a checkpoint of another shape than the one it builds
    meta = info["meta"]
    assert ck["config"] == DenoiserConfig(latent=meta["latent"], num_contents=len(meta["contents"]),
                                          num_styles=len(meta["styles"]),
                                          normal_style=meta["normal_style"]).to_dict()
    assert ck["config"] == shipped.cfg.to_dict()
    # the shipped weights are this checkpoint fine-tuned: about 10 % away from it, where
    # an unrelated initialisation is as far away as the weights are large
    state = shipped.state_dict()
    far = sum(float(((ck["model"][k].float() - v) ** 2).sum()) for k, v in state.items())
    size = sum(float((v ** 2).sum()) for v in state.values())
    assert (far / size) ** 0.5 < 0.2
