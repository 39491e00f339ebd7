"""Classifier-free guidance with separate text and style scales: which condition rows a
denoising step needs and how their predictions combine.

Every step can run the denoiser on up to three conditions of the same input: ``NONE``
(no text, no style), ``TEXT`` (text only) and ``BOTH`` (text + style), and combines them
as

    x0 = none + g_text (text - none) + g_style (both - text)
       = (1 - g_text) none + (g_text - g_style) text + g_style both.

Written as coefficients, a condition whose coefficient is 0 need not be run at all: with
equal scales the ``TEXT`` row drops out (two rows instead of three), and on steps
below ``unguided_below`` (the last, nearly clean steps, where guidance no longer changes
what is performed: "guidance in a limited interval", Kynkaanniemi et al. 2024) only the
``BOTH`` row runs. The denoiser's cost is proportional to the rows, so these are the
sampler's cheapest savings; the result is exactly the same formula where it applies.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

NONE, TEXT, BOTH = 0, 1, 2
KINDS = (NONE, TEXT, BOTH)
# Per condition: (text kept, style kept) in the denoiser's inputs.
KEEP = {NONE: (0.0, 0.0), TEXT: (1.0, 0.0), BOTH: (1.0, 1.0)}


@dataclass(frozen=True)
class CFG:
    """Guidance scales and the timestep below which steps run unguided."""

    text: float
    style: float
    unguided_below: int = 0  # diffusion timesteps t < this use the text + style row alone

    def coefficients(self, t: int) -> dict[int, float]:
        """Non-zero coefficient of every condition the step at timestep ``t`` needs."""
        if t < self.unguided_below:
            return {BOTH: 1.0}
        coef = {NONE: 1.0 - self.text, TEXT: self.text - self.style, BOTH: self.style}
        return {k: c for k, c in coef.items() if abs(c) > 1e-12}

    def kinds(self, t: int) -> tuple[int, ...]:
        """The conditions to run at timestep ``t``, in NONE, TEXT, BOTH order."""
        return tuple(sorted(self.coefficients(t)))

    def combine(self, preds: Mapping[int, np.ndarray], t: int) -> np.ndarray:
        """Guided x0 from the predictions of the conditions ``kinds(t)`` asks for."""
        out = None
        for kind, c in self.coefficients(t).items():
            term = preds[kind] if c == 1.0 else c * preds[kind]
            out = term if out is None else out + term
        return out
