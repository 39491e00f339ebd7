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
  canonical skeleton at 30 fps, encoded in the learning representation, normalised and
  encoded to latent tokens by the shipped motion autoencoder (so the runtime's decoder
  reads what this model samples), with the face model's log-mel input (4 frames per
  motion frame, 16 per token); the style of a take is its ZEGGS style or its BEAT2
  speaker. Random crops of 16-48 tokens (64-192 frames).
- **Model**: the text-to-motion denoiser (``training/denoiser.py``) with its action input
  unused and a speech encoder (two 1D convolutions, the second with stride 16 from the
  mel rate to the token rate) whose per-token features are concatenated to the noisy
  latent at the input: same convolutions, attention, FiLM style conditioning and x0
  target, so sampling, guidance and the timeline would work unchanged once exported.
- **Training**: ``training/loop.py`` as for the motion model (cosine schedule, x0 +
  velocity loss, AdamW, EMA, checkpoints and resume), with speech dropped 10 % of the
  time for classifier-free guidance.

What is not built: the ONNX export and a runtime path using the model instead of the
zero-shot planner (both would follow export_motion.py and inference/motion/model.py).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..dataset.paths import cache_dir
from ..dataset.speech_gesture import read_takes, training_pair
from ..inference.motion.diffusion import TRAIN_STEPS, cosine_alphas_cumprod
from ..motion.representation import Normalizer
from .autoencoder import FRAMES_PER_TOKEN
from .denoiser import DenoiserConfig, MotionDenoiser
from .loop import LoopSettings, train
from .train_autoencoder import OUT as AUTOENCODER_OUT
from .train_autoencoder import pad_to_tokens

OUT = cache_dir() / "models" / "gesture_diffusion"
MEL_BANDS = 80
MELS_PER_FRAME = 4
CROP_TOKENS = (16, 24, 32, 40, 48)


class AudioGestureDenoiser(MotionDenoiser):
    """The motion denoiser with per-token speech features concatenated to its input."""

    def __init__(self, cfg: DenoiserConfig, audio_dim: int = 64):
        super().__init__(cfg)
        self.audio_dim = audio_dim
        per_token = MELS_PER_FRAME * FRAMES_PER_TOKEN
        self.audio = nn.Sequential(nn.Conv1d(MEL_BANDS, 128, 5, padding=2), nn.SiLU(),
                                   nn.Conv1d(128, audio_dim, per_token, stride=per_token))
        self.null_audio = nn.Parameter(torch.zeros(audio_dim))
        self.inp = nn.Conv1d(cfg.latent + audio_dim, cfg.width, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, mel: torch.Tensor, audio_keep: torch.Tensor,
                style: torch.Tensor, style_keep: torch.Tensor) -> torch.Tensor:
        """x (B, N, Z) latents, mel (B, 16 N, 80), audio_keep/style_keep (B,), style (B, S)."""
        a = self.audio(mel.transpose(1, 2)).transpose(1, 2)              # (B, N, A)
        k = audio_keep.view(-1, 1, 1)
        a = k * a + (1 - k) * self.null_audio
        no_content = torch.zeros(x.shape[0], self.cfg.num_contents, device=x.device)
        return super().forward(torch.cat([x, a], dim=-1), t, no_content, torch.zeros_like(audio_keep),
                               style, style_keep)


def load_pairs(root: Path, autoencoder: Path) -> tuple[list[np.ndarray], list[np.ndarray], list[str], dict]:
    """Normalised latents (N, Z), mels (16 N, 80) and styles of every usable take."""
    from .train_motion import load_autoencoder
    ae, ck = load_autoencoder(autoencoder)
    norm = Normalizer(np.asarray(ck["normalizer"]["mean"]), np.asarray(ck["normalizer"]["std"]))
    mean, std = ck["latent_mean"], ck["latent_std"]
    per_token = MELS_PER_FRAME * FRAMES_PER_TOKEN
    latents, mels, styles = [], [], []
    for take in read_takes(root):
        f, m = training_pair(take)
        if len(f) < CROP_TOKENS[0] * FRAMES_PER_TOKEN:
            continue
        f = pad_to_tokens(f)
        with torch.no_grad():
            z = ae.encoder(torch.from_numpy(norm.normalize(f)[None].astype(np.float32)))[0][0].numpy()
        m = np.concatenate([m, np.repeat(m[-1:], len(z) * per_token - len(m), 0)])[:len(z) * per_token]
        latents.append(((z - mean) / std).astype(np.float32))
        mels.append(m.astype(np.float32))
        styles.append(take.style)
    if not latents:
        raise SystemExit(f"no usable takes under {root} (BEAT2 npz + wav or ZEGGS bvh + wav, "
                         f"at least {CROP_TOKENS[0] * FRAMES_PER_TOKEN} frames each)")
    return latents, mels, styles, {"autoencoder": str(autoencoder)}


def batch(latents, mels, style_ids, n_styles, rng, token_budget) -> dict[str, torch.Tensor]:
    length = int(rng.choice(CROP_TOKENS))
    size = max(1, token_budget // length)
    per_token = MELS_PER_FRAME * FRAMES_PER_TOKEN
    x0, mel, style = [], [], np.zeros((size, n_styles), np.float32)
    for i in range(size):
        k = int(rng.integers(len(latents)))
        z, m = latents[k], mels[k]
        s = int(rng.integers(0, max(1, len(z) - length + 1)))
        clip = z[s:s + length]
        clip = np.concatenate([clip, np.repeat(clip[-1:], length - len(clip), 0)])
        mc = m[per_token * s:per_token * (s + length)]
        mc = np.concatenate([mc, np.repeat(mc[-1:], per_token * length - len(mc), 0)])
        x0.append(clip)
        mel.append(mc)
        style[i, style_ids[k]] = 1.0
    return {"x0": torch.from_numpy(np.stack(x0)), "mel": torch.from_numpy(np.stack(mel)),
            "style": torch.from_numpy(style)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="train.py gesture", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="folder with BEAT2 and/or ZEGGS takes")
    p.add_argument("--autoencoder", type=Path, default=AUTOENCODER_OUT,
                   help="the motion autoencoder whose latent space the gestures are sampled in")
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--minutes", type=float, default=600.0)
    p.add_argument("--frames-per-batch", type=int, default=4096)
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--audio-dropout", type=float, default=0.1)
    p.add_argument("--style-dropout", type=float, default=0.15)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--fresh", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    latents, mels, styles, info = load_pairs(args.data, args.autoencoder)
    names = sorted(set(styles))
    style_ids = [names.index(s) for s in styles]
    cfg = DenoiserConfig(latent=latents[0].shape[1], num_styles=len(names), normal_style=0)
    model = AudioGestureDenoiser(cfg)
    abar = torch.tensor(cosine_alphas_cumprod(), dtype=torch.float32)
    print(f"{len(latents)} takes, {sum(map(len, latents)) * FRAMES_PER_TOKEN / 30 / 60:.1f} min, styles {names}",
          flush=True)

    def loss_fn(net, b) -> torch.Tensor:
        x0 = b["x0"]
        t = torch.randint(0, TRAIN_STEPS, (len(x0),))
        a = abar[t].view(-1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * torch.randn_like(x0)
        audio_keep = (torch.rand(len(x0)) > args.audio_dropout).float()
        style_keep = (torch.rand(len(x0)) > args.style_dropout).float()
        pred = net(xt, t.float(), b["mel"], audio_keep, b["style"], style_keep).float()
        return F.mse_loss(pred, x0) + F.mse_loss(pred[:, 1:] - pred[:, :-1], x0[:, 1:] - x0[:, :-1])

    st = LoopSettings(out=args.out, steps=args.steps, minutes=args.minutes, lr=args.lr, fresh=args.fresh,
                      name="gesture denoiser",
                      extra={"config": cfg.to_dict(), "styles": names, "audio_dim": model.audio_dim, **info})
    train(model, lambda step: batch(latents, mels, style_ids, len(names), rng,
                                    args.frames_per_batch // FRAMES_PER_TOKEN), loss_fn, st)
    return 0
