"""The speech -> mouth model: a temporal convolution network over log-mel frames.

Input ``mel`` (batch, 4T, 80): four log-mel frames per animation frame (inference/speech/audio.py).
Two stride-2 convolutions bring it to the animation rate, then residual dilated
convolutions (non-causal: the mouth moves before the sound, so the model looks about a
second ahead and back) and a sigmoid head give ``weights`` (batch, T, shapes) in 0..1.
No recurrence and no absolute positions: any length, and a long file can be run in
overlapping chunks with identical results (the receptive field is finite).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass
class FaceNetConfig:
    n_mels: int = 80
    channels: int = 128
    outputs: int = 27
    dilations: tuple[int, ...] = (1, 2, 4, 8, 1, 2, 4, 8)
    dropout: float = 0.1
    # output index pairs (left, right) predicted as one value: the FACEGOOD capture is
    # left/right symmetric for these shapes, so separate outputs only add noise
    tied: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def receptive_frames(self) -> int:
        """Animation frames each side that influence an output frame."""
        return sum(self.dilations) + 2  # + the downsampling convolutions' reach


class Block(nn.Module):
    def __init__(self, ch: int, dilation: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(ch)  # per frame, over channels: no leak across time
        self.conv = nn.Conv1d(ch, ch, 3, padding=dilation, dilation=dilation)
        self.mix = nn.Conv1d(ch, ch, 1)
        self.act = nn.GELU()
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(x.transpose(1, 2)).transpose(1, 2)
        return x + self.drop(self.mix(self.act(self.conv(h))))


class FaceNet(nn.Module):
    def __init__(self, cfg: FaceNetConfig):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("mel_mean", torch.zeros(cfg.n_mels))
        self.register_buffer("mel_std", torch.ones(cfg.n_mels))
        c = cfg.channels
        self.down = nn.Sequential(
            nn.Conv1d(cfg.n_mels, c, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv1d(c, c, 5, stride=2, padding=2), nn.GELU())
        self.blocks = nn.Sequential(*(Block(c, d, cfg.dropout) for d in cfg.dilations))
        self.out_norm = nn.LayerNorm(c)
        self.head = nn.Conv1d(c, cfg.outputs, 1)
        nn.init.constant_(self.head.bias, -2.0)  # start near a closed mouth, not saturated
        tie = torch.eye(cfg.outputs)
        for a, b in cfg.tied:
            tie[a, a] = tie[b, b] = tie[a, b] = tie[b, a] = 0.5
        self.register_buffer("tie", tie)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = ((mel - self.mel_mean) / self.mel_std).transpose(1, 2)   # (B, 80, 4T)
        x = self.blocks(self.down(x))                                 # (B, C, T)
        x = self.out_norm(x.transpose(1, 2)).transpose(1, 2)
        return torch.sigmoid(self.head(x)).transpose(1, 2) @ self.tie  # (B, T, shapes)
