"""Timeline composition at sampling time (STMC + SINC), with no retraining.

The denoiser knows one prompt per sample. A timeline has several prompts, in time and on
body parts. At every DDIM step each segment is denoised on its own time window (its
interval plus a margin each side, clipped to the timeline), and the per-window x0
predictions are stitched back onto the timeline with weights that depend on the time
and on the body part every feature channel belongs to; the combined x0 makes one DDIM
step for the whole timeline. This is STMC's "spatio-temporal composition" ("Multi-Track
Timeline Control for Text-Driven 3D Human Motion Generation", Petrovich et al. 2024)
with SINC's body-part assignment (Athanasiou et al. 2023), on our x0-predicting denoiser.

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
- **Guidance.** Per window, x0 = none + g_text (text - none) + g_style (text+style -
  text) as in ``MotionModel.denoiser``, the three rows on the window's own input.

**What a window reads** (``context``). "shared" is STMC: every window reads the combined
sample. "private" (default): a window reads the combined sample in proportion to its
segment's share of each part at each frame (``read_gain`` x share, at most 1), and its
own sample, advanced with its own prediction, for the rest. A model trained on single
whole-body actions otherwise explains the other parts' motion with its own prompt (a
"wave" window that reads walking legs predicts a swinging arm; a "walk" window that
reads a raised arm slows down), while transitions on the parts a segment drives stay
coupled through the combined sample.

Windows longer than ``max_window`` frames (the training crops go up to 192) are cut into
overlapping chunks cross-faded like segments. Long timelines therefore run as many
overlapping windows; their starting noise can follow FreeNoise (Qiu et al. 2024):
the noise of frames past the first window length reuses the noise one window earlier,
shuffled within blocks, so distant windows start from the same noise vectors without
repeating them in order. FreeNoise shuffles small blocks; with our denoiser that makes
the motion repeat with the window period (measured in bench/timeline_quality.py), so
the default block is a whole window. ``noise="iid"`` gives independent noise.

All window evaluations of a step run in a few batched ONNX calls (windows grouped by
length; each window is extended to its group's length with real timeline frames, not
padding).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from ...motion.kinematics import Motion
from ...motion.foot_lock import decode_generated
from ...motion.representation import CONTACTS, FEATURE_DIM, NUM_JOINTS, POSITIONS, ROOT, ROTATIONS
from ...motion.skeleton import BODY_JOINT_NAMES, BODY_PARTS
from .cfg import CFG, KEEP, NONE
from .diffusion import cosine_alphas_cumprod, ddim_step, ddim_timesteps
from .references import noised
from .sampler import GenerationCancelled, Guidance, SamplerStep
from .timeline import Segment, Timeline, TimelineError

# Parts the body model has channels for; hands drive their arm.
MODEL_PARTS: tuple[str, ...] = ("legs", "torso", "left_arm", "right_arm", "head")
HAND_TO_ARM = {"left_hand": "left_arm", "right_hand": "right_arm"}


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


@dataclass
class TimelineResult:
    motion: Motion
    features: np.ndarray                 # (frames, F) denormalised
    matches: list[list[tuple[str, float]]]  # per segment: known actions nearest its prompt
    truncated: list[bool]
    seconds_taken: float
    device: str
    plan: Plan
    evaluations: int = 0                 # frame-rows run through the network


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
                 read_gain: float = 1.0, shared_below: int = 0):
        if mode not in ("shared", "tracks", "private", "independent"):
            raise ValueError(f"mode must be shared, tracks, private or independent, not {mode!r}")
        tracks = np.asarray(plan.tracks)
        self.model, self.plan, self.mode = model, plan, mode
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
        session = self.model.session
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
                feats = self.model.decode_latents(np.stack([guided[k] for k in part]))
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


def _prepare(model, timeline: Timeline, encoder, styles: Mapping[str, float] | None):
    from .model import GenerationError
    segs = timeline.segments()
    texts = [s.text.strip() for s in segs]
    uniq = list(dict.fromkeys(texts))
    reading = model.encode_prompts(uniq, encoder)
    index = [uniq.index(t) for t in texts]
    contents = reading.content[index].astype(np.float32)
    probabilities = reading.probabilities[index]
    truncated = [bool(reading.truncated[i]) for i in index]
    style_rows = []
    for s in segs:
        try:
            style_rows.append(model.style_vector(s.style if s.style else dict(styles or {})))
        except GenerationError as exc:
            raise TimelineError(f"{s.describe()}: {exc}") from None
    for s in segs:
        if not model_parts(s) & set(MODEL_PARTS):
            raise TimelineError(f"{s.describe()}: its body parts drive nothing")
    return contents, probabilities, np.stack(style_rows).astype(np.float32), truncated


def compose(model, timeline: Timeline, seed: int = 0, steps: int | None = None,
            text_guidance: float | None = None, style_guidance: float | None = None,
            styles: Mapping[str, float] | None = None, encoder=None,
            progress: Callable[[int, int], bool | None] | None = None,
            settings: ComposeSettings | None = None, method: str = "stmc",
            inpaint: tuple[np.ndarray, np.ndarray] | None = None,
            guidance: Guidance | None = None, foot_lock: bool = True,
            reference_strength: float | None = None, path=None) -> TimelineResult:
    """Sample one motion for a timeline.

    ``styles``: default sliders for segments without their own. ``method``: "stmc"
    (composition at every step) or "independent" (each window sampled on its own and
    the final predictions blended with the same weights: the SINC-lerp-like baseline).
    ``inpaint``: (features (frames, F) denormalised, keep (frames,) in 0..1): frames
    with keep 1 are held to the given motion (regenerate part of a timeline).
    ``guidance(x0, step)`` (optional, see ``inference/motion/sampler.py``) edits the combined
    normalised x0 (padded frames, F) at every step, before inpainting and the DDIM step.
    ``foot_lock``: pin planted feet and lift shuffled steps (``motion/foot_lock.py``).
    ``reference_strength``: below 1, every segment starts from a real take of its action
    (``reference_start``); None: the model's default.
    ``path``: an ``inference.motion.path_follow.PathFollow``: its frames walk the path (root
    channels imposed at every step and on the result; the clip placed on the path).
    """
    from .model import GenerationError
    t0 = time.perf_counter()
    st = settings or ComposeSettings()
    timeline.validate()
    steps = model.sampling_steps(steps)
    contents, probabilities, style, truncated = _prepare(model, timeline, encoder, styles)
    if method not in ("stmc", "independent"):
        raise ValueError(f"method must be 'stmc' or 'independent', not {method!r}")
    if st.context not in ("shared", "tracks", "private"):
        raise ValueError(f"context must be 'shared', 'tracks' or 'private', not {st.context!r}")
    if inpaint is not None and method != "stmc":
        raise ValueError("inpainting needs method='stmc'")
    mode = "independent" if method == "independent" else st.context
    fpt = int(model.frames_per_token)
    plan = plan_timeline(timeline, model.fps, fpt, st, chunk=(method == "stmc"))
    dim = model.normalizer.mean.shape[0]
    tokens = plan.padded // fpt
    period = min(st.max_window, plan.padded) // fpt  # FreeNoise: the model's window length
    noise = timeline_noise(tokens, model.latent_dim, seed, period, st.noise, max(1, st.shuffle_block // fpt))
    composer = Composer(model, plan, contents, style, model.cfg(text_guidance, style_guidance), noise, mode,
                        st.max_rows, st.read_gain, st.shared_below)

    known = keep = None
    if inpaint is not None:
        feats, mask = inpaint
        if feats.shape != (plan.frames, FEATURE_DIM) or mask.shape != (plan.frames,):
            raise ValueError(f"inpaint needs features ({plan.frames}, {FEATURE_DIM}) and a mask ({plan.frames},)")
        known = np.zeros((plan.padded, dim), np.float32)
        known[:plan.frames] = model.normalizer.normalize(feats)
        known[plan.frames:] = known[plan.frames - 1]
        keep = np.zeros((plan.padded, 1), np.float32)
        keep[:plan.frames, 0] = np.clip(mask, 0.0, 1.0)

    abar = cosine_alphas_cumprod()
    timesteps = ddim_timesteps(steps, len(abar))
    x, start = reference_start(model, composer, contents, style, noise, timesteps,
                               model.reference_strength(reference_strength), seed)
    for i, t in enumerate(timesteps):
        if i < start:
            continue
        x0 = composer.denoise(x, int(t))  # combined features
        if guidance is not None:
            x0 = guidance(x0, SamplerStep(i, len(timesteps), int(t), float(abar[t])))
        if path is not None:
            x0 = path.guidance(x0, None)
        if keep is not None:
            x0 = keep * known + (1.0 - keep) * x0
        if i + 1 < len(timesteps) or st.reencode_final:
            z0 = model.encode_features(x0[None])[0]
            prev = abar[timesteps[i + 1]] if i + 1 < len(timesteps) else 1.0
            x = ddim_step(x, z0, abar[t], prev).astype(np.float32)
            composer.advance(abar[t], prev)
        if progress is not None and progress(i + 1, len(timesteps)) is False:
            raise GenerationCancelled("generation cancelled")
    if st.reencode_final:  # the decoder's reading of the last combined sample
        x0 = model.decode_latents(x[None])[0]

    feats = model.normalizer.denormalize(x0[:plan.frames].astype(np.float64))
    if keep is not None:
        k = keep[:plan.frames]
        feats = k * inpaint[0] + (1.0 - k) * feats
    start = None
    if path is not None:
        feats = path.impose(feats)
        start = path.start(feats)
    matches = [model.match(p) for p in probabilities]
    motion = decode_generated(feats, model.fps, foot_lock, start)
    if keep is not None and foot_lock:
        # The foot lock pins a planted foot across the regenerated window's edges and lets
        # it go slowly, which moved legs far outside the window: where the previous take
        # is kept, keep its locked motion exactly, blending over the mask's ramps.
        motion = _keep_previous(decode_generated(inpaint[0], model.fps, foot_lock, start), motion,
                                keep[:plan.frames, 0])
    return TimelineResult(motion, feats, matches, truncated,
                          time.perf_counter() - t0, model.device, plan, composer.evaluations)


def _keep_previous(previous: Motion, new: Motion, keep: np.ndarray) -> Motion:
    """``new`` with ``previous`` where ``keep`` is 1, blended where it is between."""
    from ...motion.rotations import quat_slerp
    w = np.clip(np.asarray(keep, np.float64), 0.0, 1.0)
    rotations = quat_slerp(new.rotations, previous.rotations, np.broadcast_to(w[:, None], new.rotations.shape[:2]))
    root = (1.0 - w[:, None]) * new.root_positions + w[:, None] * previous.root_positions
    return Motion(rotations, root, new.fps, new.skeleton)


def reference_start(model, composer: Composer, contents: np.ndarray, styles: np.ndarray, noise: np.ndarray,
                    timesteps: np.ndarray, strength: float, seed: int) -> tuple[np.ndarray, int]:
    """(starting latent sample, first step) of a timeline: pure noise at strength 1;
    below, each segment's span is laid over one real take of its action and style
    (inference/motion/references.py; the seed picks takes and crops), the "none" tiles over the
    mean latent, the windows combined per body part as predictions are, re-encoded, and
    noised to the level of the first step run. Windows that keep their own sample start
    from their part of their segment's take."""
    if model.references is None or strength >= 1.0:
        return noise, 0
    start = len(timesteps) - max(1, int(round(strength * len(timesteps))))
    if start == 0:
        return noise, 0
    abar = float(cosine_alphas_cumprod()[timesteps[start]])
    fpt, plan = composer.fpt, composer.plan
    rng = np.random.default_rng([seed, 7])
    takes: dict[int, tuple[int, np.ndarray]] = {}  # segment -> (first token, its take)
    for cond in sorted({w.cond for w in plan.windows if w.cond >= 0}):
        mine = [w for w in plan.windows if w.cond == cond]
        lo, hi = min(w.start for w in mine) // fpt, max(w.start + w.length for w in mine) // fpt
        ref = model.references.pick(int(np.argmax(contents[cond])), styles[cond], int(model.meta["normal_style"]),
                                    hi - lo, rng)
        takes[cond] = (lo, ref if ref is not None else np.zeros((hi - lo, model.latent_dim), np.float32))
    refs = []
    for w in plan.windows:
        if w.cond < 0:
            refs.append(np.zeros((w.length // fpt, model.latent_dim), np.float32))
        else:
            lo, ref = takes[w.cond]
            refs.append(ref[w.start // fpt - lo:(w.start + w.length) // fpt - lo])
    for k in composer.private:
        composer.private[k] = noised(refs[k], composer.private[k], abar)
    combined = model.encode_features(composer.combine(refs)[None])[0]
    return noised(combined, noise, abar), start


def keep_mask(timeline: Timeline, segments: Sequence[int], fps: float, margin: float = 0.5) -> np.ndarray:
    """(frames,) 1 where a previous take is kept, 0 on the given segments' windows.

    The regenerated window is each segment's interval plus ``margin`` seconds each side,
    with a smooth ramp of ``margin`` seconds back to the kept motion.
    """
    frames = max(2, int(round(timeline.end * fps)))
    segs = timeline.segments()
    ramp = int(round(margin * fps))
    free = np.zeros(frames)
    for i in segments:
        s = segs[i]
        fs = max(0, int(round(s.start * fps)) - ramp)
        fe = min(frames, int(round(s.end * fps)) + ramp)
        free = np.maximum(free, segment_weight(fs, fe, frames, ramp))
    return 1.0 - free


def regenerate(model, timeline: Timeline, previous: np.ndarray, segments: Sequence[int], seed: int,
               **kwargs) -> TimelineResult:
    """Sample ``segments`` (indices into ``timeline.segments()``) again with a new seed,
    keeping the rest of ``previous`` (features (frames, F)) as it was (inpainting)."""
    mask = keep_mask(timeline, segments, model.fps)
    return compose(model, timeline, seed=seed, inpaint=(previous, mask), **kwargs)
