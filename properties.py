"""Per-scene settings of Cadence, stored in the .blend as ``scene.cadence``.

Settings live on the scene (not in add-on preferences) because they describe this
file's work: which motion to bake and onto which rig.
"""
import bpy


def _is_armature(_settings: "CadenceSettings", obj: bpy.types.Object) -> bool:
    return obj.type == 'ARMATURE'


class CadenceSettings(bpy.types.PropertyGroup):
    """Settings shared by Cadence's panels and operators."""

    motion_path: bpy.props.StringProperty(
        name="Motion File",
        description="BVH file to bake onto the target armature",
        subtype='FILE_PATH',
    )
    target: bpy.props.PointerProperty(
        name="Target",
        description="Armature that receives the motion; empty builds the canonical rig",
        type=bpy.types.Object,
        poll=_is_armature,
    )


classes = (CadenceSettings,)
