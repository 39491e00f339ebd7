"""Train an audio-conditioned gesture denoiser on your own BEAT2 / ZEGGS takes.

    .venv/bin/python training/train.py gesture --data /path/to/takes [--steps 20000]

Cadence ships no such model: no paired speech + motion capture is available to the
project, so the shipped gestures are zero-shot on the text-to-motion prior
(docs/gesture.md). This script is the path for whoever has BEAT2 (CC BY-NC 4.0) or
ZEGGS (CC BY-NC-ND 4.0) under their licence. It is an outline in the sense that it has
never been run on real data here; its readers are tested on small fixtures
(tests/test_speech_gesture_data.py) and its model is the shipped denoiser's.

- **Data** (``dataset/speech_gesture.py``): every take under ``--data`` (BEAT2
  ``smplxflame_30/*.npz`` + ``wave16k/*.wav``, ZEGGS ``*.bvh`` + ``*.wav``) on the
  canonical skeleton at 30 fps, encoded in the learning representation, with the face
  model's log-mel input (4 frames per motion frame); the style of a take is its ZEGGS
  style or its BEAT2 speaker. Random crops of 64-192 frames.
- **Model**: the text-to-motion denoiser (``training/denoiser.py``) with its text input
  unused and a speech encoder (two 1D convolutions, the second with stride 4 from the
  mel rate to the frame rate) whose per-frame features are concatenated to the noisy
  motion at the input: same U-Net, attention, FiLM style conditioning and x0 target,
  so sampling, guidance and the timeline would work unchanged once exported.
- **Training**: as ``train_motion.py`` (cosine schedule, x0 + velocity loss, AdamW,
  EMA), with speech dropped 10 % of the time for classifier-free guidance.

What is not built: the ONNX export and a runtime path using the model instead of the
zero-shot planner (both would follow export_motion.py and inference/motion_model.py).
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..dataset.paths import cache_dir
from ..dataset.speech_gesture import read_takes, training_pair
from ..inference.diffusion import TRAIN_STEPS, cosine_alphas_cumprod
from ..motion.representation import Normalizer
from .denoiser import DenoiserConfig, MotionDenoiser
from .train_motion import lr_at

OUT = cache_dir() / "models" / "gesture_diffusion"
MEL_BANDS = 80
CROPS = (64, 96, 128, 160, 192)


class AudioGestureDenoiser(MotionDenoiser):
    """The motion denoiser with per-frame speech features concatenated to its input."""

    def __init__(self, cfg: DenoiserConfig, audio_dim: int = 64):
        super().__init__(cfg)
        self.audio_dim = audio_dim
        self.audio = nn.Sequential(nn.Conv1d(MEL_BANDS, 128, 5, padding=2), nn.SiLU(),
                                   nn.Conv1d(128, audio_dim, 4, stride=4))
        self.null_audio = nn.Parameter(torch.zeros(audio_dim))
        self.inp = nn.Conv1d(cfg.features + audio_dim, cfg.widths[0], 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, mel: torch.Tensor, audio_keep: torch.Tensor,
                style: torch.Tensor, style_keep: torch.Tensor) -> torch.Tensor:
        """x (B, T, F), mel (B, 4T, 80), audio_keep/style_keep (B,), style (B, S)."""
        a = self.audio(mel.transpose(1, 2)).transpose(1, 2)              # (B, T, A)
        k = audio_keep.view(-1, 1, 1)
        a = k * a + (1 - k) * self.null_audio
        no_text = torch.zeros(x.shape[0], self.cfg.text_dim, device=x.device)
        return super().forward(torch.cat([x, a], dim=-1), t, no_text, torch.zeros_like(audio_keep),
                               style, style_keep)


def load_pairs(root: Path) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    feats, mels, styles = [], [], []
    for take in read_takes(root):
        f, m = training_pair(take)
        if len(f) >= CROPS[0]:
            feats.append(f)
            mels.append(m)
            styles.append(take.style)
    if not feats:
        raise SystemExit(f"no usable takes under {root} (BEAT2 npz + wav or ZEGGS bvh + wav, "
                         f"at least {CROPS[0]} frames each)")
    return feats, mels, styles


def batch(feats, mels, style_ids, n_styles, norm, rng, frame_budget):
    length = int(rng.choice(CROPS))
    size = max(1, frame_budget // length)
    x0, mel, style = [], [], np.zeros((size, n_styles), np.float32)
    for i in range(size):
        k = int(rng.integers(len(feats)))
        f, m = feats[k], mels[k]
        s = int(rng.integers(0, max(1, len(f) - length + 1)))
        clip = f[s:s + length]
        clip = np.concatenate([clip, np.repeat(clip[-1:], length - len(clip), 0)])
        mc = m[4 * s:4 * (s + length)]
        mc = np.concatenate([mc, np.repeat(mc[-1:], 4 * length - len(mc), 0)])
        x0.append(norm.normalize(clip))
        mel.append(mc)
        style[i, style_ids[k]] = 1.0
    return (torch.tensor(np.stack(x0), dtype=torch.float32), torch.tensor(np.stack(mel)),
            torch.tensor(style))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="train.py gesture", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="folder with BEAT2 and/or ZEGGS takes")
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--minutes", type=float, default=600.0)
    p.add_argument("--frames-per-batch", type=int, default=4096)
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--audio-dropout", type=float, default=0.1)
    p.add_argument("--style-dropout", type=float, default=0.15)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    feats, mels, styles = load_pairs(args.data)
    names = sorted(set(styles))
    style_ids = [names.index(s) for s in styles]
    norm = Normalizer.fit(feats)
    args.out.mkdir(parents=True, exist_ok=True)
    norm.save(args.out / "normalizer.npz")
    cfg = DenoiserConfig(features=feats[0].shape[1], num_styles=len(names), normal_style=0)
    model = AudioGestureDenoiser(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    abar = torch.tensor(cosine_alphas_cumprod(), dtype=torch.float32)
    print(f"{len(feats)} takes, {sum(map(len, feats)) / 30 / 60:.1f} min, styles {names}; "
          f"{sum(q.numel() for q in model.parameters()) / 1e6:.2f} M parameters", flush=True)
    started, step, avg = time.time(), 0, None
    while step < args.steps and time.time() - started < args.minutes * 60:
        x0, mel, style = batch(feats, mels, style_ids, len(names), norm, rng, args.frames_per_batch)
        t = torch.randint(0, TRAIN_STEPS, (len(x0),))
        a = abar[t].view(-1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * torch.randn_like(x0)
        audio_keep = (torch.rand(len(x0)) > args.audio_dropout).float()
        style_keep = (torch.rand(len(x0)) > args.style_dropout).float()
        pred = model(xt, t.float(), mel, audio_keep, style, style_keep)
        loss = F.mse_loss(pred, x0) + F.mse_loss(pred[:, 1:] - pred[:, :-1], x0[:, 1:] - x0[:, :-1])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        if step % 100 == 0 or step == args.steps:
            print(f"step {step}/{args.steps} loss {avg:.4f}", flush=True)
    torch.save({"model": model.state_dict(), "config": cfg.to_dict(), "styles": names, "step": step,
                "audio_dim": model.audio_dim}, args.out / "final.pt")
    print(f"saved {args.out / 'final.pt'} at step {step}")
    return 0
