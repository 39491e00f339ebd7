"""Diffusion schedule and deterministic sampler steps (DDIM, DPM-Solver++ 2M), in numpy.

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


SOLVERS = ("ddim", "dpm++2m", "distilled")
# The distilled student (training/distill_motion.py) takes its first step on pure noise
# and later ones at timesteps inside this range, the one it was trained on.
DISTILLED_FIRST = TRAIN_STEPS - 1
DISTILLED_RANGE = (200, 800)
MAX_DISTILLED_STEPS = 4
LOGSNR_FLOOR = -3.0  # lambda where a log-SNR spaced schedule starts after its first, pure-noise step


def sampler_timesteps(num_steps: int, solver: str = "ddim", train_steps: int = TRAIN_STEPS) -> np.ndarray:
    """Descending timesteps for a ``num_steps`` sampler: uniform in t for DDIM (what the
    model was tuned with), uniform in log-SNR for DPM-Solver++ (its step error depends on
    the log-SNR step h, and uniform t wastes the cosine schedule's first steps on nearly
    pure noise), and for the distilled student its first step on pure noise and the rest
    evenly inside ``DISTILLED_RANGE`` (2 steps: 999, 500). The first step is always the
    last timestep (pure noise); the teacher's last is t = 0, the student's last predicts
    the clean sample from wherever it is."""
    if solver == "ddim":
        return ddim_timesteps(num_steps, train_steps)
    if solver == "distilled":
        if not 1 <= num_steps <= MAX_DISTILLED_STEPS:
            raise ValueError(f"the distilled sampler takes 1 to {MAX_DISTILLED_STEPS} steps")
        hi, lo = DISTILLED_RANGE[1], DISTILLED_RANGE[0]
        inner = np.linspace(hi, lo, num_steps + 1)[1:-1].round().astype(np.int64)
        return np.concatenate([[train_steps - 1], inner]).astype(np.int64)
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}: use one of {', '.join(SOLVERS)}")
    if not 1 <= num_steps <= train_steps:
        raise ValueError(f"sampling steps must be in 1..{train_steps}")
    abar = cosine_alphas_cumprod(train_steps)
    lam = 0.5 * np.log(abar / (1.0 - np.minimum(abar, 1.0 - 1e-12)))
    grid = np.linspace(max(float(lam[-1]), LOGSNR_FLOOR), float(lam[0]), num_steps)
    # lambda falls with t: the timestep whose lambda is nearest each grid value
    ts = np.array([int(np.argmin(np.abs(lam - v))) for v in grid], dtype=np.int64)
    ts[0] = train_steps - 1
    return np.unique(ts)[::-1]


def _log_snr_half(abar: float) -> float:
    """lambda = log(alpha / sigma) of the variance-preserving process at alpha-bar."""
    return 0.5 * float(np.log(abar / (1.0 - abar)))


def dpm_solver_2m_step(x_t: np.ndarray, x0: np.ndarray, x0_before: np.ndarray | None, abar_t: float,
                       abar_prev: float, abar_before: float | None) -> np.ndarray:
    """x at the next (less noisy) timestep by DPM-Solver++(2M) (Lu et al. 2022), the
    multistep solver for data (x0) prediction: it extrapolates the x0 predictions of this
    step and the one before along log-SNR, so few steps follow the probability-flow ODE
    more closely than DDIM (its first-order special case, used when there is no step
    before). ``abar_prev`` = 1 (the clean end) returns ``x0``."""
    if abar_prev >= 1.0:
        return x0
    lam_t, lam_prev = _log_snr_half(abar_t), _log_snr_half(abar_prev)
    h = lam_prev - lam_t
    d = x0
    if x0_before is not None and abar_before is not None:
        r = (lam_t - _log_snr_half(abar_before)) / h
        d = (1.0 + 0.5 / r) * x0 - (0.5 / r) * x0_before
    sigma_ratio = np.sqrt((1.0 - abar_prev) / (1.0 - abar_t))
    return sigma_ratio * x_t - np.sqrt(abar_prev) * np.expm1(-h) * d
