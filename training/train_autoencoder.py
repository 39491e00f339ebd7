"""Train the motion autoencoder (features <-> latent tokens) on the Bandai Namco data.

    .venv/bin/python training/train.py autoencoder     # 2-core CPU: 38 minutes

Run before ``train.py motion`` (which diffuses in this latent space; ``train.py motion``
runs this first when no trained autoencoder is there). Crops of 64-320 frames of the
training takes (mirrored half of the time, short takes held still at their end, as the
denoiser sees them), loss: MSE on the normalised features and on their frame
differences, plus a light KL term. At the end the per-channel mean and spread of the
latent means over the training takes are stored with the weights: the denoiser works on
latents scaled to unit variance. Prints reconstruction errors on the validation takes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..dataset.paths import cache_dir
from .autoencoder import FRAMES_PER_TOKEN, AutoencoderConfig, MotionAutoencoder
from .loop import (
    LoopSettings,
    finish_distributed,
    launch_workers,
    setup_process,
    train,
    use_bf16,
    workers_to_launch,
)
from .motion_data import BatchSampler, load_training_data

OUT = cache_dir() / "models" / "motion_autoencoder"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="train.py autoencoder", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=20000, help="at most (the time budget usually ends it first)")
    p.add_argument("--minutes", type=float, default=38.0, help="stop (and save) after this long")
    p.add_argument("--frames-per-batch", type=int, default=4096)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--latent", type=int, default=AutoencoderConfig.latent)
    p.add_argument("--width", type=int, default=AutoencoderConfig.width)
    p.add_argument("--kl", type=float, default=1e-4, help="weight of the KL term (per latent value)")
    p.add_argument("--velocity-loss", type=float, default=1.0)
    p.add_argument("--balance", type=float, default=0.5,
                   help="share of the action-balanced draw of takes (motion_data.take_weights)")
    p.add_argument("--mirror", type=float, default=0.5)
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads per process (default: all cores)")
    p.add_argument("--workers", type=int, default=0,
                   help="training processes on a CPU (0: one per core; 1: this process alone)")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--fresh", action="store_true")
    return p.parse_args(argv)


def pad_to_tokens(x: np.ndarray) -> np.ndarray:
    """Hold the last frame so the length is a multiple of FRAMES_PER_TOKEN."""
    extra = -len(x) % FRAMES_PER_TOKEN
    return np.concatenate([x, np.repeat(x[-1:], extra, axis=0)]) if extra else x


@torch.no_grad()
def encode_means(encoder: torch.nn.Module, clips: list[np.ndarray]) -> list[np.ndarray]:
    """Latent means (T/4, Z) of normalised clips, one at a time (any length)."""
    encoder.eval()
    return [encoder(torch.from_numpy(pad_to_tokens(c)[None].astype(np.float32)))[0][0].numpy() for c in clips]


@torch.no_grad()
def reconstruction_report(model: MotionAutoencoder, clips: list[np.ndarray]) -> dict:
    model.eval()
    err, vel = [], []
    for c in clips:
        x = torch.from_numpy(pad_to_tokens(c)[None].astype(np.float32))
        y = model.decoder(model.encoder(x)[0])[0, :len(c)].numpy()
        err.append(np.mean((y - c) ** 2))
        vel.append(np.mean((np.diff(y, axis=0) - np.diff(c, axis=0)) ** 2))
    return {"mse": float(np.mean(err)), "velocity_mse": float(np.mean(vel))}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    workers = workers_to_launch(args.workers)
    if workers:
        return launch_workers("autoencoder", argv + ["--workers", "1"], workers)
    owns_group = not (torch.distributed.is_available() and torch.distributed.is_initialized())
    rank, world, device = setup_process(args.threads, args.seed)
    ds, norm, vocab = load_training_data()
    cfg = AutoencoderConfig(features=norm.mean.shape[0], width=args.width, latent=args.latent)
    model = MotionAutoencoder(cfg)
    sampler = BatchSampler(ds, "train", norm, vocab, frame_budget=args.frames_per_batch, mirror=args.mirror,
                           balance=args.balance)
    batches = sampler.source(device, args.seed * 1000 + rank * 7919)

    def loss_fn(net, b) -> torch.Tensor:
        x = b["x0"]
        y, mean, logvar = net(x)
        y = y.float()
        loss = F.mse_loss(y, x)
        if args.velocity_loss:
            loss = loss + args.velocity_loss * F.mse_loss(y[:, 1:] - y[:, :-1], x[:, 1:] - x[:, :-1])
        kl = 0.5 * (mean.float() ** 2 + logvar.float().exp() - 1.0 - logvar.float()).mean()
        return loss + args.kl * kl

    st = LoopSettings(out=args.out, steps=args.steps, minutes=args.minutes, lr=args.lr, fresh=args.fresh,
                      bf16=use_bf16(args.precision, device), name="autoencoder",
                      extra={"config": cfg.to_dict(), "args": vars(args) | {"out": str(args.out)},
                             "normalizer": {"mean": norm.mean, "std": norm.std, "version": norm.version}})
    state = train(model, batches, loss_fn, st, rank, world, device)
    if rank == 0:
        ema = MotionAutoencoder(cfg)
        ema.load_state_dict(state["ema"])
        train_clips = [norm.normalize(ds.clip(i)).astype(np.float32) for i in ds.indices("train")]
        means = np.concatenate(encode_means(ema.encoder, train_clips))
        state["latent_mean"] = means.mean(axis=0).astype(np.float32)
        state["latent_std"] = means.std(axis=0).astype(np.float32)
        val = [norm.normalize(ds.clip(i)).astype(np.float32) for i in ds.indices("val")]
        state["report"] = reconstruction_report(ema, val)
        torch.save(state, args.out / "final.pt")
        print(f"autoencoder: validation reconstruction MSE {state['report']['mse']:.4f} "
              f"(velocity {state['report']['velocity_mse']:.5f}); latent std "
              f"{state['latent_std'].min():.2f}-{state['latent_std'].max():.2f}", flush=True)
    if world > 1:
        torch.distributed.barrier()  # the latent statistics are written before anyone reads them
    if owns_group:
        finish_distributed()
    return 0
