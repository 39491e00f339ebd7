#!/usr/bin/env python3
"""Quality and speed of timeline composition (issue 7, section 3), printed as tables.

    .venv/bin/python bench/timeline_quality.py [--weights DIR] [--seeds 3] [--threads 2]

For a fixed set of timelines (below; sequential, by body part, with a gap, long), each
with several seeds, these ways of making one motion are compared in the same run:

- ``composed``: inference/motion/compose.py, composition at every denoising step (STMC + SINC),
  each window reading the combined sample in proportion to how much of the body its
  segment drives, its own sample elsewhere (the default, ``context="private"``);
- ``re-encoded``: the same, the output being the decoder's reading of the last combined
  sample rather than the per-part combination itself (``reencode_final``);
- ``tracks ctx``: the same, windows reading the combined sample except where segments
  of other tracks drive it (an ablation);
- ``shared x_t``: the same, every window reading the combined sample on the whole body
  (STMC as published; an ablation);
- ``one prompt``: all prompts joined into one ("A, then B while C, then D"), sampled
  over the whole duration with the same windows and noise (baseline a);
- ``independent``: each segment sampled on its own window, the final motions blended
  with the same time/body-part weights (baseline b, SINC-lerp-like).

Measures (evaluator trained on real motion only, training/evaluator.py):

- recognition: per segment with a known action, the evaluator's content prediction on
  the segment's own time window of the whole body (the evaluator reads whole bodies;
  a part-restricted segment shares its window with what the other parts do). "top-1":
  the segment's action is the prediction; "top-k": it is among the k best, k = 1 +
  the number of other labelled segments active at the same time (so a wave over a walk
  counts if the evaluator ranks "wave" right after "walk");
- transitions: on 1 s around every boundary (where a segment starts or ends inside the
  timeline), the peak joint acceleration (the largest frame-to-frame change of a body
  joint's velocity, m/s^2: the size of a pop), the mean jerk (m/s^3), the foot skating
  ratio, and the pop ratio (the boundary's peak acceleration over its median on the
  1 s windows of the same motion at least 1 s from any boundary: ~1 when a boundary is
  as smooth as the rest), next to the same figures on 1 s windows of real test motion;
  a reference line gives the recognition of each labelled prompt generated alone;
- foot skating ratio and jitter over the whole motion (bench/metrics.py);
- long timelines: FreeNoise (whole-window shuffles, the default; and the paper's small
  blocks) against independent noise on a 30 s timeline: drift (pelvis height and speed,
  first vs last 5 s) and repetition (pose correlation at a lag of one window length
  minus its mean at nearby lags: about 0 when nothing loops).

Speed: the issue's 3-track, 6-prompt, 12 s example end to end (text encoding included)
with onnxruntime limited to --threads, next to a 10 s single-prompt clip in the same run.
Writes .cache/bench/timeline_quality.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import _bootstrap

from cadence.bench.metrics import foot_skating_ratio, jitter
from cadence.dataset import pipeline
from cadence.dataset.paths import cache_dir
from cadence.inference.motion.compose import compose
from cadence.inference.motion.model import GenerationRequest, MotionModel
from cadence.inference.motion.timeline import Segment, Timeline, Track, parse_stmc
from cadence.inference.motion.window_plan import ComposeSettings
from cadence.inference.text.encoder import TextEncoder
from cadence.motion.representation import decode
from cadence.motion.skeleton import NUM_BODY_JOINTS
from cadence.training.evaluator import DEFAULT_OUT, load_evaluator

# The example; "look around" has no action in the data (no label).
EXAMPLE = """\
walk forward # 0 # 6 # legs torso
turn left # 6 # 8 # legs torso
run # 8 # 12 # legs torso
wave with the right hand # 1 # 3 # right_arm
raise both hands # 9 # 11 # arms
look around # 0 # 12 # head
"""

# (name, STMC text, {prompt: action label}); prompts are written like an animator would.
TIMELINES: list[tuple[str, str, dict[str, str]]] = [
    ("issue example", EXAMPLE, {
        "walk forward": "walk", "turn left": "walk-turn-left", "run": "run",
        "wave with the right hand": "wave-right-hand", "raise both hands": "raise-up-both-hands"}),
    ("walk, bow, kick", """\
a person walks forward # 0 # 4 # full_body
a person bows # 4 # 7 # full_body
a person kicks # 7 # 10 # full_body
""", {"a person walks forward": "walk", "a person bows": "bow", "a person kicks": "kick"}),
    ("run, walk back, dash", """\
someone runs forward # 0 # 4 # full_body
walking backwards # 4 # 8 # full_body
sprinting at full speed # 8 # 11 # full_body
""", {"someone runs forward": "run", "walking backwards": "walk-back", "sprinting at full speed": "dash"}),
    ("punch, slash, dance", """\
a person throws a punch # 0 # 3 # full_body
slashes with a sword # 3 # 6 # full_body
does a short dance # 6 # 10 # full_body
""", {"a person throws a punch": "punch", "slashes with a sword": "slash", "does a short dance": "dance-short"}),
    ("walk + wave left", """\
a person walks forward # 0 # 8 # legs torso
waves the left hand # 2 # 5 # left_arm
""", {"a person walks forward": "walk", "waves the left hand": "wave-left-hand"}),
    ("walk + raise right, wave both", """\
walk forward # 0 # 8 # legs torso head
raise the right hand # 1 # 4 # right_arm
wave both hands # 4.5 # 7.5 # arms
""", {"walk forward": "walk", "raise the right hand": "raise-up-right-hand",
      "wave both hands": "wave-both-hands"}),
    ("gap: slash, byebye", """\
slashes with a sword # 0 # 3 # full_body
waves goodbye with both hands # 4.5 # 7.5 # full_body
""", {"slashes with a sword": "slash", "waves goodbye with both hands": "byebye"}),
    ("step left, bow, respond", """\
steps sideways to the left # 0 # 3 # full_body
a person bows # 3 # 6 # full_body
nods and answers with a small gesture # 6 # 9 # full_body
""", {"steps sideways to the left": "walk-left", "a person bows": "bow",
      "nods and answers with a small gesture": "respond"}),
    ("long: walk, run, walk + arms", """\
walk forward # 0 # 8 # legs torso
run # 8 # 14 # legs torso
walk forward # 14 # 22 # legs torso
wave with the right hand # 4 # 7 # right_arm
raise both hands # 17 # 20 # arms
""", {"walk forward": "walk", "run": "run", "wave with the right hand": "wave-right-hand",
      "raise both hands": "raise-up-both-hands"}),
]
BOUNDARY_HALF = 0.5  # s each side of a boundary for the transition figures
METHODS = {  # name -> compose() arguments ("one_prompt": baseline a's single prompt)
    "composed": {},
    "re-encoded": {"settings": ComposeSettings(reencode_final=True)},
    "tracks ctx": {"settings": ComposeSettings(context="tracks")},
    "shared x_t": {"settings": ComposeSettings(context="shared")},
    "one prompt": {"one_prompt": True},
    "independent": {"method": "independent"},
    "fast": {"solver": "distilled"},  # composed with the distilled 2-step student (Fast Preview)
    "fast independent": {"solver": "distilled", "method": "independent"},
}
LONG_VARIANTS = {"freenoise": ComposeSettings(),  # the default: whole-window shuffles
                 "freenoise b16": ComposeSettings(shuffle_block=16),  # FreeNoise's small blocks
                 "iid noise": ComposeSettings(noise="iid")}


def one_prompt(tl: Timeline) -> Timeline:
    """Baseline a: every prompt joined into one, over the whole duration."""
    tracks = [" then ".join(s.text for s in sorted(tr.segments, key=lambda s: s.start))
              for tr in tl.tracks if tr.segments]
    text = " while ".join(tracks)
    return Timeline([Track([Segment(text, 0.0, tl.end, ("full_body",))])])


def body_positions(feats: np.ndarray, fps: float) -> np.ndarray:
    return decode(feats, fps).positions()


def peak_accel(pos: np.ndarray, fps: float) -> float:
    """Largest frame-to-frame change of a body joint's velocity, m/s^2."""
    v = np.diff(pos[:, :NUM_BODY_JOINTS], axis=0) * fps
    return float(np.linalg.norm(np.diff(v, axis=0), axis=-1).max() * fps)


def mean_jerk(pos: np.ndarray, fps: float) -> float:
    return jitter(pos, fps)


def boundaries(tl: Timeline) -> list[float]:
    pts = set()
    for s in tl.segments():
        for b in (s.start, s.end):
            if 0.0 < b < tl.end:
                pts.add(round(b, 3))
    return sorted(pts)


def pop_ratio(pos: np.ndarray, fps: float, centre: int, away_from: list[int]) -> float | None:
    """Peak acceleration on 1 s around ``centre`` over its median on the 1 s windows of
    the same motion whose centres are at least 1 s from every frame in ``away_from``:
    about 1 when the boundary is as smooth as the rest of the motion."""
    h = int(round(BOUNDARY_HALF * fps))
    here = peak_accel(pos[max(0, centre - h):centre + h + 1], fps)
    others = [peak_accel(pos[c - h:c + h + 1], fps) for c in range(h, len(pos) - h, h // 2)
              if all(abs(c - f) >= 2 * h for f in away_from)]
    return here / float(np.median(others)) if len(others) >= 2 else None


def transition_stats(pos: np.ndarray, fps: float, tl: Timeline):
    acc, jerk, skate, pops = [], [], [], []
    h = int(round(BOUNDARY_HALF * fps))
    frames = [int(round(b * fps)) for b in boundaries(tl)]
    for f in frames:
        a, e = max(0, f - h), min(len(pos), f + h + 1)
        if e - a >= 5:
            acc.append(peak_accel(pos[a:e], fps))
            jerk.append(mean_jerk(pos[a:e], fps))
            skate.append(foot_skating_ratio(pos[a:e], fps))
            r = pop_ratio(pos, fps, f, frames)
            if r is not None:
                pops.append(r)
    return acc, jerk, skate, pops


def labelled_segments(tl: Timeline, labels: dict[str, str]) -> list[tuple[Segment, str, int]]:
    """(segment, label, k) with k = 1 + other labelled segments overlapping it."""
    segs = [s for s in tl.segments() if s.text in labels]
    out = []
    for s in segs:
        others = sum(1 for o in segs if o is not s and o.start < s.end and s.start < o.end)
        out.append((s, labels[s.text], 1 + others))
    return out


def recognition(ev, feats: np.ndarray, fps: float, tl: Timeline, labels: dict[str, str]):
    items = labelled_segments(tl, labels)
    clips = [feats[int(round(s.start * fps)):int(round(s.end * fps))].astype(np.float32)
             for s, _, _ in items]
    logits, _ = ev.logits(clips)
    top1, topk = [], []
    for (_s, label, k), lg in zip(items, logits):
        rank = list(np.array(ev.contents)[np.argsort(-lg)])
        top1.append(rank[0] == label)
        topk.append(label in rank[:k])
    return top1, topk


def real_reference(ds, ev, fps: float, seed: int) -> dict:
    """The same figures on real held-out motion: 1 s windows, 3 s crops, whole takes."""
    rng = np.random.default_rng(seed)
    test = ds.indices("test")
    acc, jerk, skate, jit, crops, labels, wskate, pops = [], [], [], [], [], [], [], []
    h = int(round(BOUNDARY_HALF * fps))
    for i in test:
        clip = ds.clip(i)
        if len(clip) < 2 * h + 8:
            continue
        pos = body_positions(clip, fps)
        skate.append(foot_skating_ratio(pos, fps))
        jit.append(jitter(pos, fps))
        for _ in range(3):
            a = int(rng.integers(0, len(pos) - 2 * h - 1))
            acc.append(peak_accel(pos[a:a + 2 * h + 1], fps))
            jerk.append(mean_jerk(pos[a:a + 2 * h + 1], fps))
            wskate.append(foot_skating_ratio(pos[a:a + 2 * h + 1], fps))
            r = pop_ratio(pos, fps, a + h, [a + h])
            if r is not None:
                pops.append(r)
        n = min(len(clip), int(3 * fps))
        a = int(rng.integers(0, len(clip) - n + 1))
        crops.append(clip[a:a + n].astype(np.float32))
        labels.append(ds.contents[i])
    pred, _ = ev.predict(crops)
    return {"peak_accel": float(np.mean(acc)), "peak_accel_p95": float(np.percentile(acc, 95)),
            "peak_accel_p99": float(np.percentile(acc, 99)), "jerk": float(np.mean(jerk)),
            "window_foot_skating": float(np.mean(wskate)), "pop_ratio": float(np.mean(pops)),
            "foot_skating": float(np.mean(skate)), "jitter": float(np.mean(jit)),
            "recognition_3s_crops": float(np.mean(pred == np.asarray(labels))), "takes": len(crops)}


def long_timeline_check(model, encoder, seeds: list[int]) -> dict:
    """FreeNoise vs independent noise on a 30 s walk with arm gestures."""
    tl = parse_stmc("walk forward # 0 # 30 # legs torso head\n"
                    "wave with the right hand # 6 # 9 # right_arm\n"
                    "raise both hands # 20 # 23 # arms\n")
    out = {}
    for name, st in LONG_VARIANTS.items():
        drift_h, drift_v, rep = [], [], []
        for seed in seeds:
            r = compose(model, tl, seed=seed, encoder=encoder, settings=st)
            fps = model.fps
            pos = r.motion.positions()
            n = int(5 * fps)
            h = pos[:, 0, 2]
            speed = np.linalg.norm(np.diff(pos[:, 0, :2], axis=0), axis=1) * fps
            drift_h.append(abs(h[-n:].mean() - h[:n].mean()))
            drift_v.append(abs(speed[-n:].mean() - speed[:n].mean()))
            window = ComposeSettings().max_window
            x = r.features[:, 136:202]  # joint positions in the heading frame
            x = (x - x.mean(0)) / (x.std(0) + 1e-6)

            def corr(lag, x=x):
                return float(np.mean(np.sum(x[:-lag] * x[lag:], axis=1) / x.shape[1]))
            near = [corr(lag) for lag in range(window // 2, 3 * window // 2, 4) if abs(lag - window) > 8]
            rep.append(corr(window) - float(np.mean(near)))
        out[name] = {"height_drift_m": float(np.mean(drift_h)), "speed_drift_m_s": float(np.mean(drift_v)),
                     "repetition_at_window_lag": float(np.mean(rep))}
    return out


def speed(model, encoder, repeats: int) -> dict:
    tl = parse_stmc(EXAMPLE)
    compose(model, tl, seed=0, encoder=encoder)  # warm-up
    times, evals = [], 0
    for i in range(repeats):
        t0 = time.perf_counter()
        r = compose(model, tl, seed=i, encoder=encoder)
        times.append(time.perf_counter() - t0)
        evals = r.evaluations
    req = GenerationRequest("a person walks forward and waves with the right hand", 10.0, {}, seed=0)
    model.generate(req, encoder)
    single = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.generate(req, encoder)
        single.append(time.perf_counter() - t0)
    fast = []
    if model.distilled is not None:
        compose(model, tl, seed=0, encoder=encoder, solver="distilled")
        for i in range(repeats):
            t0 = time.perf_counter()
            compose(model, tl, seed=i, encoder=encoder, solver="distilled")
            fast.append(time.perf_counter() - t0)
    return {"timeline_12s_median_s": statistics.median(times), "timeline_12s_best_s": min(times),
            "timeline_12s_fast_median_s": statistics.median(fast) if fast else None,
            "timeline_12s_fast_best_s": min(fast) if fast else None,
            "single_10s_median_s": statistics.median(single),
            "frame_rows_per_timeline": evals, "frame_rows_single_10s": 3 * 300 * int(model.defaults["steps"])}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, default=None)
    p.add_argument("--evaluator", type=Path, default=DEFAULT_OUT)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--skip-long", action="store_true", help="skip the FreeNoise check")
    p.add_argument("--methods", default=",".join(METHODS),
                   help=f"comma-separated subset of: {', '.join(METHODS)}")
    p.add_argument("--out", type=Path, default=cache_dir() / "bench" / "timeline_quality.json")
    args = p.parse_args()

    model = MotionModel.load(args.weights, threads=args.threads, providers=["CPUExecutionProvider"])
    encoder = TextEncoder.load(args.weights, intra_op_num_threads=args.threads,
                               providers=["CPUExecutionProvider"])
    ev = load_evaluator(args.evaluator)
    ds = pipeline.load_or_build()
    fps = model.fps
    seeds = list(range(args.seeds))
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        p.error(f"unknown method(s) {', '.join(unknown)}")
    if model.distilled is None:
        methods = tuple(m for m in methods if "solver" not in METHODS[m])
    stats = {m: {"top1": [], "topk": [], "acc": [], "jerk": [], "bskate": [], "pops": [], "skate": [],
                 "jitter": [], "seconds": []}
             for m in methods}
    per_timeline = {}
    alone: list[bool] = []
    for name, text, labels in TIMELINES:
        tl = parse_stmc(text)
        per_timeline[name] = {m: {"top1": []} for m in methods}
        for seed in seeds:
            for m in methods:
                t0 = time.perf_counter()
                kwargs = dict(METHODS[m])
                timeline = one_prompt(tl) if kwargs.pop("one_prompt", False) else tl
                r = compose(model, timeline, seed=seed, encoder=encoder, **kwargs)
                took = time.perf_counter() - t0
                pos = r.motion.positions()
                top1, topk = recognition(ev, r.features, fps, tl, labels)
                acc, jerk, bskate, pops = transition_stats(pos, fps, tl)
                s = stats[m]
                s["top1"] += top1
                s["topk"] += topk
                s["acc"] += acc
                s["jerk"] += jerk
                s["bskate"] += bskate
                s["pops"] += pops
                s["skate"].append(foot_skating_ratio(pos, fps))
                s["jitter"].append(jitter(pos, fps))
                s["seconds"].append(took)
                per_timeline[name][m]["top1"] += top1
        for seed in seeds:  # reference: every labelled prompt alone, whole body, its duration
            for seg, label, _ in labelled_segments(tl, labels):
                req = GenerationRequest(seg.text, seg.duration, {}, seed=seed)
                feats = model.generate(req, encoder)[0].features.astype(np.float32)
                alone.append(ev.predict([feats])[0][0] == label)
        print(f"  {name}: " + ", ".join(f"{m} {np.mean(per_timeline[name][m]['top1']):.2f}" for m in methods),
              flush=True)

    real = real_reference(ds, ev, fps, seed=0)
    summary = {m: {"recognition_top1": float(np.mean(s["top1"])), "recognition_topk": float(np.mean(s["topk"])),
                   "boundary_peak_accel": float(np.mean(s["acc"])),
                   "boundary_peak_accel_max": float(np.max(s["acc"])),
                   "boundary_pops_over_real_p99": float(np.mean(np.array(s["acc"]) > real["peak_accel_p99"])),
                   "boundary_jerk": float(np.mean(s["jerk"])),
                   "boundary_foot_skating": float(np.mean(s["bskate"])),
                   "boundary_pop_ratio": float(np.mean(s["pops"])),
                   "foot_skating": float(np.mean(s["skate"])),
                   "jitter": float(np.mean(s["jitter"])), "seconds_per_timeline": float(np.mean(s["seconds"]))}
               for m, s in stats.items()}
    n_seg = len(stats[methods[0]]["top1"])
    n_bound = len(stats[methods[0]]["acc"])
    print(f"\ntimeline quality: {len(TIMELINES)} timelines x {len(seeds)} seeds = {n_seg} labelled segments, "
          f"{n_bound} boundaries (evaluator {args.evaluator})")
    widths = tuple(max(11, len(m) + 2) for m in methods)
    print(f"{'':34}" + "".join(f"{m:>{w}}" for m, w in zip(methods, widths)) + f"{'real':>10}")
    rows = [("recognition top-1", "recognition_top1", "{:.3f}", real["recognition_3s_crops"]),
            ("recognition top-k (concurrent)", "recognition_topk", "{:.3f}", None),
            ("boundary peak accel (m/s^2)", "boundary_peak_accel", "{:.1f}", real["peak_accel"]),
            ("boundary peak accel max", "boundary_peak_accel_max", "{:.1f}", real["peak_accel_p99"]),
            ("boundaries above real p99", "boundary_pops_over_real_p99", "{:.3f}", 0.01),
            ("boundary jerk (m/s^3)", "boundary_jerk", "{:.1f}", real["jerk"]),
            ("boundary pop ratio", "boundary_pop_ratio", "{:.2f}", real["pop_ratio"]),
            ("boundary foot skating ratio", "boundary_foot_skating", "{:.3f}", real["window_foot_skating"]),
            ("foot skating ratio", "foot_skating", "{:.3f}", real["foot_skating"]),
            ("jitter (m/s^3)", "jitter", "{:.1f}", real["jitter"]),
            ("seconds per timeline", "seconds_per_timeline", "{:.2f}", None)]
    for label, key, fmt, ref in rows:
        cells = "".join(f"{fmt.format(summary[m][key]):>{w}}" for m, w in zip(methods, widths))
        print(f"{label:34}{cells}{'' if ref is None else fmt.format(ref):>10}")
    print("real: 3 s crops of held-out takes (recognition), random 1 s windows (accel, jerk, pop ratio; "
          "'max' column: 99th percentile), whole takes (skating, jitter)")
    print(f"reference: each labelled prompt generated alone (whole body, no timeline) over its segment's "
          f"duration: recognition top-1 {np.mean(alone):.3f}")
    print("per timeline, top-1: " + "; ".join(
        f"{n}: " + "/".join(f"{np.mean(v[m]['top1']):.2f}" for m in methods) for n, v in per_timeline.items()))

    result = {"summary": summary, "real": real, "alone_recognition_top1": float(np.mean(alone)),
              "per_timeline": {
        n: {m: float(np.mean(v[m]["top1"])) for m in methods} for n, v in per_timeline.items()},
        "seeds": seeds, "settings": vars(ComposeSettings()),
        "evaluator": str(args.evaluator), "weights": str(model.weights_dir),
        "model_training": model.meta.get("training", {})}
    if not args.skip_long:
        result["long"] = long_timeline_check(model, encoder, seeds)
        print(f"\nlong timeline (30 s, windows of <= {ComposeSettings().max_window} frames):")
        print(f"{'':34}" + "".join(f"{n:>15}" for n in LONG_VARIANTS))
        for key in ("height_drift_m", "speed_drift_m_s", "repetition_at_window_lag"):
            print(f"{key:34}" + "".join(f"{result['long'][n][key]:15.3f}" for n in LONG_VARIANTS))
    sp = speed(model, encoder, args.repeats)
    result["speed"] = sp
    print(f"\nspeed ({args.threads} threads, {model.device}): issue example (3 tracks, 6 prompts, 12 s) "
          f"median {sp['timeline_12s_median_s']:.2f} s, best {sp['timeline_12s_best_s']:.2f} s (target <= 1.5 s); "
          f"10 s single prompt in the same run {sp['single_10s_median_s']:.2f} s; network frame-rows "
          f"{sp['frame_rows_per_timeline']} vs {sp['frame_rows_single_10s']}")
    if sp["timeline_12s_fast_median_s"] is not None:
        print(f"  the same with the fast sampler (2 distilled steps): median {sp['timeline_12s_fast_median_s']:.2f} s, "
              f"best {sp['timeline_12s_fast_best_s']:.2f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
