"""The deform view of a generated Rigify rig and the control keys (bpy-free): DEF bones
hang from their logical parents, and controls keyed from a world solution put their
heads and rotations where the DEF bones they follow are."""
import numpy as np

from cadence.motion import rotations as rot
from cadence.motion.canonical_to_rig import WorldPose
from cadence.motion.rest_rig import RestRig
from cadence.motion.rig_target import RigTarget
from cadence.motion.rigify_control import ControlScheme, control_pose, deform_view

# name: (parent, head); tails point 10 cm up (+Z), rest rotations from the bone direction.
_BONES = {
    "root": (None, (0.0, 0.0, 0.0)),
    "torso": ("root", (0.0, 0.2, 1.0)),
    "spine_fk": ("torso", (0.0, 0.0, 1.1)),
    "tweak_spine": ("spine_fk", (0.0, 0.0, 1.0)),
    "ORG-spine": ("tweak_spine", (0.0, 0.0, 1.0)),
    "DEF-spine": ("root", (0.0, 0.0, 1.0)),
    "ORG-shoulder.L": ("ORG-spine", (0.1, 0.0, 1.3)),
    "DEF-shoulder.L": ("ORG-shoulder.L", (0.1, 0.0, 1.3)),
    "DEF-upper_arm.L": ("ORG-shoulder.L", (0.2, 0.0, 1.3)),
    "DEF-upper_arm.L.001": ("DEF-upper_arm.L", (0.3, 0.0, 1.3)),
    "DEF-thigh.L": ("ORG-spine", (0.1, 0.0, 0.9)),
}


def _rig() -> RestRig:
    names = list(_BONES)
    heads = np.array([_BONES[n][1] for n in names])
    parents = [names.index(_BONES[n][0]) if _BONES[n][0] else -1 for n in names]
    mats = np.tile(np.eye(3), (len(names), 1, 1))
    mats[names.index("spine_fk")] = rot.quat_to_matrix(rot.axis_angle_to_quat(np.array([np.pi, 0, 0])))
    return RestRig(names, parents, heads, heads + [0.0, 0.0, 0.1], mats)


def test_deform_view_logical_parents():
    view = deform_view(_rig())
    parent = {n: view.names[p] if p >= 0 else None for n, p in zip(view.names, view.parents)}
    assert parent == {"root": None, "DEF-spine": "root", "DEF-shoulder.L": "DEF-spine",
                      "DEF-upper_arm.L": "DEF-shoulder.L",
                      "DEF-upper_arm.L.001": "DEF-upper_arm.L", "DEF-thigh.L": "DEF-spine"}


def test_controls_follow_their_deform_bones():
    """A torso and a reversed FK pelvis control, keyed from a turned and moved DEF-spine:
    re-posing the controls through their parents gives the DEF bone's motion."""
    rig = _rig()
    view = deform_view(rig)
    target = RigTarget(view, None, {}, np.eye(3), 1.0, {}, {}, {}, view.index["DEF-spine"], 0)
    turn = rot.axis_angle_to_quat(np.array([[0.0, 0.0, 0.0], [0.3, -0.2, 0.5]]))
    deltas = np.tile([1.0, 0.0, 0.0, 0.0], (2, view.num_bones, 1))
    for b in range(view.num_bones):
        if b != view.index["root"]:
            deltas[:, b] = turn
    head = np.array([[0.0, 0.0, 1.0], [0.4, -0.1, 0.95]])
    world = WorldPose(deltas, head, None, 1.0, 30.0)
    scheme = ControlScheme({"torso": "DEF-spine", "spine_fk": "DEF-spine"},
                           {"torso": "root", "spine_fk": "torso"}, "torso", "root")
    pose = control_pose(rig, scheme, target, world)
    assert pose.bones == ["torso", "spine_fk"] and set(pose.locations) == {"torso"}
    np.testing.assert_allclose(np.abs(pose.rotations[:, 1, 0]), 1.0, atol=1e-9)  # rigid on torso
    # The torso's head: carried rigidly by DEF-spine from its rest offset.
    k = pose.bones.index("torso")
    r = rot.quat_to_matrix(pose.rotations[1, k])
    np.testing.assert_allclose(r, rot.quat_to_matrix(turn[1]), atol=1e-9)
    moved = head[1] + rot.quat_rotate(turn[1], np.array([0.0, 0.2, 0.0]))
    np.testing.assert_allclose(rig.heads[rig.index["torso"]] + pose.locations["torso"][1], moved,
                               atol=1e-9)
