#!/usr/bin/env python3
"""Retarget-and-bake speed (issue 5 target: 10,000 frames on a 60-bone rig in <= 2 s), printed.

    .venv/bin/python bench/retarget_speed.py [--frames 10000] [--repeats 3]

The rig is a Mixamo-style character with fingers (52 mapped bones) plus end and twist
bones, 60 bones in all, A-pose, random rolls; the motion is the real walk fixture
repeated to the requested length. Timed separately: reading the rig and mapping its
bones, the retarget maths, and writing the Action (F-Curves), then the total.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from _bootstrap import ROOT

sys.path.insert(0, str(ROOT / "tests"))  # rig_builders: the test rigs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import bpy

    from cadence.blender.action import bake_pose
    from cadence.blender.rig_retarget import read_rest_rig
    from cadence.motion.canonical_to_rig import retarget_to_rig
    from cadence.motion.convert import load_canonical_motion
    from cadence.motion.kinematics import Motion
    from cadence.motion.rig_mapping import match_rig
    from cadence.motion.rig_target import prepare_target

    import rig_builders as rb

    walk = load_canonical_motion(ROOT / "tests" / "fixtures" / "bandai_walk_normal.bvh")
    reps = -(-args.frames // walk.num_frames)
    motion = Motion(np.tile(walk.rotations, (reps, 1, 1))[:args.frames],
                    np.tile(walk.root_positions, (reps, 1))[:args.frames], walk.fps)

    spec = rb.mixamo(arm_angle=30.0, roll_seed=1)
    for s in ("Left", "Right"):  # twist bones: 55 + 5 = 60 bones
        arm, fore = spec.bones["mixamorig:" + s + "Arm"][1], spec.bones["mixamorig:" + s + "ForeArm"][1]
        spec.bones[f"mixamorig:{s}ArmTwist"] = ("mixamorig:" + s + "Arm", 0.5 * (arm + fore))
        leg, knee = spec.bones["mixamorig:" + s + "UpLeg"][1], spec.bones["mixamorig:" + s + "Leg"][1]
        spec.bones[f"mixamorig:{s}UpLegTwist"] = ("mixamorig:" + s + "UpLeg", 0.5 * (leg + knee))
    spec.bones["mixamorig:Jaw"] = ("mixamorig:Head", rb.P[rb.J["head"]] + [0, -0.03, -0.015])

    timings: dict[str, list[float]] = {"read + map": [], "retarget maths": [], "write action": [],
                                       "total": []}
    for _ in range(args.repeats):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        obj = rb.build_object(bpy, spec, name="Bench")
        t0 = time.perf_counter()
        rig = read_rest_rig(obj)
        target = prepare_target(rig, match_rig(rig))
        t1 = time.perf_counter()
        pose = retarget_to_rig(target, motion)
        t2 = time.perf_counter()
        bake_pose(obj, pose.bones, pose.rotations, pose.locations, pose.fps,
                  rest_bones=pose.rest_bones)
        t3 = time.perf_counter()
        for key, value in zip(timings, (t1 - t0, t2 - t1, t3 - t2, t3 - t0)):
            timings[key].append(value)

    print(f"retarget + bake: {args.frames} frames onto a {len(rig.names)}-bone rig "
          f"({len(pose.bones)} bones keyed, {len(pose.bones) * 4 + 3 * len(pose.locations)} "
          f"F-Curves), median of {args.repeats}")
    for key, values in timings.items():
        print(f"  {key:15s} {statistics.median(values):6.3f} s")
    total = statistics.median(timings["total"])
    print(f"target <= 2 s: {'met' if total <= 2.0 else 'NOT met'} ({total:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
