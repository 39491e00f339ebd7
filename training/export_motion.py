"""Export the trained motion denoiser to weights/ (ONNX + metadata + statistics).

    .venv/bin/python training/train.py export [--checkpoint PATH] [--out weights/]

Writes ``motion_diffusion.onnx`` (dynamic batch and length), ``motion_diffusion.json``
(vocabularies, frame rate, schedule, sampling defaults: everything the runtime and the
UI need, so the style sliders come from the model) and ``motion_diffusion_stats.json``
(normalisation statistics and one mean sentence embedding per known action, to show
which actions a prompt matched). Checks ONNX against torch on fixed inputs first.
"""
from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import torch

from ..inference.diffusion import TRAIN_STEPS
from ..inference.text_encoder import EMBEDDING_DIM
from ..inference.weights import DEFAULT_WEIGHTS_DIR, sha256_file, update_manifest
from ..motion.representation import REPRESENTATION_VERSION, Normalizer
from .denoiser import DenoiserConfig, MotionDenoiser, exportable
from .prompts import PROMPTS, canonical_prompt
from .train_motion import OUT

MODEL_VERSION = "1"
LICENCE = "CC-BY-NC-4.0"
INPUTS = ("x", "t", "text", "text_keep", "style", "style_keep")
DEFAULTS = {"steps": 10, "text_guidance": 2.5, "style_guidance": 2.0, "max_seconds": 20.0}
PARITY_LIMIT = 1e-3


def fixed_inputs(cfg: DenoiserConfig, batch: int = 3, frames: int = 120, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(batch, frames, cfg.features)).astype(np.float32),
        "t": np.linspace(0, TRAIN_STEPS - 1, batch).round().astype(np.float32),
        "text": rng.normal(size=(batch, cfg.text_dim)).astype(np.float32),
        "text_keep": (np.arange(batch) % 2 == 0).astype(np.float32),
        "style": rng.uniform(size=(batch, cfg.num_styles)).astype(np.float32),
        "style_keep": np.ones(batch, np.float32),
    }


def export_onnx(model: MotionDenoiser, path: Path) -> float:
    """Write ONNX; return the max abs difference to torch on fixed inputs."""
    import onnxruntime as ort
    model = exportable(model)
    cfg = model.cfg
    example = tuple(torch.from_numpy(v[:2, :64] if k == "x" else v[:2])
                    for k, v in fixed_inputs(cfg).items())
    dyn = {k: {0: "batch"} for k in INPUTS}
    dyn["x"] = dyn["x0"] = {0: "batch", 1: "frames"}
    with warnings.catch_warnings():  # the tracer's notes on Python-side shape maths
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(model, example, str(path), dynamo=False, input_names=list(INPUTS),
                          output_names=["x0"], dynamic_axes=dyn, opset_version=17)
    feed = fixed_inputs(cfg)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, feed)[0]
    with torch.no_grad():
        want = model(*(torch.from_numpy(feed[k]) for k in INPUTS)).numpy()
    return float(np.abs(got - want).max())


def label_embeddings(out: Path) -> tuple[list[str], np.ndarray]:
    from ..inference.text_encoder import TextEncoder
    from .motion_data import prompt_embeddings
    emb = prompt_embeddings(out.parent, TextEncoder.load)
    labels = sorted(emb)
    mean = np.stack([emb[k][:, :EMBEDDING_DIM].mean(0) for k in labels])
    return labels, (mean / np.linalg.norm(mean, axis=1, keepdims=True)).astype(np.float32)


def write_stats(path: Path, norm: Normalizer, labels: list[str], embeddings: np.ndarray) -> None:
    """Normalisation statistics and per-action embeddings as JSON (small, diffable)."""
    data = {"version": REPRESENTATION_VERSION, "mean": np.asarray(norm.mean, np.float32).tolist(),
            "std": np.asarray(norm.std, np.float32).tolist(), "labels": labels,
            "label_embeddings": np.asarray(embeddings, np.float32).tolist()}
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="train.py export", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="default: final.pt, else checkpoint.pt in the training folder")
    p.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS_DIR)
    p.add_argument("--name", default="motion_diffusion")
    args = p.parse_args(argv)
    src = args.checkpoint or next((OUT / n for n in ("final.pt", "checkpoint.pt") if (OUT / n).exists()), None)
    if src is None or not src.exists():
        print(f"no checkpoint found in {OUT}: train first (training/train.py motion)")
        return 2
    ck = torch.load(src, map_location="cpu", weights_only=False)
    cfg = DenoiserConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in ck["config"].items()})
    model = MotionDenoiser(cfg)
    model.load_state_dict(ck["ema"])
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / f"{args.name}.onnx"
    err = export_onnx(model, onnx_path)
    print(f"ONNX parity vs torch: max abs error {err:.2e}")
    if err > PARITY_LIMIT:
        onnx_path.unlink()
        print(f"parity above {PARITY_LIMIT}: not exported")
        return 1
    norm = Normalizer.load(OUT / "normalizer.npz")
    labels, embeddings = label_embeddings(OUT)
    vocab = ck["vocab"]
    stats_path = args.out / f"{args.name}_stats.json"
    write_stats(stats_path, norm, labels, embeddings)
    meta = {
        "model": args.name, "version": MODEL_VERSION, "licence": LICENCE,
        "representation": REPRESENTATION_VERSION, "fps": 30.0, "features": cfg.features,
        "frame_multiple": 4, "styles": vocab["styles"], "normal_style": vocab["normal_style"],
        "contents": vocab["contents"], "labels": labels,
        "label_prompts": {k: canonical_prompt(k) for k in labels},
        "diffusion": {"train_steps": TRAIN_STEPS, "schedule": "cosine", "prediction": "x0"},
        "defaults": DEFAULTS, "inputs": list(INPUTS),
        "training": {"steps": ck["step"], "minutes": round(ck.get("elapsed", 0.0) / 60, 1),
                     "checkpoint": src.name, "args": ck.get("args", {})},
        "onnx_parity_max_abs": err,
    }
    meta_path = args.out / f"{args.name}.json"
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    update_manifest(args.out / "manifest.json", [
        {"file": f.name, "sha256": sha256_file(f), "version": MODEL_VERSION, "licence": LICENCE,
         "kind": kind}
        for f, kind in ((onnx_path, "motion-denoiser-onnx"), (meta_path, "motion-denoiser-metadata"),
                        (stats_path, "motion-denoiser-statistics"))])
    size = onnx_path.stat().st_size / 2 ** 20
    print(f"wrote {onnx_path} ({size:.1f} MiB), {meta_path.name}, {stats_path.name}; "
          f"step {ck['step']}, {len(PROMPTS)} actions, {len(vocab['styles'])} styles")
    return 0
