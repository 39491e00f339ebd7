"""A cartoon head with ARKit-named shape keys, for showing a talking face anywhere.

Cadence's face output is 52 ARKit curves, which need a mesh whose shape keys carry
ARKit names. The demo and the guide's pictures cannot ship a scanned head, so this
builds one from flat features (eyes with lids and irises, brows, lips and mouth)
laid on the front of an ellipsoid: each feature is a 2D outline (x to the character's
left, z up) projected onto the head, slightly in front of the skin in layers so lids
cover eyes. Each shape key moves the 2D outline the way the ARKit shape moves a real
face (jawOpen drops the lower lip, eyeBlinkLeft closes the left lid...), then projects.

Coordinates: metres, Z up, the face looking at -Y (as the canonical character does),
the head's centre at the origin.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .body import MeshData, sphere

RADII = np.array([0.085, 0.092, 0.108])  # head ellipsoid half-axes x, y, z
MATERIALS = ("skin", "dark", "white", "lips")
COLOURS = {"skin": (0.86, 0.67, 0.53, 1.0), "dark": (0.10, 0.06, 0.06, 1.0),
           "white": (0.96, 0.96, 0.94, 1.0), "lips": (0.74, 0.33, 0.33, 1.0)}
_EYE = (0.032, 0.018, 0.016, 0.0105)  # centre x, centre z, half width, half height
_IRIS = 0.0065
_MOUTH = (-0.045, 0.026)               # centre z, half width


@dataclass
class FaceMesh:
    vertices: np.ndarray                  # (V, 3) basis
    faces: list[tuple[int, ...]]
    materials: list[int]                  # per face, index into MATERIALS
    shape_keys: dict[str, np.ndarray] = field(default_factory=dict)  # ARKit name -> (V, 3)


class _Builder:
    """Collects 2D feature points (x, z), their layer in front of the skin, and per
    shape key their 2D displacement."""

    def __init__(self) -> None:
        self.points: list[np.ndarray] = []
        self.layers: list[float] = []
        self.faces: list[tuple[int, ...]] = []
        self.materials: list[int] = []
        self.moves: dict[str, dict[int, np.ndarray]] = {}

    def add(self, pts, layer: float) -> list[int]:
        start = len(self.points)
        for p in np.asarray(pts, float):
            self.points.append(p)
            self.layers.append(layer)
        return list(range(start, len(self.points)))

    def face(self, idx, material: str) -> None:
        self.faces.append(tuple(idx))
        self.materials.append(MATERIALS.index(material))

    def move(self, shape: str, idx, delta) -> None:
        d = self.moves.setdefault(shape, {})
        delta = np.broadcast_to(np.asarray(delta, float), (len(idx), 2))
        for i, v in zip(idx, delta):
            d[i] = d.get(i, np.zeros(2)) + v

    def strip(self, top: list[int], bottom: list[int], material: str) -> None:
        for k in range(len(top) - 1):
            self.face((top[k], top[k + 1], bottom[k + 1], bottom[k]), material)

    def fan(self, centre: int, ring: list[int], material: str) -> None:
        for k in range(len(ring)):
            self.face((centre, ring[k], ring[(k + 1) % len(ring)]), material)


def project(points2d: np.ndarray, layers: np.ndarray) -> np.ndarray:
    """(x, z) onto the front of the head ellipsoid, ``layers`` metres towards the viewer."""
    x, z = points2d[:, 0], points2d[:, 1]
    inside = np.clip(1.0 - (x / RADII[0]) ** 2 - (z / RADII[2]) ** 2, 0.0, None)
    y = -RADII[1] * np.sqrt(inside) - layers
    return np.stack([x, y, z], axis=1)


def _eye(b: _Builder, side: float, suffix: str) -> None:
    cx, cz, hw, hh = _EYE
    cx *= side
    n = 9
    xs = np.linspace(-hw, hw, n)
    profile = np.sqrt(np.clip(1 - (xs / hw) ** 2, 0, None))
    upper = np.stack([cx + xs, cz + hh * profile], 1)
    lower = np.stack([cx + xs, cz - hh * profile], 1)
    # the eye white: a fan over its outline (upper left to right, lower right to left)
    centre = b.add([[cx, cz]], 0.0010)[0]
    top = b.add(upper, 0.0010)
    bottom = b.add(lower[1:-1][::-1], 0.0010)
    b.fan(centre, top + bottom, "white")
    b.move(f"eyeWide{suffix}", top, np.stack([np.zeros(n), 0.004 * profile], 1))
    # the iris: looks move it (in = towards the nose)
    ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    iris_c = b.add([[cx, cz]], 0.0016)
    iris = b.add(np.stack([cx + _IRIS * np.cos(ang), cz + _IRIS * np.sin(ang)], 1), 0.0016)
    b.fan(iris_c[0], iris, "dark")
    both = iris_c + iris
    b.move(f"eyeLookUp{suffix}", both, (0.0, 0.004))
    b.move(f"eyeLookDown{suffix}", both, (0.0, -0.004))
    b.move(f"eyeLookOut{suffix}", both, (0.007 * side, 0.0))
    b.move(f"eyeLookIn{suffix}", both, (-0.007 * side, 0.0))
    # upper lid: skin from above the eye down to its edge; a blink takes the edge down
    lid_edge = b.add(upper + [0.0, 0.0008], 0.0025)
    lid_top = b.add(np.stack([cx + xs * 1.15, np.full(n, cz + hh + 0.009)], 1), 0.0025)
    b.strip(lid_top, lid_edge, "skin")
    b.move(f"eyeBlink{suffix}", lid_edge, np.stack([np.zeros(n), -2 * hh * profile - 0.0016], 1))
    b.move(f"eyeWide{suffix}", lid_edge, np.stack([np.zeros(n), 0.004 * profile], 1))
    # lower lid: squints raise it
    low_edge = b.add(lower - [0.0, 0.0008], 0.0025)
    low_bottom = b.add(np.stack([cx + xs * 1.15, np.full(n, cz - hh - 0.007)], 1), 0.0025)
    b.strip(low_edge, low_bottom, "skin")
    b.move(f"eyeSquint{suffix}", low_edge, np.stack([np.zeros(n), 0.8 * hh * profile], 1))
    b.move(f"cheekSquint{suffix}", low_edge, np.stack([np.zeros(n), 0.5 * hh * profile], 1))
    # brow: a dark bar; inner end at the nose side
    inner, outer = cx - side * 0.012, cx + side * 0.022
    bx = np.linspace(inner, outer, 6)
    t = np.linspace(0.0, 1.0, 6)  # 0 inner, 1 outer
    arch = cz + 0.022 + 0.004 * np.sin(np.pi * t)
    brow_top = b.add(np.stack([bx, arch + 0.0035], 1), 0.0030)
    brow_bottom = b.add(np.stack([bx, arch - 0.0020], 1), 0.0030)
    b.strip(brow_top, brow_bottom, "dark")
    brow = brow_top + brow_bottom
    tt = np.concatenate([t, t])
    b.move(f"browDown{suffix}", brow, np.stack([np.zeros(12), -0.006 - 0.004 * (1 - tt)], 1))
    b.move(f"browOuterUp{suffix}", brow, np.stack([np.zeros(12), 0.010 * tt], 1))
    b.move("browInnerUp", brow, np.stack([np.zeros(12), 0.010 * (1 - tt)], 1))


def _mouth(b: _Builder) -> None:
    cz, w = _MOUTH
    m = 13
    s = np.linspace(-1.0, 1.0, m)        # -1: the character's right corner, +1: left
    bulge = 1.0 - s ** 2
    x = w * s
    inner_up = b.add(np.stack([x, cz + 0.0012 * bulge], 1), 0.0016)
    inner_lo = b.add(np.stack([x[1:-1], cz - 0.0012 * bulge[1:-1]], 1), 0.0016)
    outer_up = b.add(np.stack([x * 1.12, cz + 0.0012 * bulge + 0.0055 * bulge ** 0.5], 1), 0.0010)
    outer_lo = b.add(np.stack([x[1:-1] * 1.12, cz - 0.0012 * bulge[1:-1] - 0.0065 * bulge[1:-1] ** 0.5], 1),
                     0.0010)
    corners = [inner_up[0], inner_up[-1]]
    lo_in = [inner_up[0]] + inner_lo + [inner_up[-1]]
    lo_out = [outer_up[0]] + outer_lo + [outer_up[-1]]
    b.strip(outer_up, inner_up, "lips")
    b.strip(lo_in, lo_out, "lips")
    b.strip(inner_up, lo_in, "dark")
    up = inner_up + outer_up
    lo = inner_lo + outer_lo
    s_up, s_lo = np.concatenate([s, s]), np.concatenate([s[1:-1], s[1:-1]])
    col = lambda v: np.stack([np.zeros(len(v)), v], 1)  # noqa: E731  (z-only moves)
    left = lambda ss: np.clip(ss, 0, None) ** 2         # noqa: E731  (weight near the left corner)
    right = lambda ss: np.clip(-ss, 0, None) ** 2       # noqa: E731
    b.move("jawOpen", lo, col(-0.04 * (0.3 + 0.7 * (1 - s_lo ** 2))))
    b.move("jawOpen", corners, (0.0, -0.004))
    b.move("mouthClose", lo, col(0.012 * (1 - s_lo ** 2)))
    b.move("mouthFunnel", up + lo, np.stack([-0.3 * w * np.concatenate([s_up, s_lo]), np.zeros(len(up) + len(lo))], 1))
    b.move("mouthFunnel", up, col(0.005 * (1 - s_up ** 2)))
    b.move("mouthFunnel", lo, col(-0.006 * (1 - s_lo ** 2)))
    b.move("mouthPucker", up + lo, np.stack([-0.45 * w * np.concatenate([s_up, s_lo]), np.zeros(len(up) + len(lo))], 1))
    b.move("mouthLeft", up + lo, (0.008, 0.0))
    b.move("mouthRight", up + lo, (-0.008, 0.0))
    b.move("jawLeft", lo, (0.005, 0.0))
    b.move("jawRight", lo, (-0.005, 0.0))
    ss = np.concatenate([s_up, s_lo])
    for name, weight, sign in (("Left", left, 1.0), ("Right", right, -1.0)):
        wgt = weight(ss)
        b.move(f"mouthSmile{name}", up + lo, np.stack([0.005 * sign * wgt, 0.011 * wgt], 1))
        b.move(f"mouthFrown{name}", up + lo, np.stack([0.001 * sign * wgt, -0.009 * wgt], 1))
        b.move(f"mouthStretch{name}", up + lo, np.stack([0.006 * sign * wgt, -0.002 * wgt], 1))
        b.move(f"mouthDimple{name}", up + lo, np.stack([0.003 * sign * wgt, 0.002 * wgt], 1))
        half_lo = np.clip(0.5 + 0.5 * sign * s_lo, 0, 1) * (1 - s_lo ** 2)
        half_up = np.clip(0.5 + 0.5 * sign * s_up, 0, 1) * (1 - s_up ** 2)
        b.move(f"mouthLowerDown{name}", lo, col(-0.008 * half_lo))
        b.move(f"mouthUpperUp{name}", up, col(0.006 * half_up))
        b.move(f"mouthPress{name}", lo, col(0.002 * half_lo))
    b.move("mouthRollLower", outer_lo, col(0.004 * (1 - s[1:-1] ** 2)))
    b.move("mouthRollUpper", outer_up, col(-0.004 * (1 - s ** 2)))
    b.move("mouthShrugLower", lo, col(0.004 * (1 - s_lo ** 2)))
    b.move("mouthShrugUpper", up, col(0.003 * (1 - s_up ** 2)))


def build_face() -> FaceMesh:
    """The head: skin ellipsoid, nose, eyes, brows and mouth, with its shape keys."""
    b = _Builder()
    _eye(b, 1.0, "Left")
    _eye(b, -1.0, "Right")
    _mouth(b)
    pts, layers = np.array(b.points), np.array(b.layers)
    basis = project(pts, layers)
    keys = {}
    for shape, moves in b.moves.items():
        moved = pts.copy()
        for i, d in moves.items():
            moved[i] += d
        keys[shape] = project(moved, layers)
    skin = sphere((0.0, 0.0, 0.0), 1.0, 0, rings=16, segments=24)
    skin.vertices = skin.vertices * RADII
    nose = sphere((0.0, -RADII[1] - 0.004, -0.012), 0.013, 0, rings=6, segments=10)
    extra = MeshData.join([skin, nose])
    vertices = np.concatenate([basis, extra.vertices])
    faces = list(b.faces) + [tuple(i + len(basis) for i in f) for f in extra.faces]
    materials = list(b.materials) + [MATERIALS.index("skin")] * len(extra.faces)
    full = {k: np.concatenate([v, extra.vertices]) for k, v in keys.items()}
    return FaceMesh(vertices, faces, materials, full)


def face_height() -> float:
    """The head's height in metres (for scaling it onto a character's head bone)."""
    return float(2 * RADII[2])
