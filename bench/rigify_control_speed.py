#!/usr/bin/env python3
"""Baking onto a generated Rigify control rig: generation and bake times, printed.

    .venv/bin/python bench/rigify_control_speed.py [--frames 10000] [--no-face]

Rigify's Generate Rig runs on Blender's human meta-rig (with its face rig unless
``--no-face``: the face is nearly all of the generation time); then the real walk,
repeated to the requested length, is baked onto the rig's controls. Timed separately:
generation, reading the control scheme (walking the constraints, finding the IK/FK and
follow switches by letting Blender evaluate their drivers), and the whole
``retarget_onto`` (scheme, maths, writing the Action).
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from _bootstrap import ROOT


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--no-face", action="store_true", help="remove the meta-rig's face first")
    args = parser.parse_args()

    import bpy  # first: it puts Blender's modules (addon_utils) on the path

    # isort: split
    import addon_utils

    from cadence.blender.rig_retarget import read_rest_rig, retarget_onto
    from cadence.blender.rigify_control import plan_controls
    from cadence.motion.convert import load_canonical_motion
    from cadence.motion.kinematics import Motion
    from cadence.motion.rig_mapping import match_rig

    walk = load_canonical_motion(ROOT / "tests" / "fixtures" / "bandai_walk_normal.bvh")
    reps = -(-args.frames // walk.num_frames)
    motion = Motion(np.tile(walk.rotations, (reps, 1, 1))[:args.frames],
                    np.tile(walk.root_positions, (reps, 1))[:args.frames], walk.fps)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    if addon_utils.enable("rigify", default_set=True, persistent=False) is None:
        print("Rigify is not available in this Blender")
        return 1
    bpy.ops.object.armature_human_metarig_add()
    meta = bpy.context.active_object
    if args.no_face:
        bpy.ops.object.mode_set(mode='EDIT')
        edit = meta.data.edit_bones
        for bone in [b for b in edit if b.name == "face" or "face" in (p.name for p in b.parent_recursive)]:
            edit.remove(bone)
        bpy.ops.object.mode_set(mode='OBJECT')
    t0 = time.perf_counter()
    bpy.ops.pose.rigify_generate()
    t1 = time.perf_counter()
    obj = bpy.context.active_object
    rig = read_rest_rig(obj)
    plan = plan_controls(obj, rig, match_rig(rig, rigify_controls=True))
    t2 = time.perf_counter()
    result = retarget_onto(obj, motion)
    t3 = time.perf_counter()

    print(f"Rigify control rig: {len(rig.names)} bones ({'no face' if args.no_face else 'with face'}), "
          f"{len(result.pose.bones)} controls keyed, {len(plan.switches)} switches, "
          f"{len(plan.rest_bones)} bones put at rest")
    print(f"  generate rig        {t1 - t0:7.3f} s")
    print(f"  read control scheme {t2 - t1:7.3f} s")
    print(f"  retarget_onto       {t3 - t2:7.3f} s  ({args.frames} frames, scheme included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
