"""Scene-level helpers: empty files for command-line runs, fps, frame range, saving."""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

import bpy

from ..errors import OutputError, one_line
from ..output_file import temporary_beside


def reset_to_empty_file() -> bpy.types.Scene:
    """Start from factory settings with no objects, so a CLI run does not depend on the
    user's startup file; returns the (only) scene."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene


def set_scene_fps(scene: bpy.types.Scene, fps: float) -> None:
    """Blender stores fps as an integer and a divisor: 29.97 becomes 30 / 1.001."""
    rounded = max(1, int(round(fps)))
    scene.render.fps = rounded
    scene.render.fps_base = rounded / fps


def scene_fps(scene: bpy.types.Scene) -> float:
    return scene.render.fps / scene.render.fps_base


def set_frame_range(scene: bpy.types.Scene, start: int, end: int) -> None:
    # Blender pushes frame_end up to a later frame_start, so start then end is safe.
    scene.frame_start = start
    scene.frame_end = end


def save_blend(path: str | Path, inputs=()) -> Path:
    """Save the current scene to ``path`` (absolute; parent folders created) safely:
    Blender writes a copy to a temporary file beside it (``output_file.py``), the copy is
    checked (:func:`verify_blend`: the header and the end of the file, so a full disk or
    a cut-off write is caught), and only then renamed over ``path``. A folder, device or
    one of ``inputs`` at ``path`` is refused. The current file's own path is unchanged."""
    path = Path(path).expanduser().resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {path.parent}: {exc.strerror or exc}") from None
    with temporary_beside(path, inputs=inputs, what="", example="scene.blend", suffix=".blend") as tmp:
        tmp.unlink()  # the name stays reserved; an existing file would get a .blend1 backup
        try:
            # Blender announces the temporary name ("Saved copy as .scene.blend.x.blend"):
            # kept back unless the save fails
            with held_output(keep_on_success=False, keep_on_failure=True):
                result = bpy.ops.wm.save_as_mainfile(filepath=str(tmp), copy=True)
        except RuntimeError as exc:
            raise OutputError(f"cannot save {path}: {one_line(exc)}") from None
        finally:
            for extra in ("@", "1"):  # Blender's own partial file and backup
                Path(str(tmp) + extra).unlink(missing_ok=True)
        if "FINISHED" not in result:
            raise OutputError(f"cannot save {path}: Blender did not write it")
        verify_blend(tmp, shown=path)
    return path


@contextlib.contextmanager
def held_output(keep_on_success: bool = True, keep_on_failure: bool = True):
    """Hold back what Blender prints to the process's stdout and stderr (its C code and
    operators write there directly) during the block, then pass it on or drop it."""
    streams = ((1, sys.stdout), (2, sys.stderr))
    try:
        for _, stream in streams:
            stream.flush()
        saved = [(fd, stream, os.dup(fd)) for fd, stream in streams]
    except (OSError, ValueError, AttributeError):  # no real file descriptors (tests, IDEs)
        yield
        return
    held = [tempfile.TemporaryFile() for _ in saved]
    failed = True
    try:
        for (fd, _, _), file in zip(saved, held):
            os.dup2(file.fileno(), fd)
        yield
        failed = False
    finally:
        for (fd, stream, copy), file in zip(saved, held):
            os.dup2(copy, fd)
            os.close(copy)
            if keep_on_failure if failed else keep_on_success:
                file.seek(0)
                stream.write(file.read().decode("utf-8", "replace"))
                stream.flush()
            file.close()


ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
SEEKABLE_MAGIC = b"\xb1\xea\x92\x8f"   # zstd seekable format's footer (Blender's compression)
SKIPPABLE_MAGIC = b"\x5e\x2a\x4d\x18"


def verify_blend(path: str | Path, shown: str | Path | None = None) -> None:
    """Raise OutputError unless ``path`` is a complete .blend: a ``BLENDER`` header and
    the ``ENDB`` block at the end, or for a compressed file the zstd magic and a seek
    table whose frame sizes add up to the file's size."""
    shown = shown or path
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            head = handle.read(16)
            handle.seek(max(0, size - 4096))
            tail = handle.read()
    except OSError as exc:
        raise OutputError(f"cannot check the saved {shown}: {exc.strerror or exc}") from None
    bad = f"the saved {shown} is incomplete or damaged ({size} bytes; is the disk full?)"
    if head.startswith(b"BLENDER"):
        if b"ENDB" not in tail[-64:]:
            raise OutputError(bad)
        return
    if not head.startswith(ZSTD_MAGIC) or not tail.endswith(SEEKABLE_MAGIC) or len(tail) < 17:
        raise OutputError(bad)
    frames = int.from_bytes(tail[-9:-5], "little")
    entry = 12 if tail[-5] & 0x80 else 8
    table = 8 + frames * entry + 9
    if table > size:
        raise OutputError(bad)
    try:
        with open(path, "rb") as handle:
            handle.seek(size - table)
            data = handle.read(table)
    except OSError as exc:
        raise OutputError(f"cannot check the saved {shown}: {exc.strerror or exc}") from None
    if data[:4] != SKIPPABLE_MAGIC:
        raise OutputError(bad)
    compressed = sum(int.from_bytes(data[8 + i * entry:12 + i * entry], "little") for i in range(frames))
    if compressed != size - table:
        raise OutputError(bad)
