"""Train the text + style motion denoiser on the Bandai Namco data.

    .venv/bin/python training/train.py motion            # 2-core CPU: ~80 minutes
    torchrun --nproc_per_node=8 training/train.py motion  # the same, data-parallel

Checkpoints go to .cache/models/motion_diffusion/ every few minutes and a rerun resumes
from the last one. Training stops at --steps or at --minutes, whichever comes first;
then ``export_motion.py`` writes the ONNX file and metadata to weights/.
"""
from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn import functional as F

from ..dataset import pipeline
from ..dataset.paths import cache_dir
from ..inference.diffusion import TRAIN_STEPS, cosine_alphas_cumprod
from ..motion.representation import Normalizer
from .denoiser import DenoiserConfig, MotionDenoiser
from .motion_data import BatchSampler, Vocabulary, prompt_embeddings

OUT = cache_dir() / "models" / "motion_diffusion"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="train.py motion", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=5500)
    p.add_argument("--minutes", type=float, default=110.0, help="stop (and save) after this long")
    p.add_argument("--frames-per-batch", type=int, default=4096,
                   help="batch size x crop length, per process")
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--text-dropout", type=float, default=0.1)
    p.add_argument("--style-dropout", type=float, default=0.15)
    p.add_argument("--velocity-loss", type=float, default=1.0)
    p.add_argument("--mirror", type=float, default=0.5,
                   help="share of samples trained as mirror images with the prompt's sides swapped")
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    return p.parse_args(argv)


def _setup_distributed() -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        rank = dist.get_rank()
        device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
                              if torch.cuda.is_available() else "cpu")
        if device.type == "cuda":
            torch.cuda.set_device(device)
        return rank, world, device
    return 0, 1, torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_training_data(out: Path):
    """Dataset, normaliser (fitted on train, saved beside the checkpoints), vocabulary,
    prompt embeddings."""
    from ..inference.text_encoder import TextEncoder
    ds = pipeline.load_or_build(progress=True)
    vocab = Vocabulary.from_dataset(ds)
    norm_path = out / "normalizer.npz"
    if norm_path.exists():
        norm = Normalizer.load(norm_path)
    else:
        norm = Normalizer.fit([ds.clip(i) for i in ds.indices("train")])
        out.mkdir(parents=True, exist_ok=True)
        norm.save(norm_path)
    emb = prompt_embeddings(out.parent, TextEncoder.load)
    return ds, norm, vocab, emb


def lr_at(step: int, total: int, base: float, warmup: int = 200) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


def main(argv=None) -> int:
    args = parse_args(argv)
    rank, world, device = _setup_distributed()
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    torch.manual_seed(args.seed + rank)
    args.out.mkdir(parents=True, exist_ok=True)
    ds, norm, vocab, emb = load_training_data(args.out)
    cfg = DenoiserConfig(features=norm.mean.shape[0], num_styles=len(vocab.styles),
                         normal_style=vocab.normal_style)
    model = MotionDenoiser(cfg).to(device)
    ema = MotionDenoiser(cfg).to(device)
    ema.load_state_dict(model.state_dict())
    ema.eval().requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    step, elapsed_before = 0, 0.0
    ckpt_path = args.out / "checkpoint.pt"
    if ckpt_path.exists() and not args.fresh:
        ck = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        step, elapsed_before = ck["step"], ck.get("elapsed", 0.0)
        if rank == 0:
            print(f"resumed at step {step} ({elapsed_before / 60:.1f} min trained)", flush=True)
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    sampler = BatchSampler(ds, "train", norm, emb, vocab, seed=args.seed * 1000 + rank * 7919 + step,
                           frame_budget=args.frames_per_batch, mirror=args.mirror)
    abar = torch.tensor(cosine_alphas_cumprod(), dtype=torch.float32, device=device)
    if rank == 0:
        n = sum(p.numel() for p in model.parameters())
        print(f"denoiser: {n / 1e6:.2f} M parameters; {len(sampler.takes)} training takes; "
              f"{world} process(es) on {device}", flush=True)

    def save(final: bool = False) -> None:
        if rank != 0:
            return
        state = {"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                 "step": step, "elapsed": elapsed_before + time.time() - t_start,
                 "config": cfg.to_dict(), "vocab": vars(vocab), "args": vars(args) | {"out": str(args.out)}}
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(ckpt_path)
        if final:
            torch.save(state, args.out / "final.pt")

    t_start = time.time()
    last_save, last_print, loss_avg = t_start, t_start, None
    model.train()
    while step < args.steps:
        if elapsed_before + time.time() - t_start > args.minutes * 60:
            if rank == 0:
                print(f"time budget of {args.minutes:g} min reached at step {step}", flush=True)
            break
        b = {k: torch.from_numpy(v).to(device) for k, v in sampler.sample().items()}
        x0, bsz = b["x0"], b["x0"].shape[0]
        t = torch.randint(0, TRAIN_STEPS, (bsz,), device=device)
        a = abar[t].view(-1, 1, 1)
        noise = torch.randn_like(x0)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        text_keep = (torch.rand(bsz, device=device) > args.text_dropout).float()
        style_keep = (torch.rand(bsz, device=device) > args.style_dropout).float()
        pred = net(xt, t.float(), b["text"], text_keep, b["style"], style_keep)
        loss = F.mse_loss(pred, x0)
        if args.velocity_loss:
            loss = loss + args.velocity_loss * F.mse_loss(pred[:, 1:] - pred[:, :-1], x0[:, 1:] - x0[:, :-1])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
        step += 1
        loss_avg = loss.item() if loss_avg is None else 0.98 * loss_avg + 0.02 * loss.item()
        now = time.time()
        if rank == 0 and (now - last_print > 30 or step == args.steps):
            rate = step / max(1e-9, elapsed_before + now - t_start)
            eta = min((args.steps - step) / max(rate, 1e-9), args.minutes * 60 - elapsed_before - (now - t_start))
            bar = "#" * int(30 * step / args.steps)
            print(f"[{bar:<30}] step {step}/{args.steps} loss {loss_avg:.4f} "
                  f"{rate * 60:.0f} steps/min ETA {max(eta, 0) / 60:.1f} min", flush=True)
            last_print = now
        if now - last_save > args.checkpoint_minutes * 60:
            save()
            last_save = now
    save(final=True)
    if rank == 0:
        print(f"saved {args.out / 'final.pt'} at step {step}", flush=True)
    if world > 1:
        dist.destroy_process_group()
    return 0
