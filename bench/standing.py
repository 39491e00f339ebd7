#!/usr/bin/env python3
"""Standing idle (inference/motion/standing.py): how prompts are read, and what stands.

    .venv/bin/python bench/standing.py [--seeds 3]

Reading: the share of prompts read as *stand* among idle prompts that are not among
its paraphrases, prompts for actions the data lacks, and the held-out paraphrases of
the 24 known actions (training/prompts.py; none should stand). Motion: idle prompts at
6 s, full and fast sampler, several seeds: the root's largest planar distance from
its start, foot skating, jitter, mean wrist speed and height, against the same samples
decoded without the settling (what the prompt's action alone gives).
"""
from __future__ import annotations

import argparse

import numpy as np

import _bootstrap

from cadence.bench.metrics import foot_skating_ratio, jitter
from cadence.inference.motion.model import GenerationRequest, MotionModel
from cadence.motion.foot_lock import decode_generated
from cadence.motion.skeleton import JOINT_NAMES
from cadence.training.prompts import HELD_OUT_PROMPTS

IDLE = ["a person is standing still", "someone idles", "the man is just waiting", "stands there",
        "a person standing and waiting", "she waits for her friend", "he stands in line", "idling",
        "a relaxed idle stance", "a person stands around", "just standing", "stand idle for a while",
        "a character waiting", "someone who is not moving", "a man standing calmly", "waiting around",
        "a woman stands by the door", "a person stands still and breathes"]
LACKING = ["a person does a cartwheel", "a man sits down on a chair", "someone climbs a ladder", "a person swims",
           "a person lies down", "a person jumps", "a person crawls", "someone does push ups", "a person kneels",
           "a man throws a ball", "a person drinks from a cup", "someone crouches", "a person falls down",
           "someone rides a bike", "a person types on a keyboard", "a person claps", "a person sits still",
           "a person lies still on the floor", "a person stops", "a man standing up from a chair"]
WITH_ACTION = ["a person stands and waves", "a person stands and bows", "standing, she raises both hands",
               "a person stands then walks away", "stand up and run", "a man stands and talks"]
WRISTS = [JOINT_NAMES.index("left_wrist"), JOINT_NAMES.index("right_wrist")]


def figures(motion) -> dict:
    p, fps = motion.positions(), motion.fps
    return {"travel_m": float(np.linalg.norm(p[:, 0, :2] - p[0, 0, :2], axis=1).max()),
            "skating": foot_skating_ratio(p, fps), "jitter": jitter(p, fps),
            "wrist_speed": float(np.linalg.norm(np.diff(p[:, WRISTS], axis=0), axis=-1).mean() * fps),
            "wrist_below_pelvis_m": float((p[:, 0, 2] - p[:, WRISTS, 2].max(axis=1)).mean())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    model = MotionModel.load()
    known = [t for label in model.labels for t in HELD_OUT_PROMPTS[label]]
    print("read as stand:")
    for name, prompts in (("idle prompts (not paraphrases)", IDLE), ("actions the data lacks", LACKING),
                          ("standing + an action", WITH_ACTION), ("known actions, held out", known)):
        stand = model.encode_prompts(prompts).stand > 0
        said = [p for p, s in zip(prompts, stand) if (not s if name.startswith("idle") else s)]
        print(f"  {name:34s} {stand.sum():3d} of {len(prompts):3d}"
              + (f"  ({'missed' if name.startswith('idle') else 'standing'}: {', '.join(said)})" if said else ""))
    print("motion, 6 s (settled / the same sample unsettled):")
    for solver in (None, "distilled"):
        rows, raws = [], []
        for prompt in ("a person stands still", "idle", "a man waits"):
            for seed in range(args.seeds):
                r = model.generate(GenerationRequest(prompt, 6.0, seed=seed, solver=solver))[0]
                rows.append(figures(r.motion))
                raws.append(figures(decode_generated(r.features, r.motion.fps)))
        mean = lambda rs, k: float(np.mean([r[k] for r in rs]))  # noqa: E731
        print(f"  {solver or 'full':9s} "
              + "  ".join(f"{k} {mean(rows, k):.3f} / {mean(raws, k):.3f}" for k in rows[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
