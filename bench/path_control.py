#!/usr/bin/env python3
"""Walking drawn paths (issue 22): 20 paths, figures per path and in all, printed.

    .venv/bin/python bench/path_control.py [--weights DIR] [--seeds 1] [--steps N]
    .venv/bin/python bench/path_control.py --facing [--seeds 3] [--fast]

Paths: straight (5, 10, 20 m), L-turns both ways, a U-turn, arcs, circles, a square,
a zigzag, a spiral, a figure of eight, gentle curves, timed paths (steady, slow, an L)
and stop-and-go (a point given twice with two times), 5-20 m; prompts "a person walks"
(some with a style slider: old, tired, happy) and "a person runs" on three. Per path,
from the generated motion (feet locked, as shipped):
- distance of the hips' floor point to the path, mean and max over the clip, cm;
- arrival: distance to the path's end at the clip's end; for timed paths the error of
  the arrival time (first frame within 15 cm of the end, against the last time), s;
- foot skating ratio (bench/metrics.py) against real walks of the test split (same run);
- what the evaluator reads: the clip is counted as recognised when it reads as the
  prompt's locomotion family (walk: walk, walk-turn-*, walk-left/right; run: run, dash)
  and, for styled prompts, as the style;
- seconds per clip (whole compose call, 2 threads).

``--facing``: arriving facing a point instead (GroundPath ``facing``): a 4 m straight
path with the point to face 3 m to the left, to the right, back-left (135 degrees) and
straight behind (and none); per case the pelvis's facing error on the clip's last frame
(degrees), the arrival (hips to the end, cm) and foot skating.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import _bootstrap

from cadence.bench.metrics import foot_skating_ratio
from cadence.inference.motion.compose import compose
from cadence.inference.motion.model import MotionModel
from cadence.inference.motion.path_follow import PathFollow, clip_seconds
from cadence.inference.motion.timeline import Segment, Timeline, Track
from cadence.motion import rotations as rot
from cadence.motion.ground_path import GroundPath
from cadence.motion.kinematics import motion_world
from cadence.training.evaluator import DEFAULT_OUT, load_evaluator

FAMILY = {"walk": {"walk", "walk-turn-left", "walk-turn-right", "walk-left", "walk-right"},
          "run": {"run", "dash"}}


def _arc(cx, cy, r, a0, a1, n=40):
    a = np.linspace(a0, a1, n)
    return np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], axis=1)


def paths() -> list[tuple[str, GroundPath, str, dict]]:
    """(name, path, prompt, style sliders)."""
    walk, run = "a person walks", "a person runs"
    t = np.linspace(0, 2 * np.pi, 60)
    square = np.array([[0, 0], [0, -3], [3, -3], [3, 0], [0.3, 0]], float)
    zigzag = np.array([[0, 0], [1.2, -2], [-1.2, -4], [1.2, -6], [-1.2, -8]], float)
    spiral = np.stack([(1 + 0.25 * t) * np.sin(t * 1.5), -(1 + 0.25 * t) * np.cos(t * 1.5) + 1], axis=1)
    eight = np.stack([2 * np.sin(t), -1.5 * np.sin(2 * t)], axis=1)
    out = [
        ("straight 5 m", GroundPath(np.array([[0, 0], [0, -5.0]])), walk, {}),
        ("straight 10 m", GroundPath(np.array([[0, 0], [0, -10.0]])), walk, {}),
        ("straight 20 m", GroundPath(np.array([[0, 0], [0, -20.0]])), walk, {}),
        ("L left 8 m", GroundPath(np.array([[0, 0], [0, -4.0], [-4.0, -4.0]])), walk, {}),
        ("L right 8 m", GroundPath(np.array([[0, 0], [0, -4.0], [4.0, -4.0]])), walk, {}),
        ("U-turn 9 m", GroundPath(np.concatenate([[[0, 0]], _arc(1.0, -4.0, 1.0, np.pi, 2 * np.pi)[::-1] * [1, 1],
                                                  [[2.0, 0.0]]])), walk, {}),
        ("arc 10 m", GroundPath(np.stack([1.5 * np.sin(t / 2), -t * 1.4], axis=1)), walk, {}),
        ("wide arc 12 m", GroundPath(np.stack([2.5 * np.sin(t / 2), -t * 1.5], axis=1)), walk, {"happy": 1.0}),
        ("circle r 2 m", GroundPath(_arc(-2.0, 0.0, 2.0, 0.0, 2 * np.pi, 60)), walk, {}),
        ("circle r 3 m", GroundPath(_arc(-3.0, 0.0, 3.0, 0.0, 2 * np.pi, 80)), walk, {"old": 1.0}),
        ("square 12 m", GroundPath(square), walk, {}),
        ("zigzag 9 m", GroundPath(zigzag), walk, {}),
        ("spiral 14 m", GroundPath(spiral), walk, {}),
        ("figure eight 15 m", GroundPath(eight), walk, {"tired": 1.0}),
        ("gentle curve 15 m", GroundPath(_arc(15.0, 0.0, 15.0, np.pi, 1.35 * np.pi, 40)), walk, {}),
        ("timed straight 8 m in 7 s", GroundPath(np.array([[0, 0], [0, -8.0]]), np.array([0.0, 7.0])), walk, {}),
        ("timed L 8 m in 9 s", GroundPath(np.array([[0, 0], [0, -4.0], [4, -4.0]]), np.array([0.0, 4.5, 9.0])),
         walk, {}),
        ("stop-and-go 8 m", GroundPath(np.array([[0, 0], [0, -4.0], [0, -4.0], [0, -8.0]]),
                                       np.array([0.0, 3.5, 5.5, 9.0])), walk, {}),
        ("run straight 15 m", GroundPath(np.array([[0, 0], [0, -15.0]])), run, {}),
        ("run curve 15 m", GroundPath(_arc(-6.0, 0.0, 6.0, 0.0, 0.8 * np.pi, 40)), run, {}),
    ]
    return out


def real_walk_skating() -> float:
    from cadence.dataset import pipeline
    from cadence.motion.representation import decode
    ds = pipeline.load_or_build(progress=False)
    takes = [i for i in ds.indices("test") if ds.contents[i] == "walk"]
    return float(np.mean([foot_skating_ratio(decode(ds.clip(i), 30.0).positions(), 30.0) for i in takes]))


FACING = [("none", None, (0.0, -1.0)), ("left", (-3.0, -4.0), (-1.0, 0.0)), ("right", (3.0, -4.0), (1.0, 0.0)),
          ("back-left", (-3.0, -1.0), (-1.0, 1.0)), ("behind", (0.0, 0.0), (0.0, 1.0))]


def facing_table(model, args, real_skate: float) -> None:
    """The ``--facing`` table (see the docstring)."""
    print("| point to face | facing error (deg) | arrival (cm) | skating (x real) |")
    print("|---|---|---|---|")
    for name, facing, want in FACING:
        errors, arrivals, skates = [], [], []
        for seed in range(args.seeds):
            path = GroundPath(np.array([[0.0, 0.0], [0.0, -4.0]]), None, None if facing is None else np.array(facing))
            follow = PathFollow(path, model.normalizer, model.fps)
            tl = Timeline([Track([Segment("a person walks", 0.0, clip_seconds(path, "walk"))])])
            r = compose(model, tl, seed=seed, steps=args.steps, path=follow, solver="distilled" if args.fast else None)
            m = r.motion.slice(0, follow.trimmed(r))
            world, pos = motion_world(m)
            forward = rot.quat_rotate(world[-1, 0], np.array([0.0, -1.0, 0.0]))[:2]
            w = np.array(want) / np.linalg.norm(want)
            errors.append(np.degrees(np.arccos(np.clip(forward @ w / np.linalg.norm(forward), -1.0, 1.0))))
            arrivals.append(100 * np.linalg.norm(pos[-1, 0, :2] - [0.0, -4.0]))
            skates.append(foot_skating_ratio(m.positions(), model.fps))
        print(f"| {name} | {np.mean(errors):.1f} (worst {np.max(errors):.1f}) | {np.mean(arrivals):.0f} "
              f"(worst {np.max(arrivals):.0f}) | {np.mean(skates):.3f} ({np.mean(skates) / real_skate:.1f}x) |",
              flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", type=Path, default=None)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--fast", action="store_true", help="sample with the fast (distilled) student")
    p.add_argument("--evaluator", type=Path, default=DEFAULT_OUT)
    p.add_argument("--facing", action="store_true", help="the arriving-facing table instead (see the docstring)")
    args = p.parse_args()
    model = MotionModel.load(args.weights, threads=2)
    real_skate = real_walk_skating()
    print(f"real walks (test split): foot skating {real_skate:.3f}\n")
    if args.facing:
        facing_table(model, args, real_skate)
        return 0
    ev = load_evaluator(args.evaluator)
    print("| path | prompt | length | clip | hips to path mean / max | end | arrival error | skating (x real) "
          "| read as | s per clip |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    means, maxes, skates, arrivals, recognised, took, per10 = [], [], [], [], [], [], []
    for name, path, prompt, styles in paths():
        kind = "run" if "run" in prompt else "walk"
        seconds = clip_seconds(path, kind, styles=styles)
        for seed in range(args.seeds):
            follow = PathFollow(path, model.normalizer, model.fps)
            tl = Timeline([Track([Segment(prompt, 0.0, float(seconds), style=dict(styles))])])
            t0 = time.perf_counter()
            r = compose(model, tl, seed=seed, steps=args.steps, path=follow,
                        solver="distilled" if args.fast else None)
            keep = follow.trimmed(r)  # as the command line does: the clip ends after the arrival
            r.motion, r.features = r.motion.slice(0, keep), r.features[:keep]
            dt = time.perf_counter() - t0
            xy = r.motion.root_positions[:, :2]
            d = path.distance_to(xy)
            end = float(np.linalg.norm(xy[-1] - path.points[-1]))
            arrival = ""
            if path.times is not None:
                near = np.flatnonzero(np.linalg.norm(xy - path.points[-1], axis=1) < 0.15)
                err = (near[0] / model.fps - path.duration) if len(near) else float("inf")
                arrivals.append(abs(err))
                arrival = f"{err:+.2f} s"
            skate = foot_skating_ratio(r.motion.positions(), model.fps)
            content, style = ev.predict([r.features.astype(np.float32)])
            ok = content[0] in FAMILY[kind] and (not styles or style[0] == next(iter(styles)))
            means.append(d.mean())
            maxes.append(d.max())
            skates.append(skate)
            recognised.append(ok)
            took.append(dt)
            per10.append(dt * 10.0 / seconds)
            sty = f" ({next(iter(styles))})" if styles else ""
            print(f"| {name} | {kind}{sty} | {path.length:.1f} m | {r.motion.num_frames / model.fps:.1f} s | "
                  f"{100 * d.mean():.1f} / {100 * d.max():.1f} cm | {100 * end:.0f} cm | {arrival} | "
                  f"{skate:.3f} ({skate / real_skate:.1f}x) | "
                  f"{content[0]}{'/' + style[0] if styles else ''} {'ok' if ok else 'no'} | {dt:.2f} |", flush=True)
    print(f"\nall {len(means)} clips: hips to path mean {100 * np.mean(means):.1f} cm (worst clip mean "
          f"{100 * np.max(means):.1f}), max {100 * np.max(maxes):.1f} cm (median clip max "
          f"{100 * np.median(maxes):.1f}); timed arrival error mean {np.mean(arrivals):.2f} s, worst "
          f"{np.max(arrivals):.2f} s; foot skating mean {np.mean(skates):.3f} = "
          f"{np.mean(skates) / real_skate:.2f}x real walks; recognised {np.mean(recognised):.2f}; "
          f"{statistics.median(per10):.2f} s per 10 s of clip (median; best {min(per10):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
