#!/usr/bin/env python3
"""Speed of SMPL-X interop, printed, not asserted.

    OMP_NUM_THREADS=1 .venv/bin/python bench/smplx_speed.py [--minutes 10] [--body]

- read (``load_smplx_motion``: parse, change of basis, upright check, floor) and write
  (``save_smplx_motion``) of an AMASS-style SMPL-X take of ``--minutes`` at 120 fps,
  median of 3, as frames per second of work;
- with ``--body`` (needs bpy): building the SMPL-X body in Blender from a synthetic model
  of the real size (10475 vertices, 20908 faces, 400 shape + expression components, four
  skinning weights per vertex) with 100 expression shape keys, once.

The synthetic data is random: speed only, nothing here is a real capture or model.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import _bootstrap

from cadence.bench.timing import timed
from cadence.motion.skeleton import PARENTS
from cadence.motion.smplx_format import load_smplx_motion
from cadence.motion.smplx_write import save_smplx_motion

VERTICES, FACES, COMPONENTS = 10475, 20908, 400


def amass_take(path: Path, frames: int) -> Path:
    rng = np.random.default_rng(0)
    poses = rng.normal(scale=0.2, size=(frames, 165))
    poses[:, :3] = [np.pi / 2, 0.0, 0.0]  # standing, Z up
    with open(path, "wb") as f:
        np.savez(f, poses=poses, trans=np.cumsum(rng.normal(scale=0.01, size=(frames, 3)), 0),
                 mocap_frame_rate=np.array(120.0), gender=np.array("neutral"), betas=np.zeros(16))
    return path


def synthetic_full_size_model(folder: Path) -> Path:
    rng = np.random.default_rng(1)
    weights = np.zeros((VERTICES, 55))
    for _ in range(4):
        weights[np.arange(VERTICES), rng.integers(0, 55, VERTICES)] += rng.uniform(0.1, 1, VERTICES)
    weights /= weights.sum(1, keepdims=True)
    regressor = rng.uniform(size=(55, VERTICES)) * (rng.uniform(size=(55, VERTICES)) > 0.99)
    regressor /= regressor.sum(1, keepdims=True)
    kintree = np.array([[2 ** 32 - 1 if p < 0 else p for p in PARENTS], list(range(55))],
                       dtype=np.uint32)
    path = folder / "SMPLX_NEUTRAL.npz"
    with open(path, "wb") as f:
        np.savez(f, v_template=rng.normal(scale=0.3, size=(VERTICES, 3)),
                 shapedirs=rng.normal(scale=1e-3, size=(VERTICES, 3, COMPONENTS)),
                 J_regressor=regressor, weights=weights, kintree_table=kintree,
                 f=rng.integers(0, VERTICES, size=(FACES, 3)).astype(np.uint32))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--body", action="store_true")
    args = parser.parse_args()
    frames = int(args.minutes * 60 * 120)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        take = amass_take(tmp / "take.npz", frames)
        read = statistics.median(timed(lambda: load_smplx_motion(take), 3))
        motion = load_smplx_motion(take).motion
        write = statistics.median(timed(lambda: save_smplx_motion(tmp / "out.npz", motion), 3))
        print(f"{frames} frames ({args.minutes:g} min at 120 fps): read {read:.2f} s "
              f"({frames / read:,.0f} frames/s), write {write:.2f} s ({frames / write:,.0f} frames/s)")
        if args.body:
            import bpy

            from cadence.blender.smplx_body import build_smplx_body
            from cadence.motion.smplx_model import load_smplx_model
            bpy.ops.wm.read_factory_settings(use_empty=True)
            t0 = time.perf_counter()
            model = load_smplx_model(synthetic_full_size_model(tmp))
            t1 = time.perf_counter()
            build_smplx_body(model, np.zeros(10), 100)
            t2 = time.perf_counter()
            print(f"model read {t1 - t0:.2f} s; body build ({VERTICES} vertices, 100 expression "
                  f"keys) {t2 - t1:.2f} s")


if __name__ == "__main__":
    main()
