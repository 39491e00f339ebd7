"""Keys for the controls of a generated Rigify rig (bpy-free maths).

A rig made by Rigify's ``Generate Rig`` deforms the mesh with DEF- bones that follow the
controls through constraints, so the controls are what must be keyed (docs/retargeting.md,
"Rigify control rigs"). The transfer reuses the world-space retargeter unchanged:

1. **Deform view.** The DEF bones (and the rig's top bone) with their *logical* parents
   (a DEF bone's nearest DEF ancestor, an ORG bone standing for its DEF twin) are an
   ordinary rig: the Rigify-deform bone map and :func:`~motion.canonical_to_rig.solve_world`
   give every DEF bone's world rotation and head over time, exactly as for a deform-only
   Rigify export.
2. **Controls follow DEF bones rigidly.** A control keyed for joint c moves as the DEF
   bone of joint c does: rotation ``D_c`` and the head carried along
   (``p_d + D_d (h_control - h_d)``). The ``torso`` master carries the pelvis-side spine
   bone at the spine's pivot, so the FK spine hangs from it at rest offsets.
3. **Keys relative to the controlling parent.** Between a control and the keyed control
   its transform follows (found in Blender through parents, full Copy Transforms and
   Armature constraints) Rigify puts mechanism bones that are rigid once the IK/FK and
   follow switches are set to FK (the Blender layer keys them). So the pose-space key is
   ``B^T (D_e^T D_c) B`` and the location ``B^T (D_e^T (p_c - p_e) - (h_c - h_e))``; the
   location is keyed on the torso and wherever the hierarchy does not already put the
   head there.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import rotations as rot
from .canonical_to_rig import RigPose, WorldPose
from .pose_space import to_pose_space
from .rest_rig import RestRig
from .rig_target import RigTarget

DEFORM_PREFIX = "DEF-"
ORIGINAL_PREFIX = "ORG-"
MECHANISM_PREFIXES = ("MCH-", "ORG-", "DEF-")


def deform_view(rig: RestRig) -> RestRig:
    """The DEF bones of a generated Rigify rig as a rig of their own: each hangs from its
    nearest DEF ancestor, where an ORG ancestor with a DEF twin counts as that twin
    (``DEF-thigh.L`` hangs from ``ORG-spine``, i.e. ``DEF-spine``); bones with no such
    ancestor hang from the rig's top bone (``root``), which is kept."""
    names = set(rig.names)
    parent_name: dict[str, str | None] = {}

    def logical_parent(i: int) -> str | None:
        own = rig.names[i][len(DEFORM_PREFIX):]
        a = rig.parents[i]
        while a >= 0:
            n = rig.names[a]
            if n.startswith(DEFORM_PREFIX):
                return n
            twin = DEFORM_PREFIX + n[len(ORIGINAL_PREFIX):]
            if n.startswith(ORIGINAL_PREFIX) and twin in names and n[len(ORIGINAL_PREFIX):] != own:
                return twin
            if rig.parents[a] < 0:
                return n
            a = rig.parents[a]
        return None

    for i, n in enumerate(rig.names):
        if n.startswith(DEFORM_PREFIX):
            parent_name[n] = logical_parent(i)
    for top in {p for p in parent_name.values() if p and not p.startswith(DEFORM_PREFIX)}:
        parent_name[top] = None
    if not any(n.startswith(DEFORM_PREFIX) for n in parent_name):
        raise ValueError("the rig has no DEF- bones")
    keep = [i for i, n in enumerate(rig.names) if n in parent_name]
    index = {rig.names[i]: k for k, i in enumerate(keep)}
    parents = [index[parent_name[rig.names[i]]] if parent_name[rig.names[i]] else -1 for i in keep]
    connected = [rig.connected[i] and rig.parents[i] >= 0 and rig.names[rig.parents[i]] == parent_name[rig.names[i]]
                 for i in keep]
    return RestRig([rig.names[i] for i in keep], parents, rig.heads[keep], rig.tails[keep],
                   rig.matrices[keep], connected)


@dataclass
class ControlScheme:
    """Which controls get keys and how they move.

    follows: keyed control -> the DEF bone it moves with rigidly; parents: keyed control
    -> the keyed control whose transform it inherits (None: the rig at rest); carrier: the
    control keyed with the root translation (``torso``); root: the rig's top bone, which
    carries the ground-plane travel with ``root_motion="root"``.
    """

    follows: dict[str, str]
    parents: dict[str, str | None]
    carrier: str
    root: str | None = None
    notes: list[str] = field(default_factory=list)


def carrier_follows(joint_controls: dict[str, str], deform_bones: dict[str, str],
                    parents: dict[str, str | None], carrier: str) -> str:
    """The DEF bone the carrier (``torso``) moves with: that of the first spine control
    (canonical order) hanging from it, so the controls at the spine's pivot keep their
    rest offsets from it; the pelvis's DEF bone when none does."""
    for joint in ("spine1", "spine2", "spine3", "pelvis"):
        control = joint_controls.get(joint)
        if control is not None and parents.get(control) == carrier and joint in deform_bones:
            return deform_bones[joint]
    return deform_bones["pelvis"]


def control_pose(rig: RestRig, scheme: ControlScheme, deform: RigTarget, world: WorldPose,
                 location_tolerance: float = 1e-5) -> RigPose:
    """Pose-space keys for the keyed controls of ``rig`` (the whole generated rig) from
    the world solution ``world`` of its deform view ``deform`` (same armature space).

    Locations are keyed on the carrier, on the root bone when ``world`` moves it, and on
    any control whose head the hierarchy does not carry where it must be (beyond
    ``location_tolerance`` x scale).
    """
    t = len(world.deltas)
    dv = deform.rig
    d_heads = world.heads(deform)
    heads = rig.heads @ deform.axes.T
    rest = deform.axes @ rot.orthonormalize(rig.matrices)

    def motion_of(control: str) -> tuple[np.ndarray, np.ndarray]:
        """World delta (T, 4) and head (T, 3) of a control, canonical axes."""
        if control == scheme.root and control not in scheme.follows:
            d = np.tile([1.0, 0.0, 0.0, 0.0], (t, 1))
            h = np.broadcast_to(heads[rig.index[control]], (t, 3)).copy()
            if world.root_offset is not None:
                h += world.root_offset
            return d, h
        b = dv.index[scheme.follows[control]]
        offset = heads[rig.index[control]] - deform.heads[b]
        return world.deltas[:, b], d_heads[:, b] + rot.quat_rotate(
            world.deltas[:, b], np.broadcast_to(offset, (t, 3)))

    keyed = sorted(scheme.follows, key=lambda n: rig.order.index(rig.index[n]))
    moved = {n: motion_of(n) for n in keyed}
    if scheme.root is not None and world.root_offset is not None:
        moved[scheme.root] = motion_of(scheme.root)
    quats = np.empty((t, len(keyed), 4))
    locations: dict[str, np.ndarray] = {}
    identity = (np.tile([1.0, 0.0, 0.0, 0.0], (t, 1)), np.zeros((t, 3)))
    for k, name in enumerate(keyed):
        c = rig.index[name]
        d_c, p_c = moved[name]
        parent = scheme.parents.get(name)
        if parent is not None and parent not in moved:  # a parent that stays at rest
            moved[parent] = motion_of(parent) if parent == scheme.root else (
                identity[0], np.broadcast_to(heads[rig.index[parent]], (t, 3)).copy())
        d_e, p_e = moved[parent] if parent is not None else identity
        h_e = heads[rig.index[parent]] if parent is not None else np.zeros(3)
        local = rot.quat_mul(rot.quat_conjugate(d_e), d_c)
        quats[:, k] = to_pose_space(local, rest[c])
        offset = rot.quat_rotate(rot.quat_conjugate(d_e), p_c - p_e) - (heads[c] - h_e)
        location = offset @ rest[c]  # B^T v for each frame
        if name == scheme.carrier or (not rig.connected[c] and np.abs(location).max()
                                      > location_tolerance * world.scale):
            locations[name] = location
    if scheme.root is not None and world.root_offset is not None:
        r = rig.index[scheme.root]
        locations[scheme.root] = world.root_offset @ rest[r]
    return RigPose(keyed, rot.quat_continuous(quats), locations, [], world.fps, world.scale)
