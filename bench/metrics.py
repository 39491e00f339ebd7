"""Motion quality metrics, numpy only.

- ``frechet_distance``: FID between two sets of evaluator embeddings (Heusel et al. 2017,
  as used for text-to-motion by Guo et al. 2022). With fewer samples than dimensions
  (the evaluator's space has 256) the covariances are rank-deficient and the value is
  biased upwards: compare FIDs only at equal sample counts, against the real-vs-real
  baseline (``real_vs_real_fid``).
- ``diversity``: mean L2 distance between random pairs of embeddings (Guo et al.).
- ``foot_skating_ratio``: share of frames where a foot joint near the floor slides
  (GMD, Karunratanakul et al. 2023).
- ``jitter``: mean magnitude of the body joints' jerk.

Positions are canonical world positions, (frames, joints, 3) in metres, Z up.
"""
from __future__ import annotations

import numpy as np

from ..motion.skeleton import CANONICAL, JOINT_NAMES, NUM_BODY_JOINTS

FOOT_JOINTS = ("left_ankle", "right_ankle", "left_foot", "right_foot")
FOOT_INDICES = tuple(JOINT_NAMES.index(n) for n in FOOT_JOINTS)

# Foot skating thresholds (GMD's "foot skating ratio", adapted to the canonical skeleton):
# a foot joint is near the floor while its height is below its rest-pose height plus
# SKATE_HEIGHT in two consecutive frames; it skates in that step when it also moves
# horizontally faster than SKATE_SPEED, both over the step and on average over a
# SKATE_WINDOW-second window around it (GMD: 5 cm toe height, 2.5 cm per frame at
# 20 fps = 0.5 m/s, 5-frame window). The rest heights are 7 cm for the ankles and 1 cm
# for the feet (toe joints); in real takes a planted foot's toe joint sits within 1-2 cm
# of its rest height while the ankle of a flat foot sits ~3 cm above its rest height, so
# in practice the feet (toes) decide and ankles count only when a foot sinks.
SKATE_HEIGHT = 0.025  # m above the joint's rest height
SKATE_SPEED = 0.5  # m/s horizontally
SKATE_WINDOW = 0.25  # s


def _mean_cov(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    feats = np.asarray(feats, dtype=np.float64)
    if feats.ndim != 2 or len(feats) < 2:
        raise ValueError(f"need (N >= 2, D) features, got {feats.shape}")
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two sets of features (N, D).

    ||mu_a - mu_b||^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2)), where tr (C_a C_b)^(1/2) is
    computed as tr (C_a^(1/2) C_b C_a^(1/2))^(1/2): a symmetric PSD product whose
    eigenvalues are those of C_a C_b, so no scipy ``sqrtm`` and no complex round-off.
    """
    mu_a, cov_a = _mean_cov(feats_a)
    mu_b, cov_b = _mean_cov(feats_b)
    if mu_a.shape != mu_b.shape:
        raise ValueError(f"feature sizes differ: {mu_a.shape} vs {mu_b.shape}")
    root_a = _sqrt_psd(cov_a)
    product = root_a @ cov_b @ root_a
    w = np.linalg.eigvalsh((product + product.T) / 2)
    tr_sqrt = np.sqrt(np.clip(w, 0.0, None)).sum()
    diff = mu_a - mu_b
    value = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * tr_sqrt
    return float(max(value, 0.0))


def diversity(feats: np.ndarray, pairs: int = 300, seed: int = 0) -> float:
    """Mean L2 distance between ``pairs`` random pairs of rows of ``feats`` (N, D).

    As Guo et al.: two index sets of size ``pairs`` drawn without replacement (with
    replacement when N < pairs), compared element-wise.
    """
    feats = np.asarray(feats, dtype=np.float64)
    if feats.ndim != 2 or len(feats) < 2:
        raise ValueError(f"need (N >= 2, D) features, got {feats.shape}")
    rng = np.random.default_rng(seed)
    replace = len(feats) < pairs
    a = rng.choice(len(feats), pairs, replace=replace)
    b = rng.choice(len(feats), pairs, replace=replace)
    return float(np.linalg.norm(feats[a] - feats[b], axis=1).mean())


def _window_mean(x: np.ndarray, size: int) -> np.ndarray:
    """Centred moving average along axis 0 over the samples that exist (edges shrink)."""
    if size <= 1 or len(x) == 0:
        return x
    n = len(x)
    c = np.concatenate([np.zeros((1,) + x.shape[1:]), np.cumsum(x, axis=0)])
    lo = np.clip(np.arange(n) - size // 2, 0, n)
    hi = np.clip(np.arange(n) - size // 2 + size, 0, n)
    counts = (hi - lo).reshape((-1,) + (1,) * (x.ndim - 1))
    return (c[hi] - c[lo]) / counts


def foot_skating_ratio(positions: np.ndarray, fps: float) -> float:
    """Share of frame steps in which any foot joint skates (see the thresholds above).

    ``positions``: (T, 55, 3) canonical joint positions, metres, Z up (the floor at
    Z = 0, as the data pipeline and the decoder put it). Returns 0.0 for T < 2.
    """
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[1] <= max(FOOT_INDICES) or positions.shape[2] != 3:
        raise ValueError(f"positions must be (frames, {len(JOINT_NAMES)}, 3), got {positions.shape}")
    if len(positions) < 2:
        return 0.0
    feet = positions[:, FOOT_INDICES]
    rest = CANONICAL.rest_positions()[list(FOOT_INDICES), 2]
    low = feet[..., 2] < rest + SKATE_HEIGHT
    near = low[:-1] & low[1:]  # (T-1, 4)
    speed = np.linalg.norm(np.diff(feet[..., :2], axis=0), axis=-1) * fps
    window = max(1, int(round(SKATE_WINDOW * fps)))
    smooth = _window_mean(speed, window)
    skating = near & (speed > SKATE_SPEED) & (smooth > SKATE_SPEED)
    return float(skating.any(axis=1).mean())


def jitter(positions: np.ndarray, fps: float) -> float:
    """Mean magnitude of the body joints' jerk (third time derivative of position), m/s^3.

    Finite differences over all frames and the 22 body joints (the first ones of the
    canonical order; the ones the representation models): the 33 hand and face joints
    only follow the wrists and head rigidly in decoded motion, and would otherwise
    outnumber the body and amplify the wrists' rotation. 0.0 for T < 4.
    """
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[2] != 3:
        raise ValueError(f"positions must be (frames, joints, 3), got {positions.shape}")
    if len(positions) < 4:
        return 0.0
    jerk = np.diff(positions[:, :NUM_BODY_JOINTS], n=3, axis=0) * fps ** 3
    return float(np.linalg.norm(jerk, axis=-1).mean())


def real_vs_real_fid(evaluator, clips: list[np.ndarray], seed: int = 0) -> float:
    """FID between two random halves of real ``clips`` (features (T, 206) each).

    The floor a generator can be held to at this sample count: compare a generated
    set's FID against real clips with this number at the same size.
    """
    if len(clips) < 4:
        raise ValueError("need at least 4 clips to split in two halves")
    order = np.random.default_rng(seed).permutation(len(clips))
    half = len(clips) // 2
    a = evaluator.embed([clips[i] for i in order[:half]])
    b = evaluator.embed([clips[i] for i in order[half:2 * half]])
    return frechet_distance(a, b)
