"""Where a timeline's windows sit and what weight each prediction gets (no model needed).

``plan_timeline`` turns a timeline into the windows ``inference/motion/compose.py`` denoises
at every step: each segment's interval plus a margin each side, clipped to the timeline,
and the weight of its prediction per frame and feature channel when the windows are
stitched back together (``inference/motion/window_stitching.py``).

Weights (see docs/timeline.md for the reasons):

- **Time.** A segment's weight is 1 inside its interval and ramps smoothly (raised
  cosine) across each boundary over ``margin`` seconds each side, so two segments that
  meet on a track cross-fade over 2 x margin centred on the boundary (weights sum to 1).
- **Channels to parts.** Rotations and positions of a joint belong to its part (from
  ``motion/skeleton.BODY_PARTS``); the root channels (heading rate, planar velocity,
  pelvis height) and the foot contacts go with ``legs``. The body model has no finger
  joints, so a hand part drives its arm (as in STMC).
- **Who drives a part.** Among tracks that have a segment on the part at that time, the
  most specific segment (fewest body parts) wins, as in SINC; ties go to the later
  track. Segments on one track cross-fade with each other. What is left of a part (no
  segment names it) follows the *base* track active at that time: the one whose
  segment has the legs, else the most parts (SINC's heuristic), so a free arm swings
  with the walk. What is left after that (gaps: no segment at all) takes the
  background: the unconditional denoiser on tiles over the gaps.

Windows longer than ``max_window`` frames (the training crops go up to 192) are cut into
overlapping chunks cross-faded like segments. Long timelines therefore run as many
overlapping windows; their starting noise can follow FreeNoise (Qiu et al. 2024,
``timeline_noise``): the noise of frames past the first window length reuses the noise
one window earlier, shuffled within blocks, so distant windows start from the same noise
vectors without repeating them in order. FreeNoise shuffles small blocks; with our
denoiser that makes the motion repeat with the window period (measured in
bench/timeline_quality.py), so the default block is a whole window. ``noise="iid"``
gives independent noise.

Windows are grouped by length for batched ONNX calls; each window is extended to its
group's length with real timeline frames, not padding.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ...motion.representation import CONTACTS, FEATURE_DIM, NUM_JOINTS, POSITIONS, ROOT, ROTATIONS
from ...motion.skeleton import BODY_JOINT_NAMES, BODY_PARTS, HAND_TO_ARM, MODEL_PARTS
from .timeline import Segment, Timeline


def channel_parts() -> np.ndarray:
    """(FEATURE_DIM,) index into MODEL_PARTS of every feature channel."""
    joint_part = np.full(NUM_JOINTS, -1)
    for pi, part in enumerate(MODEL_PARTS):
        for name in BODY_PARTS[part]:
            if name in BODY_JOINT_NAMES[:NUM_JOINTS]:
                joint_part[BODY_JOINT_NAMES.index(name)] = pi
    assert (joint_part >= 0).all(), "every body joint must belong to a model part"
    out = np.zeros(FEATURE_DIM, np.int64)
    out[ROOT] = MODEL_PARTS.index("legs")
    out[ROTATIONS] = np.repeat(joint_part, 6)
    out[POSITIONS] = np.repeat(joint_part, 3)
    out[CONTACTS] = MODEL_PARTS.index("legs")
    return out


CHANNEL_PARTS = channel_parts()


def model_parts(segment: Segment) -> frozenset[str]:
    """The MODEL_PARTS a segment drives (aliases expanded, hands -> arms)."""
    return frozenset(HAND_TO_ARM.get(p, p) for p in segment.body_parts())


@dataclass
class ComposeSettings:
    margin: float = 0.5          # s each side of a boundary: cross-fades span 2 x margin
    extra_frames: int = 8        # frames of extra context beyond the margin
    read_gain: float = 1.0       # private context: reads the combined sample min(1, gain x share)
    max_window: int = 320        # frames; longer windows are chunked (training crops <= 320)
    min_window: int = 64         # frames; shorter windows are extended (training crops >= 64)
    chunk_overlap: int = 48      # frames shared by consecutive chunks of a long window
    noise: str = "freenoise"     # "freenoise" or "iid"
    shuffle_block: int = 320     # FreeNoise: frames shuffled together (16 loops: docs/timeline.md)
    context: str = "private"     # what a window reads: "private" (the combined sample as much
                                 # as its segment drives each part, its own sample elsewhere),
                                 # "tracks" (the combined sample except where other tracks
                                 # drive), "shared" (the combined sample: STMC)
    shared_below: int = 0        # steps at diffusion timesteps below this read the combined
                                 # sample on every part (STMC), whatever the context
    reencode_final: bool = False  # output the decoder's reading of the last combined sample
                                  # (a projection onto the autoencoder's motions) instead of
                                  # the per-part combination itself
    call_cost: int = 200         # frame-rows one extra ONNX call is worth (groups lengths)
    max_rows: int = 96           # rows per ONNX call at most (memory)


def _ceil(x: int, m: int) -> int:
    return -(-int(x) // m) * m


def _rise(n: int) -> np.ndarray:
    """n samples of a raised cosine from ~0 to ~1 (half-sample offsets: symmetric)."""
    x = (np.arange(n) + 0.5) / max(n, 1)
    return 0.5 - 0.5 * np.cos(np.pi * x)


@dataclass
class Window:
    cond: int            # index of the condition: segment i, or -1 for "none" tiles
    start: int           # first timeline frame of the network input
    length: int          # frames fed to the network
    coef: np.ndarray | None = None  # (length, FEATURE_DIM) weight of its prediction in x0


@dataclass
class Plan:
    """Where every window sits and what weight its prediction gets, frame by channel."""

    frames: int                  # output frames
    padded: int                  # frames sampled (multiple of the model's frame multiple)
    segment_frames: list[tuple[int, int]]
    weights: np.ndarray          # (S, padded) time weights of the segments
    alpha: np.ndarray            # (S, P, padded) share of segment s in part p
    background: np.ndarray       # (P, padded) share of the background ("none") prediction
    windows: list[Window]        # segment windows, then the "none" tiles
    groups: list[list[int]] = field(default_factory=list)  # window indices per ONNX call length
    tracks: list[int] = field(default_factory=list)  # track index of each segment

    def coverage(self) -> np.ndarray:
        """(padded, FEATURE_DIM) total weight per frame and channel (1 everywhere)."""
        tot = np.zeros((self.padded, FEATURE_DIM))
        for w in self.windows:
            if w.coef is not None:
                tot[w.start:w.start + w.length] += w.coef
        return tot


def segment_weight(fs: int, fe: int, padded: int, ramp: int) -> np.ndarray:
    """Time weight of a segment on frames [fs, fe): 1 inside, smooth ramps across edges.

    A segment touching the start (or end) of the timeline has no ramp there. A segment
    shorter than its ramps peaks below 1 (the min of its rising and falling ramps).
    """
    f = np.arange(padded) + 0.5
    up = np.ones(padded) if fs <= 0 else np.clip((f - (fs - ramp)) / max(2 * ramp, 1), 0, 1)
    down = np.ones(padded) if fe >= padded else np.clip(((fe + ramp) - f) / max(2 * ramp, 1), 0, 1)
    if ramp <= 0:
        up = np.ones(padded) if fs <= 0 else (f >= fs).astype(float)
        down = np.ones(padded) if fe >= padded else (f < fe).astype(float)
        return np.minimum(up, down)
    smooth = lambda x: 0.5 - 0.5 * np.cos(np.pi * x)  # noqa: E731
    return np.minimum(smooth(up), smooth(down))


def _levels(order_keys: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """Shares of K candidates per frame taken in priority order (lowest key first).

    order_keys, coverage: (K, T). Returns (K, T) shares: candidate k takes
    remaining * coverage_k, remaining shrinks by (1 - coverage_k).
    """
    k, t = coverage.shape
    order = np.argsort(order_keys, axis=0, kind="stable")  # (K, T)
    share = np.zeros((k, t))
    remaining = np.ones(t)
    cols = np.arange(t)
    for r in range(k):
        idx = order[r]
        c = coverage[idx, cols]
        share[idx, cols] = remaining * c
        remaining = remaining * (1.0 - c)
    return share


def part_shares(weights: np.ndarray, parts: Sequence[frozenset[str]], tracks: Sequence[int]
                ) -> tuple[np.ndarray, np.ndarray]:
    """(alpha (S, P, T), background (P, T)) from segment time weights (S, T).

    Within a track, segments cross-fade (weights normalised where they sum above 1).
    Across tracks, per part: first the tracks with a segment on the part, most specific
    (fewest parts) first, ties to the later track; then, for what is left, the base
    tracks (legs first, then most parts; SINC); the rest is background.
    """
    s, t = weights.shape
    n_tracks = max(tracks, default=-1) + 1
    tracks = np.asarray(tracks)
    nparts = np.array([len(p) for p in parts], float)
    has_legs = np.array(["legs" in p for p in parts])
    alpha = np.zeros((s, len(MODEL_PARTS), t))
    background = np.zeros((len(MODEL_PARTS), t))
    big = 1e6
    # Base priority per track and frame (for parts no segment names).
    any_w = np.zeros((n_tracks, t))
    base_key = np.full((n_tracks, t), big)
    for i in range(s):
        tr = tracks[i]
        any_w[tr] += weights[i]
        key = (0.0 if has_legs[i] else 100.0) - nparts[i] - tr * 1e-3
        base_key[tr] = np.where(weights[i] > 0, np.minimum(base_key[tr], key), base_key[tr])
    for pi, part in enumerate(MODEL_PARTS):
        own = np.array([part in p for p in parts])
        own_w = np.zeros((n_tracks, t))
        own_key = np.full((n_tracks, t), big)
        for i in np.flatnonzero(own):
            tr = tracks[i]
            own_w[tr] += weights[i]
            key = nparts[i] - tr * 1e-3  # fewest parts first, ties: later track first
            own_key[tr] = np.where(weights[i] > 0, np.minimum(own_key[tr], key), own_key[tr])
        # Candidates: tracks as owners (K = n_tracks), then tracks as base (offset keys).
        keys = np.concatenate([own_key, base_key + 2 * big * (base_key < big) + 4 * big * (base_key >= big)])
        cover = np.concatenate([np.minimum(own_w, 1.0), np.minimum(any_w, 1.0)])
        share = _levels(keys, cover)
        background[pi] = 1.0 - share.sum(axis=0)
        for i in range(s):
            tr = tracks[i]
            if own[i]:
                alpha[i, pi] += share[tr] * weights[i] / np.maximum(own_w[tr], 1e-12)
            alpha[i, pi] += share[n_tracks + tr] * weights[i] / np.maximum(any_w[tr], 1e-12)
    background = np.clip(background, 0.0, 1.0)
    background[background < 1e-6] = 0.0
    return alpha, background


def _chunks(lo: int, hi: int, max_len: int, overlap: int, multiple: int = 1) -> list[tuple[int, int]]:
    """Cut [lo, hi) into overlapping chunks of at most max_len frames, every boundary on
    a multiple of ``multiple`` (lo rounded down, hi up: whole latent tokens)."""
    lo, hi = lo // multiple * multiple, _ceil(hi, multiple)
    n = hi - lo
    if n <= max_len:
        return [(lo, hi)]
    k = int(np.ceil((n - overlap) / (max_len - overlap)))
    size = min(max_len, _ceil(int(np.ceil((n + (k - 1) * overlap) / k)), multiple))
    starts = np.round(np.linspace(lo, hi - size, k) / multiple).astype(int) * multiple
    return [(int(a), int(a) + size) for a in starts]


def _chunk_weights(chunks: list[tuple[int, int]], padded: int) -> list[np.ndarray]:
    """Partition of unity over the union of chunks (sorted, each overlapping only its
    neighbours): raised-cosine cross-fades across every overlap."""
    ws = []
    for i, (a, b) in enumerate(chunks):
        w = np.zeros(padded)
        w[a:b] = 1.0
        if i > 0 and chunks[i - 1][1] > a:
            n = chunks[i - 1][1] - a
            w[a:a + n] = np.minimum(w[a:a + n], _rise(n))
        if i + 1 < len(chunks) and chunks[i + 1][0] < b:
            na = chunks[i + 1][0]
            w[na:b] = np.minimum(w[na:b], 1.0 - _rise(b - na))
        ws.append(w)
    return ws


# A window grouped with longer ones is stretched to their length; a short action's window
# stretched much more would no longer say when the action happens (a 2 s raise sampled
# over 4.8 s raised its hands before its segment began: docs/timeline.md).
MAX_STRETCH = 1.25


def _group_lengths(lengths: list[int], rows_per: list[int], call_cost: int) -> list[list[int]]:
    """Group windows (sorted by needed length) into calls minimising frame-rows + calls;
    no window is stretched by more than MAX_STRETCH."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    n = len(order)
    best = [0.0] + [np.inf] * n
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j):
            if lengths[order[j - 1]] > MAX_STRETCH * lengths[order[i]]:
                continue
            members = order[i:j]
            cost = best[i] + call_cost + lengths[order[j - 1]] * sum(rows_per[m] for m in members)
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups, j = [], n
    while j > 0:
        groups.append(order[cut[j]:j])
        j = cut[j]
    return groups[::-1]


def plan_timeline(timeline: Timeline, fps: float, frame_multiple: int = 4,
                  settings: ComposeSettings | None = None, chunk: bool = True) -> Plan:
    """Windows and weights for composing ``timeline`` (no model needed).

    Every segment window runs its own unconditional row for guidance, so "none" tiles
    (the background) are added only where some frame has no active segment.
    """
    st = settings or ComposeSettings()
    timeline.validate()
    segs = timeline.segments()
    tracks = timeline.track_of()
    frames = max(2, int(round(timeline.end * fps)))
    padded = max(_ceil(frames, frame_multiple), 2 * frame_multiple)
    ramp = int(round(st.margin * fps))
    spans = []
    for s in segs:
        fs = min(int(round(s.start * fps)), frames - 1)
        fe = max(fs + 1, min(int(round(s.end * fps)), frames))
        spans.append((fs, padded if fe >= frames else fe))
    weights = np.stack([segment_weight(fs, fe, padded, ramp) for fs, fe in spans])
    parts = [model_parts(s) for s in segs]
    alpha, background = part_shares(weights, parts, tracks)

    lo_len = min(_ceil(st.min_window, frame_multiple), padded)
    hi_len = max(lo_len, min(st.max_window // frame_multiple * frame_multiple, padded))
    windows: list[Window] = []
    for i, (fs, fe) in enumerate(spans):
        need_lo = max(0, fs - ramp - st.extra_frames)
        need_hi = min(padded, fe + ramp + st.extra_frames)
        pieces = (_chunks(need_lo, need_hi, hi_len, st.chunk_overlap, frame_multiple) if chunk
                  else [(need_lo // frame_multiple * frame_multiple, _ceil(need_hi, frame_multiple))])
        cw = _chunk_weights(pieces, padded)
        for (a, b), u in zip(pieces, cw):
            length = min(padded, max(lo_len, b - a))
            windows.append(Window(i, min(a, padded - length), length, alpha[i] * u))
    # "none" tiles over the whole timeline where there is background (gaps).
    if background.max() > 0:
        tiles = _chunks(0, padded, hi_len, st.chunk_overlap, frame_multiple)
        for (a, b), u in zip(tiles, _chunk_weights(tiles, padded)):
            windows.append(Window(-1, a, min(padded, max(lo_len, b - a)), background * u))

    # Group by length, then extend each window to its group's length inside the timeline,
    # centred on what it must cover and starting on a whole token.
    rows = [1 if w.cond < 0 else 3 for w in windows]
    groups = _group_lengths([w.length for w in windows], rows, st.call_cost)
    for g in groups:
        length = max(windows[k].length for k in g)
        for k in g:
            w = windows[k]
            lo = max(0, w.start + w.length - length)     # earliest start that still covers it
            hi = min(w.start, padded - length)           # latest
            centre = (w.start + w.length // 2 - length // 2) // frame_multiple * frame_multiple
            w.start = int(np.clip(centre, _ceil(lo, frame_multiple), hi // frame_multiple * frame_multiple))
            w.length = length
    for w in windows:
        coef_t = w.coef[:, w.start:w.start + w.length]  # (P, length)
        w.coef = np.ascontiguousarray(coef_t[CHANNEL_PARTS].T.astype(np.float32))  # (length, F)
    return Plan(frames, padded, spans, weights, alpha, background, windows, groups, list(tracks))


def timeline_noise(shape_frames: int, dim: int, seed: int, window: int, mode: str = "freenoise",
                   block: int = 16) -> np.ndarray:
    """Starting noise (frames, dim). FreeNoise: frames past ``window`` reuse the noise one
    window earlier, shuffled within blocks of ``block`` frames; "iid": independent."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((shape_frames, dim)).astype(np.float32)
    if mode == "iid" or shape_frames <= window:
        return noise
    if mode != "freenoise":
        raise ValueError(f"noise must be 'freenoise' or 'iid', not {mode!r}")
    for b in range(window, shape_frames, block):
        e = min(b + block, shape_frames)
        src = np.arange(b - window, e - window)
        noise[b:e] = noise[rng.permutation(src)]
    return noise
