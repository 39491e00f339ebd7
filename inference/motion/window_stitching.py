"""One DDIM step of a timeline: every window denoised, the predictions stitched together.

``Composer`` runs a ``Plan`` (``inference/motion/window_plan.py``) with a MotionModel. At
every step each segment's window is denoised on its own with classifier-free guidance
(x0 = none + g_text (text - none) + g_style (text+style - text), as in
``MotionModel.denoiser``, the three rows on the window's own input), all window
evaluations in a few batched ONNX calls (one per group of equal lengths), and the
decoded predictions are combined per frame and body part with the plan's weights.

**What a window reads** (``context``). "shared" is STMC: every window reads the combined
sample. "private" (default): a window reads the combined sample in proportion to its
segment's share of each part at each frame (``read_gain`` x share, at most 1), and its
own sample, advanced with its own prediction, for the rest. A model trained on single
whole-body actions otherwise explains the other parts' motion with its own prompt (a
"wave" window that reads walking legs predicts a swinging arm; a "walk" window that
reads a raised arm slows down), while transitions on the parts a segment drives stay
coupled through the combined sample.
"""
from __future__ import annotations

import numpy as np

from ...motion.representation import FEATURE_DIM
from ...motion.skeleton import MODEL_PARTS
from .cfg import CFG, KEEP, NONE
from .diffusion import ddim_step
from .window_plan import CHANNEL_PARTS, Plan


class Composer:
    """Runs a plan with a MotionModel: batched window evaluations per DDIM step.

    The denoiser works on latent tokens (one per ``frames_per_token`` frames); windows
    start and end on whole tokens. Each step: every window's guided latent x0 is decoded
    to features, the decoded windows are combined per frame and body part (``combine``)
    and the combined features are encoded back to latents for the DDIM step of the
    whole timeline (``compose``).

    ``mode``: "shared" (STMC: every window reads the combined sample), "private" (a
    segment's window reads the combined sample in proportion to how much of the body its
    segment drives at each token, its own sample for the rest), "tracks" (the combined
    sample except where segments of other tracks drive), "independent" (every window
    reads only its own sample: the baseline). Own samples advance with their window's own
    guided prediction. Latent tokens do not split into body parts, so a window's reading
    is one weight per token: the share of the feature channels its segment (or, for
    "tracks", its own track) drives, averaged over the token's frames.
    """

    def __init__(self, model, plan: Plan, contents: np.ndarray, styles: np.ndarray, cfg: CFG,
                 noise: np.ndarray, mode: str = "private", max_rows: int = 96,
                 read_gain: float = 1.0, shared_below: int = 0, solver: str = "ddim"):
        if mode not in ("shared", "tracks", "private", "independent"):
            raise ValueError(f"mode must be shared, tracks, private or independent, not {mode!r}")
        tracks = np.asarray(plan.tracks)
        self.model, self.plan, self.mode = model, plan, mode
        self.session = model.network_for(solver)
        self.solver = solver
        self.fpt = int(model.frames_per_token)
        self.cfg = cfg
        self.contents, self.styles, self.max_rows = contents, styles, max_rows
        self.shared_below = shared_below if mode != "independent" else 0
        part_channels = np.bincount(CHANNEL_PARTS, minlength=len(MODEL_PARTS)) / FEATURE_DIM  # (P,)
        self.masks: dict[int, np.ndarray | None] = {}   # None: reads the combined sample
        self.private: dict[int, np.ndarray] = {}
        for k, w in enumerate(plan.windows):
            a = None
            if mode == "independent":
                a = np.zeros((len(MODEL_PARTS), w.length))
            elif mode == "tracks" and w.cond >= 0:
                # Read the combined sample except where segments of other tracks drive it.
                others = tracks != tracks[w.cond]
                a = 1.0 - plan.alpha[others][:, :, w.start:w.start + w.length].sum(axis=0)  # (P, length)
            elif mode == "private" and w.cond >= 0:
                # Read the combined sample as much as this segment drives the body then.
                a = read_gain * plan.alpha[w.cond][:, w.start:w.start + w.length]  # (P, length)
            mask = None
            if a is not None:
                per_frame = np.clip(a, 0.0, 1.0).T @ part_channels  # (length,)
                mask = per_frame.reshape(-1, self.fpt).mean(axis=1)[:, None].astype(np.float32)
                if mask.min() >= 1.0 - 1e-6:
                    mask = None
            self.masks[k] = mask
            if mask is not None:
                self.private[k] = noise[w.start // self.fpt:(w.start + w.length) // self.fpt].copy()
        self._layouts: dict[tuple[int, ...], list] = {}  # condition kinds -> ONNX calls
        self.evaluations = 0
        self.last: list[np.ndarray] = []

    def calls(self, kinds: tuple[int, ...]) -> list[tuple[list[tuple[int, int]], dict]]:
        """ONNX calls of a step whose segment windows run the conditions ``kinds``: per
        call its rows (window, kind) and constant feeds. "None" tiles run one row."""
        if kinds not in self._layouts:
            calls = []
            for g in self.plan.groups:
                rows = []
                for k in g:
                    rows += [(k, NONE)] if self.plan.windows[k].cond < 0 else [(k, kind) for kind in kinds]
                for c0 in range(0, len(rows), self.max_rows):
                    part = rows[c0:c0 + self.max_rows]
                    n = len(part)
                    tx = np.zeros((n, self.contents.shape[1]), np.float32)
                    sty = np.zeros((n, self.styles.shape[1]), np.float32)
                    keep = np.zeros((n, 2), np.float32)
                    for r, (k, kind) in enumerate(part):
                        c = self.plan.windows[k].cond
                        keep[r] = KEEP[kind]
                        if c >= 0:
                            tx[r], sty[r] = self.contents[c], self.styles[c]
                    calls.append((part, {"content": tx * keep[:, :1], "content_keep": keep[:, 0].copy(),
                                         "style": sty * keep[:, 1:], "style_keep": keep[:, 1].copy()}))
            self._layouts[kinds] = calls
        return self._layouts[kinds]

    def window_input(self, k: int, x: np.ndarray, t: int) -> np.ndarray:
        w = self.plan.windows[k]
        shared = x[w.start // self.fpt:(w.start + w.length) // self.fpt]
        mask = self.masks[k]
        if mask is None or t < self.shared_below:
            return shared
        if not mask.any():
            return self.private[k]
        return mask * shared + (1.0 - mask) * self.private[k]

    def predictions(self, x: np.ndarray, t: int) -> dict[tuple[int, int], np.ndarray]:
        """Raw latent predictions per (window, kind) given the combined latent sample x."""
        session = self.session
        out = {}
        inputs: dict[int, np.ndarray] = {}
        for rows, feeds in self.calls(self.cfg.kinds(t)):
            length = self.plan.windows[rows[0][0]].length
            for k, _ in rows:
                if k not in inputs:
                    inputs[k] = self.window_input(k, x, t)
            xx = np.stack([inputs[k] for k, _ in rows])
            res = session.run(None, {"x": xx.astype(np.float32, copy=False),
                                     "t": np.full(len(rows), t, np.float32), **feeds})[0]
            self.evaluations += len(rows) * length
            for r, key in enumerate(rows):
                out[key] = res[r]
        return out

    def guided(self, preds: dict, t: int) -> list[np.ndarray]:
        """Guided latent x0 per window (the raw prediction for the "none" tiles)."""
        kinds = self.cfg.kinds(t)
        out = []
        for k, w in enumerate(self.plan.windows):
            if w.cond < 0:
                out.append(preds[(k, NONE)])
            else:
                out.append(self.cfg.combine({kind: preds[(k, kind)] for kind in kinds}, t))
        return out

    def combine(self, guided: list[np.ndarray]) -> np.ndarray:
        """Decode every window's latent x0 (batched per group) and combine the features
        per frame and body part: (padded, F) normalised features."""
        x0 = np.zeros((self.plan.padded, FEATURE_DIM), np.float32)
        for g in self.plan.groups:
            for c0 in range(0, len(g), self.max_rows):
                part = g[c0:c0 + self.max_rows]
                feats = self.model.decode_latents(np.stack([guided[k] for k in part]), self.solver)
                for k, f in zip(part, feats):
                    w = self.plan.windows[k]
                    x0[w.start:w.start + w.length] += w.coef * f
        return x0

    def denoise(self, x: np.ndarray, t: int) -> np.ndarray:
        """Combined x0 features for the latent timeline sample ``x`` at timestep ``t``."""
        self.last = self.guided(self.predictions(x, t), t)
        return self.combine(self.last)

    def advance(self, abar_t: float, abar_prev: float) -> None:
        """DDIM step of every window's own sample with its own last prediction."""
        for k, xp in self.private.items():
            self.private[k] = ddim_step(xp, self.last[k], abar_t, abar_prev).astype(np.float32)
