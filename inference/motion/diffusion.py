"""Diffusion schedule and deterministic DDIM steps, in numpy.

Shared by training (which turns the schedule into torch tensors) and the runtime
sampler, so the two can never disagree about what a timestep means. The denoiser
predicts the clean sample x0 (as MDM does); DDIM turns that into a step.
"""
from __future__ import annotations

import numpy as np

TRAIN_STEPS = 1000


def cosine_alphas_cumprod(steps: int = TRAIN_STEPS, s: float = 0.008) -> np.ndarray:
    """alpha-bar(t) of the cosine schedule (Nichol & Dhariwal 2021), t = 0..steps-1."""
    t = np.arange(steps + 1, dtype=np.float64) / steps
    f = np.cos((t + s) / (1 + s) * np.pi / 2) ** 2
    abar = f[1:] / f[0]
    return np.clip(abar, 1e-5, 1.0)


def ddim_timesteps(num_steps: int, train_steps: int = TRAIN_STEPS) -> np.ndarray:
    """Descending timesteps for a ``num_steps`` deterministic sampler."""
    if not 1 <= num_steps <= train_steps:
        raise ValueError(f"sampling steps must be in 1..{train_steps}")
    return np.unique(np.linspace(0, train_steps - 1, num_steps).round().astype(np.int64))[::-1]


def ddim_step(x_t: np.ndarray, x0: np.ndarray, abar_t: float, abar_prev: float) -> np.ndarray:
    """x_{t-1} from x_t and the predicted x0 (eta = 0: deterministic)."""
    eps = (x_t - np.sqrt(abar_t) * x0) / np.sqrt(1.0 - abar_t)
    return np.sqrt(abar_prev) * x0 + np.sqrt(1.0 - abar_prev) * eps
