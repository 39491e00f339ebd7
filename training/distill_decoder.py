"""Distil the motion decoder into a lighter one for the fast sampler's previews.

    .venv/bin/python training/train.py distill-decoder --minutes 25   # after train.py distill
    .venv/bin/python training/train.py distill-decoder --minutes 45   # resumed: the shipped recipe
    .venv/bin/python training/train.py distill-decoder --export       # weights/motion_fast_decoder.onnx

Why: with the 2-step student (distill_motion.py) the decoder, latents (7.5 Hz) -> 30 fps
features, became the largest single cost of a fast 10 s clip (8-12 ms of ~40, issue 19,
item 5), and plain int8 quantization of it added visible jitter (docs/motion_model.md).
Most of its work is at the full frame rate: two residual blocks of 256 channels over
every frame. The fast decoder keeps the quarter- and half-rate stages (initialised from
the shipped decoder) and runs the full-rate stage at 128 channels.

How: the shipped decoder is the teacher (``train.py warm-start`` rebuilds it); the
student learns its output, in normalised features and their first and second frame
differences (velocity, acceleration: what jitter and foot skating are made of), on
two kinds of latents, half each: what the fast sampler produces (the teacher samples of
the student's distillation pairs, .cache/models/motion_fast/pairs) and the latents of
the training takes and their mirror images (random crops), each with a little Gaussian
noise so that the neighbourhood of both is covered. Only the full sampler's previews
are replaced: the full sampler keeps the shipped decoder.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..dataset.paths import cache_dir
from ..inference.runtime.weights import DEFAULT_WEIGHTS_DIR
from ..motion.mirror import mirror_features
from .autoencoder import AutoencoderConfig, MotionDecoder
from .distill_motion import OUT as STUDENT_OUT
from .loop import (
    LoopSettings,
    finish_distributed,
    launch_workers,
    setup_process,
    train,
    use_bf16,
    workers_to_launch,
)
from .motion_data import load_training_data
from .train_autoencoder import OUT as AUTOENCODER_OUT
from .train_autoencoder import encode_means
from .train_motion import load_autoencoder

OUT = cache_dir() / "models" / "motion_fast_decoder"
FAST_DECODER_FILE = "motion_fast_decoder.onnx"
FULL_WIDTH = 128   # channels of the full-rate stage (the shipped decoder: 256)
FULL_BLOCKS = 2


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="train.py distill-decoder", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--autoencoder", type=Path, default=AUTOENCODER_OUT, help="the teacher (train.py warm-start)")
    p.add_argument("--pairs", type=Path, default=STUDENT_OUT / "pairs", help="the student's distillation pairs")
    p.add_argument("--full-width", type=int, default=FULL_WIDTH)
    p.add_argument("--full-blocks", type=int, default=FULL_BLOCKS)
    p.add_argument("--tokens", type=int, nargs=2, default=(8, 48), help="crop lengths drawn, in latent tokens")
    p.add_argument("--tokens-per-batch", type=int, default=1024)
    p.add_argument("--noise", type=float, default=0.05, help="Gaussian noise added to the latents (their std units)")
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--minutes", type=float, default=25.0)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--fresh", action="store_true")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--export", action="store_true", help="write the trained decoder to --weights and stop")
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS_DIR)
    return p.parse_args(argv)


def student_decoder(teacher: MotionDecoder, cfg: AutoencoderConfig, full_width: int, full_blocks: int
                    ) -> MotionDecoder:
    """A decoder with a narrower full-rate stage; every layer of the same shape as the
    teacher's starts from the teacher's weights."""
    student = MotionDecoder(cfg, full_width, full_blocks)
    own = student.state_dict()
    own.update({k: v for k, v in teacher.state_dict().items() if k in own and own[k].shape == v.shape})
    student.load_state_dict(own)
    return student


def take_latents(encoder: torch.nn.Module, norm, ds, split: str) -> list[np.ndarray]:
    """Unscaled latent means (T/4, Z) of a split's takes and of their mirror images."""
    clips = []
    for i in ds.indices(split):
        clip = ds.clip(i)
        clips += [norm.normalize(clip).astype(np.float32), norm.normalize(mirror_features(clip)).astype(np.float32)]
    return encode_means(encoder, clips)


def pair_latents(folder: Path, latent_mean: np.ndarray, latent_std: np.ndarray) -> list[np.ndarray]:
    """The teacher samples of the student's distillation pairs, unscaled (what the
    decoder receives at run time)."""
    marker = folder / "done.json"
    if not marker.exists():
        raise SystemExit(f"no distillation pairs in {folder}: run training/train.py distill first")
    names = json.loads(marker.read_text(encoding="utf-8"))["chunks"]
    out = []
    for name in names:
        x0 = np.load(folder / name)["x0"]
        out += list((x0 * latent_std + latent_mean).astype(np.float32))
    return out


class LatentCrops:
    """Batches of latent crops: half from the sampled latents, half from real takes,
    a little noise added."""

    def __init__(self, sampled: list[np.ndarray], real: list[np.ndarray], tokens: tuple[int, int],
                 tokens_per_batch: int, noise: float, latent_std: np.ndarray, device: torch.device, seed: int):
        self.sources = [sampled, real]
        self.tokens, self.budget, self.noise = tokens, tokens_per_batch, noise
        self.std, self.device, self.seed = latent_std.astype(np.float32), device, seed

    def __call__(self, step: int) -> dict:
        rng = np.random.default_rng([self.seed, step])
        n = int(rng.integers(self.tokens[0], self.tokens[1] + 1))
        rows = []
        for k in range(max(2, self.budget // n)):
            pool = self.sources[k % 2]
            z = pool[int(rng.integers(len(pool)))]
            if len(z) < n:  # a short take: hold its last token
                z = np.concatenate([z, np.repeat(z[-1:], n - len(z), axis=0)])
            s = int(rng.integers(len(z) - n + 1))
            rows.append(z[s:s + n])
        z = np.stack(rows)
        z = z + self.noise * self.std * rng.standard_normal(z.shape).astype(np.float32)
        return {"z": torch.from_numpy(z.astype(np.float32)).to(self.device)}


def decoder_loss(net, teacher: MotionDecoder, b: dict) -> torch.Tensor:
    """The teacher's output (in fp32, outside autocast: bf16 targets would teach rounding
    noise), its velocity and its acceleration."""
    z = b["z"]
    with torch.no_grad(), torch.autocast(z.device.type, enabled=False):
        want = teacher(z.float())
    got = net(z).float()
    dv, dw = got[:, 1:] - got[:, :-1], want[:, 1:] - want[:, :-1]
    return F.mse_loss(got, want) + F.mse_loss(dv, dw) + F.mse_loss(dv[:, 1:] - dv[:, :-1], dw[:, 1:] - dw[:, :-1])


@torch.no_grad()
def report(student: MotionDecoder, teacher: MotionDecoder, latents: list[np.ndarray], clips: list[np.ndarray]
           ) -> dict:
    """Against the teacher and against the real features, on held-out takes."""
    to_teacher, to_real, teacher_real = [], [], []
    for z, c in zip(latents, clips):
        zt = torch.from_numpy(z[None])
        got, want = student(zt)[0].numpy()[:len(c)], teacher(zt)[0].numpy()[:len(c)]
        to_teacher.append(np.mean((got - want) ** 2))
        to_real.append(np.mean((got - c) ** 2))
        teacher_real.append(np.mean((want - c) ** 2))
    return {"mse_to_teacher": float(np.mean(to_teacher)), "mse_to_real": float(np.mean(to_real)),
            "teacher_mse_to_real": float(np.mean(teacher_real))}


def export_decoder(args: argparse.Namespace) -> int:
    from .export_motion import PARITY_LIMIT, _export, write_fast_entry
    src = args.out / "final.pt"
    if not src.exists():
        print(f"no trained fast decoder in {args.out}: run training/train.py distill-decoder first")
        return 2
    ck = torch.load(src, map_location="cpu", weights_only=False)
    cfg = AutoencoderConfig(**ck["config"])
    model = MotionDecoder(cfg, ck["full_width"], ck["full_blocks"])
    model.load_state_dict(ck["ema"])
    meta_path = args.weights / "motion_diffusion.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if "fast" not in meta or meta["latent"] != cfg.latent or meta["features"] != cfg.features:
        print(f"{meta_path} has no fast sampler of this latent size: export the student first")
        return 2
    z = np.random.default_rng(1).normal(size=(2, 12, cfg.latent)).astype(np.float32)
    path = args.weights / FAST_DECODER_FILE
    err = _export(model.eval(), {"z": z}, {"z": z[:1, :8]}, "x",
                  {"z": {0: "batch", 1: "tokens"}, "x": {0: "batch", 1: "frames"}}, path)
    if err > PARITY_LIMIT:
        path.unlink(missing_ok=True)
        print(f"parity {err:.2e} above {PARITY_LIMIT}: not exported")
        return 1
    meta["fast"]["decoder"] = {"file": FAST_DECODER_FILE, "full_width": ck["full_width"],
                               "full_blocks": ck["full_blocks"], "onnx_parity_max_abs": err,
                               "training": {"steps": ck["step"], "minutes": round(ck["elapsed"] / 60, 1),
                                            **ck.get("report", {})}}
    write_fast_entry(args.weights, meta, {path: "motion-fast-decoder-onnx"})
    print(f"wrote {path} (parity {err:.1e}) and the fast decoder in {meta_path.name}")
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.export:
        return export_decoder(args)
    workers = workers_to_launch(args.workers)
    if workers:
        return launch_workers("distill-decoder", argv + ["--workers", "1"], workers)
    rank, world, device = setup_process(args.threads, args.seed)
    ae, ck = load_autoencoder(args.autoencoder)
    teacher = ae.decoder.eval().requires_grad_(False).to(device)
    ds, norm, _ = load_training_data(progress=rank == 0)
    sampled = pair_latents(args.pairs, ck["latent_mean"], ck["latent_std"])
    real = take_latents(ae.encoder, norm, ds, "train")
    source = LatentCrops(sampled, real, tuple(args.tokens), args.tokens_per_batch, args.noise, ck["latent_std"],
                         device, args.seed * 1000 + rank * 7919)
    student = student_decoder(teacher, ae.cfg, args.full_width, args.full_blocks)
    st = LoopSettings(out=args.out, steps=args.steps, minutes=args.minutes, lr=args.lr, warmup=100,
                      checkpoint_minutes=args.checkpoint_minutes, fresh=args.fresh,
                      bf16=use_bf16(args.precision, device), name="fast decoder",
                      extra={"config": ae.cfg.to_dict(), "full_width": args.full_width,
                             "full_blocks": args.full_blocks,
                             "args": vars(args) | {"out": str(args.out), "autoencoder": str(args.autoencoder),
                                                   "pairs": str(args.pairs), "weights": str(args.weights)}})
    state = train(student, source, lambda net, b: decoder_loss(net, teacher, b), st, rank, world, device)
    if rank == 0:
        ema = MotionDecoder(ae.cfg, args.full_width, args.full_blocks)
        ema.load_state_dict(state["ema"])
        val = [norm.normalize(ds.clip(i)).astype(np.float32) for i in ds.indices("val")]
        state["report"] = report(ema.eval(), teacher.cpu(), encode_means(ae.encoder, val), val)
        torch.save(state, args.out / "final.pt")
        r = state["report"]
        print(f"fast decoder: validation MSE to the teacher {r['mse_to_teacher']:.5f}; to the real features "
              f"{r['mse_to_real']:.4f} (teacher {r['teacher_mse_to_real']:.4f})", flush=True)
    finish_distributed()
    return 0
