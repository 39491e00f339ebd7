"""Test rigs in the style of common naming conventions, built from the canonical rest pose.

Each :class:`RigSpec` has the canonical skeleton's proportions (so a retargeted motion
must land exactly where the canonical one does), but its own names, hierarchy (root
bones, split spines, twist bones, MMD's centre/lower/upper body), rest pose (T or A,
any arm angle), bone rolls, data axes (Z up or Y up) and units, and an object
transform (0.01 scale, 90-degree rotation). ``rest_rig`` gives the bpy-free rest data;
``build_object`` builds it in Blender.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cadence.motion import rotations as rot
from cadence.motion.rest_rig import RestRig
from cadence.motion.skeleton import CANONICAL, PRIMARY_CHILD

P = CANONICAL.rest_positions()
J = {n: i for i, n in enumerate(CANONICAL.names)}
Z_UP = np.eye(3)
Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # (x, y, z) -> (x, z, -y)
_SIDES = ("left", "right")
_FINGERS = ("thumb", "index", "middle", "ring", "pinky")


@dataclass
class RigSpec:
    label: str
    bones: dict[str, tuple[str | None, np.ndarray]]  # name -> (parent, head in canonical space)
    joints: dict[str, str]                 # canonical joint -> bone (what a map should say)
    arm_angle: float = 0.0                 # degrees the arms hang below horizontal at rest
    data_rotation: np.ndarray = field(default_factory=lambda: Z_UP)  # canonical -> data axes
    data_scale: float = 1.0
    object_euler: tuple[float, float, float] = (0.0, 0.0, 0.0)  # radians, XYZ
    object_scale: float = 1.0
    object_location: tuple[float, float, float] = (0.0, 0.0, 0.0)
    roll_seed: int | None = None           # random rolls; None: roll 0

    def posed_heads(self) -> dict[str, np.ndarray]:
        """Heads in canonical space with the arms lowered by ``arm_angle``."""
        out = {n: h.copy() for n, (_, h) in self.bones.items()}
        if not self.arm_angle:
            return out
        for side, sign in (("left", 1.0), ("right", -1.0)):
            pivot_bone = self.joints[f"{side}_shoulder"]
            pivot = self.bones[pivot_bone][1]
            turn = rot.quat_to_matrix(rot.axis_rotation_quat("Y", sign * np.radians(self.arm_angle)))
            for n in self.descendants(pivot_bone):
                out[n] = pivot + turn @ (self.bones[n][1] - pivot)
        return out

    def descendants(self, name: str) -> list[str]:
        out = [name]
        for n, (parent, _) in self.bones.items():
            if parent is not None and parent in out:
                out.append(n)
        return out

    def children(self, name: str) -> list[str]:
        return [n for n, (p, _) in self.bones.items() if p == name]

    def armature_heads_tails(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        heads = self.posed_heads()
        names = list(self.bones)
        h = np.array([heads[n] for n in names])
        t = np.empty_like(h)
        joint_of = {b: j for j, b in self.joints.items()}
        for k, n in enumerate(names):
            kids = self.children(n)
            want = PRIMARY_CHILD.get(joint_of.get(n, ""))
            pick = [c for c in kids if joint_of.get(c) == want] or [
                c for c in kids if np.linalg.norm(heads[c] - h[k]) > 1e-4]
            if pick:
                t[k] = heads[pick[0]]
            else:
                parent = self.bones[n][0]
                d = h[k] - heads[parent] if parent else np.array([0.0, 0.0, 1.0])
                if np.linalg.norm(d) < 1e-4:
                    d = np.array([0.0, 0.0, 1.0])
                t[k] = h[k] + rot.normalize(d) * 0.05
        m = self.data_rotation * self.data_scale
        return names, h @ m.T, t @ m.T

    def rolls(self) -> np.ndarray:
        if self.roll_seed is None:
            return np.zeros(len(self.bones))
        return np.random.default_rng(self.roll_seed).uniform(-np.pi, np.pi, len(self.bones))

    def object_matrix(self) -> np.ndarray:
        r = rot.euler_to_matrix(np.array(self.object_euler)[::-1], "ZYX")  # Blender XYZ Euler
        m = np.eye(4)
        m[:3, :3] = r * self.object_scale
        m[:3, 3] = self.object_location
        return m

    def to_canonical_space(self, world: np.ndarray) -> np.ndarray:
        """World points (..., 3) back to canonical space (undo object and data transforms)."""
        m = self.object_matrix()
        arm = (world - m[:3, 3]) @ np.linalg.inv(m[:3, :3]).T
        return arm @ np.linalg.inv(self.data_rotation * self.data_scale).T


def bone_matrix(head, tail, roll) -> np.ndarray:
    """Blender's rest rotation of a bone (Y along the bone, then roll about it)."""
    y = rot.normalize(np.asarray(tail, float) - np.asarray(head, float))
    # Blender's vec_roll_to_mat3: shortest arc from +Y onto y, then roll about y.
    x, yy, z = y
    theta = 1.0 + yy
    if theta > 1e-5 or np.hypot(x, z) > 1e-10:
        if theta <= 1e-5:
            theta = (x * x + z * z) / 2.0
        m = np.array([[1 - x * x / theta, x, -x * z / theta],
                      [-x, yy, -z],
                      [-x * z / theta, z, 1 - z * z / theta]]).T
    else:
        m = np.array([[-1.0, 0, 0], [0, -1.0, 0], [0, 0, 1.0]])
    roll_m = rot.quat_to_matrix(rot.axis_angle_to_quat(y * roll))
    return roll_m @ m


def rest_rig(spec: RigSpec) -> RestRig:
    names, heads, tails = spec.armature_heads_tails()
    index = {n: i for i, n in enumerate(names)}
    parents = [index[spec.bones[n][0]] if spec.bones[n][0] else -1 for n in names]
    mats = np.array([bone_matrix(h, t, r) for h, t, r in zip(heads, tails, spec.rolls())])
    return RestRig(names, parents, heads, tails, mats)


def build_object(bpy, spec: RigSpec, name: str | None = None):
    """The spec as a Blender armature object in the current scene (object mode after)."""
    names, heads, tails = spec.armature_heads_tails()
    data = bpy.data.armatures.new(name or spec.label)
    obj = bpy.data.objects.new(name or spec.label, data)
    bpy.context.scene.collection.objects.link(obj)
    for other in bpy.context.selected_objects:
        other.select_set(False)
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    bpy.ops.object.mode_set(mode='EDIT')
    edit = {}
    for n, h, t, r in zip(names, heads, tails, spec.rolls()):
        b = data.edit_bones.new(n)
        b.head, b.tail, b.roll = h, t, r
        edit[n] = b
    for n in names:
        parent = spec.bones[n][0]
        if parent:
            edit[n].parent = edit[parent]
    bpy.ops.object.mode_set(mode='OBJECT')
    obj.rotation_mode = 'XYZ'
    obj.rotation_euler = spec.object_euler
    obj.scale = (spec.object_scale,) * 3
    obj.location = spec.object_location
    return obj


# --- conventions ------------------------------------------------------------------------

def _canonical_bones(name_of, fingers: bool = True) -> tuple[dict, dict]:
    bones, joints = {}, {}
    for j, joint in enumerate(CANONICAL.names):
        if joint in ("jaw", "left_eye_smplhf", "right_eye_smplhf"):
            continue
        if not fingers and j >= 25:
            continue
        p = CANONICAL.parents[j]
        bones[name_of(joint)] = (name_of(CANONICAL.names[p]) if p >= 0 else None, P[j].copy())
        joints[joint] = name_of(joint)
    return bones, joints


def _insert(bones: dict, child: str, name: str, frac: float) -> None:
    """A new bone on the segment from child's parent to child, at ``frac``."""
    parent, head = bones[child]
    bones[name] = (parent, bones[parent][1] + frac * (head - bones[parent][1]))
    bones[child] = (name, head)


def _leaf(bones: dict, name: str, parent: str, head) -> None:
    bones[name] = (parent, np.asarray(head, float))


def _root(bones: dict, name: str, head=(0.0, 0.0, 0.0)) -> None:
    for n, (p, h) in list(bones.items()):
        if p is None:
            bones[n] = (name, h)
    bones[name] = (None, np.asarray(head, float))


def _ordered(bones: dict) -> dict:
    """Parents before children (Blender does not need it; RestRig does not either)."""
    out: dict = {}
    while len(out) < len(bones):
        for n, (p, h) in bones.items():
            if n not in out and (p is None or p in out):
                out[n] = (p, h)
    return out


_MIXAMO = {"pelvis": "Hips", "spine1": "Spine", "spine2": "Spine1", "spine3": "Spine2",
           "neck": "Neck", "head": "Head"}
_MIXAMO_SIDED = {"hip": "UpLeg", "knee": "Leg", "ankle": "Foot", "foot": "ToeBase",
                 "collar": "Shoulder", "shoulder": "Arm", "elbow": "ForeArm", "wrist": "Hand"}


def mixamo(prefix: str = "mixamorig:", eyes: bool = False, **kw) -> RigSpec:
    def name_of(j):
        if j in _MIXAMO:
            return prefix + _MIXAMO[j]
        side, part = j.split("_", 1)
        s = side.capitalize()
        if part in _MIXAMO_SIDED:
            return f"{prefix}{s}{_MIXAMO_SIDED[part]}"
        return f"{prefix}{s}Hand{part[:-1].capitalize()}{part[-1]}"
    bones, joints = _canonical_bones(name_of)
    _leaf(bones, prefix + "HeadTop_End", prefix + "Head", P[J["head"]] + [0, 0, 0.17])
    for s in ("Left", "Right"):
        toe = bones[f"{prefix}{s}ToeBase"][1]
        _leaf(bones, f"{prefix}{s}Toe_End", f"{prefix}{s}ToeBase", toe + [0, -0.06, 0])
    for side in ("left", "right") if eyes else ():  # Mixamo characters' LeftEye / RightEye bones
        joints[f"{side}_eye_smplhf"] = name = f"{prefix}{side.capitalize()}Eye"
        _leaf(bones, name, prefix + "Head", P[J[f"{side}_eye_smplhf"]])
    return RigSpec("mixamo", _ordered(bones), joints, **kw)


def unreal(**kw) -> RigSpec:
    centre = {"pelvis": "pelvis", "spine1": "spine_01", "spine2": "spine_03", "spine3": "spine_05",
              "neck": "neck_01", "head": "head"}
    sided = {"hip": "thigh", "knee": "calf", "ankle": "foot", "foot": "ball", "collar": "clavicle",
             "shoulder": "upperarm", "elbow": "lowerarm", "wrist": "hand"}

    def name_of(j):
        if j in centre:
            return centre[j]
        side, part = j.split("_", 1)
        s = side[0]
        return f"{sided[part]}_{s}" if part in sided else f"{part[:-1]}_0{part[-1]}_{s}"
    bones, joints = _canonical_bones(name_of)
    _insert(bones, "spine_03", "spine_02", 0.5)
    _insert(bones, "spine_05", "spine_04", 0.5)
    _insert(bones, "head", "neck_02", 0.5)
    _root(bones, "root")
    for s in "lr":  # twist bones as side leaves, IK helpers under the root
        mid = 0.5 * (bones[f"upperarm_{s}"][1] + bones[f"lowerarm_{s}"][1])
        _leaf(bones, f"upperarm_twist_01_{s}", f"upperarm_{s}", mid)
        mid = 0.5 * (bones[f"calf_{s}"][1] + bones[f"foot_{s}"][1])
        _leaf(bones, f"calf_twist_01_{s}", f"calf_{s}", mid)
        _leaf(bones, f"ik_foot_{s}", "root", bones[f"foot_{s}"][1])
    return RigSpec("unreal", _ordered(bones), joints, **kw)


def rigify(prefix: str = "DEF-", **kw) -> RigSpec:
    centre = {"pelvis": "spine", "spine1": "spine.001", "spine2": "spine.002",
              "spine3": "spine.003", "neck": "spine.004", "head": "spine.006"}
    sided = {"hip": "thigh", "knee": "shin", "ankle": "foot", "foot": "toe", "collar": "shoulder",
             "shoulder": "upper_arm", "elbow": "forearm", "wrist": "hand"}

    def name_of(j):
        if j in centre:
            return prefix + centre[j]
        side, part = j.split("_", 1)
        s = side[0].upper()
        if part in sided:
            return f"{prefix}{sided[part]}.{s}"
        f = part[:-1]
        return f"{prefix}{'thumb' if f == 'thumb' else 'f_' + f}.0{part[-1]}.{s}"
    bones, joints = _canonical_bones(name_of)
    _insert(bones, prefix + "spine.006", prefix + "spine.005", 0.5)
    for s in "LR":  # Rigify's deform chains: second segments inside the chain
        _insert(bones, f"{prefix}shin.{s}", f"{prefix}thigh.{s}.001", 0.5)
        _insert(bones, f"{prefix}foot.{s}", f"{prefix}shin.{s}.001", 0.5)
        _insert(bones, f"{prefix}forearm.{s}", f"{prefix}upper_arm.{s}.001", 0.5)
        _insert(bones, f"{prefix}hand.{s}", f"{prefix}forearm.{s}.001", 0.5)
    return RigSpec("rigify" if prefix == "DEF-" else "metarig", _ordered(bones), joints, **kw)


def vrm(**kw) -> RigSpec:
    centre = {"pelvis": "J_Bip_C_Hips", "spine1": "J_Bip_C_Spine", "spine2": "J_Bip_C_Chest",
              "spine3": "J_Bip_C_UpperChest", "neck": "J_Bip_C_Neck", "head": "J_Bip_C_Head"}
    sided = {"hip": "UpperLeg", "knee": "LowerLeg", "ankle": "Foot", "foot": "ToeBase",
             "collar": "Shoulder", "shoulder": "UpperArm", "elbow": "LowerArm", "wrist": "Hand"}
    fingers = {"thumb": "Thumb", "index": "Index", "middle": "Middle", "ring": "Ring", "pinky": "Little"}

    def name_of(j):
        if j in centre:
            return centre[j]
        side, part = j.split("_", 1)
        s = side[0].upper()
        return f"J_Bip_{s}_{sided[part]}" if part in sided else f"J_Bip_{s}_{fingers[part[:-1]]}{part[-1]}"
    bones, joints = _canonical_bones(name_of)
    _root(bones, "Root")
    return RigSpec("vrm", _ordered(bones), joints, **kw)


def mmd(**kw) -> RigSpec:
    sided = {"hip": "足", "knee": "ひざ", "ankle": "足首", "foot": "つま先", "collar": "肩",
             "shoulder": "腕", "elbow": "ひじ", "wrist": "手首"}

    def name_of(j):
        centre = {"pelvis": "下半身", "spine1": "上半身", "spine3": "上半身2", "neck": "首",
                  "head": "頭", "spine2": "上半身1"}
        if j in centre:
            return centre[j]
        side, part = j.split("_", 1)
        return ("左" if side == "left" else "右") + sided[part]
    bones, joints = _canonical_bones(name_of, fingers=False)
    # MMD: the centre carries translation; lower and upper body both hang from it and
    # pivot at the waist; no spine2.
    waist = P[J["spine1"]]
    del bones["上半身1"], joints["spine2"]
    bones["上半身2"] = ("上半身", P[J["spine3"]])
    bones["下半身"] = ("センター", waist.copy())
    bones["上半身"] = ("センター", waist.copy())
    bones["センター"] = ("全ての親", np.array([0.0, 0.0, 0.6]))
    bones["全ての親"] = (None, np.zeros(3))
    for s in "左右":
        elbow = bones[s + "ひじ"][1]
        _insert(bones, s + "ひじ", s + "腕捩", 0.5)  # arm twist inside the chain
        _leaf(bones, s + "足IK", "全ての親", bones[s + "足首"][1])
        del elbow
    return RigSpec("mmd", _ordered(bones), joints, **kw)


def character_creator(**kw) -> RigSpec:
    centre = {"pelvis": "CC_Base_Hip", "spine1": "CC_Base_Waist", "spine2": "CC_Base_Spine01",
              "spine3": "CC_Base_Spine02", "neck": "CC_Base_NeckTwist01", "head": "CC_Base_Head"}
    sided = {"hip": "Thigh", "knee": "Calf", "ankle": "Foot", "foot": "ToeBase", "collar": "Clavicle",
             "shoulder": "Upperarm", "elbow": "Forearm", "wrist": "Hand"}
    fingers = {"thumb": "Thumb", "index": "Index", "middle": "Mid", "ring": "Ring", "pinky": "Pinky"}

    def name_of(j):
        if j in centre:
            return centre[j]
        side, part = j.split("_", 1)
        s = side[0].upper()
        return f"CC_Base_{s}_{sided[part]}" if part in sided else f"CC_Base_{s}_{fingers[part[:-1]]}{part[-1]}"
    bones, joints = _canonical_bones(name_of)
    bones["CC_Base_Pelvis"] = ("CC_Base_Hip", P[J["pelvis"]].copy())
    for s in "LR":
        bones[f"CC_Base_{s}_Thigh"] = ("CC_Base_Pelvis", bones[f"CC_Base_{s}_Thigh"][1])
    _insert(bones, "CC_Base_Head", "CC_Base_NeckTwist02", 0.5)
    _root(bones, "CC_Base_BoneRoot")
    return RigSpec("character_creator", _ordered(bones), joints, **kw)


def generic(**kw) -> RigSpec:
    """Meaningless names: only the hierarchy and the geometry can map it."""
    order = [j for j in CANONICAL.names[:22]]
    name_of = {j: f"bone{k:02d}" for k, j in enumerate(order)}
    bones, joints = _canonical_bones(lambda j: name_of.get(j, j), fingers=False)
    return RigSpec("generic", _ordered(bones), joints, **kw)


def smpl_addon(**kw) -> RigSpec:
    def name_of(j):
        if "_" not in j:
            return j.capitalize()
        side, part = j.split("_", 1)
        return f"{side[0].upper()}_{part.capitalize()}"
    bones, joints = _canonical_bones(name_of, fingers=False)
    return RigSpec("smpl", _ordered(bones), joints, **kw)


def cmu_asf(**kw) -> RigSpec:
    """A CMU mocap BVH with the ASF joint names in lower case: zero-length hip joints and
    lower back at the root, an abdomen/chest spine, a second neck bone, finger and thumb
    leaves (issue 24: refused before as "closest naming: daz_genesis")."""
    centre = {"pelvis": "hip", "spine1": "abdomen", "spine2": "spine2", "spine3": "chest",
              "neck": "neck", "head": "head"}
    sided = {"hip": "hip", "knee": "knee", "ankle": "foot", "collar": "collar",
             "shoulder": "shoulder", "elbow": "elbow", "wrist": "hand"}

    def name_of(j):
        if j in centre:
            return centre[j]
        side, part = j.split("_", 1)
        if part == "foot":
            return f"{side}toebase"
        return side[0] + sided[part]
    bones, joints = _canonical_bones(name_of, fingers=False)
    del bones["spine2"], joints["spine2"]  # two spine bones above the lower back
    bones["chest"] = ("abdomen", bones["chest"][1])
    bones["lowerback"] = ("hip", P[J["pelvis"]].copy())  # zero offset, as in the files
    bones["abdomen"] = ("lowerback", bones["abdomen"][1])
    for s, side in (("l", "left"), ("r", "right")):
        bones[f"{s}hipjoint"] = ("hip", P[J["pelvis"]].copy())
        bones[f"{s}hip"] = (f"{s}hipjoint", bones[f"{s}hip"][1])
        bones[f"{s}collar"] = ("chest", bones[f"{s}collar"][1])
        wrist = P[J[f"{side}_wrist"]]
        out = np.sign(wrist[0]) * np.array([0.08, 0.0, 0.0])
        _leaf(bones, f"{side}fingerbase", f"{s}hand", wrist + out)
        _leaf(bones, f"{s}thumb", f"{s}hand", wrist + 0.6 * out + [0.0, -0.03, 0.0])
    _insert(bones, "head", "neck1", 0.5)
    return RigSpec("cmu_asf", _ordered(bones), joints, **kw)


def game_rig(**kw) -> RigSpec:
    """A hand-made game rig: ``.L/.R`` suffixes, ``Ankle`` for the foot bone, and five
    more root bones beside the Pelvis: IK foot controls named ``Foot.L/.R`` on the floor,
    knee poles in front of the knees and a helmet attachment slot (issue 24: failed with
    "bone is not below the carrier")."""
    centre = {"pelvis": "Pelvis", "spine1": "Spine1", "spine2": "Spine2", "spine3": "Spine3",
              "neck": "Neck", "head": "Head"}
    sided = {"hip": "Thigh", "knee": "Shin", "ankle": "Ankle", "foot": "Toe", "collar": "Collar",
             "shoulder": "UpperArm", "elbow": "LowerArm", "wrist": "Hand"}

    def name_of(j):
        if j in centre:
            return centre[j]
        side, part = j.split("_", 1)
        return f"{sided[part]}.{side[0].upper()}"
    bones, joints = _canonical_bones(name_of, fingers=False)
    for s, side in (("L", "left"), ("R", "right")):
        wrist = P[J[f"{side}_wrist"]]
        out = np.sign(wrist[0]) * np.array([0.08, 0.0, 0.0])
        _leaf(bones, f"Finger1.{s}", f"Hand.{s}", wrist + out)
        _leaf(bones, f"Thumb1.{s}", f"Hand.{s}", wrist + 0.6 * out + [0.0, -0.03, 0.0])
        joints[f"{side}_thumb1"] = f"Thumb1.{s}"
        ankle = P[J[f"{side}_ankle"]]
        bones[f"Foot.{s}"] = (None, np.array([ankle[0], ankle[1], 0.0]))
        _leaf(bones, f"FootRoll.{s}", f"Foot.{s}", [ankle[0], ankle[1] - 0.1, 0.0])
        knee = P[J[f"{side}_knee"]]
        bones[f"KneePole.{s}"] = (None, knee + [0.0, -0.5, 0.0])
    bones["HelmetSlot"] = (None, P[J["head"]] + [0.0, 0.0, 0.15])
    return RigSpec("game_rig", _ordered(bones), joints, **kw)


def test_rigs() -> list[RigSpec]:
    """The rigs of the retargeting tests: conventions x rest poses x axes x transforms."""
    return [
        mixamo(roll_seed=1, data_rotation=Y_UP, data_scale=100.0, object_euler=(np.pi / 2, 0, 0),
               object_scale=0.01),                                     # FBX import: Y up, cm, 0.01
        unreal(arm_angle=45.0, roll_seed=2, data_scale=100.0, object_scale=0.01),  # A-pose, cm
        rigify(roll_seed=3, object_location=(1.0, -2.0, 0.0)),         # T-pose, DEF chains
        vrm(arm_angle=30.0, roll_seed=4, data_rotation=Y_UP, object_euler=(np.pi / 2, 0, 0)),  # glTF Y up
        mmd(arm_angle=35.0, roll_seed=5, data_scale=12.5),            # MMD units, A-pose
        character_creator(arm_angle=20.0, roll_seed=6, data_rotation=Y_UP, data_scale=100.0,
                          object_euler=(np.pi / 2, 0, 0), object_scale=0.01),
        generic(arm_angle=10.0, roll_seed=7, object_euler=(0, 0, np.pi)),  # unknown names, turned round
        cmu_asf(roll_seed=8, data_rotation=Y_UP, data_scale=100.0 / 2.54,  # BVH in inches, Y up
                object_euler=(np.pi / 2, 0, 0), object_scale=0.0254),
        game_rig(arm_angle=30.0, roll_seed=9),                          # extra roots, Foot.L controls
    ]


def add_skinned_mesh(bpy, obj, name: str = "Body"):
    """A mesh with one small triangle per bone, weighted to it (exporters such as glTF
    only write armatures that skin something)."""
    names, heads, _ = rb_spec_heads(obj)
    verts, faces = [], []
    size = 0.02 * max(np.ptp(heads, axis=0))
    for h in heads:
        k = len(verts)
        verts += [tuple(h), tuple(h + [size, 0, 0]), tuple(h + [0, 0, size])]
        faces.append((k, k + 1, k + 2))
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts, [], faces)
    body = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(body)
    body.parent = obj
    body.modifiers.new("Armature", 'ARMATURE').object = obj
    for k, n in enumerate(names):
        body.vertex_groups.new(name=n).add([3 * k, 3 * k + 1, 3 * k + 2], 1.0, 'REPLACE')
    return body


def rb_spec_heads(obj):
    names = [b.name for b in obj.data.bones]
    heads = np.array([b.head_local for b in obj.data.bones])
    return names, heads, None


def lying_zero_pose_bvh(spec: RigSpec, frames: int = 4) -> str:
    """BVH text (Y up, cm) of ``spec`` whose zero pose has the legs folded up above the
    hips (everything below the thighs turned 180 degrees about the left-right axis), as
    iClone / Character Creator exports write it; every frame but the first turns the
    thighs back, so the file's motion stands (issue 24)."""
    from cadence.motion.bvh import format_bvh
    from cadence.motion.skeleton import Skeleton

    names = list(spec.bones)
    index = {n: i for i, n in enumerate(names)}
    parents = [index[spec.bones[n][0]] if spec.bones[n][0] else -1 for n in names]
    heads = np.array([spec.bones[n][1] for n in names]) @ Y_UP.T * 100.0
    offsets = np.array([heads[i] - heads[p] if p >= 0 else heads[i] for i, p in enumerate(parents)])
    thighs = [index[spec.joints[f"{s}_hip"]] for s in _SIDES]
    flip = np.diag([1.0, -1.0, -1.0])  # 180 degrees about X (left-right in Y-up space)
    for i in range(len(names)):
        k = parents[i]
        while k >= 0 and k not in thighs:
            k = parents[k]
        if k >= 0:
            offsets[i] = flip @ offsets[i]
    rotations = np.tile(np.array([1.0, 0.0, 0.0, 0.0]), (frames, len(names), 1))
    rotations[1:, thighs] = (0.0, 1.0, 0.0, 0.0)
    root = np.repeat(heads[:1], frames, axis=0)
    return format_bvh(Skeleton(tuple(names), tuple(parents), offsets), rotations, root, 30.0)
