"""Faces split over several meshes (issue 24, item 4): Generate Face drives every mesh of
the character whose shape keys match ARKit names (blender/face_meshes.py), one Action
per shape-key datablock, the same timing; the report names them; undo is one step.

The character is built like a Ready Player Me export: an armature with a head mesh
carrying all 52 ARKit keys (and RPM's own visemes), teeth with jawOpen / mouthClose /
mouthSmile, two eye meshes parented to the head bone with eyeLook* / eyeBlink*, lashes
deformed by the armature (modifier only, no parent) with ``eyeBlink_L``-style names,
and a prop parented to the armature whose shape keys are no ARKit shapes.
"""
import re

import numpy as np
import pytest

from cadence.face.arkit import ARKIT_NAMES

import rig_builders as rb
from conftest import FIXTURES

SPEECH = FIXTURES / "english_bear.flac"
EYES = ["eyeBlinkLeft", "eyeBlinkRight"] + [f"eyeLook{d}{s}" for s in ("Left", "Right")
                                            for d in ("Down", "In", "Out", "Up")]
MESHES = {  # name -> (shape keys, ARKit keys among them)
    "Wolf3D_Head": (list(ARKIT_NAMES) + ["viseme_aa", "viseme_PP", "mouthOpen", "mouthSmile"],
                    list(ARKIT_NAMES)),
    "Wolf3D_Teeth": (["jawOpen", "mouthClose", "mouthOpen", "mouthSmile", "viseme_aa"],
                     ["jawOpen", "mouthClose", "mouthSmile"]),
    "EyeLeft": (EYES, EYES),
    "EyeRight": (EYES, EYES),
    "Lashes": (["EyeBlink_L", "EyeBlink_R", "Curl"], ["EyeBlink_L", "EyeBlink_R"]),
}


def mesh(bpy, name, keys, *, select=False):
    data = bpy.data.meshes.new(name)
    data.from_pydata([(0, 0, 0), (1, 0, 0), (1, 0, 1), (0, 0, 1)], [], [(0, 1, 2, 3)])
    obj = bpy.data.objects.new(name, data)
    bpy.context.scene.collection.objects.link(obj)
    if keys:
        obj.shape_key_add(name="Basis")
        for k in keys:
            obj.shape_key_add(name=k, from_mix=False)
    obj.select_set(select)
    return obj


def character(bpy):
    """The Ready Player Me-like character; the head is active and alone selected."""
    arm = rb.build_object(bpy, rb.mixamo(prefix=""), "Armature")
    arm.select_set(False)
    objs = {name: mesh(bpy, name, keys) for name, (keys, _) in MESHES.items()}
    for name in ("Wolf3D_Head", "Wolf3D_Teeth"):          # skinned children (glTF import)
        objs[name].parent = arm
        objs[name].modifiers.new("Armature", 'ARMATURE').object = arm
    for name in ("EyeLeft", "EyeRight"):                  # rigid, on the head bone
        objs[name].parent, objs[name].parent_type, objs[name].parent_bone = arm, 'BONE', "Head"
    objs["Lashes"].modifiers.new("Armature", 'ARMATURE').object = arm   # deformed, not parented
    objs["Prop"] = mesh(bpy, "Prop", ["Open", "Fold"])                  # no ARKit key
    objs["Prop"].parent = arm
    objs["Prop"].data.shape_keys.key_blocks["Open"].value = 0.3
    objs["Stranger"] = mesh(bpy, "Stranger", ["jawOpen", "eyeBlinkLeft"])   # another character
    head = objs["Wolf3D_Head"]
    head.select_set(True)
    bpy.context.view_layer.objects.active = head
    bpy.context.scene.render.fps = 30
    return arm, objs


def key_fcurves(obj):
    """data path -> F-Curve of the Action on the mesh's shape keys (slot-aware)."""
    ad = obj.data.shape_keys.animation_data
    action = ad.action
    if hasattr(action, "slots"):
        from bpy_extras.anim_utils import action_get_channelbag_for_slot
        fcurves = action_get_channelbag_for_slot(action, ad.action_slot).fcurves
    else:
        fcurves = action.fcurves
    return {fc.data_path: fc for fc in fcurves}


def keyed_names(obj):
    return sorted(re.fullmatch(r'key_blocks\["(.+)"\]\.value', p).group(1) for p in key_fcurves(obj))


def untouched(obj):
    key = obj.data.shape_keys
    return key is None or key.animation_data is None or key.animation_data.action is None


def generate(bpy, *args, **kw):
    return bpy.ops.cadence.generate_face(*args, filepath=str(SPEECH), method='LEARNED', **kw)


def test_every_arkit_mesh_of_the_character_is_driven(blender, capfd):
    bpy = blender
    arm, objs = character(bpy)
    capfd.readouterr()
    assert generate(bpy) == {'FINISHED'}
    out = capfd.readouterr()
    report = [line for line in (out.out + out.err).splitlines() if "Face: " in line]
    assert report and "5 meshes driven (Wolf3D_Head, EyeLeft, EyeRight, Wolf3D_Teeth, Lashes)" in report[-1]
    assert "52 of 52 ARKit keys" in report[-1] and "one Action each" in report[-1]

    actions = set()
    for name, (_, arkit) in MESHES.items():
        assert keyed_names(objs[name]) == sorted(arkit), name          # exactly its ARKit keys
        action = objs[name].data.shape_keys.animation_data.action
        assert action.name.startswith(f"{name}Face")
        actions.add(action.name)
    assert len(actions) == len(MESHES)                                  # one Action each
    assert untouched(objs["Prop"]) and untouched(objs["Stranger"])
    assert objs["Prop"].data.shape_keys.key_blocks["Open"].value == pytest.approx(0.3)

    # the same timing: the teeth's jaw is the head's at every frame, and it follows the speech
    scene = bpy.context.scene
    head, teeth = (objs[n].data.shape_keys.key_blocks for n in ("Wolf3D_Head", "Wolf3D_Teeth"))
    jaw = []
    for frame in range(scene.frame_start, scene.frame_end + 1):
        scene.frame_set(frame)
        assert teeth["jawOpen"].value == head["jawOpen"].value
        assert objs["Lashes"].data.shape_keys.key_blocks["EyeBlink_L"].value == head["eyeBlinkLeft"].value
        jaw.append(head["jawOpen"].value)
    assert scene.frame_end - scene.frame_start + 1 == 101
    assert max(jaw) > 0.2 and min(jaw) < 0.05
    fc = key_fcurves(objs["Wolf3D_Head"])['key_blocks["jawOpen"].value']
    assert [tuple(k.co) for k in fc.keyframe_points] == [
        tuple(k.co) for k in key_fcurves(objs["Wolf3D_Teeth"])['key_blocks["jawOpen"].value'].keyframe_points]
    # the head motion still goes to the armature's bones
    assert arm.animation_data.nla_tracks["Cadence Face"].strips


def test_undo_removes_every_mesh_in_one_step(blender):
    bpy = blender
    character(bpy)
    before = set(bpy.data.actions.keys())
    bpy.ops.ed.undo_push(message="before Cadence")          # initialises undo in background mode
    assert generate(bpy, 'EXEC_DEFAULT', True) == {'FINISHED'}
    assert len(set(bpy.data.actions.keys()) - before) == len(MESHES) + 1    # 5 meshes + the head rig
    assert bpy.ops.ed.undo() == {'FINISHED'}
    assert set(bpy.data.actions.keys()) == before
    for name in MESHES:
        assert untouched(bpy.data.objects[name]), name
    arm = bpy.data.objects["Armature"]
    assert arm.animation_data is None or not len(arm.animation_data.nla_tracks)
    assert bpy.ops.ed.redo() == {'FINISHED'}
    assert all(not untouched(bpy.data.objects[name]) for name in MESHES)


def test_selected_meshes_without_an_armature(blender, capfd):
    """No armature: the selected meshes with ARKit keys are driven, the others not."""
    bpy = blender
    head = mesh(bpy, "Head", ["jawOpen", "mouthClose", "eyeBlinkLeft", "eyeBlinkRight"], select=True)
    teeth = mesh(bpy, "Teeth", ["jaw_open"], select=True)
    prop = mesh(bpy, "Hat", ["Squash"], select=True)
    other = mesh(bpy, "Other", ["jawOpen"])                 # not selected
    bpy.context.view_layer.objects.active = teeth
    capfd.readouterr()
    assert generate(bpy) == {'FINISHED'}
    out = capfd.readouterr()
    assert "Face: 2 meshes driven (Teeth, Head)" in out.out + out.err     # the active one first
    assert keyed_names(head) == ["eyeBlinkLeft", "eyeBlinkRight", "jawOpen", "mouthClose"]
    assert keyed_names(teeth) == ["jaw_open"]
    assert untouched(prop) and untouched(other)
    a, b = (key_fcurves(o)[p] for o, p in ((head, 'key_blocks["jawOpen"].value'),
                                           (teeth, 'key_blocks["jaw_open"].value')))
    assert np.array_equal([k.co[:] for k in a.keyframe_points], [k.co[:] for k in b.keyframe_points])


def test_whole_character_off_drives_the_active_mesh_only(blender):
    bpy = blender
    _, objs = character(bpy)
    assert generate(bpy, all_meshes=False) == {'FINISHED'}
    assert not untouched(objs["Wolf3D_Head"])
    assert all(untouched(objs[n]) for n in MESHES if n != "Wolf3D_Head")


def test_finding_the_meshes(blender):
    """From the head, from the armature, from a mesh with no ARKit key; linked
    duplicates share one shape-key datablock (one Action)."""
    from cadence.blender.face_meshes import face_meshes
    bpy = blender
    arm, objs = character(bpy)
    names = ["Wolf3D_Head", "EyeLeft", "EyeRight", "Wolf3D_Teeth", "Lashes"]
    assert [m.obj.name for m in face_meshes(objs["Wolf3D_Head"])] == names
    assert [m.obj.name for m in face_meshes(arm)] == names                 # most keys first
    assert [m.obj.name for m in face_meshes(objs["Prop"])] == names        # the prop's character
    assert [m.obj.name for m in face_meshes(None, [objs["Stranger"]])] == ["Stranger"]
    tongue = mesh(bpy, "StrangerTongue", ["tongueOut"])                    # below a mesh, no armature
    tongue.parent = objs["Stranger"]
    assert [m.obj.name for m in face_meshes(objs["Stranger"])] == ["Stranger", "StrangerTongue"]
    twin = objs["EyeLeft"].copy()                                          # shares mesh and keys
    bpy.context.scene.collection.objects.link(twin)
    found = face_meshes(objs["Wolf3D_Head"])
    assert len(found) == 5 and [m.names for m in found if len(m.objects) > 1] == [["EyeLeft", twin.name]]
    assert generate(bpy) == {'FINISHED'}
    assert twin.data.shape_keys.animation_data.action == objs["EyeLeft"].data.shape_keys.animation_data.action


def test_the_panel_says_which_meshes_it_drives(blender):
    from cadence.panels import logic
    bpy = blender
    arm, objs = character(bpy)
    settings = bpy.context.scene.cadence
    assert logic.face_meshes_line(bpy.context) is None
    settings.face_mesh = objs["Wolf3D_Head"]
    text, icon = logic.face_meshes_line(bpy.context)
    assert text == "Drives 5 meshes: Wolf3D_Head, EyeLeft, EyeRight and 2 more" and icon == 'SHAPEKEY_DATA'
    # drawn under the Face field; in the Speech section only once the Generate Face
    # button can run (audio chosen)
    from types import SimpleNamespace

    from cadence.panels import sidebar

    from panel_support import Recorder, check_layout_calls
    for panel, shown in ((sidebar.CADENCE_PT_main, 1), (sidebar.CADENCE_PT_speech, 0)):
        rec = Recorder()
        panel.draw(SimpleNamespace(layout=rec), bpy.context)
        check_layout_calls(bpy, rec.log)
        assert rec.labels().count(text) == shown, panel
    settings.audio_source, settings.audio_path = 'FILE', str(SPEECH)
    rec = Recorder()
    sidebar.CADENCE_PT_speech.draw(SimpleNamespace(layout=rec), bpy.context)
    assert "cadence.generate_face" in rec.operators()             # the face model is in weights/
    assert text in rec.labels()
    settings.face_mesh = objs["Stranger"]
    objs["Wolf3D_Head"].select_set(False)
    assert logic.face_meshes_line(bpy.context)[0] == "Drives 1 mesh: Stranger"


def test_from_the_armature_or_a_mesh_without_arkit_keys(blender, capfd):
    """The armature active (its best mesh leads), or the prop active: the character's
    ARKit meshes are driven all the same, and no false "the mouth will not open"."""
    bpy = blender
    arm, objs = character(bpy)
    bpy.context.view_layer.objects.active = arm
    assert bpy.ops.cadence.generate_face.poll()
    capfd.readouterr()
    assert generate(bpy) == {'FINISHED'}
    out = capfd.readouterr()
    assert "Face: 5 meshes driven (Wolf3D_Head, EyeLeft," in out.out + out.err
    assert all(not untouched(objs[n]) for n in MESHES)
    bpy.context.view_layer.objects.active = objs["Prop"]
    objs["Wolf3D_Head"].select_set(False)
    assert generate(bpy) == {'FINISHED'}
    out = capfd.readouterr()
    assert "Face: 5 meshes driven" in out.out + out.err and "will not open" not in out.out + out.err
    assert untouched(objs["Prop"])
