#!/usr/bin/env python3
"""Cost of driving a face split over several meshes (issue 24: Generate Face drives every
ARKit mesh of the character), printed, not asserted.

    .venv/bin/python bench/face_meshes_speed.py [--seconds 60] [--repeats 5]

Builds a Ready Player Me-like character in headless Blender (an armature; a head with
the 52 ARKit keys and 4 RPM visemes; teeth with jawOpen, mouthClose, mouthSmile; two eye
meshes on the head bone with eyeLook*/eyeBlink*; lashes deformed by the armature with
``EyeBlink_L/R``; a prop with non-ARKit keys) and times, median of ``--repeats``:

- finding the meshes (``face_meshes``: the panel does it on every redraw), with the
  name matching cached (a redraw) and afresh;
- baking ``--seconds`` of face animation at 30 fps on the head alone and on all five
  meshes (``bake_face_meshes``), and the difference per extra mesh and per F-Curve.
"""
from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np

import _bootstrap

from cadence.bench.timing import timed
from cadence.face.animation import FaceAnimation
from cadence.face.arkit import ARKIT_NAMES

EYES = ["eyeBlinkLeft", "eyeBlinkRight"] + [f"eyeLook{d}{s}" for s in ("Left", "Right")
                                            for d in ("Down", "In", "Out", "Up")]
MESHES = {
    "Wolf3D_Head": list(ARKIT_NAMES) + ["viseme_aa", "viseme_PP", "mouthOpen", "mouthSmile"],
    "Wolf3D_Teeth": ["jawOpen", "mouthClose", "mouthOpen", "mouthSmile", "viseme_aa"],
    "EyeLeft": EYES, "EyeRight": EYES,
    "Lashes": ["EyeBlink_L", "EyeBlink_R", "Curl"],
    "Prop": ["Open", "Fold"],
}


def build(bpy):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = 30
    arm = bpy.data.objects.new("Armature", bpy.data.armatures.new("Armature"))
    scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode='EDIT')
    bone = arm.data.edit_bones.new("Head")
    bone.head, bone.tail = (0, 0, 1.6), (0, 0, 1.8)
    bpy.ops.object.mode_set(mode='OBJECT')
    objs = {}
    for name, keys in MESHES.items():
        data = bpy.data.meshes.new(name)
        data.from_pydata([(0, 0, 0), (1, 0, 0), (1, 0, 1), (0, 0, 1)], [], [(0, 1, 2, 3)])
        obj = objs[name] = bpy.data.objects.new(name, data)
        scene.collection.objects.link(obj)
        obj.shape_key_add(name="Basis")
        for k in keys:
            obj.shape_key_add(name=k, from_mix=False)
        if name.startswith("Eye"):
            obj.parent, obj.parent_type, obj.parent_bone = arm, 'BONE', "Head"
        elif name != "Lashes":
            obj.parent = arm
        if name != "Prop" and not name.startswith("Eye"):
            obj.modifiers.new("Armature", 'ARMATURE').object = arm
    return arm, objs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import bpy

    import cadence
    cadence.register()
    from cadence.blender.face_meshes import _match, bake_face_meshes, face_meshes

    frames = int(args.seconds * 30)
    rng = np.random.default_rng(0)
    anim = FaceAnimation(rng.random((frames, len(ARKIT_NAMES))).astype(np.float32), None, None, 30.0)

    arm, objs = build(bpy)
    head = objs["Wolf3D_Head"]
    meshes = face_meshes(head, [], bpy.context.scene)
    names = [m.obj.name for m in meshes]
    curves = {m.obj.name: len(m.key_map.sources_by_key()) for m in meshes}
    print(f"character: {len(objs)} meshes, driven: {', '.join(f'{n} ({curves[n]} keys)' for n in names)}")
    find = statistics.median(timed(lambda: face_meshes(head, [], bpy.context.scene), args.repeats * 20))

    def cold():
        _match.cache_clear()
        face_meshes(head, [], bpy.context.scene)
    first = statistics.median(timed(cold, args.repeats * 4))
    print(f"finding the meshes: {find * 1e3:.2f} ms (key matches cached, as on a redraw), "
          f"{first * 1e3:.2f} ms (matching the names afresh)")

    def bake(subset):
        def run():
            for m in subset:                  # a fresh Action each time; drop the last ones
                ad = m.obj.data.shape_keys.animation_data
                if ad is not None and ad.action is not None:
                    old, ad.action = ad.action, None
                    bpy.data.actions.remove(old)
            bake_face_meshes(subset, anim, start_frame=1)
        return statistics.median(timed(run, args.repeats))

    one = bake(meshes[:1])
    every = bake(meshes)
    extra = len(meshes) - 1
    extra_curves = sum(curves[n] for n in names[1:])
    print(f"bake {frames} frames ({args.seconds:g} s at 30 fps): head alone {one * 1e3:.0f} ms "
          f"({curves[names[0]]} F-Curves), all {len(meshes)} meshes {every * 1e3:.0f} ms "
          f"({sum(curves.values())} F-Curves)")
    print(f"per extra mesh: {(every - one) / extra * 1e3:.1f} ms; per F-Curve: "
          f"{one / curves[names[0]] * 1e3:.2f} ms (head), {(every - one) / extra_curves * 1e3:.2f} ms (others)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
