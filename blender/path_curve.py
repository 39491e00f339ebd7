"""A Curve object as the path of a timeline prompt (issue 22; docs/path_control.md, "In
Blender"): read its first spline, drop it onto the ground, and express it in the frame
the generated motion is baked in.

- **Reading.** The first spline of the curve (Bezier, poly or NURBS; cyclic ones closed)
  is evaluated densely (about every 2 cm) from its own data, in the object's world
  matrix; modifiers on the curve object are not applied. NURBS follow Blender's knot
  rules (uniform, endpoint, Bezier knots, weights).
- **Ground.** The path is the curve's projection on the ground plane (Z dropped). A curve
  that is not flat (its height varies by more than 5 cm), or that lies more than 25 cm
  above or below the character's floor, is projected with a warning, never refused.
- **Frame.** The retargeter puts the canonical hips at ``rest + scale (p - rest_canonical)``
  in the rig's body axes, then the armature's world matrix applies
  (``motion/rig_target.py``: ``RigTarget.axes``, ``RigTarget.scale``). The world points
  are taken back through that map, so the path handed to the sampler is in canonical
  metres *for this target*: after baking, the character's hips follow the curve in the
  world, whatever the armature's scale, rotation, placement or rest-pose axes.

Everything here reads the scene and changes nothing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import bpy
import numpy as np

from ..errors import CadenceError
from ..motion.ground_path import MAX_POINTS, MIN_LENGTH, GroundPath, PathError
from ..motion.rig_target import prepare_target
from ..motion.skeleton import CANONICAL
from .rig_retarget import automatic_bone_map, drives_controls, read_rest_rig, stored_bone_map
from .rigify_control import plan_controls

SAMPLE_STEP = 0.02        # metres between evaluated points (before the world matrix's scale)
MAX_SAMPLES = 20_000      # evaluated points at most (then resampled for the sampler)
PATH_POINTS = 2_000       # points handed to the sampler at most (GroundPath allows 10,000)
FLAT_TOLERANCE = 0.05     # metres of height variation before "not flat" is said
GROUND_TOLERANCE = 0.25   # metres above/below the character's floor before it is said
UPRIGHT_TOLERANCE = 5.0   # degrees between the character's up and the world's Z


class CurvePathError(CadenceError, ValueError):
    """A Curve object that cannot be a path; the message names it and says what to do."""


def path_object_problem(obj: bpy.types.Object | None) -> str | None:
    """Why ``obj`` cannot be a path (None when it is a curve, or no path is set)."""
    if obj is None:
        return None
    if obj.type != 'CURVE':
        kind = "text object" if obj.type == 'FONT' else obj.type.lower().replace("_", " ")
        return f"the path {obj.name!r} is a {kind}, not a curve: pick a Curve object (Add > Curve)"
    return None


# --- evaluating the first spline ---------------------------------------------------------------

def _bezier_points(spline: bpy.types.Spline) -> np.ndarray:
    pts = spline.bezier_points
    n = len(pts)
    co, left, right = (np.empty(n * 3) for _ in range(3))
    pts.foreach_get("co", co)
    pts.foreach_get("handle_left", left)
    pts.foreach_get("handle_right", right)
    co, left, right = co.reshape(n, 3), left.reshape(n, 3), right.reshape(n, 3)
    if n < 2:
        return co
    a = np.arange(n if spline.use_cyclic_u else n - 1)
    b = (a + 1) % n
    p0, p1, p2, p3 = co[a], right[a], left[b], co[b]
    hull = (np.linalg.norm(p1 - p0, axis=1) + np.linalg.norm(p2 - p1, axis=1)
            + np.linalg.norm(p3 - p2, axis=1))
    step = max(SAMPLE_STEP, float(hull.sum()) / MAX_SAMPLES)  # long curves: coarser, never more points
    k = np.clip(np.ceil(hull / step), 8, 1000).astype(int)
    seg = np.repeat(np.arange(len(a)), k)                     # samples of each segment, after its start
    t = (np.arange(len(seg)) - np.repeat(np.cumsum(k) - k, k) + 1) / np.repeat(k, k)
    t, u = t[:, None], 1.0 - t[:, None]
    curve = (u ** 3 * p0[seg] + 3 * u * u * t * p1[seg] + 3 * u * t * t * p2[seg] + t ** 3 * p3[seg])
    return np.concatenate([co[:1], curve])


def _nurbs_knots(count: int, order: int, endpoint: bool, bezier: bool, cyclic: bool) -> np.ndarray:
    """Blender's automatic knot vector for a NURBS spline of ``count`` points (the same
    rule as its curve evaluation: uniform, endpoint-clamped, or Bezier-like knots)."""
    total = count + order + (order - 1 if cyclic else 0)
    inner = order - 1 if bezier else 1                           # repeats of inner knots
    head = (order - 1 if cyclic else order) if endpoint else (min(2, inner) if bezier else 1)
    tail = 2 * order - 1 if cyclic else (order if endpoint else 0)
    knots = np.zeros(total)
    value, left, start = 0.0, head, 0
    if endpoint and cyclic:
        knots[0], value, start = 0.0, 1.0, 1
    for i in range(start, total - tail):
        knots[i] = value
        left -= 1
        if left == 0:
            value, left = value + 1.0, inner
    for i in range(tail):
        knots[total - tail + i] = value + knots[i] - knots[0]
    return knots


def _nurbs_points(spline: bpy.types.Spline) -> np.ndarray:
    pts = spline.points
    n = len(pts)
    co = np.empty(n * 4)
    pts.foreach_get("co", co)
    co = co.reshape(n, 4)
    xyz, w = co[:, :3], np.where(co[:, 3] > 0, co[:, 3], 1.0)
    order = int(min(spline.order_u, n))
    if spline.type == 'POLY' or order < 2 or n < 2:
        return xyz if not (spline.use_cyclic_u and n > 1) else np.concatenate([xyz, xyz[:1]])
    cyclic = bool(spline.use_cyclic_u)
    endpoint, bezier = bool(spline.use_endpoint_u), bool(spline.use_bezier_u)
    if bezier and ((not endpoint and n <= order) or (cyclic and n % (order - 1))):
        # Blender draws such a spline as its control polygon
        return xyz if not cyclic else np.concatenate([xyz, xyz[:1]])
    if cyclic:  # the first order-1 points wrap around
        xyz = np.concatenate([xyz, xyz[:order - 1]])
        w = np.concatenate([w, w[:order - 1]])
    knots = _nurbs_knots(n, order, endpoint, bezier, cyclic)
    lo, hi = knots[order - 1], knots[len(xyz)]
    if not hi > lo:
        return xyz
    hull = float(np.linalg.norm(np.diff(xyz, axis=0), axis=1).sum())
    samples = int(min(MAX_SAMPLES, max(16 * n, math.ceil(hull / SAMPLE_STEP))))
    u = np.linspace(lo, hi, samples + 1)
    homogeneous = np.concatenate([xyz * w[:, None], w[:, None]], axis=1)
    out = _de_boor(knots, order, u, homogeneous)
    return out[:, :3] / np.maximum(out[:, 3:], 1e-12)


def _de_boor(knots: np.ndarray, order: int, u: np.ndarray, control: np.ndarray) -> np.ndarray:
    """B-spline of ``order`` with ``control`` points (n, d) at parameters ``u`` within
    [knots[order - 1], knots[n]]: the non-zero basis functions of each parameter's knot
    span (Cox-de Boor, as in Piegl and Tiller's A2.2), vectorised over ``u``."""
    n, p = len(control), order - 1
    spans = [i for i in range(p, n) if knots[i + 1] > knots[i]]
    span = np.searchsorted(knots, u, side="right") - 1
    span = np.clip(span, spans[0], spans[-1])  # the last parameter belongs to the last span
    basis = np.zeros((len(u), order))
    basis[:, 0] = 1.0
    left, right = np.zeros((len(u), order)), np.zeros((len(u), order))
    for j in range(1, order):
        left[:, j] = u - knots[span + 1 - j]
        right[:, j] = knots[span + j] - u
        saved = np.zeros(len(u))
        for r in range(j):
            denom = right[:, r + 1] + left[:, j - r]
            temp = np.divide(basis[:, r], denom, out=np.zeros(len(u)), where=denom > 0)
            basis[:, r] = saved + right[:, r + 1] * temp
            saved = left[:, j - r] * temp
        basis[:, j] = saved
    index = span[:, None] - p + np.arange(order)[None, :]
    return np.einsum("sk,skd->sd", basis, control[index])


def spline_points(spline: bpy.types.Spline) -> np.ndarray:
    """Densely evaluated points (N, 3) of one spline in the curve's local space."""
    if spline.type == 'BEZIER':
        return _bezier_points(spline)
    return _nurbs_points(spline)


def _world_matrix(obj: bpy.types.Object, depsgraph=None) -> np.ndarray:
    """The object's world matrix; with a depsgraph, as evaluated (up to date after a
    script moved it or its parent)."""
    if depsgraph is not None:
        obj = obj.evaluated_get(depsgraph)
    return np.array(obj.matrix_world, dtype=float)


def curve_world_points(obj: bpy.types.Object, depsgraph=None) -> np.ndarray:
    """The first spline of a Curve object, evaluated and in world space (N, 3).
    Raises CurvePathError for a non-curve or a curve without points."""
    problem = path_object_problem(obj)
    if problem:
        raise CurvePathError(problem)
    splines = obj.data.splines
    if not len(splines):
        raise CurvePathError(f"the path curve {obj.name!r} has no points: draw the path in it (Edit Mode)")
    spline = splines[0]
    count = len(spline.bezier_points) if spline.type == 'BEZIER' else len(spline.points)
    if count == 0:
        raise CurvePathError(f"the path curve {obj.name!r} has no points: draw the path in it (Edit Mode)")
    local = spline_points(spline)
    m = _world_matrix(obj, depsgraph)
    return local @ m[:3, :3].T + m[:3, 3]


# --- the character's ground frame --------------------------------------------------------------

@dataclass
class GroundFrame:
    """The affine map from canonical metres (the generated motion's world) to Blender's
    world for one target armature: ``world = linear @ p + offset``."""

    linear: np.ndarray  # (3, 3)
    offset: np.ndarray  # (3,)

    @property
    def metres(self) -> float:
        """World metres per canonical metre (the rig's leg ratio times its object scale)."""
        return float(np.cbrt(abs(np.linalg.det(self.linear))))

    @property
    def up(self) -> np.ndarray:
        """The character's up in the world (unit)."""
        u = self.linear[:, 2]
        return u / np.linalg.norm(u)

    def to_world(self, p: np.ndarray) -> np.ndarray:
        return np.asarray(p, float) @ self.linear.T + self.offset

    def to_canonical(self, w: np.ndarray) -> np.ndarray:
        return (np.asarray(w, float) - self.offset) @ np.linalg.inv(self.linear).T


def rig_target(obj: bpy.types.Object):
    """The ``RigTarget`` the retargeter prepares for ``obj`` (its stored or automatic map;
    the deform view of a generated Rigify control rig). Raises ValueError."""
    rig = read_rest_rig(obj)
    bone_map = stored_bone_map(obj) or automatic_bone_map(obj, rig)
    if drives_controls(obj, bone_map.resolve(rig.names)):
        return plan_controls(obj, rig, bone_map.resolve(rig.names), find_switches=False).target
    return prepare_target(rig, bone_map)


def ground_frame(obj: bpy.types.Object, scale: float | None = None, depsgraph=None) -> GroundFrame:
    """Where canonical metres land in the world when a motion is baked on the armature
    ``obj`` (``scale``: RetargetOptions.scale, None = the rig's leg ratio)."""
    target = rig_target(obj)
    s = float(scale or target.scale)
    ci = {n: i for i, n in enumerate(CANONICAL.names)}
    hips = [ci["left_hip"], ci["right_hip"]]
    can_rest_mid = CANONICAL.rest_positions()[hips].mean(0)
    rig_mid = target.heads[[target.joint_bone[c] for c in hips]].mean(0)  # canonical axes, rig units
    m = _world_matrix(obj, depsgraph)
    to_world = m[:3, :3] @ target.axes.T  # canonical axes (rig units) -> world
    linear = to_world * s
    if not abs(np.linalg.det(linear)) > 1e-12:
        raise ValueError("its object scale is zero on some axis: the motion cannot be placed on a path")
    offset = to_world @ (rig_mid - s * can_rest_mid) + m[:3, 3]
    return GroundFrame(linear, offset)


# --- the path for the sampler ------------------------------------------------------------------

SLOWEST, FASTEST = 0.3, 4.0  # m/s: a path paced outside this is said to be (a shuffle, a sprint)


def pace(metres: float, seconds: float) -> tuple[float, str, bool]:
    """(metres per second, in words, whether a walk or a run covers it)."""
    speed = metres / max(seconds, 1e-6)
    if speed < SLOWEST:
        return speed, "slower than a stroll: shorten the prompt or lengthen the path", False
    if speed > FASTEST:
        return speed, "faster than a sprint: lengthen the prompt or shorten the path", False
    return speed, "a walk's pace" if speed <= 2.0 else "a run's pace", True


def prompt_seconds(frame_start: int, frame_end: int, fps: float) -> float:
    """Seconds from a prompt's first frame to its last (the frame before End): the time
    its path is walked in."""
    return max(frame_end - 1 - frame_start, 1) / fps


@dataclass
class CurvePath:
    """A curve read as a path for one target: the sampler's path (canonical metres, no
    times) and what the user should know about the reading."""

    path: GroundPath                  # canonical metres, the target's ground
    world_points: np.ndarray          # (N, 3) the evaluated curve in the world
    world_length: float               # metres along the ground, in the world
    warnings: list[str] = field(default_factory=list)


def _resample(xy: np.ndarray, count: int) -> np.ndarray:
    seg = np.linalg.norm(np.diff(xy, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    keep = np.concatenate([[True], seg > 1e-9])
    xy, cum = xy[keep], cum[keep]
    if len(xy) <= count:
        return xy
    s = np.linspace(0.0, cum[-1], count)
    return np.stack([np.interp(s, cum, xy[:, k]) for k in range(2)], axis=1)


def curve_ground_path(curve: bpy.types.Object, frame: GroundFrame | None = None,
                      depsgraph=None, facing: np.ndarray | None = None) -> CurvePath:
    """Read ``curve`` as a path on the ground: in canonical metres for the target whose
    ``frame`` is given (else in world metres); ``facing``: a world point the character
    faces on arrival (``GroundPath.facing``). Raises CurvePathError with the curve's name:
    no points, fewer than two distinct points on the ground, too short to walk, a point
    to face where it ends."""
    world = curve_world_points(curve, depsgraph)
    name = curve.name
    if frame is None:
        frame = GroundFrame(np.eye(3), np.zeros(3))
    can = frame.to_canonical(world)
    xy = can[:, :2]
    distinct = np.unique(np.round(xy, 4), axis=0)
    if len(distinct) < 2:
        raise CurvePathError(f"the path curve {name!r} has fewer than two distinct points on the ground: "
                             "draw a path that goes somewhere")
    ground_world = frame.to_world(np.column_stack([xy, np.zeros(len(xy))]))
    world_length = float(np.linalg.norm(np.diff(ground_world, axis=0), axis=1).sum())
    length = float(np.linalg.norm(np.diff(xy, axis=0), axis=1).sum())
    if length < MIN_LENGTH:
        raise CurvePathError(f"the path curve {name!r} is {world_length * 100:.0f} cm long on the ground: "
                             f"draw a path at least {MIN_LENGTH * frame.metres * 100:.0f} cm long")
    try:
        face = None if facing is None else frame.to_canonical(np.asarray(facing, float)[None])[0, :2]
        path = GroundPath(_resample(xy, min(PATH_POINTS, MAX_POINTS)), None, face)
    except PathError as exc:
        raise CurvePathError(f"the path curve {name!r}: {exc}") from None
    warnings = []
    tilt = math.degrees(math.acos(float(np.clip(frame.up[2], -1.0, 1.0))))
    if tilt > UPRIGHT_TOLERANCE:
        warnings.append(f"the character is tilted {tilt:.0f} degrees from the world's Z: the path "
                        f"{name!r} is projected onto the character's own floor")
    spread = float(world[:, 2].max() - world[:, 2].min())
    height = can[:, 2] * frame.metres  # world metres above the character's floor
    off = float(height[np.argmax(np.abs(height))])
    if spread > FLAT_TOLERANCE:
        warnings.append(f"the path curve {name!r} is not flat (its height varies by {spread * 100:.0f} cm): "
                        "the character walks its projection on the ground")
    elif abs(off) > GROUND_TOLERANCE:
        where = "above" if off > 0 else "below"
        warnings.append(f"the path curve {name!r} is {abs(off):.2f} m {where} the character's floor: "
                        "it is projected onto the floor")
    return CurvePath(path, world, world_length, warnings)


__all__ = ["CurvePath", "CurvePathError", "GroundFrame", "curve_ground_path", "curve_world_points",
           "ground_frame", "pace", "path_object_problem", "prompt_seconds", "rig_target", "spline_points"]
