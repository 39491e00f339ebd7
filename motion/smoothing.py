"""Time series helpers shared by the motion core and the runtime: smoothing, and the
runs of a per-frame mask (contacts, speech)."""
from __future__ import annotations

import numpy as np


def moving_average(x: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average along axis 0 over ``window`` frames. The ends are padded by
    point reflection, so a steady course (a straight walk) stays straight up to its last
    frame instead of lagging behind it, as a shrinking or edge-padded window would."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if window <= 1 or n < 2:
        return x.copy()
    flat = x.reshape(n, -1)
    pad = min(window // 2, n - 1)
    padded = np.concatenate([2 * flat[:1] - flat[pad:0:-1], flat, 2 * flat[-1:] - flat[-2:-pad - 2:-1]])
    c = np.concatenate([np.zeros((1, flat.shape[1])), np.cumsum(padded, axis=0)])
    k = 2 * pad + 1
    return ((c[k:] - c[:-k]) / k).reshape(x.shape)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of every run of True in a (T,) mask."""
    padded = np.concatenate([[False], np.asarray(mask, bool), [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def fill_short_gaps(mask: np.ndarray, max_frames: int) -> np.ndarray:
    """``mask`` with False runs of at most ``max_frames`` between True frames set True
    (the gaps at the ends are kept: nothing says what is beyond them)."""
    out = np.asarray(mask, bool).copy()
    for start, stop in runs(~out):
        if 0 < start and stop < len(out) and stop - start <= max_frames:
            out[start:stop] = True
    return out
