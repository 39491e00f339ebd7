"""Register time of the extension: importing Cadence's Blender modules and registering
its classes, in a fresh process each run (bpy, numpy and Blender's own UI modules
``bl_ui``/``bl_operators`` are imported first and not counted: Blender has them loaded
before any add-on). Target: <= 0.3 s, and no onnxruntime import.

    .venv/bin/python bench/register_time.py [--runs 5]

Prints the median and worst run; exits 1 when the median is over the limit or when
registering imported onnxruntime (or tokenizers, torch).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT_S = 0.3
HEAVY = ("onnxruntime", "tokenizers", "torch")

CHILD = r"""
import json, sys, time
import bpy  # loaded by Blender before add-ons: not counted
import bl_ui, bl_operators  # Blender's own UI, also loaded before add-ons (not by the bpy module)
sys.path.insert(0, {cli!r})
from _package import load_package
from pathlib import Path
t0 = time.perf_counter()
pkg = load_package(Path({root!r}))
import cadence.registration
t1 = time.perf_counter()
pkg.register()
t2 = time.perf_counter()
pkg.unregister()
print(json.dumps({{"import_s": t1 - t0, "register_s": t2 - t1, "total_s": t2 - t0,
                  "heavy": [m for m in {heavy!r} if m in sys.modules],
                  "numpy_counted": True}}))
"""


def one_run() -> dict:
    code = CHILD.format(cli=str(ROOT / "cli"), root=str(ROOT), heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    runs = [one_run() for _ in range(args.runs)]
    totals = [r["total_s"] for r in runs]
    median = statistics.median(totals)
    heavy = sorted({m for r in runs for m in r["heavy"]})
    print(f"import + register over {args.runs} fresh processes: median {median * 1000:.0f} ms, "
          f"worst {max(totals) * 1000:.0f} ms (register() alone: "
          f"{statistics.median(r['register_s'] for r in runs) * 1000:.1f} ms); limit {LIMIT_S * 1000:.0f} ms")
    print("heavy modules imported: " + (", ".join(heavy) if heavy else "none"))
    return 0 if median <= LIMIT_S and not heavy else 1


if __name__ == "__main__":
    sys.exit(main())
