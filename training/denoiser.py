"""The action + style conditioned motion denoiser, in the autoencoder's latent space.

It denoises latent tokens (training/autoencoder.py: one token per 4 frames, 7.5 Hz):
residual 1D convolutions over the tokens, then self-attention over the whole clip, then
convolutions again. The convolutions give the attention its sense of order (there is no
absolute positional encoding, so it runs on any number of tokens) and the attention the
whole-clip context. Working on 16 numbers per 4 frames instead of 206 per frame is what
lets it train in under 2 hours on 2 CPU cores and sample a 10 s clip in a fraction of a
second; the decoder restores the per-frame detail.

Conditioning (diffusion time, the action, the style mix) is one vector from a small MLP,
applied by FiLM in every convolution block and as an extra token to the attention. The
action is a mix of learned embeddings of the C known actions, as the style is of the S
styles: the prompt reaches the model through the prompt matcher
(inference/text/prompt_matcher.py), which turns the sentence into weights over the actions
the data has. Conditioning on the sentence embedding itself made the model hedge between
actions whose sentences are close ("raise both hands" / "raise the right hand"): see
docs/motion_model.md. Action and style each have a learned "null" used when they are
dropped (classifier-free guidance).

ONNX interface (see export_motion.py), batch B, tokens N, latent Z, C actions, S styles:
  x (B, N, Z) noisy normalised latents, t (B,) timestep, content (B, C) action weights,
  content_keep (B,), style (B, S) slider weights, style_keep (B,)  ->  x0 (B, N, Z).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class DenoiserConfig:
    latent: int = 16
    num_contents: int = 24
    num_styles: int = 16
    normal_style: int = 0  # index of the neutral style: all sliders at zero means this one
    width: int = 256
    blocks: int = 2  # convolution blocks before and after the attention
    cond_dim: int = 256
    attention_layers: int = 4
    heads: int = 4
    dropout: float = 0.1
    embedding_init: float = 0.3  # std of the action/style embeddings at initialisation

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
        w, cd = cfg.width, cfg.cond_dim
        self.time_mlp = nn.Sequential(nn.Linear(256, cd), nn.SiLU(), nn.Linear(cd, cd))
        # Embeddings start as large as the time embedding's output (norm ~5): at 0.02 they
        # grow by at most ~lr a step under Adam and the conditions stay drowned for
        # thousands of steps (docs/motion_model.md).
        self.contents = nn.Parameter(torch.randn(cfg.num_contents, cd) * cfg.embedding_init)
        self.null_content = nn.Parameter(torch.zeros(cd))
        self.styles = nn.Parameter(torch.randn(cfg.num_styles, cd) * cfg.embedding_init)
        self.null_style = nn.Parameter(torch.zeros(cd))
        self.cond_out = nn.Sequential(nn.SiLU(), nn.Linear(cd, cd), nn.SiLU(), nn.Linear(cd, cd))

        self.inp = nn.Conv1d(cfg.latent, w, 3, padding=1)
        self.pre = nn.ModuleList([ResBlock(w, cd, 5, 1 + i % 2, cfg.dropout) for i in range(cfg.blocks)])
        self.cond_token = nn.Linear(cd, w)
        layer = nn.TransformerEncoderLayer(w, cfg.heads, 4 * w, cfg.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.attn = nn.TransformerEncoder(layer, cfg.attention_layers, enable_nested_tensor=False)
        self.post = nn.ModuleList([ResBlock(w, cd, 5, 1 + i % 2, cfg.dropout) for i in range(cfg.blocks)])
        self.out_norm = ChannelNorm(w)
        self.out = nn.Conv1d(w, cfg.latent, 3, padding=1)

    def condition(self, t: torch.Tensor, content: torch.Tensor, content_keep: torch.Tensor,
                  style: torch.Tensor, style_keep: torch.Tensor) -> torch.Tensor:
        ck = content_keep.unsqueeze(-1)
        sk = style_keep.unsqueeze(-1)
        content_c = ck * (content @ self.contents) + (1 - ck) * self.null_content
        normal = self.styles[self.cfg.normal_style]
        style_c = normal + style @ (self.styles - normal)
        style_c = sk * style_c + (1 - sk) * self.null_style
        return self.cond_out(self.time_mlp(timestep_embedding(t, 256)) + content_c + style_c)

    def forward(self, x: torch.Tensor, t: torch.Tensor, content: torch.Tensor, content_keep: torch.Tensor,
                style: torch.Tensor, style_keep: torch.Tensor) -> torch.Tensor:
        c = self.condition(t, content, content_keep, style, style_keep)
        h = self.inp(x.transpose(1, 2))
        for blk in self.pre:
            h = blk(h, c)
        tokens = torch.cat([self.cond_token(c).unsqueeze(1), h.transpose(1, 2)], dim=1)
        h = self.attn(tokens)[:, 1:].transpose(1, 2)
        for blk in self.post:
            h = blk(h, c)
        return self.out(F.silu(self.out_norm(h))).transpose(1, 2)


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
        self.layers = nn.ModuleList(_ExportableEncoderLayer(d, cfg.heads, 4 * d)
                                    for _ in range(cfg.attention_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


def exportable(model: MotionDenoiser) -> MotionDenoiser:
    """A copy of ``model`` in eval mode whose attention exports with dynamic length."""
    cfg = model.cfg
    out = MotionDenoiser(cfg)
    out.attn = _ExportableEncoder(cfg, cfg.width)
    missing, unexpected = out.load_state_dict(model.state_dict(), strict=False)
    if missing or unexpected:
        raise RuntimeError(f"exportable copy does not match: {missing} {unexpected}")
    return out.eval()


def _conv_channels_last(conv: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    """``conv`` on channels-last ``x`` (B, T, C) as one matrix product over its stacked
    taps (same padding and dilation)."""
    k, d, p = conv.kernel_size[0], conv.dilation[0], conv.padding[0]
    n = x.shape[1]
    xp = F.pad(x, (0, 0, p, p))
    taps = torch.cat([xp[:, i * d:i * d + n] for i in range(k)], dim=-1)
    return taps @ conv.weight.permute(2, 1, 0).reshape(k * conv.in_channels, conv.out_channels) + conv.bias


class _ChannelsLastDenoiser(nn.Module):
    """A denoiser's forward pass with channels last throughout: every convolution a
    matrix product over its stacked taps, every ChannelNorm a plain LayerNorm, no
    transposes. Same parameters, same maths (parity ~1e-6).

    Why: the fast sampler's student ships with its matrix products in int8
    (distill_motion.quantize_matmuls), and ONNX convolutions stay float there; written
    as matrix products they are quantized too. A 10 s student step 7.3 -> 4.7 ms on 2
    threads (docs/motion_model.md)."""

    def __init__(self, model: MotionDenoiser):
        super().__init__()
        self.model = model
        self.cfg = model.cfg

    @staticmethod
    def _block(blk: ResBlock, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = _conv_channels_last(blk.conv1, F.silu(blk.norm1.norm(x)))
        scale, shift = blk.film(c).unsqueeze(1).chunk(2, dim=-1)
        h = blk.norm2.norm(h) * (1 + scale) + shift
        return x + _conv_channels_last(blk.conv2, F.silu(h))

    def forward(self, x: torch.Tensor, t: torch.Tensor, content: torch.Tensor, content_keep: torch.Tensor,
                style: torch.Tensor, style_keep: torch.Tensor) -> torch.Tensor:
        m = self.model
        c = m.condition(t, content, content_keep, style, style_keep)
        h = _conv_channels_last(m.inp, x)
        for blk in m.pre:
            h = self._block(blk, h, c)
        h = m.attn(torch.cat([m.cond_token(c).unsqueeze(1), h], dim=1))[:, 1:]
        for blk in m.post:
            h = self._block(blk, h, c)
        return _conv_channels_last(m.out, F.silu(m.out_norm.norm(h)))


def exportable_channels_last(model: MotionDenoiser) -> nn.Module:
    """``exportable(model)`` computed channels last (``_ChannelsLastDenoiser``)."""
    return _ChannelsLastDenoiser(exportable(model)).eval()
