#!/usr/bin/env python3
"""The rig zoo: a real walk baked onto every kind of character rig the tests build, in
Blender, with what an animator checks first (issue 24), printed as a table.

    .venv/bin/python bench/rig_zoo.py [--motion tests/fixtures/bandai_walk_normal.bvh]

Rigs: the test rigs of tests/rig_builders.py (Mixamo, Unreal, Rigify, VRM, MMD,
Character Creator, unknown names, CMU with ASF names, a game rig with IK controls and
slots at its root) built as armatures, plus a Character Creator BVH whose zero pose
folds the legs above the hips, imported as a file. Per rig, from Blender's evaluated
pose at every frame (canonical metres, the rig's own scale divided out):
- mapped: body joints mapped of 22 (of them to check: found by limb shape only, or
  names and limb shape disagree);
- error: max distance of the rig's joints to the source's (joints whose bone sits on
  the canonical joint), cm;
- upright: worst angle of pelvis -> head from vertical over the take (source in brackets);
- floor: lowest foot joint height, min..max over the take (source in brackets), cm;
- skating: share of frames in which a planted foot slides (bench/metrics.py).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from _bootstrap import ROOT

sys.path.insert(0, str(ROOT / "tests"))  # rig_builders: the test rigs

FEET = ("left_ankle", "right_ankle", "left_foot", "right_foot")


def evaluate(bpy, obj, joints: dict[str, str], frames: int, scale: float) -> dict[str, np.ndarray]:
    """(T, 3) world head of each joint's bone over the take, in canonical metres."""
    out = {j: np.empty((frames, 3)) for j in joints}
    for f in range(frames):
        bpy.context.scene.frame_set(bpy.context.scene.frame_start + f)
        for j, b in joints.items():
            out[j][f] = np.array(obj.matrix_world @ obj.pose.bones[b].head) / scale
    return out


def figures(heads: dict[str, np.ndarray], source: np.ndarray, fps: float, on_joint: set[str]) -> dict:
    from cadence.bench.metrics import foot_skating_ratio

    import rig_builders as rb
    err = max(np.linalg.norm(heads[j] - source[:, rb.J[j]], axis=1).max() for j in on_joint)
    up = heads["head"] - heads["pelvis"]
    tilt = np.degrees(np.arccos(np.clip(up[:, 2] / np.linalg.norm(up, axis=1), -1, 1))).max()
    low = np.min([heads[j][:, 2] for j in FEET if j in heads], axis=0)
    positions = source.copy()
    for j in FEET:
        if j in heads:
            positions[:, rb.J[j]] = heads[j]
    return {"error_cm": 100 * err, "tilt_deg": tilt, "floor_cm": (100 * low.min(), 100 * low.max()),
            "skating": foot_skating_ratio(positions, fps)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--motion", type=Path, default=ROOT / "tests" / "fixtures" / "bandai_walk_normal.bvh")
    args = parser.parse_args()

    import bpy

    from cadence.bench.metrics import foot_skating_ratio
    from cadence.blender.rig_import import import_rig
    from cadence.blender.rig_retarget import retarget_onto
    from cadence.motion.bone_map import CONFIDENCE, MAIN_JOINTS
    from cadence.motion.convert import load_canonical_motion

    import rig_builders as rb

    motion = load_canonical_motion(args.motion)
    source = motion.positions()
    up = source[:, rb.J["head"]] - source[:, rb.J["pelvis"]]
    src_tilt = np.degrees(np.arccos(np.clip(up[:, 2] / np.linalg.norm(up, axis=1), -1, 1))).max()
    src_low = source[:, [rb.J[j] for j in FEET], 2].min(axis=1)
    src_skate = foot_skating_ratio(source, motion.fps)
    print(f"motion: {args.motion.name}, {motion.num_frames} frames; source: upright within {src_tilt:.1f} deg, "
          f"lowest foot {100 * src_low.min():.1f}..{100 * src_low.max():.1f} cm, skating {src_skate:.3f}\n")
    print("| rig | mapped (to check) | error | upright | floor | skating | notes |")
    print("|---|---|---|---|---|---|---|")

    cases = [(spec.label, spec, None) for spec in rb.test_rigs()]
    cases.append(("cc_bvh_legs_up", rb.character_creator(), "bvh"))
    with tempfile.TemporaryDirectory() as tmp:
        for label, spec, kind in cases:
            bpy.ops.wm.read_factory_settings(use_empty=True)
            bpy.context.scene.render.fps = int(round(motion.fps))
            if kind == "bvh":
                path = Path(tmp) / "cc_character.bvh"
                path.write_text(rb.lying_zero_pose_bvh(spec), encoding="utf-8")
                obj = import_rig(path)
            else:
                obj = rb.build_object(bpy, spec, name="Character")
            result = retarget_onto(obj, motion)
            bm = result.bone_map
            body = [j for j in MAIN_JOINTS if j in bm.bones]
            by_shape = [j for j in body if bm.confidence.get(j, 1.0) < CONFIDENCE["name"]]
            joints = {j: bm.bones[j] for j in body}
            scale = result.pose.scale if kind == "bvh" else 1.0
            heads = evaluate(bpy, obj, joints, motion.num_frames, scale)
            if kind is None:  # object transform, data axes and units: back to canonical space
                heads = {j: spec.to_canonical_space(h) for j, h in heads.items()}
            on_joint = {j for j in body if np.allclose(spec.bones[spec.joints[j]][1], rb.P[rb.J[j]])
                        } if kind is None else {"left_ankle", "right_ankle", "left_wrist", "right_wrist"}
            fig = figures(heads, source, motion.fps, on_joint)
            notes = "; ".join(n for n in result.notes if n.startswith(("rest reference", "left alone", "names on")))
            if 0 < len(by_shape) <= 3:
                notes = f"to check: {', '.join(by_shape)}" + ("; " if notes else "") + notes
            print(f"| {label} | {len(body)}/22 ({len(by_shape)}) | {fig['error_cm']:.3f} cm | "
                  f"{fig['tilt_deg']:.1f} deg ({src_tilt:.1f}) | {fig['floor_cm'][0]:.1f}..{fig['floor_cm'][1]:.1f} cm "
                  f"({100 * src_low.min():.1f}..{100 * src_low.max():.1f}) | {fig['skating']:.3f} ({src_skate:.3f}) | "
                  f"{notes[:200]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
