"""Bone maps for target rigs: side/base name splitting, convention tables, the spine
refit, the geometry fallback and JSON presets (bpy-free)."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.motion.bone_map import BoneMap, preset_for
from cadence.motion.rest_rig import RestRig
from cadence.motion.rig_geometry import match_geometry
from cadence.motion.rig_mapping import match_rig
from cadence.motion.rig_names import EXAMPLE_NAMES, TABLES, split_side

import rig_builders as rb


@pytest.mark.parametrize("name, expected", [
    ("mixamorig:LeftArm", ("left", "arm")),
    ("mixamorig1:RightHandIndex2", ("right", "handindex2")),
    ("DEF-upper_arm.L.001", ("left", "defupperarm001")),
    ("thigh_r", ("right", "thigh")),
    ("J_Bip_L_UpperArm", ("left", "jbipupperarm")),
    ("CC_Base_R_Thigh", ("right", "ccbasethigh")),
    ("lThighBend", ("left", "thighbend")),
    ("Bip01 L Thigh", ("left", "bip01thigh")),
    ("L_Hip", ("left", "hip")),
    ("m_avg_R_Knee", ("right", "knee")),
    ("left_eye_smplhf", ("left", "eyesmplhf")),
    ("HandLeft", ("left", "hand")),
    ("Left Foot", ("left", "foot")),
    ("左ひじ", ("left", "ひじ")),
    ("右親指０", ("right", "親指0")),  # full-width digit
    ("上半身2", (None, "上半身2")),
    ("Hips", (None, "hips")),
    ("spine_01", (None, "spine01")),
    ("lowerarm_l", ("left", "lowerarm")),
])
def test_split_side(name, expected):
    assert split_side(name) == expected


@pytest.mark.parametrize("spec", rb.test_rigs() + [
    rb.smpl_addon(), rb.rigify(prefix=""), rb.rigify(prefix="ORG-"), rb.mixamo(prefix=""),
    rb.mixamo(prefix="mixamorig12:", arm_angle=50.0)], ids=lambda s: s.label)
def test_match_rig_finds_every_joint(spec):
    bone_map = match_rig(rb.rest_rig(spec))
    assert bone_map.bones == spec.joints, bone_map.notes


def test_conventions_are_recognised_by_name():
    expected = {"mixamo": "mixamo", "unreal": "unreal", "rigify": "rigify_deform", "vrm": "vrm",
                "mmd": "mmd", "character_creator": "character_creator", "generic": "geometry",
                "cmu_asf": "cmu_asf", "game_rig": "daz_genesis"}
    for spec in rb.test_rigs():
        assert match_rig(rb.rest_rig(spec)).convention == expected[spec.label]


def test_root_bones():
    roots = {s.label: match_rig(rb.rest_rig(s)).root for s in rb.test_rigs()}
    assert roots["unreal"] == "root" and roots["mmd"] == "全ての親"
    assert roots["character_creator"] == "CC_Base_BoneRoot" and roots["mixamo"] is None


def test_spine_refit_spreads_five_bones():
    bm = match_rig(rb.rest_rig(rb.unreal()))
    assert (bm.bones["spine1"], bm.bones["spine2"], bm.bones["spine3"]) == (
        "spine_01", "spine_03", "spine_05")
    # Two bones (VRM without an upper chest): the chest bone plays spine3.
    spec = rb.vrm()
    del spec.joints["spine3"], spec.bones["J_Bip_C_UpperChest"]
    for n, (p, h) in list(spec.bones.items()):
        if p == "J_Bip_C_UpperChest":
            spec.bones[n] = ("J_Bip_C_Chest", h)
    bm = match_rig(rb.rest_rig(spec))
    assert bm.bones["spine1"] == "J_Bip_C_Spine" and bm.bones["spine3"] == "J_Bip_C_Chest"
    assert "spine2" not in bm.bones


@pytest.mark.parametrize("kw", [{}, {"arm_angle": 45.0}, {"data_rotation": rb.Y_UP, "data_scale": 100.0}])
def test_geometry_alone_maps_main_chains(kw):
    spec = rb.generic(roll_seed=3, **kw)
    found = match_geometry(rb.rest_rig(spec))
    wanted = {j: b for j, b in spec.joints.items() if j != "spine2"}
    rig = rb.rest_rig(spec)
    assert {j: rig.names[b] for j, b in found.items()} == wanted


def test_geometry_fills_gaps_left_by_names():
    spec = rb.mixamo(prefix="")
    renamed = {"LeftForeArm": "arm_lower_a", "RightForeArm": "arm_lower_b"}
    spec.bones = {renamed.get(n, n): ((renamed.get(p, p) if p else None), h)
                  for n, (p, h) in spec.bones.items()}
    spec.joints = {j: renamed.get(b, b) for j, b in spec.joints.items()}
    bm = match_rig(rb.rest_rig(spec))
    assert bm.bones["left_elbow"] == "arm_lower_a" and bm.bones["right_elbow"] == "arm_lower_b"
    assert any("geometry" in n for n in bm.notes)


def renamed(spec, names: dict[str, str]):
    """The spec with bones renamed (parents and expected joints follow)."""
    spec.bones = {names.get(n, n): ((names.get(p, p) if p else None), h) for n, (p, h) in spec.bones.items()}
    spec.joints = {j: names.get(b, b) for j, b in spec.joints.items()}
    return spec


def test_cmu_asf_names_and_geometry_agree():
    spec = rb.cmu_asf()
    bm = match_rig(rb.rest_rig(spec))
    assert bm.convention == "cmu_asf" and bm.bones == spec.joints
    assert min(bm.confidence.values()) >= 0.9
    assert all(c == 1.0 for j, c in bm.confidence.items() if j != "spine1")  # limb shapes confirm the names
    # Without the names (meaningless ones), the limb shapes alone find the same body:
    # zero-length hip joints and collars start on the centre line, fingers are one bone.
    anonymous = renamed(rb.cmu_asf(), {n: f"b{k:02d}" for k, n in enumerate(spec.bones)})
    bm = match_rig(rb.rest_rig(anonymous))
    assert bm.convention == "geometry" and bm.bones == anonymous.joints
    assert set(bm.confidence.values()) == {0.6}  # geometry only


def test_extra_roots_and_controls_are_left_alone():
    spec = rb.game_rig()
    bm = match_rig(rb.rest_rig(spec))
    assert bm.bones == spec.joints  # the IK control "Foot.L" is not the foot
    assert not {"Foot.L", "Foot.R", "KneePole.L", "HelmetSlot"} & set(bm.bones.values())
    assert any("wrong branch" in n and "Foot.L (left_ankle)" in n for n in bm.notes)
    assert any(n.startswith("left alone") and "HelmetSlot" in n for n in bm.notes)
    assert bm.confidence["left_ankle"] == 0.6 and bm.confidence["left_knee"] == 1.0


@given(extra=st.lists(st.tuples(st.sampled_from(
    ["Foot.L", "Foot_IK.R", "Hand.L", "hand_ik_r", "KneePole.L", "Hips", "Head", "LeftFoot", "root",
     "Weapon", "Spine", "ball_l", "thigh_r", "Bip01 L Foot"]),
    st.floats(-1.0, 1.0), st.floats(-1.0, 1.0), st.floats(0.0, 2.0), st.integers(0, 3)),
    min_size=1, max_size=6, unique_by=lambda t: t[0]))
@settings(max_examples=40, deadline=None)
def test_any_extra_root_bones_change_nothing(extra):
    """Controls, poles and slots at the rig's root (with small child chains), whatever
    they are called and wherever they sit, never change the body's map nor fail it."""
    spec = rb.unreal() if "root" not in [e[0] for e in extra] else rb.vrm()
    spec = renamed(spec, {})
    for name, x, y, z, kids in extra:
        if name in spec.bones:
            continue
        spec.bones[name] = (None, np.array([x, y, z]))
        for k in range(kids):
            spec.bones[f"{name}_{k}"] = (name if k == 0 else f"{name}_{k - 1}", np.array([x, y + 0.1 * (k + 1), z]))
    bm = match_rig(rb.rest_rig(spec))
    assert bm.bones == spec.joints


def test_refusal_says_what_was_found_and_what_to_do():
    spec = renamed(rb.mixamo(prefix=""), {"LeftLeg": "x1", "RightLeg": "x2"})
    rig = rb.rest_rig(spec)
    keep = [i for i, n in enumerate(rig.names) if "Leg" not in n and n not in ("x1", "x2")
            and "Foot" not in n and "Toe" not in n]
    # Only the upper body: no legs at all.
    sub = RestRig([rig.names[i] for i in keep], [keep.index(rig.parents[i]) if rig.parents[i] in keep else -1
                                                 for i in keep], rig.heads[keep], rig.tails[keep], rig.matrices[keep])
    with pytest.raises(ValueError) as info:
        match_rig(sub)
    msg = str(info.value)
    assert "the left leg and the right leg" in msg and "found:" in msg and "head" in msg
    assert "mixamo" in msg and "Check Rig" in msg and "--map" in msg
    assert "carrier" not in msg and "geometry:" not in msg


def test_unrecognisable_rig_is_refused():
    n = 5
    heads = np.array([[0, 0, 0.2 * k] for k in range(n)], float)
    rig = RestRig([f"chain{k}" for k in range(n)], [-1] + list(range(n - 1)), heads,
                  heads + [0, 0, 0.2], np.tile(np.eye(3), (n, 1, 1)))
    with pytest.raises(ValueError, match="cannot recognise the rig"):
        match_rig(rig)


def test_bone_map_json_round_trip(tmp_path):
    bm = match_rig(rb.rest_rig(rb.mmd()))
    path = bm.save(tmp_path / "mmd.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "cadence-bone-map" and data["bones"]["left_elbow"] == "左ひじ"
    again = BoneMap.load(path)
    assert again.bones == bm.bones and again.root == bm.root


@pytest.mark.parametrize("text, message", [
    ("not json", "cannot read"),
    ('{"bones": {}}', "not a Cadence bone map"),
    ('{"format": "cadence-bone-map", "bones": {"elbow": "x"}}', "unknown canonical joints"),
    ('{"format": "cadence-bone-map", "bones": {"left_elbow": "x", "right_elbow": "x"}}', "mapped twice"),
])
def test_bad_bone_map_files(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        BoneMap.load(path)


def test_preset_resolves_other_namespace():
    preset = preset_for("mixamo")
    assert preset.bones["pelvis"] == "mixamorig:Hips"
    rig = rb.rest_rig(rb.mixamo(prefix="mixamorig7:"))
    resolved = preset.resolve(rig.names)
    assert resolved.bones["left_wrist"] == "mixamorig7:LeftHand"
    assert len(resolved.bones) == 52 and not resolved.notes


def test_every_convention_has_a_consistent_preset():
    for convention in EXAMPLE_NAMES:
        preset = preset_for(convention)
        table = TABLES[convention]
        for joint, bone in preset.bones.items():
            assert table[split_side(bone)] == joint, (convention, joint, bone)


def test_shipped_presets_match_the_tables():
    from pathlib import Path
    folder = Path(__file__).resolve().parents[1] / "presets"
    shipped = {p.stem: BoneMap.load(p) for p in folder.glob("*.json")}
    assert set(shipped) == set(EXAMPLE_NAMES)
    for name, preset in shipped.items():
        assert preset.to_dict() == preset_for(name).to_dict(), name


def test_rigify_control_names_only_when_recognised():
    from cadence.motion.rig_names import looks_like_rigify_controls

    deform = rb.rest_rig(rb.rigify())
    assert not looks_like_rigify_controls(deform.names)
    assert match_rig(deform, rigify_controls=True).convention == "rigify_deform"
    names = list(deform.names) + ["torso", "upper_arm_fk.L", "thigh_fk.L"]
    assert looks_like_rigify_controls(names)
    for spec in rb.test_rigs():  # never chosen by names alone
        assert match_rig(rb.rest_rig(spec)).convention != "rigify_control"


def test_summary_tells_what_to_check_and_what_is_missing():
    bm = match_rig(rb.rest_rig(rb.game_rig()))
    lines = bm.summary()
    assert lines[0] == "22 of 22 body joints mapped (daz_genesis)"
    assert any(line.startswith("check: ") and "left ankle" in line for line in lines)
    bm = bm.with_bone("left_ankle", "Ankle.L")
    assert bm.confidence["left_ankle"] == 1.0 and bm.convention == "custom"
    no_arm = bm.with_bone("right_wrist", None).with_bone("right_elbow", None)
    assert "partly found: the right arm (elbow, wrist)" in no_arm.summary()
    for j in ("left_collar", "left_shoulder", "left_elbow", "left_wrist"):
        no_arm = no_arm.with_bone(j, None)
    assert any(line.startswith("not found: the left arm") for line in no_arm.summary())
    again = BoneMap.from_dict(json.loads(json.dumps(no_arm.to_dict())))
    assert again.confidence == no_arm.confidence and again.bones == no_arm.bones
