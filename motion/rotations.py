"""Rotation conversions, vectorised over any leading shape.

Conventions (one place, used everywhere):
- quaternions are (w, x, y, z), Hamilton product, unit length, active rotations;
- matrices rotate column vectors: v' = R @ v; composing "a then b" is ``b @ a``;
- axis-angle is a 3-vector: unit axis times angle in radians;
- continuous 6D (Zhou et al. 2019) is the first two *columns* of the matrix,
  concatenated: (r00, r10, r20, r01, r11, r21);
- Euler angles are in radians, given with an ``order`` string such as "ZXY": the
  rotation is R = R_Z(a0) @ R_X(a1) @ R_Y(a2), i.e. intrinsic rotations in the order
  written (this is what a BVH channel list "Zrotation Xrotation Yrotation" means).
"""
from __future__ import annotations

import numpy as np

_EPS = 1e-12


def normalize(v: np.ndarray, axis: int = -1) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    n = np.sqrt(np.add.reduce(v * v, axis=axis, keepdims=True))  # np.linalg.norm's sum, less overhead
    return v / np.maximum(n, _EPS)


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a x b over the last axis (3-vectors, broadcast): np.cross's arithmetic without its
    axis handling, which cost more than the products on the few hundred frames of a clip
    (decoding a clip calls it ~30 times)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    out[..., 0] = a1 * b2 - a2 * b1
    out[..., 1] = a2 * b0 - a0 * b2
    out[..., 2] = a0 * b1 - a1 * b0
    return out


# --- quaternions ----------------------------------------------------------------------

def quat_identity(shape: tuple[int, ...] = ()) -> np.ndarray:
    q = np.zeros(tuple(shape) + (4,))
    q[..., 0] = 1.0
    return q


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a * b (rotate by b, then by a)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    out[..., 0] = aw * bw - ax * bx - ay * by - az * bz
    out[..., 1] = aw * bx + ax * bw + ay * bz - az * by
    out[..., 2] = aw * by - ax * bz + ay * bw + az * bx
    out[..., 3] = aw * bz + ax * by - ay * bx + az * bw
    return out


def quat_conjugate(q: np.ndarray) -> np.ndarray:
    return np.asarray(q, dtype=float) * np.array([1.0, -1.0, -1.0, -1.0])


def quat_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4)."""
    q = np.asarray(q, dtype=float)
    w, u = q[..., :1], q[..., 1:]
    t = 2.0 * cross(u, v)
    return v + w * t + cross(u, t)


def quat_canonical(q: np.ndarray) -> np.ndarray:
    """The representative with w >= 0 (q and -q are the same rotation)."""
    return np.where(np.asarray(q)[..., :1] < 0, -q, q)


def quat_continuous(q: np.ndarray, axis: int = 0) -> np.ndarray:
    """Flip signs along ``axis`` (time) so consecutive quaternions stay close.

    Needed before interpolating or writing fcurves, where q/-q flips would spin.
    """
    q = np.moveaxis(np.array(q, dtype=float), axis, 0)
    if len(q) > 1:
        # q[t] keeps its sign relative to the already-flipped q[t-1]: the flips compose,
        # so each frame's sign is the running product of the consecutive dots' signs.
        step = np.where(np.sum(q[1:] * q[:-1], axis=-1) < 0, -1.0, 1.0)
        sign = np.concatenate([np.ones((1,) + step.shape[1:]), np.cumprod(step, axis=0)])
        q *= sign[..., None]
    return np.moveaxis(q, 0, axis)


def quat_mean(q: np.ndarray) -> np.ndarray:
    """The mean rotation of quaternions (T, ..., 4) over time (axis 0): made
    sign-continuous, aligned with the middle one, averaged and renormalised (a good
    mean for rotations that stay within a quarter turn of each other, as a pose does)."""
    q = quat_continuous(np.asarray(q, np.float64))
    ref = q[len(q) // 2]
    q = np.where(np.sum(q * ref, axis=-1, keepdims=True) < 0, -q, q)
    return normalize(q.mean(axis=0))


def quat_slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    a, b = np.asarray(a, float), np.asarray(b, float)
    t = np.asarray(t, float)[..., None] if np.ndim(t) else float(t)
    dot = np.sum(a * b, axis=-1, keepdims=True)
    b = np.where(dot < 0, -b, b)
    dot = np.clip(np.abs(dot), -1.0, 1.0)
    theta = np.arccos(dot)
    sin = np.sin(theta)
    small = sin < 1e-6
    wa = np.where(small, 1.0 - t, np.sin((1.0 - t) * theta) / np.where(small, 1.0, sin))
    wb = np.where(small, t, np.sin(t * theta) / np.where(small, 1.0, sin))
    return normalize(wa * a + wb * b)


def quat_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The shortest-arc rotation taking direction u onto direction v.

    For opposite directions the arc is not unique; a 180-degree turn about an axis
    perpendicular to u is returned.
    """
    u, v = normalize(np.asarray(u, float)), normalize(np.asarray(v, float))
    dot = np.sum(u * v, axis=-1, keepdims=True)
    axis = cross(u, v)
    q = np.concatenate([1.0 + dot, axis], axis=-1)
    opposite = (dot[..., 0] < -1.0 + 1e-9)
    if np.any(opposite):
        helper = np.where(np.abs(u[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
        perp = normalize(cross(u, helper))
        q = np.where(opposite[..., None], np.concatenate([np.zeros_like(dot), perp], -1), q)
    return normalize(q)


# --- matrices -------------------------------------------------------------------------

def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    q = normalize(np.asarray(q, dtype=float))
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], axis=-2)


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """Robust conversion (Shepperd's method), returns w >= 0."""
    m = np.asarray(m, dtype=float)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    trace = m00 + m11 + m22
    cands = np.stack([
        np.stack([1 + trace, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0],
                  m[..., 1, 0] - m[..., 0, 1]], -1),
        np.stack([m[..., 2, 1] - m[..., 1, 2], 1 + m00 - m11 - m22,
                  m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0]], -1),
        np.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0],
                  1 - m00 + m11 - m22, m[..., 1, 2] + m[..., 2, 1]], -1),
        np.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0],
                  m[..., 1, 2] + m[..., 2, 1], 1 - m00 - m11 + m22], -1),
    ], axis=-2)
    best = np.argmax(np.stack([trace, m00, m11, m22], -1), axis=-1)
    q = np.take_along_axis(cands, best[..., None, None], axis=-2)[..., 0, :]
    return quat_canonical(normalize(q))


def orthonormalize(m: np.ndarray) -> np.ndarray:
    """Nearest rotation matrix (SVD), for matrices that drifted or were averaged."""
    u, _, vt = np.linalg.svd(m)
    d = np.sign(np.linalg.det(u @ vt))
    u = u.copy()
    u[..., :, -1] *= d[..., None]
    return u @ vt


def frame_from_vectors(primary: np.ndarray, secondary: np.ndarray,
                       primary_axis: int, secondary_axis: int) -> np.ndarray:
    """A rotation matrix whose ``primary_axis`` column points along ``primary`` and whose
    ``secondary_axis`` column lies in the plane of primary and secondary."""
    a = normalize(primary)
    b = normalize(secondary - np.sum(secondary * a, -1, keepdims=True) * a)
    c = cross(a, b)
    third = 3 - primary_axis - secondary_axis
    cols = [None, None, None]
    cols[primary_axis], cols[secondary_axis] = a, b
    # Right-handed: x = y cross z and so on, cyclically.
    sign = 1.0 if (secondary_axis - primary_axis) % 3 == 1 else -1.0
    cols[third] = sign * c
    return np.stack(cols, axis=-1)


# --- axis-angle -----------------------------------------------------------------------

def axis_angle_to_quat(aa: np.ndarray) -> np.ndarray:
    aa = np.asarray(aa, dtype=float)
    angle = np.linalg.norm(aa, axis=-1, keepdims=True)
    half = 0.5 * angle
    # sin(half)/angle, with its limit 1/2 near zero.
    k = np.where(angle < 1e-8, 0.5 - angle ** 2 / 48.0, np.sin(half) / np.maximum(angle, 1e-30))
    return np.concatenate([np.cos(half), aa * k], axis=-1)


def quat_to_axis_angle(q: np.ndarray) -> np.ndarray:
    q = quat_canonical(normalize(np.asarray(q, dtype=float)))
    s = np.linalg.norm(q[..., 1:], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., :1])
    k = np.where(s < 1e-8, 2.0 + angle ** 2 / 12.0, angle / np.maximum(s, 1e-30))
    return q[..., 1:] * k


def axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
    return quat_to_matrix(axis_angle_to_quat(aa))


def matrix_to_axis_angle(m: np.ndarray) -> np.ndarray:
    return quat_to_axis_angle(matrix_to_quat(m))


# --- continuous 6D --------------------------------------------------------------------

def matrix_to_6d(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=float)
    return np.concatenate([m[..., :, 0], m[..., :, 1]], axis=-1)


def sixd_to_matrix(d6: np.ndarray) -> np.ndarray:
    """Gram-Schmidt back to a rotation; accepts unnormalised network output."""
    d6 = np.asarray(d6, dtype=float)
    a = normalize(d6[..., :3])
    b = d6[..., 3:] - np.sum(a * d6[..., 3:], -1, keepdims=True) * a
    b = normalize(b)
    return np.stack([a, b, cross(a, b)], axis=-1)


def quat_to_6d(q: np.ndarray) -> np.ndarray:
    return matrix_to_6d(quat_to_matrix(q))


def sixd_to_quat(d6: np.ndarray) -> np.ndarray:
    return matrix_to_quat(sixd_to_matrix(d6))


# --- Euler angles ---------------------------------------------------------------------

_AXES = {"X": 0, "Y": 1, "Z": 2}


def _check_order(order: str) -> str:
    order = order.upper()
    if (len(order) != 3 or any(c not in _AXES for c in order)
            or order[0] == order[1] or order[1] == order[2]):
        raise ValueError(f"Euler order must be three of X, Y, Z with no axis twice in a row, "
                         f"got {order!r}")
    return order


def axis_rotation_quat(axis: str, angle: np.ndarray) -> np.ndarray:
    angle = np.asarray(angle, dtype=float)
    q = np.zeros(angle.shape + (4,))
    q[..., 0] = np.cos(0.5 * angle)
    q[..., 1 + _AXES[axis.upper()]] = np.sin(0.5 * angle)
    return q


def euler_to_quat(angles: np.ndarray, order: str) -> np.ndarray:
    """(..., 3) angles (radians) in the listed order -> quaternion."""
    order = _check_order(order)
    order = _check_order(order)
    angles = np.asarray(angles, dtype=float)
    q = axis_rotation_quat(order[0], angles[..., 0])
    for k in (1, 2):
        q = quat_mul(q, axis_rotation_quat(order[k], angles[..., k]))
    return q


def euler_to_matrix(angles: np.ndarray, order: str) -> np.ndarray:
    return quat_to_matrix(euler_to_quat(angles, order))


def matrix_to_euler(m: np.ndarray, order: str) -> np.ndarray:
    """Inverse of :func:`euler_to_matrix` for any of the 12 orders.

    Returns the solution with the middle angle in [-pi/2, pi/2] (Tait-Bryan) or
    [0, pi] (proper Euler, e.g. "ZXZ"); at gimbal lock the third angle is set to 0.
    """
    order = _check_order(order)
    m = np.asarray(m, dtype=float)
    i, j, k = (_AXES[c] for c in order)
    out = np.zeros(m.shape[:-2] + (3,))
    if i != k:  # Tait-Bryan: R = Ri(a) Rj(b) Rk(c)
        parity = 1.0 if (j - i) % 3 == 1 else -1.0
        s = parity * m[..., i, k]
        b = np.arcsin(np.clip(s, -1.0, 1.0))
        cos_b = np.sqrt(np.maximum(0.0, 1.0 - s * s))
        lock = cos_b < 1e-7
        a = np.arctan2(-parity * m[..., j, k], m[..., k, k])
        c = np.arctan2(-parity * m[..., i, j], m[..., i, i])
        # At lock only a +/- c is determined: put it all in a.
        a_lock = np.arctan2(parity * m[..., k, j], m[..., j, j])
        out[..., 0] = np.where(lock, a_lock, a)
        out[..., 1] = b
        out[..., 2] = np.where(lock, 0.0, c)
    else:  # proper Euler: R = Ri(a) Rj(b) Ri(c)
        k = 3 - i - j
        parity = 1.0 if (j - i) % 3 == 1 else -1.0
        cb = np.clip(m[..., i, i], -1.0, 1.0)
        b = np.arccos(cb)
        lock = np.sqrt(np.maximum(0.0, 1.0 - cb * cb)) < 1e-7
        a = np.arctan2(m[..., j, i], -parity * m[..., k, i])
        c = np.arctan2(m[..., i, j], parity * m[..., i, k])
        a_lock = np.arctan2(-parity * m[..., j, k], m[..., j, j])
        out[..., 0] = np.where(lock, a_lock, a)
        out[..., 1] = b
        out[..., 2] = np.where(lock, 0.0, c)
    return out


def quat_to_euler(q: np.ndarray, order: str) -> np.ndarray:
    return matrix_to_euler(quat_to_matrix(q), order)


def yaw_quat(angle: np.ndarray) -> np.ndarray:
    """Rotation about the up axis (Z) by ``angle`` radians."""
    return axis_rotation_quat("Z", angle)


def angle_between_quats(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Geodesic angle (radians) between rotations."""
    dot = np.abs(np.sum(normalize(a) * normalize(b), axis=-1))
    return 2.0 * np.arccos(np.clip(dot, -1.0, 1.0))
