"""Left-right mirror images of motion, for data augmentation (bpy-free).

The data has as many left-hand as right-hand waves, but a model can still learn one
side better; training on mirror images (left and right swapped, the prompt's sides
swapped too) gives every one-sided action twice the examples and forces the model to
read which side the prompt asks for.

The mirror plane is the canonical skeleton's YZ plane (its left is +X). With M =
diag(-1, 1, 1), every world or local rotation R becomes M R M (a quaternion (w, x, y, z)
becomes (w, x, -y, -z)), positions and velocities lose the sign of X, headings and
turning rates change sign, and each left joint trades places with its right partner.
Because the rest frames are world-aligned and the canonical skeleton is symmetric, this
is exact on motions and on the learning representation alike.
"""
from __future__ import annotations

import numpy as np

from .kinematics import Motion
from .representation import CONTACTS, NUM_JOINTS, POSITIONS, ROOT, ROTATIONS
from .skeleton import CANONICAL, FOOT_JOINTS

_MIRROR = np.array([-1.0, 1.0, 1.0])


def _partner(name: str) -> str:
    for a, b in (("left", "right"), ("right", "left")):
        if name.startswith(a + "_"):
            return b + name[len(a):]
    return name


def mirror_permutation(names: tuple[str, ...] | list[str]) -> np.ndarray:
    """Index of each joint's mirror partner (itself for joints on the midline)."""
    index = {n: i for i, n in enumerate(names)}
    missing = [n for n in names if _partner(n) not in index]
    if missing:
        raise ValueError(f"joints without a mirror partner: {missing}")
    return np.array([index[_partner(n)] for n in names])


_BODY = mirror_permutation(CANONICAL.names[:NUM_JOINTS])
_FEET = mirror_permutation(FOOT_JOINTS)


def mirror_motion(motion: Motion) -> Motion:
    """The mirror image of a canonical-skeleton motion."""
    perm = mirror_permutation(motion.skeleton.names)
    q = motion.rotations[:, perm] * np.array([1.0, 1.0, -1.0, -1.0])
    return Motion(q, motion.root_positions * _MIRROR, motion.fps, motion.skeleton)


def mirror_features(features: np.ndarray) -> np.ndarray:
    """The mirror image of representation frames (..., T, 206) (``motion/representation.py``)."""
    f = np.asarray(features)
    out = np.empty_like(f)
    root = f[..., ROOT]
    out[..., ROOT] = root * np.array([-1.0, -1.0, 1.0, 1.0])  # turning rate, leftward velocity
    shape = f.shape[:-1]
    six = f[..., ROTATIONS].reshape(shape + (NUM_JOINTS, 2, 3))[..., _BODY, :, :]
    # Columns of M R M: M c0 with its sign flipped (M e0 = -e0), and M c1.
    out[..., ROTATIONS] = (six * np.array([[1.0, -1.0, -1.0], [-1.0, 1.0, 1.0]])).reshape(shape + (-1,))
    pos = f[..., POSITIONS].reshape(shape + (NUM_JOINTS, 3))[..., _BODY, :]
    out[..., POSITIONS] = (pos * _MIRROR).reshape(shape + (-1,))
    out[..., CONTACTS] = f[..., CONTACTS][..., _FEET]
    return out


def mirror_label(label: str, labels: set[str] | list[str] | tuple[str, ...]) -> str:
    """The content label of an action's mirror image: 'wave-left-hand' <-> 'wave-right-hand'
    when both exist, the label itself otherwise."""
    for a, b in (("left", "right"), ("right", "left")):
        if a in label.split("-"):
            other = "-".join(b if w == a else w for w in label.split("-"))
            if other in labels:
                return other
    return label
