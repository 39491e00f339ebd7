"""Rebuild torch checkpoints of the shipped motion model from its ONNX files.

    .venv/bin/python training/train.py warm-start [--weights weights/]

Training checkpoints live in the git-ignored cache, so a fresh checkout has only the
shipped ONNX files. Retraining from scratch costs ~85 CPU minutes; a change of training
data (docs/motion_model.md: the looped locomotion takes) only needs the denoiser
fine-tuned from where it is. This writes

- ``.cache/models/motion_autoencoder/final.pt``: the autoencoder (encoder and decoder from
  ``motion_encoder.onnx`` / ``motion_decoder.onnx``; the encoder's variance head, which the
  runtime never uses, is not in the ONNX file and stays freshly initialised), with the
  normaliser and latent statistics of ``motion_diffusion_stats.json``: what
  ``train.py motion`` encodes takes with and ``train.py export`` exports;
- ``.cache/models/motion_diffusion/shipped.pt``: the denoiser's weights, for
  ``train.py motion --init``.

ONNX keeps most parameters under their torch names; the exporter renames and
transposes the rest (matrix products). Which initialiser is which parameter is found by
exporting a randomly initialised model of the same configuration and matching values,
and the result is checked: the rebuilt model must reproduce the shipped ONNX outputs.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from ..inference.runtime.weights import DEFAULT_WEIGHTS_DIR
from .autoencoder import AutoencoderConfig, MotionAutoencoder
from .denoiser import DenoiserConfig, MotionDenoiser
from .export_motion import PARITY_LIMIT, _EncoderMean, export_autoencoder, export_denoiser
from .train_autoencoder import OUT as AUTOENCODER_OUT
from .train_motion import OUT as DENOISER_OUT

INIT_FILE = "shipped.pt"


def _initializers(path: Path) -> dict[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper
    return {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}


def _name_map(module: torch.nn.Module, exported: dict[str, np.ndarray]) -> dict[str, tuple[str, bool]]:
    """ONNX initialiser name -> (parameter name, transposed?), by matching the values
    of a randomly initialised ``module`` to what exporting it wrote."""
    params = {k: v.detach().numpy() for k, v in module.state_dict().items()}
    out: dict[str, tuple[str, bool]] = {}
    for name, value in exported.items():
        if name in params and params[name].shape == value.shape and np.array_equal(params[name], value):
            out[name] = (name, False)
            continue
        for pname, p in params.items():
            if p.ndim == 2 and p.T.shape == value.shape and np.array_equal(p.T, value):
                out[name] = (pname, True)
                break
            if p.shape == value.shape and p.size > 1 and np.array_equal(p, value):
                out[name] = (pname, False)
                break
    return out


def _load(module: torch.nn.Module, export: callable, shipped: Path) -> list[str]:
    """Load the values of ``shipped`` into ``module``; the parameters left as they were."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / shipped.name
        export(probe)
        exported = _initializers(probe)
        names = _name_map(module, exported)
    values = _initializers(shipped)
    state = module.state_dict()
    loaded = set()
    for oname, (pname, transposed) in names.items():
        v = values[oname].T if transposed else values[oname]
        state[pname] = torch.from_numpy(np.array(v)).to(state[pname].dtype)
        loaded.add(pname)
    if isinstance(module, MotionDenoiser) and "styles" not in loaded:
        state["styles"] = _folded_styles(module, exported, values)
        loaded.add("styles")
    module.load_state_dict(state)
    return sorted(set(state) - loaded)


def _folded_styles(module: MotionDenoiser, exported: dict[str, np.ndarray],
                   values: dict[str, np.ndarray]) -> torch.Tensor:
    """The style embeddings, which the exporter folds into ``styles - normal`` (a matrix)
    and ``normal`` (a vector): the denoiser conditions on ``normal + style @ (styles - normal)``."""
    styles = module.styles.detach().numpy()
    normal = styles[module.cfg.normal_style]
    delta = next(k for k, v in exported.items() if v.shape == styles.shape and np.allclose(v, styles - normal))
    base = next(k for k, v in exported.items() if v.shape == normal.shape and np.array_equal(v, normal))
    return torch.from_numpy(np.array(values[delta] + values[base][None]))


def _parity(module: torch.nn.Module, shipped: Path, feeds: dict[str, np.ndarray]) -> float:
    import onnxruntime as ort
    session = ort.InferenceSession(str(shipped), providers=["CPUExecutionProvider"])
    got = session.run(None, feeds)[0]
    with torch.no_grad():
        want = module.eval()(*(torch.from_numpy(v) for v in feeds.values()))
    want = want[0] if isinstance(want, tuple) else want
    return float(np.abs(got - want.numpy()).max())


def rebuild(weights: Path) -> tuple[MotionAutoencoder, MotionDenoiser, dict]:
    """The shipped autoencoder and denoiser as torch modules, and the metadata."""
    from .export_motion import fixed_inputs
    meta = json.loads((weights / "motion_diffusion.json").read_text(encoding="utf-8"))
    args = meta["training"]["args"]
    if isinstance(args, str):
        raise SystemExit(f"{weights / 'motion_diffusion.json'} has no training arguments: cannot rebuild")
    torch.manual_seed(0)
    ae = MotionAutoencoder(AutoencoderConfig(features=meta["features"], latent=meta["latent"]))
    den = MotionDenoiser(DenoiserConfig(latent=meta["latent"], num_contents=len(meta["contents"]),
                                        num_styles=len(meta["styles"]), normal_style=meta["normal_style"]))
    with torch.no_grad():  # distinct values everywhere, so that matching them is unambiguous
        for param in [*ae.parameters(), *den.parameters()]:
            param.copy_(torch.randn_like(param))
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 48, meta["features"])).astype(np.float32)
    z = rng.normal(size=(2, 12, meta["latent"])).astype(np.float32)

    def export_ae(probe: Path) -> None:
        export_autoencoder(ae, probe.parent)

    left = {"encoder": _load(_EncoderMean(ae.encoder), export_ae, weights / "motion_encoder.onnx"),
            "decoder": _load(ae.decoder, export_ae, weights / "motion_decoder.onnx"),
            "denoiser": _load(den, lambda probe: export_denoiser(den, probe), weights / "motion_diffusion.onnx")}
    errors = {"encoder": _parity(_EncoderMean(ae.encoder), weights / "motion_encoder.onnx", {"x": x}),
              "decoder": _parity(ae.decoder, weights / "motion_decoder.onnx", {"z": z}),
              "denoiser": _parity(den, weights / "motion_diffusion.onnx", fixed_inputs(den.cfg))}
    if max(errors.values()) > PARITY_LIMIT:
        raise SystemExit(f"rebuilt model does not reproduce the shipped ONNX files: {errors}")
    return ae, den, {"meta": meta, "errors": errors, "not_in_onnx": left}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="train.py warm-start", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS_DIR)
    p.add_argument("--autoencoder", type=Path, default=AUTOENCODER_OUT)
    p.add_argument("--out", type=Path, default=DENOISER_OUT)
    args = p.parse_args(argv)
    ae, den, info = rebuild(args.weights)
    meta = info["meta"]
    stats = json.loads((args.weights / "motion_diffusion_stats.json").read_text(encoding="utf-8"))
    args.autoencoder.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    state = ae.state_dict()
    torch.save({"model": state, "ema": state, "step": meta["training"]["autoencoder_steps"],
                "elapsed": 60.0 * meta["training"]["autoencoder_minutes"], "config": ae.cfg.to_dict(),
                "normalizer": {"mean": np.asarray(stats["mean"], np.float64),
                               "std": np.asarray(stats["std"], np.float64), "version": stats["version"]},
                "latent_mean": np.asarray(stats["latent_mean"], np.float32),
                "latent_std": np.asarray(stats["latent_std"], np.float32),
                "report": meta["training"].get("autoencoder_validation", {}), "warm_start": str(args.weights)},
               args.autoencoder / "final.pt")
    torch.save({"model": den.state_dict(), "config": den.cfg.to_dict(), "step": meta["training"]["steps"],
                "minutes": meta["training"]["minutes"]}, args.out / INIT_FILE)
    print("rebuilt from ONNX, max abs difference: " + ", ".join(f"{k} {v:.1e}" for k, v in info["errors"].items())
          + f"; not in the ONNX files: {info['not_in_onnx']}")
    print(f"wrote {args.autoencoder / 'final.pt'} and {args.out / INIT_FILE}")
    return 0
