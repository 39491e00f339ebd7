"""A rig as the bpy-free code sees it: rest data (:class:`RestRig`) and posed samples
(:class:`RigSamples`).

Blender's side (``blender/``) reads these from an armature; bone mapping, rig export, the
canonical-to-rig retarget and the SMPL-X reader all consume them, so they live here, below
every one of those modules.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RestRig:
    """Rest data of an armature, in armature space.

    names: bone names; parents: parent index or -1 (any order); heads, tails: (N, 3)
    rest head and tail positions; matrices: (N, 3, 3) rest rotations (Blender's
    ``bone.matrix_local``); connected: whether a bone's head is locked to its parent's
    tail (Blender ignores the location of connected bones).
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    heads: np.ndarray
    tails: np.ndarray
    matrices: np.ndarray
    connected: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        self.names = tuple(self.names)
        self.parents = tuple(int(p) for p in self.parents)
        n = len(self.names)
        self.heads = np.asarray(self.heads, dtype=float).reshape(n, 3)
        self.tails = np.asarray(self.tails, dtype=float).reshape(n, 3)
        self.matrices = np.asarray(self.matrices, dtype=float).reshape(n, 3, 3)
        self.connected = tuple(bool(c) for c in self.connected) or (False,) * n
        if len(self.parents) != n or len(self.connected) != n:
            raise ValueError("names, parents and connected must have the same length")
        if len(set(self.names)) != n:
            raise ValueError("bone names must be unique")
        self.index = {name: i for i, name in enumerate(self.names)}
        self.children: list[list[int]] = [[] for _ in range(n)]
        for i, p in enumerate(self.parents):
            if p >= 0:
                self.children[p].append(i)
        self.order: list[int] = []  # parents before children
        stack = [i for i, p in enumerate(self.parents) if p < 0][::-1]
        while stack:
            i = stack.pop()
            self.order.append(i)
            stack.extend(self.children[i][::-1])
        if len(self.order) != n:
            raise ValueError("bone parents form a cycle")

    @property
    def num_bones(self) -> int:
        return len(self.names)

    def ancestors(self, b: int) -> list[int]:
        """Parent, grandparent, ... up to the root."""
        out = []
        p = self.parents[b]
        while p >= 0:
            out.append(p)
            p = self.parents[p]
        return out

    def is_ancestor(self, a: int, b: int) -> bool:
        """Whether ``a`` is ``b`` or one of its ancestors."""
        return a == b or a in self.ancestors(b)

    def common_ancestor(self, bones: list[int]) -> int:
        """The deepest bone that is ``b`` or an ancestor of ``b`` for every b; -1 if none."""
        if not bones:
            return -1
        common = [bones[0]] + self.ancestors(bones[0])
        for b in bones[1:]:
            line = set([b] + self.ancestors(b))
            common = [a for a in common if a in line]
        return common[0] if common else -1

    def subtree(self, b: int) -> list[int]:
        out, stack = [], [b]
        while stack:
            i = stack.pop()
            out.append(i)
            stack.extend(self.children[i])
        return out


@dataclass
class RigSamples:
    """A rig sampled over frames.

    rig: rest data in armature space; pose: (T, N, 4, 4) posed bone matrices in armature
    space, bones in ``rig.names`` order; world: (T, 4, 4) or (4, 4) the armature
    object's world matrix; fps: frames per second of the samples.
    """

    rig: RestRig
    pose: np.ndarray
    world: np.ndarray
    fps: float

    def __post_init__(self) -> None:
        n = self.rig.num_bones
        self.pose = np.asarray(self.pose, dtype=float)
        if self.pose.ndim != 4 or self.pose.shape[1:] != (n, 4, 4) or len(self.pose) == 0:
            raise ValueError(f"pose must be (frames, {n}, 4, 4), got {self.pose.shape}")
        self.world = np.asarray(self.world, dtype=float)
        if self.world.shape == (4, 4):
            self.world = np.broadcast_to(self.world, (len(self.pose), 4, 4))
        if self.world.shape != (len(self.pose), 4, 4):
            raise ValueError(f"world must be (4, 4) or ({len(self.pose)}, 4, 4), "
                             f"got {self.world.shape}")
        if not np.all(np.isfinite(self.pose)) or not np.all(np.isfinite(self.world)):
            raise ValueError("the sampled pose contains NaN or infinite values")
        if not self.fps > 0:
            raise ValueError("fps must be positive")

    @property
    def num_frames(self) -> int:
        return len(self.pose)
