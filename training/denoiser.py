"""The text + style conditioned motion denoiser (torch; exported to ONNX).

A 1D U-Net over time: full frame rate only at the edges, most of the work at 1/2 and
1/4 of the frame rate, and self-attention at 1/4 rate (7.5 Hz) for the whole-clip
context. It has no absolute positional encoding, so it runs on any length (a multiple
of 4 frames; the sampler pads), and it is cheap enough for 2 CPU cores: the speed
target of a 10 s clip in a quarter of a second comes from this shape.

Conditioning (diffusion time, sentence embedding, style mix) is one vector applied by
FiLM in every block and as an extra token to the attention. Text and style each have a
learned "null" used when they are dropped (classifier-free guidance).

ONNX interface (see export_motion.py), batch B, frames T, S styles:
  x (B, T, F) noisy normalised features, t (B,) timestep, text (B, 387) = sentence
  embedding + side cues,
  text_keep (B,), style (B, S) slider weights, style_keep (B,)  ->  x0 (B, T, F).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class DenoiserConfig:
    features: int = 206
    text_dim: int = 387  # sentence embedding (384) + side cues (3)
    num_styles: int = 16
    normal_style: int = 0  # index of the neutral style: all sliders at zero means this one
    widths: tuple[int, int, int] = (128, 192, 256)
    cond_dim: int = 256
    attention_layers: int = 2
    heads: int = 4
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)


class ChannelNorm(nn.Module):
    """LayerNorm over channels at each frame (length-independent, unlike GroupNorm)."""

    def __init__(self, ch: int):
        super().__init__()
        self.norm = nn.LayerNorm(ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class ResBlock(nn.Module):
    def __init__(self, ch: int, cond_dim: int, kernel: int = 5, dilation: int = 1, dropout: float = 0.0):
        super().__init__()
        pad = dilation * (kernel // 2)
        self.norm1 = ChannelNorm(ch)
        self.conv1 = nn.Conv1d(ch, ch, kernel, padding=pad, dilation=dilation)
        self.norm2 = ChannelNorm(ch)
        self.film = nn.Linear(cond_dim, 2 * ch)
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.Conv1d(ch, ch, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.film(c).unsqueeze(-1).chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        return x + self.conv2(self.drop(F.silu(h)))


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float().unsqueeze(-1) * freqs
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class MotionDenoiser(nn.Module):
    def __init__(self, cfg: DenoiserConfig):
        super().__init__()
        self.cfg = cfg
        w0, w1, w2 = cfg.widths
        cd = cfg.cond_dim
        self.time_mlp = nn.Sequential(nn.Linear(256, cd), nn.SiLU(), nn.Linear(cd, cd))
        self.text_proj = nn.Sequential(nn.Linear(cfg.text_dim, cd), nn.SiLU(), nn.Linear(cd, cd))
        self.null_text = nn.Parameter(torch.zeros(cd))
        self.styles = nn.Parameter(torch.randn(cfg.num_styles, cd) * 0.02)
        self.null_style = nn.Parameter(torch.zeros(cd))
        self.cond_out = nn.Sequential(nn.SiLU(), nn.Linear(cd, cd))

        self.inp = nn.Conv1d(cfg.features, w0, 3, padding=1)
        self.enc0 = ResBlock(w0, cd, kernel=3, dropout=cfg.dropout)
        self.down1 = nn.Conv1d(w0, w1, 4, stride=2, padding=1)
        self.enc1 = nn.ModuleList([ResBlock(w1, cd, 5, d, cfg.dropout) for d in (1, 2)])
        self.down2 = nn.Conv1d(w1, w2, 4, stride=2, padding=1)
        self.mid = nn.ModuleList([ResBlock(w2, cd, 5, d, cfg.dropout) for d in (1, 2)])
        self.cond_token = nn.Linear(cd, w2)
        layer = nn.TransformerEncoderLayer(w2, cfg.heads, 2 * w2, cfg.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.attn = nn.TransformerEncoder(layer, cfg.attention_layers, enable_nested_tensor=False)
        self.mid_out = ResBlock(w2, cd, 5, 1, cfg.dropout)
        self.up2 = nn.Conv1d(w2, w1, 3, padding=1)
        self.dec1 = nn.ModuleList([ResBlock(w1, cd, 5, d, cfg.dropout) for d in (1, 2)])
        self.up1 = nn.Conv1d(w1, w0, 3, padding=1)
        self.dec0 = ResBlock(w0, cd, kernel=3, dropout=cfg.dropout)
        self.out_norm = ChannelNorm(w0)
        self.out = nn.Conv1d(w0, cfg.features, 3, padding=1)

    def condition(self, t: torch.Tensor, text: torch.Tensor, text_keep: torch.Tensor,
                  style: torch.Tensor, style_keep: torch.Tensor) -> torch.Tensor:
        tk = text_keep.unsqueeze(-1)
        sk = style_keep.unsqueeze(-1)
        text_c = tk * self.text_proj(text) + (1 - tk) * self.null_text
        normal = self.styles[self.cfg.normal_style]
        style_c = normal + style @ (self.styles - normal)
        style_c = sk * style_c + (1 - sk) * self.null_style
        return self.cond_out(self.time_mlp(timestep_embedding(t, 256)) + text_c + style_c)

    def forward(self, x: torch.Tensor, t: torch.Tensor, text: torch.Tensor, text_keep: torch.Tensor,
                style: torch.Tensor, style_keep: torch.Tensor) -> torch.Tensor:
        c = self.condition(t, text, text_keep, style, style_keep)
        h0 = self.enc0(self.inp(x.transpose(1, 2)), c)
        h1 = self.down1(h0)
        for blk in self.enc1:
            h1 = blk(h1, c)
        h2 = self.down2(h1)
        for blk in self.mid:
            h2 = blk(h2, c)
        tokens = torch.cat([self.cond_token(c).unsqueeze(1), h2.transpose(1, 2)], dim=1)
        h2 = h2 + self.attn(tokens)[:, 1:].transpose(1, 2)
        h2 = self.mid_out(h2, c)
        u1 = self.up2(F.interpolate(h2, scale_factor=2.0, mode="nearest")) + h1
        for blk in self.dec1:
            u1 = blk(u1, c)
        u0 = self.up1(F.interpolate(u1, scale_factor=2.0, mode="nearest")) + h0
        u0 = self.dec0(u0, c)
        return self.out(F.silu(self.out_norm(u0))).transpose(1, 2)


class _ExportableEncoderLayer(nn.Module):
    """nn.TransformerEncoderLayer (norm_first, GELU, eval mode) written out explicitly.

    Same parameter names, same maths; exists because the tracing ONNX exporter bakes the
    sequence length of nn.MultiheadAttention into a Reshape, which breaks dynamic length.
    """

    def __init__(self, d: int, heads: int, ff: int):
        super().__init__()
        self.heads = heads
        self.self_attn = nn.Module()
        self.self_attn.in_proj_weight = nn.Parameter(torch.empty(3 * d, d))
        self.self_attn.in_proj_bias = nn.Parameter(torch.empty(3 * d))
        self.self_attn.out_proj = nn.Linear(d, d)
        self.linear1, self.linear2 = nn.Linear(d, ff), nn.Linear(ff, d)
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        h = self.heads
        qkv = F.linear(self.norm1(x), self.self_attn.in_proj_weight, self.self_attn.in_proj_bias)
        q, k, v = qkv.reshape(b, n, 3, h, d // h).permute(2, 0, 3, 1, 4).unbind(0)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, n, d)
        x = x + self.self_attn.out_proj(y)
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x))))


class _ExportableEncoder(nn.Module):
    def __init__(self, cfg: DenoiserConfig, d: int):
        super().__init__()
        self.layers = nn.ModuleList(_ExportableEncoderLayer(d, cfg.heads, 2 * d)
                                    for _ in range(cfg.attention_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


def exportable(model: MotionDenoiser) -> MotionDenoiser:
    """A copy of ``model`` in eval mode whose attention exports with dynamic length."""
    cfg = model.cfg
    out = MotionDenoiser(cfg)
    out.attn = _ExportableEncoder(cfg, cfg.widths[2])
    missing, unexpected = out.load_state_dict(model.state_dict(), strict=False)
    if missing or unexpected:
        raise RuntimeError(f"exportable copy does not match: {missing} {unexpected}")
    return out.eval()
