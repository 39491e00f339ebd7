"""Export the trained motion model to weights/ (three ONNX files + metadata + statistics).

    .venv/bin/python training/train.py export [--checkpoint PATH] [--autoencoder DIR] [--out weights/]

Writes
- ``motion_diffusion.onnx``: the latent denoiser (dynamic batch and token count);
- ``motion_decoder.onnx`` / ``motion_encoder.onnx``: the autoencoder's halves (latent
  tokens -> features at 30 fps and back; the timeline composes per body part on
  features, so it decodes and re-encodes at every step);
- ``motion_diffusion.json``: vocabularies, frame rate, latent shape, schedule, sampling
  defaults: everything the runtime and the UI need, so the style sliders come from the
  model;
- ``motion_diffusion_stats.json``: the feature normalisation, the latent scaling and the
  prompt matcher that maps a sentence onto the known actions.
Each network is checked against torch on fixed inputs before it is written.
"""
from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import torch

from ..inference.motion.diffusion import TRAIN_STEPS
from ..inference.runtime.weights import DEFAULT_WEIGHTS_DIR, sha256_file, update_manifest
from ..motion.representation import REPRESENTATION_VERSION
from .autoencoder import FRAMES_PER_TOKEN, AutoencoderConfig, MotionAutoencoder
from .denoiser import DenoiserConfig, MotionDenoiser, exportable, exportable_channels_last
from .prompts import canonical_prompt
from .train_motion import MATCHER_FILE, OUT

MODEL_VERSION = "2"
LICENCE = "CC-BY-NC-4.0"
INPUTS = ("x", "t", "content", "content_keep", "style", "style_keep")
DEFAULTS = {"steps": 10, "text_guidance": 2.5, "style_guidance": 2.0, "max_seconds": 20.0}
PARITY_LIMIT = 1e-3


def fixed_inputs(cfg: DenoiserConfig, batch: int = 3, tokens: int = 30, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(batch, tokens, cfg.latent)).astype(np.float32),
        "t": np.linspace(0, TRAIN_STEPS - 1, batch).round().astype(np.float32),
        "content": rng.uniform(size=(batch, cfg.num_contents)).astype(np.float32),
        "content_keep": (np.arange(batch) % 2 == 0).astype(np.float32),
        "style": rng.uniform(size=(batch, cfg.num_styles)).astype(np.float32),
        "style_keep": np.ones(batch, np.float32),
    }


def _export(module: torch.nn.Module, feeds: dict[str, np.ndarray], example: dict[str, np.ndarray],
            output: str, dynamic: dict, path: Path) -> float:
    """Write ``module`` as ONNX; the max abs difference to torch on ``feeds``."""
    import onnxruntime as ort
    names = list(feeds)
    with warnings.catch_warnings():  # the tracer's notes on Python-side shape maths
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(module, tuple(torch.from_numpy(example[k]) for k in names), str(path), dynamo=False,
                          input_names=names, output_names=[output], dynamic_axes=dynamic, opset_version=17)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, feeds)[0]
    with torch.no_grad():
        want = module(*(torch.from_numpy(feeds[k]) for k in names))
    want = want[0] if isinstance(want, tuple) else want
    return float(np.abs(got - want.numpy()).max())


def export_denoiser(model: MotionDenoiser, path: Path, channels_last: bool = False) -> float:
    """Write the denoiser as ONNX (``channels_last``: convolutions as matrix products,
    for int8: denoiser.exportable_channels_last); the max abs difference to torch."""
    model = exportable_channels_last(model) if channels_last else exportable(model)
    feeds = fixed_inputs(model.cfg)
    example = {k: (v[:2, :16] if k == "x" else v[:2]) for k, v in feeds.items()}
    dyn = {k: {0: "batch"} for k in INPUTS}
    dyn["x"] = dyn["x0"] = {0: "batch", 1: "tokens"}
    return _export(model, feeds, example, "x0", dyn, path)


class _EncoderMean(torch.nn.Module):
    """The encoder's mean only (what the runtime needs)."""

    def __init__(self, encoder: torch.nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)[0]


def export_autoencoder(model: MotionAutoencoder, folder: Path) -> dict[str, float]:
    cfg = model.cfg
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 48, cfg.features)).astype(np.float32)
    z = rng.normal(size=(2, 12, cfg.latent)).astype(np.float32)
    err = {}
    err["encoder"] = _export(_EncoderMean(model.encoder).eval(), {"x": x}, {"x": x[:1, :32]}, "z",
                             {"x": {0: "batch", 1: "frames"}, "z": {0: "batch", 1: "tokens"}},
                             folder / "motion_encoder.onnx")
    err["decoder"] = _export(model.decoder.eval(), {"z": z}, {"z": z[:1, :8]}, "x",
                             {"z": {0: "batch", 1: "tokens"}, "x": {0: "batch", 1: "frames"}},
                             folder / "motion_decoder.onnx")
    return err


def write_fast_entry(weights: Path, meta: dict, files: dict[Path, str]) -> Path:
    """Write ``meta`` (the metadata with a changed "fast" entry) beside ``files`` (ONNX file
    -> manifest kind) and list them all in the manifest: the fast sampler's exports
    (distill_motion.py, distill_decoder.py)."""
    meta_path = weights / "motion_diffusion.json"
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    update_manifest(weights / "manifest.json", [
        {"file": f.name, "sha256": sha256_file(f), "version": MODEL_VERSION, "licence": LICENCE, "kind": kind}
        for f, kind in {**files, meta_path: "motion-denoiser-metadata"}.items()])
    return meta_path


def write_stats(path: Path, normalizer: dict, latent_mean: np.ndarray, latent_std: np.ndarray,
                matcher: dict) -> None:
    """Normalisation, latent scaling and the prompt matcher as JSON (small, diffable)."""
    data = {"version": REPRESENTATION_VERSION,
            "mean": np.asarray(normalizer["mean"], np.float32).tolist(),
            "std": np.asarray(normalizer["std"], np.float32).tolist(),
            "latent_mean": np.asarray(latent_mean, np.float32).tolist(),
            "latent_std": np.asarray(latent_std, np.float32).tolist(),
            "prompt_matcher": {k: v for k, v in matcher.items() if k != "report"}}
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")


def _fine_tuned_from(ck: dict) -> dict:
    """For a denoiser fine-tuned from other weights (train.py motion --init): what it
    started from (steps and minutes of that training), so the card's totals add up."""
    init = (ck.get("args") or {}).get("init")
    if not init or not Path(init).exists():
        return {}
    start = torch.load(init, map_location="cpu", weights_only=False)
    return {"fine_tuned_from": {"file": Path(init).name, "steps": start.get("step"), "minutes": start.get("minutes")}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="train.py export", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="default: final.pt, else checkpoint.pt in the training folder")
    p.add_argument("--autoencoder", type=Path, default=None,
                   help="folder of the autoencoder (default: the one the denoiser was trained on)")
    p.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS_DIR)
    p.add_argument("--name", default="motion_diffusion")
    args = p.parse_args(argv)
    src = args.checkpoint or next((OUT / n for n in ("final.pt", "checkpoint.pt") if (OUT / n).exists()), None)
    if src is None or not src.exists():
        print(f"no checkpoint found in {OUT}: train first (training/train.py motion)")
        return 2
    ck = torch.load(src, map_location="cpu", weights_only=False)
    ae_folder = args.autoencoder or Path(ck["autoencoder"])
    ae_ck = torch.load(ae_folder / "final.pt", map_location="cpu", weights_only=False)
    cfg = DenoiserConfig(**ck["config"])
    model = MotionDenoiser(cfg)
    model.load_state_dict(ck["ema"])
    autoencoder = MotionAutoencoder(AutoencoderConfig(**ae_ck["config"]))
    autoencoder.load_state_dict(ae_ck["ema"])
    if autoencoder.cfg.latent != cfg.latent:
        print(f"the denoiser works on {cfg.latent}-d latents, the autoencoder in {ae_folder} on "
              f"{autoencoder.cfg.latent}-d ones: export the pair it was trained with")
        return 2
    matcher = json.loads((src.parent / MATCHER_FILE).read_text(encoding="utf-8"))
    vocab = ck["vocab"]
    if matcher["labels"] != vocab["contents"]:
        print(f"{src.parent / MATCHER_FILE} does not match the checkpoint's actions: train again")
        return 2

    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / f"{args.name}.onnx"
    errors = {"denoiser": export_denoiser(model, onnx_path), **export_autoencoder(autoencoder, args.out)}
    print("ONNX parity vs torch, max abs error: " + ", ".join(f"{k} {v:.2e}" for k, v in errors.items()))
    written = [onnx_path, args.out / "motion_encoder.onnx", args.out / "motion_decoder.onnx"]
    if max(errors.values()) > PARITY_LIMIT:
        for f in written:
            f.unlink(missing_ok=True)
        print(f"parity above {PARITY_LIMIT}: not exported")
        return 1
    stats_path = args.out / f"{args.name}_stats.json"
    write_stats(stats_path, ae_ck["normalizer"], ae_ck["latent_mean"], ae_ck["latent_std"], matcher)
    labels = vocab["contents"]
    meta = {
        "model": args.name, "version": MODEL_VERSION, "licence": LICENCE,
        "representation": REPRESENTATION_VERSION, "fps": 30.0, "features": autoencoder.cfg.features,
        "latent": cfg.latent, "frames_per_token": FRAMES_PER_TOKEN, "frame_multiple": FRAMES_PER_TOKEN,
        "styles": vocab["styles"], "normal_style": vocab["normal_style"], "contents": labels,
        "label_prompts": {k: canonical_prompt(k) for k in labels},
        "diffusion": {"train_steps": TRAIN_STEPS, "schedule": "cosine", "prediction": "x0", "space": "latent"},
        "defaults": DEFAULTS, "inputs": list(INPUTS),
        "training": {"steps": ck["step"], "minutes": round(ck.get("elapsed", 0.0) / 60, 1),
                     **_fine_tuned_from(ck),
                     "autoencoder_steps": ae_ck["step"],
                     "autoencoder_minutes": round(ae_ck.get("elapsed", 0.0) / 60, 1),
                     "autoencoder_validation": ae_ck.get("report", {}),
                     "checkpoint": src.name, "args": ck.get("args", {})},
        "onnx_parity_max_abs": errors,
        "prompt_matcher": matcher.get("report", {}),
    }
    meta_path = args.out / f"{args.name}.json"
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    kinds = {onnx_path: "motion-denoiser-onnx", written[1]: "motion-encoder-onnx",
             written[2]: "motion-decoder-onnx", meta_path: "motion-denoiser-metadata",
             stats_path: "motion-denoiser-statistics"}
    update_manifest(args.out / "manifest.json", [
        {"file": f.name, "sha256": sha256_file(f), "version": MODEL_VERSION, "licence": LICENCE, "kind": kind}
        for f, kind in kinds.items()])
    from ..dataset import pipeline
    from .references import write_bank
    bank = write_bank(args.out, pipeline.load_or_build(), version=MODEL_VERSION)  # in the new latent space
    size = sum(f.stat().st_size for f in written + [bank]) / 2 ** 20
    print(f"wrote {', '.join(f.name for f in written + [bank])} ({size:.1f} MiB), {meta_path.name}, {stats_path.name}; "
          f"denoiser step {ck['step']}, autoencoder step {ae_ck['step']}, {len(labels)} actions, "
          f"{len(vocab['styles'])} styles")
    return 0
