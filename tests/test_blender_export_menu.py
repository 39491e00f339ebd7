"""File > Export: Cadence's BVH and glTF entries come with the extension and go with it;
the glTF operator writes the active armature's action and refuses bad input."""
import json

import pytest

import rig_builders as rb
from bpy_support import waving_motion


class _Layout:
    """Records what a menu's draw function puts in it."""

    def __init__(self):
        self.operators = []

    def operator(self, idname, text=""):
        self.operators.append((idname, text))


def _export_entries(bpy) -> list[tuple[str, str]]:
    """(operator, label) of every entry the File > Export menu's appended functions draw."""
    menu = type("Menu", (), {"layout": _Layout()})()
    for draw in bpy.types.TOPBAR_MT_file_export._dyn_ui_initialize():
        try:
            draw(menu, bpy.context)
        except AttributeError:  # other add-ons' entries want a real layout
            pass
    return menu.layout.operators


def test_export_menu_entries_follow_registration(blender):
    import cadence
    from cadence.operators.export import menu_export

    entries = dict(_export_entries(blender))
    assert entries.get("cadence.export_bvh") == "Cadence Animation (.bvh)"
    assert entries.get("cadence.export_gltf") == "Cadence Animation (.glb/.gltf)"
    try:
        cadence.unregister()
        assert menu_export not in blender.types.TOPBAR_MT_file_export._dyn_ui_initialize()
        assert not any(op.startswith("cadence.") for op, _ in _export_entries(blender))
        assert not hasattr(blender.types, "CADENCE_OT_export_gltf")
    finally:
        cadence.register()
    assert dict(_export_entries(blender)).keys() >= {"cadence.export_bvh", "cadence.export_gltf"}
    assert blender.types.TOPBAR_MT_file_export._dyn_ui_initialize().count(menu_export) == 1


def _animated_rig(bpy):
    from cadence.blender.rig_retarget import retarget_onto

    obj = rb.build_object(bpy, rb.mixamo(prefix=""))
    bpy.context.view_layer.objects.active = obj
    retarget_onto(obj, waving_motion(6), action_name="wave")
    return obj


def test_gltf_operator_exports_the_action(blender, tmp_path):
    _animated_rig(blender)
    path = tmp_path / "wave.glb"
    assert blender.ops.cadence.export_gltf(filepath=str(path)) == {'FINISHED'}
    data = path.read_bytes()
    assert data[:4] == b"glTF"
    size = int.from_bytes(data[12:16], "little")  # the JSON chunk
    document = json.loads(data[20:20 + size])
    assert [a["name"] for a in document["animations"]] == ["wave"]
    joints = {n["name"] for n in document["nodes"]}
    assert {"Hips", "LeftHand"} <= joints


def test_gltf_operator_refuses(blender, tmp_path):
    mesh = blender.data.objects.new("Body", blender.data.meshes.new("Body"))
    blender.context.scene.collection.objects.link(mesh)
    blender.context.view_layer.objects.active = mesh
    with pytest.raises(RuntimeError, match="is a mesh, not an armature"):
        blender.ops.cadence.export_gltf(filepath=str(tmp_path / "a.glb"))
    with pytest.raises(RuntimeError, match="is a mesh, not an armature"):
        blender.ops.cadence.export_gltf('INVOKE_DEFAULT')  # before the file browser
    _animated_rig(blender)
    with pytest.raises(RuntimeError, match=r"glTF files end in \.glb or \.gltf"):
        blender.ops.cadence.export_gltf(filepath=str(tmp_path / "a.fbx"))
    assert not any(tmp_path.iterdir())
