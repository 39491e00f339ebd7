"""Shared by the test_hardening_*.py files (issue 21's cases): the fixture files, the
one-line error check, and hostile inputs built by hand (BVH text, an .npz whose header
lies)."""
import io
import zipfile

import numpy as np

from conftest import FIXTURES

WALK = FIXTURES / "bandai_walk_normal.bvh"
SPEECH = FIXTURES / "facegood_1114_2_05_slice.flac"


def one_error_line(err: str, command: str) -> bool:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    return (len(lines) >= 1 and lines[-1].startswith(f"cadence {command}: error: ")
            and "Traceback" not in err)


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def bvh_text(joints: str = "", frames: str = "1", frame_time: str = "0.0333333",
             data: str = "0 0 0 0 0 0", offset: str = "0 0 0") -> str:
    return (f"HIERARCHY\nROOT Hips\n{{\n OFFSET {offset}\n CHANNELS 6 Xposition Yposition Zposition "
            f"Zrotation Xrotation Yrotation\n{joints} End Site\n {{\n  OFFSET 0 1 0\n }}\n}}\n"
            f"MOTION\nFrames: {frames}\nFrame Time: {frame_time}\n{data}\n")


def deep_hierarchy(depth: int) -> str:
    opening = "".join(f"JOINT j{i}\n{{\nOFFSET 0 1 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n"
                      for i in range(depth))
    return opening + "}\n" * depth


def npz_with_header(path, key: str, shape: tuple, dtype="<f8") -> None:
    """An .npz whose array header claims ``shape`` but holds a few bytes: a decompression
    bomb as far as a loader that trusts the header is concerned."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{key}.npy", buf.getvalue() + b"\0" * 64)
