"""Deterministic few-step DDIM sampling around any x0-predicting denoiser.

The sampler knows nothing of text, styles or ONNX: callers pass ``denoise(x_t, t) -> x0``
(which may run guidance, or stitch several windows as the timeline does). A progress
callback can stop it between steps.

An optional ``guidance(x0, step) -> x0`` hook edits the predicted clean sample between
the denoiser and the DDIM step (classifier-style guidance on x0, e.g. the speech beat
guidance of ``inference/gesture/guidance.py``); ``step`` says where in the schedule the
sampler is, so a hook can weigh its push by the noise level. Without it nothing changes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...errors import CadenceError
from .diffusion import SOLVERS, cosine_alphas_cumprod, ddim_step, dpm_solver_2m_step, sampler_timesteps


class GenerationCancelled(CadenceError):
    """Raised when the progress callback asks to stop. Not a failure: the jobs catch it
    and say "Cancelled"; anything else that lets it through shows its one-line message."""


@dataclass(frozen=True)
class SamplerStep:
    """Where a guidance hook is called: step ``index`` of ``total`` (0-based), at
    diffusion timestep ``t`` with alpha-bar ``abar`` (near 0: mostly noise, 1: clean)."""

    index: int
    total: int
    t: int
    abar: float

    @property
    def last(self) -> bool:
        return self.index + 1 == self.total


Guidance = Callable[[np.ndarray, SamplerStep], np.ndarray]


def sample(denoise: Callable[[np.ndarray, int], np.ndarray], shape: tuple[int, ...],
           steps: int, rng: np.random.Generator,
           progress: Callable[[int, int], bool | None] | None = None,
           x_start: np.ndarray | None = None, guidance: Guidance | None = None,
           start: int = 0, solver: str = "ddim") -> np.ndarray:
    """Run ``steps`` sampler steps from Gaussian noise (or ``x_start``); return the final x0.

    ``solver``: "ddim" (first order), "dpm++2m" (second order multistep: the same
    denoiser calls, closer to the ODE at few steps; see ``diffusion.dpm_solver_2m_step``)
    or "distilled" (DDIM jumps between the few timesteps a distilled student was trained
    on: ``diffusion.sampler_timesteps``).

    ``start``: skip the first ``start`` steps of the schedule (``x_start`` is then a
    sample at that step's noise level, e.g. a noised reference take).

    ``progress(done, total)`` is called after every step; returning False cancels.
    ``guidance(x0, step)`` (optional) replaces each predicted x0 before its DDIM step.
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}: use one of {', '.join(SOLVERS)}")
    abar = cosine_alphas_cumprod()
    timesteps = sampler_timesteps(steps, solver, len(abar))
    x = rng.standard_normal(shape).astype(np.float32) if x_start is None else x_start
    x0 = x
    before: tuple[np.ndarray, float] | None = None  # the previous step's x0 and alpha-bar
    if not 0 <= start < len(timesteps):
        raise ValueError(f"start must be in 0..{len(timesteps) - 1}")
    for i, t in enumerate(timesteps):
        if i < start:
            continue
        x0 = denoise(x, int(t))
        if guidance is not None:
            x0 = guidance(x0, SamplerStep(i, len(timesteps), int(t), float(abar[t])))
        prev = abar[timesteps[i + 1]] if i + 1 < len(timesteps) else 1.0
        if solver != "dpm++2m":  # DDIM, and the distilled student's jumps between its steps
            x = ddim_step(x, x0, abar[t], prev).astype(np.float32)
        else:
            x0_before, abar_before = before if before is not None else (None, None)
            x = dpm_solver_2m_step(x, x0, x0_before, abar[t], prev, abar_before).astype(np.float32)
            before = (x0, float(abar[t]))
        if progress is not None and progress(i + 1, len(timesteps)) is False:
            raise GenerationCancelled("generation cancelled")
    return x0
