"""A path on the ground for the character to walk (issue 22), bpy-free.

Points are metres in Blender's axes (Z up, the character's default forward is -Y), on
the ground plane: (x, y). ``times`` (optional, seconds, one per point) say when the
character passes each point (a point given twice with two times is a stop there);
without them it walks at its own pace. ``facing`` (optional, a point) is what the
character faces on arrival: the path's last stretch is bent to head at it. The path is read by
arc length; the facing along it is the tangent's direction, smoothed over about a
stride so a polyline's corners become turns rather than snaps.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CadenceError

MAX_POINTS = 10_000
MAX_COORDINATE = 10_000.0  # metres: a path this far from the origin is a unit mistake
MAX_TIME = 3600.0          # seconds
MIN_LENGTH = 0.05          # metres: shorter is "stand here", not a path
MAX_FILE_BYTES = 8 << 20  # a path file (8 MiB: 10,000 points with times fit in 1)
CORNER_RADIUS = 0.35       # metres: polyline corners are walked as arcs this tight (at most)
TURN_SMOOTHING = 0.6       # metres of path over which the facing is averaged
APPROACH = 1.4             # metres: the straight last stretch that arrives facing a point
TAIL = 2.5                 # metres of the drawn path before its end that make way for that stretch
FACING_TOLERANCE_DEG = 10.0  # a path already arriving this close to the facing is left as drawn
U_TURN_DEG = 120.0         # a point to face further round than this is reached by swinging out


class PathError(CadenceError, ValueError):
    """A path that cannot be walked, with what is wrong with it."""


def heading_of(direction: np.ndarray) -> np.ndarray:
    """Heading angle (rad, motion/representation.py's: the yaw of the character's left
    axis) of a character facing ``direction`` (..., 2); 0 faces -Y."""
    d = np.asarray(direction, dtype=float)
    return np.arctan2(d[..., 0], -d[..., 1])


@dataclass
class GroundPath:
    points: np.ndarray              # (N, 2) metres (repeated points dropped)
    times: np.ndarray | None = None  # (N,) seconds, increasing, one per given point
    facing: np.ndarray | None = None  # (2,) a point to face on arrival (the last stretch turns to it)

    def __post_init__(self) -> None:
        pts = np.asarray(self.points, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise PathError(f"path points must be [x, y] pairs, got an array of shape {pts.shape}")
        if not 2 <= len(pts) <= MAX_POINTS:
            raise PathError(f"a path needs 2 to {MAX_POINTS} points, got {len(pts)}")
        if not np.all(np.isfinite(pts)) or np.abs(pts).max() > MAX_COORDINATE:
            raise PathError(f"path points must be finite metres within {MAX_COORDINATE:g} of the origin")
        times = None if self.times is None else np.asarray(self.times, dtype=float)
        if times is not None:
            if times.shape != (len(pts),):
                raise PathError(f"give one time per point: {len(pts)} points, {times.size} times")
            if not np.all(np.isfinite(times)) or times.min() < 0 or times.max() > MAX_TIME:
                raise PathError(f"path times must be seconds from 0 to {MAX_TIME:g}")
            if np.any(np.diff(times) <= 0):
                raise PathError("path times must increase from point to point")
        self._given, self._given_times = pts, times  # as given (a stop repeats a point), for to_dict
        if self.facing is not None:
            self.facing = np.asarray(self.facing, dtype=float)
            pts, times = _arrive_facing(pts, times, self.facing)
        seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
        keep = np.concatenate([[True], seg > 1e-6])  # repeated points add no geometry
        if times is not None:
            # A point given twice with two times is a stop: the arc length stays put.
            self._time_arc = np.concatenate([[0.0], np.cumsum(seg)])
        self.points, self.times = pts[keep], times
        self.drawn_cumulative = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(self.points, axis=0),
                                                                                  axis=1))])
        drawn = float(self.drawn_cumulative[-1])
        # The walked line: the drawn one with its corners rounded (a walker cannot pivot
        # on a point; its feet would slide through a polyline's corner).
        self._walk = _rounded(self.points, CORNER_RADIUS)
        self.cumulative = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(self._walk, axis=0), axis=1))])
        if times is not None:  # the times are given for the drawn line: scale to the walked one
            self._time_arc = self._time_arc * (self.cumulative[-1] / max(drawn, 1e-9))
        if self.length < MIN_LENGTH:
            raise PathError(f"the path is {self.length * 100:.0f} cm long: give points at least "
                            f"{MIN_LENGTH * 100:.0f} cm apart")
        self._headings = self._smoothed_headings()

    @property
    def length(self) -> float:
        return float(self.cumulative[-1])

    @property
    def duration(self) -> float | None:
        """Seconds from the first to the last time, or None for a path without times."""
        return None if self.times is None else float(self.times[-1])

    def steady(self, seconds: float) -> GroundPath:
        """This path (without times) walked at a steady pace in ``seconds``."""
        if not seconds > 0:
            raise PathError("the path needs a duration above 0 s to walk it in")
        return GroundPath(self.points, seconds * self.drawn_cumulative / self.drawn_cumulative[-1])

    def point_at(self, s: np.ndarray) -> np.ndarray:
        """(..., 2) points at arc lengths ``s`` (clamped to the path)."""
        s = np.clip(np.asarray(s, dtype=float), 0.0, self.length)
        return np.stack([np.interp(s, self.cumulative, self._walk[:, k]) for k in range(2)], axis=-1)

    def heading_at(self, s: np.ndarray) -> np.ndarray:
        """Facing along the path at arc lengths ``s`` (rad, unwrapped: continuous)."""
        s = np.clip(np.asarray(s, dtype=float), 0.0, self.length)
        return np.interp(s, self._grid, self._headings)

    def arc_length_at(self, t: np.ndarray) -> np.ndarray:
        """For a path with times: arc length reached at times ``t`` (held before the first
        and after the last time)."""
        if self.times is None:
            raise PathError("this path has no times")
        return np.interp(np.asarray(t, dtype=float), self.times, self._time_arc)

    def _smoothed_headings(self) -> np.ndarray:
        step = min(0.02, self.length / 50)
        self._grid = np.linspace(0.0, self.length, max(2, int(math.ceil(self.length / step)) + 1))
        seg = np.searchsorted(self.cumulative, self._grid, side="right") - 1
        seg = np.clip(seg, 0, len(self._walk) - 2)
        raw = np.unwrap(heading_of(np.diff(self._walk, axis=0)))[seg]
        half = max(1, int(round(0.5 * TURN_SMOOTHING / (self._grid[1] - self._grid[0]))))
        padded = np.concatenate([np.full(half, raw[0]), raw, np.full(half, raw[-1])])
        kernel = np.ones(2 * half + 1) / (2 * half + 1)
        return np.convolve(padded, kernel, mode="valid")

    def distance_to(self, xy: np.ndarray) -> np.ndarray:
        """Distance (m) of points (..., 2) to the nearest point of the path."""
        xy = np.asarray(xy, dtype=float)
        a, b = self.points[:-1], self.points[1:]
        ab = b - a
        t = np.clip(np.einsum("...kd,kd->...k", xy[..., None, :] - a, ab) / np.sum(ab * ab, axis=1), 0.0, 1.0)
        nearest = a + t[..., None] * ab
        return np.linalg.norm(xy[..., None, :] - nearest, axis=-1).min(axis=-1)

    def to_dict(self) -> dict:
        """The JSON form ``from_dict`` reads."""
        out = {"points": self._given.tolist()}
        if self._given_times is not None:
            out["times"] = self._given_times.tolist()
        if self.facing is not None:
            out["facing"] = self.facing.tolist()
        return out

    @classmethod
    def from_dict(cls, data: object, where: str = "path") -> GroundPath:
        """``{"points": [[x, y], ...], "times": [t, ...], "facing": [x, y]}`` (times and
        facing optional)."""
        if not isinstance(data, dict) or "points" not in data:
            raise PathError(f'{where}: expected {{"points": [[x, y], ...], "times": [t, ...]}}')
        unknown = set(data) - {"points", "times", "facing"}
        if unknown:
            raise PathError(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))} "
                            "(expected points, times, facing)")
        facing = data.get("facing")
        if facing is not None and not (isinstance(facing, list) and len(facing) == 2
                                       and all(_is_number(v) for v in facing)):
            raise PathError(f"{where}: facing must be an [x, y] point to face on arrival (metres)")
        points, times = data["points"], data.get("times")
        if not isinstance(points, list) or len(points) > MAX_POINTS or not all(
                isinstance(p, list) and len(p) == 2 and all(_is_number(v) for v in p) for p in points):
            raise PathError(f"{where}: points must be a list of [x, y] numbers (at most {MAX_POINTS})")
        if times is not None and (not isinstance(times, list) or not all(_is_number(v) for v in times)):
            raise PathError(f"{where}: times must be a list of numbers (seconds)")
        try:
            return cls(np.array(points, dtype=float).reshape(-1, 2), None if times is None else np.array(times, float),
                       None if facing is None else np.array(facing, float))
        except PathError as exc:
            raise PathError(f"{where}: {exc}") from None

    @classmethod
    def load(cls, path: str | Path) -> GroundPath:
        from ..limits import check_input_file
        path = Path(path)
        try:
            check_input_file(path, "path file", MAX_FILE_BYTES)  # a pipe or a huge file: refused unread
            data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
            if isinstance(exc, PathError):
                raise
            raise PathError(f"cannot read path file {path.name}: {exc}") from None
        return cls.from_dict(data, path.name)


def _arrive_facing(points: np.ndarray, times: np.ndarray | None, facing: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray | None]:
    """The path's points (and times) with its last stretch heading at ``facing``: a
    walker cannot turn on the spot (the model has no such step), so it curves into the
    end instead, as people do to arrive facing a door. The drawn path is kept up to TAIL
    metres before its end (along it); from there it goes to an approach point APPROACH
    metres back from the end (at most half the way there, at least a third of APPROACH)
    on the line from ``facing`` through the end; for a point more than
    U_TURN_DEG round, a point out to its side past the end comes first (the walk swings
    round rather than reversing). Nothing changes where the path already arrives heading
    within FACING_TOLERANCE_DEG. With times, the end keeps its time and the new points
    share the way from the last point kept by distance (a stop drawn inside the last
    TAIL metres is walked through)."""
    if facing.shape != (2,) or not np.all(np.isfinite(facing)) or np.abs(facing).max() > MAX_COORDINATE:
        raise PathError(f"the point to face must be finite [x, y] metres within {MAX_COORDINATE:g} of the origin")
    end = points[-1]
    away = np.flatnonzero(np.linalg.norm(points - end, axis=1) > 1e-6)
    if not len(away):
        return points, times
    arrive = int(away[-1]) + 1                 # the end's first index (a stop there repeats it)
    to_end = np.concatenate([np.cumsum(np.linalg.norm(np.diff(points[:arrive + 1], axis=0), axis=1)[::-1])[::-1],
                             [0.0]])           # metres along the path from each point to the end
    want = facing - end
    if np.linalg.norm(want) < MIN_LENGTH:
        raise PathError("the point to face is where the path ends: put it where the character should look")
    want = want / np.linalg.norm(want)
    last = end - points[arrive - 1]
    if last @ want / np.linalg.norm(last) >= math.cos(math.radians(FACING_TOLERANCE_DEG)):
        return points, times
    # the drawn path is kept up to TAIL metres before the end (a point put there on it)
    k, u = 0, 0.0                              # a path shorter than TAIL: from its start
    if to_end[0] > TAIL:
        k = int(np.flatnonzero(to_end[:arrive] >= TAIL)[-1])
        u = (to_end[k] - TAIL) / max(to_end[k] - to_end[k + 1], 1e-12)
    kept = points[k] + u * (points[k + 1] - points[k])
    way = end - kept
    if np.linalg.norm(way) < MIN_LENGTH:      # a short loop back to its start: head as it arrives
        way = last
    back = float(np.clip(0.5 * np.linalg.norm(way), APPROACH / 3, APPROACH))
    heading = way / np.linalg.norm(way)
    added = [end - back * want]
    if heading @ want < math.cos(math.radians(U_TURN_DEG)):
        # the point is behind: swing out to one side past the end and come back round
        # (a hairpin would make the walker reverse on the spot)
        side = np.array([-heading[1], heading[0]])
        side = side if side @ want >= 0 else -side
        added.insert(0, end + back * heading + APPROACH * side)
    added = np.array(added)
    head = np.vstack([points[:k + 1], [kept]]) if u > 0 else points[:k + 1]   # no point twice
    out = np.concatenate([head, added, points[arrive:]])
    if times is None:
        return out, None
    at = times[k] + u * (times[k + 1] - times[k])
    legs = np.linalg.norm(np.diff(np.vstack([kept, added, end]), axis=0), axis=1)
    share = np.cumsum(legs)[:-1] / legs.sum()
    head_times = np.append(times[:k + 1], at) if u > 0 else times[:k + 1]
    return out, np.concatenate([head_times, at + (times[arrive] - at) * share, times[arrive:]])


def _rounded(points: np.ndarray, radius: float, step: float = 0.05) -> np.ndarray:
    """``points`` with every corner replaced by a circular arc of ``radius`` (smaller
    where the neighbouring segments are short), sampled every ``step`` metres."""
    if len(points) < 3 or radius <= 0:
        return points.copy()
    out = [points[0]]
    for k in range(1, len(points) - 1):
        a, p, b = points[k - 1], points[k], points[k + 1]
        la, lb = np.linalg.norm(p - a), np.linalg.norm(b - p)
        u, v = (p - a) / la, (b - p) / lb
        turn = math.acos(float(np.clip(u @ v, -1.0, 1.0)))
        if turn < 1e-3:
            out.append(p)
            continue
        t = min(radius * math.tan(0.5 * min(turn, math.pi - 1e-3)), 0.45 * la, 0.45 * lb)
        r = t / math.tan(0.5 * min(turn, math.pi - 1e-3))
        start = p - t * u
        n = max(2, int(math.ceil(r * turn / step)) + 1)
        side = np.sign(u[0] * v[1] - u[1] * v[0])
        normal = side * np.array([-u[1], u[0]])
        centre = start + r * normal
        a0 = math.atan2(*(start - centre)[::-1])
        angles = a0 + side * np.linspace(0.0, turn, n)
        out.extend(centre + r * np.stack([np.cos(angles), np.sin(angles)], axis=1))
    out.append(points[-1])
    pts = np.array(out)
    keep = np.concatenate([[True], np.linalg.norm(np.diff(pts, axis=0), axis=1) > 1e-9])
    return pts[keep]


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v)) \
        and abs(float(v)) < 1e12


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number a path can use")


__all__ = ["GroundPath", "PathError", "heading_of"]
