"""Deterministic few-step DDIM sampling around any x0-predicting denoiser.

The sampler knows nothing of text, styles or ONNX: callers pass ``denoise(x_t, t) -> x0``
(which may run guidance, or stitch several windows as the timeline does). A progress
callback can stop it between steps.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .diffusion import cosine_alphas_cumprod, ddim_step, ddim_timesteps


class GenerationCancelled(Exception):
    """Raised when the progress callback asks to stop."""


def sample(denoise: Callable[[np.ndarray, int], np.ndarray], shape: tuple[int, ...],
           steps: int, rng: np.random.Generator,
           progress: Callable[[int, int], bool | None] | None = None,
           x_start: np.ndarray | None = None) -> np.ndarray:
    """Run ``steps`` DDIM steps from Gaussian noise (or ``x_start``); return the final x0.

    ``progress(done, total)`` is called after every step; returning False cancels.
    """
    abar = cosine_alphas_cumprod()
    timesteps = ddim_timesteps(steps, len(abar))
    x = rng.standard_normal(shape).astype(np.float32) if x_start is None else x_start
    x0 = x
    for i, t in enumerate(timesteps):
        x0 = denoise(x, int(t))
        prev = abar[timesteps[i + 1]] if i + 1 < len(timesteps) else 1.0
        x = ddim_step(x, x0, abar[t], prev).astype(np.float32)
        if progress is not None and progress(i + 1, len(timesteps)) is False:
            raise GenerationCancelled("generation cancelled")
    return x0
