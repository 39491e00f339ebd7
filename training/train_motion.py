"""Train the prompt matcher and the latent action + style denoiser on the Bandai Namco data.

    .venv/bin/python training/train.py motion            # 2-core CPU: ~85 minutes in all
    torchrun --nproc_per_node=8 training/train.py motion  # the same, data-parallel

Three stages, each resumable, each skipped when already done:
1. the motion autoencoder (train_autoencoder.py), when ``--autoencoder`` has no
   ``final.pt`` yet;
2. the prompt matcher (sentence -> action label, prompt_matcher.py; seconds);
3. the denoiser on latent tokens: every training take (and its mirror image) is encoded
   once, held still for 320 frames at its end, then crops of 16-80 tokens (64-320
   frames) are drawn as for the autoencoder, x0-prediction with text (action) and style
   dropout for classifier-free guidance.

Checkpoints go to .cache/models/motion_diffusion/ every few minutes and a rerun resumes
from the last one. Training stops at --steps or at --minutes, whichever comes first;
then ``train.py export`` writes the ONNX files and metadata to weights/. On CPUs with
bfloat16 matrix units (AMX, AVX-512 BF16) the networks run under bfloat16 autocast
(``--precision auto``) with fp32 master weights.
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
from ..inference.motion.diffusion import TRAIN_STEPS, cosine_alphas_cumprod
from ..motion.mirror import mirror_features
from ..motion.representation import Normalizer
from .autoencoder import FRAMES_PER_TOKEN, AutoencoderConfig, MotionAutoencoder
from .denoiser import DenoiserConfig, MotionDenoiser
from .loop import (
    LoopSettings,
    finish_distributed,
    launch_workers,
    setup_process,
    train,
    use_bf16,
    workers_to_launch,
)
from .motion_data import CYCLIC_ACTIONS, HOLD_TOKENS, LatentBatchSampler, Vocabulary, extend_take, load_training_data
from .train_autoencoder import OUT as AUTOENCODER_OUT
from .train_autoencoder import pad_to_tokens

OUT = cache_dir() / "models" / "motion_diffusion"
MATCHER_FILE = "prompt_matcher.json"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="train.py motion", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=20000, help="at most (the time budget usually ends it first)")
    p.add_argument("--minutes", type=float, default=45.0, help="stop (and save) after this long")
    p.add_argument("--autoencoder", type=Path, default=AUTOENCODER_OUT,
                   help="folder of the trained autoencoder (trained first when missing)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="bf16 autocast for the network (auto: where the CPU or GPU has bf16 units)")
    p.add_argument("--frames-per-batch", type=int, default=4096,
                   help="batch size x crop length in frames, per process")
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--text-dropout", type=float, default=0.1, help="share of samples without their action")
    p.add_argument("--style-dropout", type=float, default=0.15)
    p.add_argument("--velocity-loss", type=float, default=1.0)
    p.add_argument("--balance", type=float, default=0.5,
                   help="share of the action-balanced draw of takes (motion_data.take_weights)")
    p.add_argument("--mirror", type=float, default=0.5,
                   help="share of samples trained as mirror images with the action's sides swapped")
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads per process (default: all cores)")
    p.add_argument("--workers", type=int, default=0,
                   help="training processes on a CPU (0: one per core; 1: this process alone)")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    p.add_argument("--init", type=Path, default=None,
                   help="start from these denoiser weights (train.py warm-start writes the shipped ones to "
                        ".cache/models/motion_diffusion/shipped.pt); a checkpoint to resume still wins")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    return p.parse_args(argv)


def ensure_matcher(out: Path, vocab: Vocabulary, log: bool = True) -> dict:
    """Fit the prompt matcher for the vocabulary once (saved beside the checkpoints)."""
    path = out / MATCHER_FILE
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("labels") == vocab.contents:
            return data
    from ..inference.text.encoder import TextEncoder
    from .prompt_matcher import train_matcher
    matcher, report = train_matcher(vocab.contents, TextEncoder.load().encode)
    data = matcher.to_dict() | {"report": report}
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")
    if log:
        print(f"prompt matcher: {report['train_accuracy']:.3f} of {report['train_paraphrases']} training "
              f"paraphrases, {report['held_out_accuracy']:.3f} of {report['held_out_paraphrases']} "
              "held-out ones", flush=True)
    return data


def load_autoencoder(folder: Path) -> tuple[MotionAutoencoder, dict]:
    """The trained autoencoder (EMA weights) and its checkpoint."""
    ck = torch.load(folder / "final.pt", map_location="cpu", weights_only=False)
    if "latent_std" not in ck:
        raise SystemExit(f"{folder / 'final.pt'} has no latent statistics: finish training.py autoencoder")
    model = MotionAutoencoder(AutoencoderConfig(**ck["config"]))
    model.load_state_dict(ck["ema"])
    return model.eval(), ck


def ensure_autoencoder(folder: Path, args: argparse.Namespace, rank: int) -> None:
    if (folder / "final.pt").exists():
        return
    if rank == 0:
        print(f"no trained autoencoder in {folder}: training it first", flush=True)
    from . import train_autoencoder
    code = train_autoencoder.main(["--out", str(folder), "--precision", args.precision, "--seed", str(args.seed),
                                   "--threads", str(args.threads), "--workers", str(args.workers)])
    if code:
        raise SystemExit(f"the autoencoder did not train (exit code {code})")


@torch.no_grad()
def encode_takes(autoencoder: MotionAutoencoder, ds, takes: np.ndarray, norm: Normalizer,
                 latent_mean: np.ndarray, latent_std: np.ndarray
                 ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], dict[int, int]]:
    """Normalised latents of every take and of its mirror image, each encoded with
    HOLD_TOKENS tokens appended (its last pose held still, or for locomotion its gait
    continued: motion_data.extend_take); and the length in tokens crops may draw from:
    the take's own, or for locomotion the whole continued take."""
    latents, mirrored, tokens = {}, {}, {}
    for i in takes:
        clip = ds.clip(i)
        cyclic = ds.contents[i] in CYCLIC_ACTIONS
        full = pad_to_tokens(extend_take(clip, HOLD_TOKENS * FRAMES_PER_TOKEN, cyclic))
        pair = np.stack([full, mirror_features(full)])
        x = torch.from_numpy(norm.normalize(pair).astype(np.float32))
        z = ((autoencoder.encoder(x)[0].numpy() - latent_mean) / latent_std).astype(np.float32)
        latents[int(i)], mirrored[int(i)] = z[0], z[1]
        tokens[int(i)] = len(z[0]) if cyclic else max(1, -(-len(clip) // FRAMES_PER_TOKEN))
    return latents, mirrored, tokens


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    workers = workers_to_launch(args.workers)
    rank, world, device = setup_process(args.threads, args.seed, launching=workers > 0)
    args.out.mkdir(parents=True, exist_ok=True)
    ensure_autoencoder(args.autoencoder, args, rank)  # under torchrun every rank takes part
    ds, _, vocab = load_training_data(progress=rank == 0)
    if rank == 0:
        ensure_matcher(args.out, vocab)
    if workers:
        return launch_workers("motion", argv + ["--workers", "1"], workers)
    autoencoder, ae_ck = load_autoencoder(args.autoencoder)
    norm = Normalizer(np.asarray(ae_ck["normalizer"]["mean"]), np.asarray(ae_ck["normalizer"]["std"]),
                      str(ae_ck["normalizer"]["version"]))
    latent_mean, latent_std = ae_ck["latent_mean"], ae_ck["latent_std"]
    latents, mirrored, tokens = encode_takes(autoencoder, ds, ds.indices("train"), norm, latent_mean, latent_std)
    del autoencoder
    cfg = DenoiserConfig(latent=int(latent_mean.shape[0]), num_contents=len(vocab.contents),
                         num_styles=len(vocab.styles), normal_style=vocab.normal_style)
    sampler = LatentBatchSampler(ds, "train", vocab, latents, mirrored, tokens,
                                 token_budget=args.frames_per_batch // FRAMES_PER_TOKEN, mirror=args.mirror,
                                 balance=args.balance)
    batches = sampler.source(device, args.seed * 1000 + rank * 7919)
    abar = torch.tensor(cosine_alphas_cumprod(), dtype=torch.float32, device=device)

    def loss_fn(net, b) -> torch.Tensor:
        x0, bsz = b["x0"], b["x0"].shape[0]
        t = torch.randint(0, TRAIN_STEPS, (bsz,), device=device)
        a = abar[t].view(-1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * torch.randn_like(x0)
        content_keep = (torch.rand(bsz, device=device) > args.text_dropout).float()
        style_keep = (torch.rand(bsz, device=device) > args.style_dropout).float()
        pred = net(xt, t.float(), b["content"], content_keep, b["style"], style_keep).float()
        loss = F.mse_loss(pred, x0)
        if args.velocity_loss:
            loss = loss + args.velocity_loss * F.mse_loss(pred[:, 1:] - pred[:, :-1], x0[:, 1:] - x0[:, :-1])
        return loss

    if rank == 0:
        print(f"denoiser: {len(sampler.takes)} training takes encoded to {cfg.latent}-d latent tokens", flush=True)
    st = LoopSettings(out=args.out, steps=args.steps, minutes=args.minutes, lr=args.lr, ema=args.ema,
                      checkpoint_minutes=args.checkpoint_minutes, fresh=args.fresh,
                      bf16=use_bf16(args.precision, device), name="denoiser",
                      extra={"config": cfg.to_dict(), "vocab": vars(vocab),
                             "autoencoder": str(args.autoencoder),
                             "args": vars(args) | {"out": str(args.out), "autoencoder": str(args.autoencoder),
                                                   "init": str(args.init) if args.init else None}})
    model = MotionDenoiser(cfg)
    if args.init is not None:
        init = torch.load(args.init, map_location="cpu", weights_only=False)
        if init["config"] != cfg.to_dict():
            raise SystemExit(f"{args.init} is a denoiser of another shape: {init['config']} vs {cfg.to_dict()}")
        model.load_state_dict(init["model"])
        if rank == 0:
            print(f"denoiser: starting from {args.init} (step {init.get('step', '?')})", flush=True)
    train(model, batches, loss_fn, st, rank, world, device)
    finish_distributed()
    return 0
