"""The motion autoencoder: normalised features at 30 fps <-> a compact latent at 7.5 Hz.

Diffusion runs in this latent space (training/denoiser.py), not on the 206 features of
every frame: a latent token holds 4 frames in ``latent`` numbers (16 by default, against
4 x 206), so the denoiser's work per second of motion is a fraction of a frame-rate
model's and its capacity goes to what is performed rather than to per-frame detail,
which the decoder restores. This is what makes training in under 2 hours on 2 CPU cores
and a 10 s clip in a quarter of a second possible (docs/motion_model.md).

Both halves are 1D convolutions over time with residual blocks: the encoder halves the
frame rate twice (stride-2 convolutions), the decoder doubles it twice (nearest
upsampling + convolution) and ends with full-rate blocks that smooth the 4-frame grid.
The encoder is a small VAE (mean and log-variance; a light KL term keeps the latent
space smooth for diffusion); diffusion uses the mean, scaled to unit variance per
channel (``latent_mean``/``latent_std`` in the checkpoint).

ONNX: ``motion_encoder.onnx`` x (B, T, F) -> z (B, T/4, Z) (the mean, unscaled) and
``motion_decoder.onnx`` z (B, T/4, Z) -> x (B, T, F), both with dynamic batch and length.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .denoiser import ChannelNorm

FRAMES_PER_TOKEN = 4


@dataclass
class AutoencoderConfig:
    features: int = 206
    width: int = 256
    latent: int = 16
    blocks: int = 2  # residual blocks per resolution

    def to_dict(self) -> dict:
        return asdict(self)


class PlainBlock(nn.Module):
    """Pre-norm residual block of two convolutions (no conditioning)."""

    def __init__(self, ch: int, kernel: int = 3, dilation: int = 1):
        super().__init__()
        self.norm1 = ChannelNorm(ch)
        self.conv1 = nn.Conv1d(ch, ch, kernel, padding=dilation * (kernel // 2), dilation=dilation)
        self.norm2 = ChannelNorm(ch)
        self.conv2 = nn.Conv1d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        return x + self.conv2(F.silu(self.norm2(h)))


def _blocks(ch: int, n: int) -> nn.Sequential:
    return nn.Sequential(*[PlainBlock(ch, 3, 1 + i % 2) for i in range(n)])


class MotionEncoder(nn.Module):
    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        w = cfg.width
        self.inp = nn.Conv1d(cfg.features, w, 3, padding=1)
        self.at_full = _blocks(w, 1)
        self.down1 = nn.Conv1d(w, w, 4, stride=2, padding=1)
        self.at_half = _blocks(w, cfg.blocks)
        self.down2 = nn.Conv1d(w, w, 4, stride=2, padding=1)
        self.at_quarter = _blocks(w, cfg.blocks)
        self.norm = ChannelNorm(w)
        self.out = nn.Conv1d(w, 2 * cfg.latent, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, F), T a multiple of 4 -> mean, log-variance (B, T/4, Z)."""
        h = self.at_full(self.inp(x.transpose(1, 2)))
        h = self.at_half(self.down1(h))
        h = self.at_quarter(self.down2(h))
        mean, logvar = self.out(F.silu(self.norm(h))).chunk(2, dim=1)
        return mean.transpose(1, 2), logvar.clamp(-12.0, 4.0).transpose(1, 2)


class MotionDecoder(nn.Module):
    """``full_width`` / ``full_blocks``: a narrower full-rate stage than ``cfg`` (the fast
    previews' decoder, training/distill_decoder.py: most of the decoder's work is at 30 fps)."""

    def __init__(self, cfg: AutoencoderConfig, full_width: int | None = None, full_blocks: int | None = None):
        super().__init__()
        w = cfg.width
        wf = full_width or w
        self.inp = nn.Conv1d(cfg.latent, w, 3, padding=1)
        self.at_quarter = _blocks(w, cfg.blocks)
        self.up2 = nn.Conv1d(w, w, 3, padding=1)
        self.at_half = _blocks(w, cfg.blocks)
        self.up1 = nn.Conv1d(w, wf, 3, padding=1)
        self.at_full = _blocks(wf, cfg.blocks if full_blocks is None else full_blocks)
        self.norm = ChannelNorm(wf)
        self.out = nn.Conv1d(wf, cfg.features, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, T/4, Z) -> x (B, T, F)."""
        h = self.at_quarter(self.inp(z.transpose(1, 2)))
        h = self.at_half(self.up2(F.interpolate(h, scale_factor=2.0, mode="nearest")))
        h = self.at_full(self.up1(F.interpolate(h, scale_factor=2.0, mode="nearest")))
        return self.out(F.silu(self.norm(h))).transpose(1, 2)


class MotionAutoencoder(nn.Module):
    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = MotionEncoder(cfg)
        self.decoder = MotionDecoder(cfg)

    def forward(self, x: torch.Tensor, sample: bool = True):
        mean, logvar = self.encoder(x)
        z = mean + torch.randn_like(mean) * (0.5 * logvar).exp() if sample else mean
        return self.decoder(z), mean, logvar
