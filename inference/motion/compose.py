"""Timeline composition at sampling time (STMC + SINC), with no retraining.

The denoiser knows one prompt per sample. A timeline has several prompts, in time and on
body parts. At every DDIM step each segment is denoised on its own time window (its
interval plus a margin each side, clipped to the timeline), and the per-window x0
predictions are stitched back onto the timeline with weights that depend on the time
and on the body part every feature channel belongs to; the combined x0 makes one DDIM
step for the whole timeline. This is STMC's "spatio-temporal composition" ("Multi-Track
Timeline Control for Text-Driven 3D Human Motion Generation", Petrovich et al. 2024)
with SINC's body-part assignment (Athanasiou et al. 2023), on our x0-predicting denoiser.

Three rooms: ``inference/motion/window_plan.py`` places the windows and weighs them (time,
body parts, chunking of long windows, FreeNoise starting noise);
``inference/motion/window_stitching.py`` runs one step of every window and combines the
predictions (and says what each window reads); this module is the public entry:
``compose`` samples a timeline (optionally from real takes, along a path, or inpainting
a previous take) and ``regenerate`` samples some of its segments again.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ...motion.foot_lock import decode_generated
from ...motion.kinematics import Motion
from ...motion.representation import FEATURE_DIM
from ...motion.rotations import quat_slerp
from ...motion.skeleton import MODEL_PARTS
from .diffusion import cosine_alphas_cumprod, ddim_step, ddim_timesteps, sampler_timesteps
from .model import GenerationError
from .references import noised
from .sampler import GenerationCancelled, Guidance, SamplerStep
from .standing import part_weights, settle
from .timeline import Timeline, TimelineError
from .window_plan import ComposeSettings, Plan, model_parts, plan_timeline, segment_weight, timeline_noise
from .window_stitching import Composer


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


def _prepare(model, timeline: Timeline, encoder, styles: Mapping[str, float] | None):
    segs = timeline.segments()
    texts = [s.text.strip() for s in segs]
    uniq = list(dict.fromkeys(texts))
    reading = model.encode_prompts(uniq, encoder)
    index = [uniq.index(t) for t in texts]
    contents = reading.content[index].astype(np.float32)
    probabilities = reading.probabilities[index]
    stand = [reading.stand_score(i) for i in index]
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
    return contents, probabilities, stand, np.stack(style_rows).astype(np.float32), truncated


def compose(model, timeline: Timeline, seed: int = 0, steps: int | None = None,
            text_guidance: float | None = None, style_guidance: float | None = None,
            styles: Mapping[str, float] | None = None, encoder=None,
            progress: Callable[[int, int], bool | None] | None = None,
            settings: ComposeSettings | None = None, method: str = "stmc",
            inpaint: tuple[np.ndarray, np.ndarray] | None = None,
            guidance: Guidance | None = None, foot_lock: bool = True,
            reference_strength: float | None = None, path=None, solver: str | None = None) -> TimelineResult:
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
    ``solver``: "distilled" samples with the fast student (its few steps, one row per
    window); anything else (the default) with the guided model's DDIM steps.
    """
    t0 = time.perf_counter()
    st = settings or ComposeSettings()
    timeline.validate()
    solver = model.sampling_solver(solver)
    distilled = solver == "distilled"
    steps = model.sampling_steps(steps, solver)
    contents, probabilities, stand, style, truncated = _prepare(model, timeline, encoder, styles)
    if path is not None:
        _refuse_standing_on_path(timeline, stand, path, model.fps)
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
    cfg = model.cfg(text_guidance, style_guidance, solver)
    composer = Composer(model, plan, contents, style, cfg, noise, mode, st.max_rows, st.read_gain, st.shared_below,
                        solver=solver)

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
    timesteps = sampler_timesteps(steps, "distilled") if distilled else ddim_timesteps(steps, len(abar))
    x, start = reference_start(model, composer, contents, style, noise, timesteps,
                               model.reference_strength(reference_strength, solver), seed)
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
        x0 = model.decode_latents(x[None], solver)[0]

    feats = model.normalizer.denormalize(x0[:plan.frames].astype(np.float64))
    if keep is not None:
        k = keep[:plan.frames]
        feats = k * inpaint[0] + (1.0 - k) * feats
    start = hold = None
    if path is not None:
        feats = path.impose(feats)
        start = path.start(feats)
        hold = path.standing(len(feats))
    matches = [model.match(p, stand=s) for p, s in zip(probabilities, stand)]
    standing_spans = [(seg.start, seg.end, model_parts(seg)) for seg, s in zip(timeline.segments(), stand) if s > 0]
    if standing_spans:     # segments read as a standing idle: stilled and calmed (standing.py)
        weights = part_weights(standing_spans, len(feats), model.fps)
        motion, feats = settle(feats, model.fps, weights, foot_lock, start, hold, seed)
    else:
        motion = decode_generated(feats, model.fps, foot_lock, start, hold)
    if keep is not None and foot_lock:
        # The foot lock pins a planted foot across the regenerated window's edges and lets
        # it go slowly, which moved legs far outside the window: where the previous take
        # is kept, keep its locked motion exactly, blending over the mask's ramps.
        motion = _keep_previous(decode_generated(inpaint[0], model.fps, foot_lock, start), motion,
                                keep[:plan.frames, 0])
    return TimelineResult(motion, feats, matches, truncated,
                          time.perf_counter() - t0, model.device, plan, composer.evaluations)


def _refuse_standing_on_path(timeline: Timeline, stand: Sequence[float], path, fps: float) -> None:
    """A segment read as a standing idle cannot walk the path that covers it."""
    first = path.first / fps
    last = np.inf if path.last is None else path.last / fps
    for seg, score in zip(timeline.segments(), stand):
        if score > 0 and seg.start < last and seg.end > first and "legs" in model_parts(seg):
            raise TimelineError(f"{seg.describe()} reads as a standing idle ('stand'): it cannot walk a "
                                "path; give the path a walk or a run (or let the idle stand where it is)")


def _keep_previous(previous: Motion, new: Motion, keep: np.ndarray) -> Motion:
    """``new`` with ``previous`` where ``keep`` is 1, blended where it is between."""
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
