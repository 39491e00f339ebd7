"""Bake onto the controls of a generated Rigify rig (the bpy layer over
``motion/rigify_control.py``; docs/retargeting.md, "Rigify control rigs").

What is read from the rig rather than assumed (it varies between Rigify versions):
which keyed control each control's transform follows (parents, full Copy Transforms and
Armature constraints, with mechanism bones in between), and the switches: custom
properties that drive the influence of constraints on those paths or of the IK side of
an ORG bone that copies an FK control (``IK_FK``, ``neck_follow``, ...). Each switch is
set to the end of its range that turns its constraints off, found by letting Blender
evaluate the drivers, and keyed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import bpy

from ..motion.bone_map import REQUIRED_JOINTS, BoneMap
from ..motion.canonical_to_rig import RetargetOptions, solve_world
from ..motion.kinematics import Motion
from ..motion.rest_rig import RestRig
from ..motion.rig_mapping import match_rig
from ..motion.rig_names import looks_like_rigify_controls
from ..motion.rig_target import RigTarget, prepare_target
from ..motion.rigify_control import MECHANISM_PREFIXES, ControlScheme, carrier_follows, control_pose, deform_view

RIG_ID = "rig_id"  # custom property Rigify puts on a generated rig's armature data
_PROPERTY_PATH = re.compile(r'^pose\.bones\["(?P<bone>(?:[^"\\]|\\.)*)"\]\["(?P<prop>(?:[^"\\]|\\.)*)"\]$')
_INFLUENCE_PATH = re.compile(
    r'^pose\.bones\["(?P<bone>(?:[^"\\]|\\.)*)"\]\.constraints\["(?P<con>(?:[^"\\]|\\.)*)"\]\.influence$')
_OFF = 1e-4  # an influence at most this is off


def is_generated_rigify(obj: bpy.types.Object) -> bool:
    """A rig made by Rigify's Generate Rig, constraints and all: its controls are what an
    animator keys. (A deform-only or FBX-exported copy has no ``rig_id``.)"""
    return (obj is not None and obj.type == 'ARMATURE' and RIG_ID in obj.data
            and looks_like_rigify_controls([b.name for b in obj.data.bones]))


def uses_controls(bone_map: BoneMap) -> bool:
    """Whether a map drives controls (not DEF-/ORG-/MCH- bones)."""
    return not any(b.startswith(MECHANISM_PREFIXES) for b in bone_map.bones.values())


@dataclass
class ControlPlan:
    """Everything a control bake needs, read from the rig before anything changes."""

    bone_map: BoneMap                         # joint -> control, resolved
    target: RigTarget                         # the deform view, prepared
    scheme: ControlScheme
    switches: dict[tuple[str, str], float]    # (pose bone, property) -> value that means FK
    rest_bones: list[str]


def _influence_drivers(obj: bpy.types.Object) -> dict[tuple[str, str], tuple[str, str] | None]:
    """{(bone, constraint): (owner bone, property)} for driven constraint influences;
    None where the driver reads something other than one custom property."""
    out: dict[tuple[str, str], tuple[str, str] | None] = {}
    anim = obj.animation_data
    for fcurve in anim.drivers if anim else ():
        m = _INFLUENCE_PATH.match(fcurve.data_path)
        if not m:
            continue
        found = set()
        for var in fcurve.driver.variables:
            for target in var.targets:
                p = _PROPERTY_PATH.match(target.data_path or "")
                found.add((p.group("bone"), p.group("prop")) if var.type == 'SINGLE_PROP' and p
                          and target.id == obj else None)
        out[(m.group("bone"), m.group("con"))] = found.pop() if len(found) == 1 else None
    return out


def _follows_fully(pose_bone: bpy.types.PoseBone, driven: dict) -> str | None:
    """The bone whose world transform ``pose_bone`` takes over entirely (the last full,
    undriven Copy Transforms or Armature constraint), or None."""
    for con in reversed(pose_bone.constraints):
        if not getattr(con, "enabled", True) or (pose_bone.name, con.name) in driven:
            continue
        if con.type == 'COPY_TRANSFORMS' and con.influence > 1 - _OFF and con.subtarget:
            return con.subtarget
        if con.type == 'ARMATURE' and con.influence > 1 - _OFF:
            weights = [(t.weight, t.subtarget) for t in con.targets if t.subtarget]
            if weights and max(weights)[0] > 1 - _OFF:
                return max(weights)[1]
    return None


def _walk(obj: bpy.types.Object, control: str, anchors: set[str], driven: dict) -> tuple[str | None, list[str]]:
    """(the anchor whose transform ``control`` follows or None, the bones in between)."""
    bones = obj.pose.bones
    path: list[str] = []
    bone = bones[control].parent
    while bone is not None and bone.name not in anchors and len(path) < 200:
        path.append(bone.name)
        source = _follows_fully(bone, driven)
        bone = bones.get(source) if source else bone.parent
    return (bone.name if bone is not None and bone.name in anchors else None), path


def _switch_value(obj: bpy.types.Object, owner: str, prop: str,
                  constraints: list[tuple[str, str]]) -> float | None:
    """The end of the property's range that turns ``constraints`` off (Blender evaluates
    the drivers), or None."""
    pose_bone = obj.pose.bones[owner]
    try:
        ui = pose_bone.id_properties_ui(prop).as_dict()
        ends = [ui.get("min", 0.0), ui.get("max", 1.0)]
    except TypeError:  # a property without UI data (bool, string)
        ends = [0.0, 1.0]
    original = pose_bone[prop]
    try:
        for value in ends:
            pose_bone[prop] = type(original)(value)
            obj.update_tag()
            depsgraph = bpy.context.evaluated_depsgraph_get()
            depsgraph.update()
            evaluated = obj.evaluated_get(depsgraph).pose.bones
            if all(evaluated[b].constraints[c].influence <= _OFF for b, c in constraints):
                return float(value)
        return None
    finally:
        pose_bone[prop] = original
        obj.update_tag()


def plan_controls(obj: bpy.types.Object, rig: RestRig, bone_map: BoneMap,
                  find_switches: bool = True) -> ControlPlan:
    """Read the control scheme of the generated Rigify rig ``obj``; raise ValueError with
    the reason when the map or the rig does not fit. ``find_switches=False`` leaves the
    switch values out (finding them sets properties for a moment, which a panel's draw
    may not do)."""
    bone_map = bone_map.resolve(rig.names)
    missing = [j for j in REQUIRED_JOINTS if j not in bone_map.bones]
    if missing:
        raise ValueError("the bone map has no controls for " + ", ".join(missing))
    deform = deform_view(rig)
    target = prepare_target(deform, match_rig(deform))
    deform_bones = target.bone_map.bones
    joint_controls = {j: c for j, c in bone_map.bones.items() if j in deform_bones}
    skipped = sorted(set(bone_map.bones) - set(joint_controls))
    notes = [f"no DEF bone for {', '.join(skipped)}: their controls stay unkeyed"] if skipped else []

    spine = [rig.index[c] for j, c in joint_controls.items() if j in ("pelvis", "spine1", "spine2", "spine3")]
    carrier = rig.common_ancestor(spine)
    while carrier >= 0 and rig.names[carrier].startswith(MECHANISM_PREFIXES):
        carrier = rig.parents[carrier]
    if carrier < 0:
        raise ValueError("cannot find the spine's master control (Rigify's torso)")
    carrier_name = rig.names[carrier]
    root = bone_map.root or next((rig.names[i] for i in rig.order if rig.parents[i] < 0), None)

    driven = _influence_drivers(obj)
    keyed = set(joint_controls.values()) | {carrier_name}
    anchors = keyed | ({root} if root else set())
    parents, visited = {}, set()
    for control in sorted(keyed):
        parents[control], path = _walk(obj, control, anchors, driven)
        visited.update(path)
    # Switches: driven constraints on the paths, and the IK side of ORG bones that copy
    # an FK control.
    bones = obj.pose.bones
    copiers = [pb.name for pb in bones if any(c.type == 'COPY_TRANSFORMS' and c.subtarget in keyed
                                             and (pb.name, c.name) not in driven for c in pb.constraints)]
    by_switch: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for name in visited | set(copiers):
        for con in bones[name].constraints:
            key = (name, con.name)
            if key in driven and getattr(con, "enabled", True):
                if driven[key] is None:
                    notes.append(f"{name}: constraint {con.name!r} is driven by an expression "
                                 "Cadence cannot switch")
                    continue
                by_switch.setdefault(driven[key], []).append(key)
    switches = {}
    for (owner, prop), constraints in sorted(by_switch.items()) if find_switches else ():
        value = _switch_value(obj, owner, prop, constraints)
        if value is None:
            raise ValueError(f"cannot find the value of {owner}[{prop!r}] that switches "
                             f"{', '.join(c for _, c in constraints)} off")
        switches[(owner, prop)] = value
    if switches:
        bpy.context.evaluated_depsgraph_get().update()

    follows = {c: deform_bones[j] for j, c in joint_controls.items()}
    follows[carrier_name] = carrier_follows(joint_controls, deform_bones, parents, carrier_name)
    scheme = ControlScheme(follows, parents, carrier_name, root, notes)
    moved = set(deform_bones.values()) | {deform.names[b] for b in target.distributed}
    return ControlPlan(bone_map, target, scheme, switches,
                       _rest_bones(obj, keyed, sorted(moved), driven))


def _rest_bones(obj: bpy.types.Object, keyed: set[str], deform: list[str],
                driven: dict) -> list[str]:
    """Unkeyed bones the keyed controls and the mapped DEF bones depend on (parents and
    targets of active constraints, IK sides excluded): they go to rest so the rig plays
    what was baked (the torso's ``hips`` and ``chest``, tweaks, finger masters)."""
    bones = obj.pose.bones
    seen, stack = set(), list(keyed) + deform
    while stack:
        name = stack.pop()
        if name in seen or name not in bones:
            continue
        seen.add(name)
        pose_bone = bones[name]
        if pose_bone.parent is not None:
            stack.append(pose_bone.parent.name)
        for con in pose_bone.constraints:
            if not getattr(con, "enabled", True) or (name, con.name) in driven:
                continue
            stack.extend(t.subtarget for t in getattr(con, "targets", ()) if t.subtarget)
            if getattr(con, "subtarget", ""):
                stack.append(con.subtarget)
    order = [b.name for b in obj.data.bones]
    return [n for n in order if n in seen and n not in keyed and not n.startswith(MECHANISM_PREFIXES)]


def control_rig_pose(obj: bpy.types.Object, rig: RestRig, motion: Motion, bone_map: BoneMap,
                     options: RetargetOptions | None = None):
    """(plan, pose keys) of ``motion`` on the controls of ``obj``. Raises ValueError."""
    plan = plan_controls(obj, rig, bone_map)
    world = solve_world(plan.target, motion, options)
    pose = control_pose(rig, plan.scheme, plan.target, world)
    pose.rest_bones = [n for n in plan.rest_bones if n not in pose.locations]
    plan.target.notes.extend(plan.scheme.notes)
    return plan, pose
