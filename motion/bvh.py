"""BVH reading and writing.

Reads any hierarchy: any channel count and order per joint, End Sites, any frame time.
Units and axes are left as in the file (see :mod:`motion.convert` for cm/m and Y/Z-up
handling); rotations come out as quaternions in radians.

Malformed files raise :class:`BvhError` naming the line, so an animator can open the
file and see what is wrong.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CadenceError, LimitError
from ..limits import (
    MAX_BVH_CHANNELS,
    MAX_BVH_DEPTH,
    MAX_BVH_JOINTS,
    MAX_BVH_SAMPLES,
    MAX_BVH_VALUE,
    MAX_FRAMES,
    MAX_INPUT_BYTES,
    MAX_SOURCE_FPS,
    MIN_SOURCE_FPS,
    check_input_file,
)
from ..output_file import write_text
from . import rotations as rot
from .skeleton import Skeleton

_POS = ("Xposition", "Yposition", "Zposition")
_ROT = ("Xrotation", "Yrotation", "Zrotation")
_VALID_CHANNELS = set(_POS + _ROT)


class BvhError(CadenceError, ValueError):
    """A malformed BVH file; the message names the file and line."""


@dataclass
class Bvh:
    """A BVH file's content: the skeleton (file units), channels and raw MOTION values."""

    skeleton: Skeleton
    channels: list[tuple[str, ...]]  # per joint, as in the file
    frame_time: float
    values: np.ndarray  # (frames, total channel count), as in the file (degrees)

    @property
    def num_frames(self) -> int:
        return len(self.values)

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    def _columns(self) -> list[dict[str, int]]:
        cols, k = [], 0
        for chans in self.channels:
            cols.append({c: k + i for i, c in enumerate(chans)})
            k += len(chans)
        return cols

    def local_rotations(self) -> np.ndarray:
        """(frames, J, 4) quaternions from the rotation channels, in their file order."""
        t, j = self.num_frames, self.skeleton.num_joints
        q = rot.quat_identity((t, j))
        for joint, (chans, cols) in enumerate(zip(self.channels, self._columns())):
            order = "".join(c[0] for c in chans if c in _ROT)
            if not order:
                continue
            angles = np.radians(self.values[:, [cols[c + "rotation"] for c in order]])
            qj = rot.axis_rotation_quat(order[0], angles[:, 0])
            for k in range(1, len(order)):
                qj = rot.quat_mul(qj, rot.axis_rotation_quat(order[k], angles[:, k]))
            q[:, joint] = qj
        return q

    def local_translations(self) -> np.ndarray:
        """(frames, J, 3): position channels where present, rest offsets elsewhere."""
        tr = np.broadcast_to(self.skeleton.offsets,
                             (self.num_frames, self.skeleton.num_joints, 3)).copy()
        for joint, cols in enumerate(self._columns()):
            for axis, name in enumerate(_POS):
                if name in cols:
                    tr[:, joint, axis] = self.values[:, cols[name]]
        return tr


class _Tokens:
    """Whitespace tokens with their line numbers, for error messages."""

    def __init__(self, text: str, source: str):
        self.source = source
        self.items: list[tuple[str, int]] = []
        self.pos = 0
        self.motion_line: int | None = None
        self.rest: list[str] = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            words = line.split()
            if words and words[0].upper() == "MOTION":
                self.items.append(("MOTION", lineno))
                self.motion_line = lineno
                self.rest = text.splitlines()[lineno:]
                return
            self.items.extend((w, lineno) for w in words)

    def error(self, message: str, lineno: int | None = None) -> BvhError:
        if lineno is None:
            lineno = self.items[min(self.pos, len(self.items) - 1)][1] if self.items else 1
        return BvhError(f"{self.source}, line {lineno}: {message}")

    def next(self, expect: str | None = None) -> str:
        if self.pos >= len(self.items):
            raise self.error("unexpected end of file in HIERARCHY")
        word, lineno = self.items[self.pos]
        self.pos += 1
        if expect is not None and word.upper() != expect:
            raise self.error(f"expected {expect!r}, found {word!r}", lineno)
        return word

    def peek(self) -> str:
        return self.items[self.pos][0] if self.pos < len(self.items) else ""

    def number(self, limit: float | None = None) -> float:
        word = self.next()
        try:
            value = float(word)
        except ValueError:
            raise self.error(f"expected a number, found {word!r}") from None
        if not np.isfinite(value):
            raise self.error(f"non-finite number {word!r}")
        if limit is not None and abs(value) > limit:
            raise self.error(f"{word} is beyond the limit of {limit:g} (a damaged file?)")
        return value


def parse_bvh(text: str, source: str = "<bvh>") -> Bvh:
    """Parse BVH text. ``source`` names the file in error messages."""
    tok = _Tokens(text, source)
    if not tok.items:
        raise BvhError(f"{source}: empty file")
    tok.next("HIERARCHY")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[tuple[float, float, float]] = []
    channels: list[tuple[str, ...]] = []
    end_sites: dict[int, np.ndarray] = {}

    def read_offset() -> tuple[float, float, float]:
        tok.next("OFFSET")
        return (tok.number(MAX_BVH_VALUE), tok.number(MAX_BVH_VALUE), tok.number(MAX_BVH_VALUE))

    open_joints: list[int] = []  # joints whose '}' is still to come (no recursion)

    def start_joint(parent: int) -> None:
        name = tok.next()
        if name == "{":
            raise tok.error("joint has no name")
        if name in index_of:
            raise tok.error(f"duplicate joint name {name!r}")
        if len(names) >= MAX_BVH_JOINTS:
            raise tok.error(f"more than {MAX_BVH_JOINTS} joints: not a skeleton Cadence can use")
        if len(open_joints) >= MAX_BVH_DEPTH:
            raise tok.error(f"joints nested more than {MAX_BVH_DEPTH} deep: not a skeleton "
                            "Cadence can use")
        index = len(names)
        index_of[name] = index
        names.append(name)
        parents.append(parent)
        tok.next("{")
        offsets.append(read_offset())
        tok.next("CHANNELS")
        count_word = tok.next()
        if not count_word.isdigit():
            raise tok.error(f"expected a channel count, found {count_word!r}")
        if int(count_word) > MAX_BVH_CHANNELS:
            raise tok.error(f"joint {name!r}: {count_word} channels (at most {MAX_BVH_CHANNELS}: "
                            "three positions and three rotations)")
        chans = tuple(tok.next() for _ in range(int(count_word)))
        for c in chans:
            if c not in _VALID_CHANNELS:
                raise tok.error(f"joint {name!r}: unknown channel {c!r} "
                                f"(CHANNELS says {count_word}; is the count right?)")
        if len(set(chans)) != len(chans):
            raise tok.error(f"joint {name!r}: repeated channel")
        channels.append(chans)
        open_joints.append(index)

    index_of: dict[str, int] = {}
    tok.next("ROOT")
    start_joint(-1)
    while open_joints:
        current = open_joints[-1]
        word = tok.next()
        key = word.upper()
        if key == "JOINT":
            start_joint(current)
        elif key == "END":
            tok.next("SITE")
            tok.next("{")
            end_sites.setdefault(current, np.array(read_offset()))
            tok.next("}")
        elif key == "}":
            open_joints.pop()
        else:
            raise tok.error(f"unexpected {word!r} in joint {names[current]!r}")
    if tok.peek().upper() == "ROOT":
        raise tok.error("more than one ROOT is not supported")
    if tok.motion_line is None:
        raise BvhError(f"{source}: no MOTION section")
    if tok.peek().upper() != "MOTION":
        raise tok.error(f"unexpected {tok.peek()!r} after the hierarchy")

    lines = tok.rest
    base = tok.motion_line

    def header(i: int, key: str) -> str:
        if i >= len(lines):
            raise BvhError(f"{source}, line {base + i + 1}: missing '{key}' line")
        line = lines[i].strip()
        if not line.lower().startswith(key.lower()):
            raise BvhError(f"{source}, line {base + i + 1}: expected '{key}', found {line!r}")
        return line[len(key):].strip()

    try:
        num_frames = int(header(0, "Frames:"))
    except ValueError:
        raise BvhError(f"{source}, line {base + 1}: bad frame count") from None
    try:
        frame_time = float(header(1, "Frame Time:"))
    except ValueError:
        raise BvhError(f"{source}, line {base + 2}: bad frame time") from None
    if not frame_time > 0 or not np.isfinite(frame_time):
        raise BvhError(f"{source}, line {base + 2}: frame time must be positive")
    if not 1.0 / MAX_SOURCE_FPS <= frame_time <= 1.0 / MIN_SOURCE_FPS:
        raise BvhError(f"{source}, line {base + 2}: frame time {frame_time:g} s is outside "
                       f"{1.0 / MAX_SOURCE_FPS:g}-{1.0 / MIN_SOURCE_FPS:g} s "
                       f"({MIN_SOURCE_FPS:g}-{MAX_SOURCE_FPS:g} frames per second)")
    if num_frames < 1:
        raise BvhError(f"{source}, line {base + 1}: the frame count must be at least 1 "
                       f"(got {num_frames})")
    if num_frames > MAX_FRAMES:
        raise BvhError(f"{source}, line {base + 1}: {num_frames} frames; the limit is {MAX_FRAMES}")
    if num_frames * len(names) > MAX_BVH_SAMPLES:
        raise BvhError(f"{source}, line {base + 1}: {num_frames} frames of {len(names)} joints; the "
                       f"limit is {MAX_BVH_SAMPLES} frames x joints (split the take)")
    width = sum(len(c) for c in channels)
    data_lines = [ln for ln in lines[2:]]
    # Drop trailing blank lines only.
    while data_lines and not data_lines[-1].strip():
        data_lines.pop()
    if len(data_lines) < num_frames:
        raise BvhError(f"{source}, line {base + 3 + len(data_lines)}: truncated motion: "
                       f"header says {num_frames} frames, file has {len(data_lines)}")
    data_lines = data_lines[:num_frames]
    values = np.empty((num_frames, width))
    flat = " ".join(data_lines).split()
    if len(flat) == num_frames * width:
        try:
            values = np.array(flat, dtype=np.float64).reshape(num_frames, width)
        except ValueError:
            values = None
    else:
        values = None
    if values is None or not np.all(np.abs(values) <= MAX_BVH_VALUE):  # NaN fails too
        # Slow path only to find and name the bad line.
        for i, line in enumerate(data_lines):
            words = line.split()
            where = f"{source}, line {base + 3 + i}"
            if len(words) != width:
                raise BvhError(f"{where}: expected {width} values (the hierarchy's channels), "
                               f"found {len(words)}")
            try:
                row = np.array(words, dtype=np.float64)
            except ValueError:
                raise BvhError(f"{where}: not a number in the motion data") from None
            if not np.all(np.isfinite(row)):
                raise BvhError(f"{where}: NaN or infinite value in the motion data")
            if not np.all(np.abs(row) <= MAX_BVH_VALUE):
                raise BvhError(f"{where}: a value beyond the limit of {MAX_BVH_VALUE:g} "
                               "in the motion data (a damaged file?)")
        raise BvhError(f"{source}: malformed motion data")  # pragma: no cover
    skeleton = Skeleton(tuple(names), tuple(parents), np.array(offsets), end_sites)
    return Bvh(skeleton, channels, frame_time, values)


def read_bvh(path: str | Path) -> Bvh:
    path = Path(path)
    try:
        try:
            check_input_file(path, "BVH", MAX_INPUT_BYTES)
        except LimitError as exc:
            raise BvhError(str(exc)) from None
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BvhError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_bvh(text, source=str(path))


def format_bvh(skeleton: Skeleton, rotations: np.ndarray, root_positions: np.ndarray,
               fps: float, order: str = "ZXY", precision: int = 6,
               joint_positions: dict[int, np.ndarray] | None = None) -> str:
    """BVH text: root with 6 channels, other joints 3 rotation channels in ``order``.

    ``rotations`` (T, J, 4) local quaternions, ``root_positions`` (T, 3), both in the
    skeleton's units and axes. ``joint_positions`` gives non-root joints position
    channels too: joint -> (T, 3) translation in the parent's frame (it replaces the
    OFFSET while playing, as :meth:`Bvh.local_translations` reads it).
    """
    order = order.upper()
    joint_positions = {j: np.asarray(v, dtype=float) for j, v in (joint_positions or {}).items()
                       if skeleton.parents[j] >= 0}
    rot_chans = " ".join(f"{c}rotation" for c in order)
    children = {j: skeleton.children(j) for j in range(skeleton.num_joints)}
    out: list[str] = ["HIERARCHY"]

    def fmt(v: np.ndarray) -> str:
        return " ".join(f"{x:.{precision}f}" for x in v)

    def write(j: int, depth: int) -> None:
        ind = "  " * depth
        kind = "ROOT" if skeleton.parents[j] < 0 else "JOINT"
        out.append(f"{ind}{kind} {skeleton.names[j]}")
        out.append(f"{ind}{{")
        out.append(f"{ind}  OFFSET {fmt(skeleton.offsets[j])}")
        if skeleton.parents[j] < 0 or j in joint_positions:
            out.append(f"{ind}  CHANNELS 6 Xposition Yposition Zposition {rot_chans}")
        else:
            out.append(f"{ind}  CHANNELS 3 {rot_chans}")
        for c in children[j]:
            write(c, depth + 1)
        if not children[j]:
            end = skeleton.end_sites.get(j)
            if end is None:
                p = skeleton.parents[j]
                bone = skeleton.offsets[j] if p >= 0 else np.array([0.0, 0.0, 1.0])
                end = bone / max(np.linalg.norm(bone), 1e-9) * 0.3 * np.linalg.norm(bone)
            out.append(f"{ind}  End Site")
            out.append(f"{ind}  {{")
            out.append(f"{ind}    OFFSET {fmt(end)}")
            out.append(f"{ind}  }}")
        out.append(f"{ind}}}")

    for root in (j for j, p in enumerate(skeleton.parents) if p < 0):
        write(root, 0)
    euler = np.degrees(rot.quat_to_euler(rotations, order))
    # Keep angles continuous over time so curves do not jump by 360 degrees.
    euler = np.degrees(np.unwrap(np.radians(euler), axis=0))
    # Channel order in the data follows the hierarchy's depth-first order.
    dfs: list[int] = []

    def visit(j: int) -> None:
        dfs.append(j)
        for c in children[j]:
            visit(c)

    for root in (j for j, p in enumerate(skeleton.parents) if p < 0):
        visit(root)
    cols = []
    for j in dfs:
        if skeleton.parents[j] < 0:
            cols.append(root_positions)
        elif j in joint_positions:
            cols.append(joint_positions[j])
        cols.append(euler[:, j])
    data = np.concatenate(cols, axis=1)
    out.append("MOTION")
    out.append(f"Frames: {len(data)}")
    out.append(f"Frame Time: {1.0 / fps:.8f}")
    line_fmt = " ".join([f"%.{precision}f"] * data.shape[1])
    out.extend(line_fmt % tuple(row) for row in data)
    return "\n".join(out) + "\n"


def write_bvh(path: str | Path, skeleton: Skeleton, rotations: np.ndarray,
              root_positions: np.ndarray, fps: float, order: str = "ZXY",
              joint_positions: dict[int, np.ndarray] | None = None) -> None:
    """Write atomically (``output_file.py``): a failed write leaves no partial file
    behind, and a folder, device or pipe at ``path`` is refused, never replaced."""
    text = format_bvh(skeleton, rotations, root_positions, fps, order,
                      joint_positions=joint_positions)
    write_text(path, text, what="", example="out.bvh")
