"""Contact sheets: rendered frames tiled into one picture (numpy only)."""
from __future__ import annotations

import numpy as np


def tile(frames: list[np.ndarray], columns: int, gap: int = 4,
         background: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)) -> np.ndarray:
    """Tile same-size images (H, W, C), row by row, ``columns`` to a row, ``gap`` pixels
    of ``background`` between them and around the edge. Rows are top to bottom in
    reading order (index 0 of the result is the top row); a short last row is left
    blank on the right."""
    if not frames:
        raise ValueError("no frames to tile")
    if columns < 1:
        raise ValueError("columns must be at least 1")
    h, w, c = frames[0].shape
    if any(f.shape != (h, w, c) for f in frames):
        raise ValueError("all frames must have the same size")
    if len(background) != c:
        raise ValueError(f"background needs {c} channels")
    rows = -(-len(frames) // columns)
    cols = min(columns, len(frames))
    out = np.empty((rows * h + (rows + 1) * gap, cols * w + (cols + 1) * gap, c), frames[0].dtype)
    out[...] = np.asarray(background, dtype=out.dtype)
    for k, f in enumerate(frames):
        r, q = divmod(k, columns)
        y, x = gap + r * (h + gap), gap + q * (w + gap)
        out[y:y + h, x:x + w] = f
    return out


def evenly_spaced(first: int, last: int, count: int) -> list[int]:
    """``count`` whole frame numbers from ``first`` to ``last`` inclusive, evenly spread."""
    if count < 1:
        raise ValueError("count must be at least 1")
    if count == 1:
        return [int(round((first + last) / 2))]
    return [int(round(f)) for f in np.linspace(first, last, count)]


def encode_png(pixels: np.ndarray, levels: int | None = 32) -> bytes:
    """(height, width, 3 or 4) floats in 0..1, top row first -> the bytes of an 8-bit RGB
    PNG (alpha dropped). ``levels`` per channel (None: 256) posterises the picture:
    renders' smooth gradients compress about 3x better at 32 levels, with no visible
    banding on flat-shaded previews."""
    import struct
    import zlib

    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError("pixels must be (height, width, 3 or 4)")
    rgb = np.clip(pixels[..., :3], 0.0, 1.0) * 255.0
    if levels is not None:
        if not 2 <= levels <= 256:
            raise ValueError("levels must be between 2 and 256")
        step = 256.0 / levels
        rgb = np.floor(rgb / step) * step + step / 2
    rgb = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    h, w = rgb.shape[:2]
    rows = rgb.reshape(h, w * 3).astype(np.int16)
    up = np.diff(rows, axis=0, prepend=np.zeros((1, w * 3), np.int16)).astype(np.uint8)  # filter 2
    raw = np.concatenate([np.full((h, 1), 2, np.uint8), up], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit truecolour, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def write_png(path, pixels: np.ndarray, levels: int | None = 32):
    """:func:`encode_png` to a file (parent folders created); returns the path."""
    from pathlib import Path

    path = Path(path).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    from ..output_file import write_bytes

    write_bytes(path, encode_png(pixels, levels), what="", example="sheet.png")
    return path
