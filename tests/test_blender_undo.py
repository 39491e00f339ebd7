"""Undo of the retarget operators in headless Blender (bpy 5.0.1).

Two things differ from the UI (docs/retargeting.md, "Undo"): in background mode the
undo system starts disabled until ``bpy.ops.ed.undo_push()`` is called once, and an
operator called from Python pushes its undo step only when asked (``undo=True``, the
second positional argument), as the UI does for every ``UNDO`` operator.
"""
from pathlib import Path

import pytest

import rig_builders as rb

WALK = Path(__file__).parent / "fixtures" / "bandai_walk_normal.bvh"


def setup(bpy):
    obj = rb.build_object(bpy, rb.mixamo(prefix=""), name="Hero")
    scene = bpy.context.scene
    scene.render.fps = 30
    scene.cadence.motion_path = str(WALK)
    obj.animation_data_create().action = bpy.data.actions.new("idle")
    bpy.ops.ed.undo_push(message="before Cadence")  # initialises undo in background mode
    return scene.frame_end


def hero(bpy):
    # Undo reloads the data: references taken before it are no longer valid.
    return bpy.data.objects["Hero"]


def test_undo_without_initialising_is_refused(blender):
    # What an add-on test hits first: the poll message names the fix.
    if blender.ops.ed.undo.poll():
        pytest.skip("undo already initialised in this process")
    with pytest.raises(RuntimeError, match="ed.undo_push"):
        blender.ops.ed.undo()


def test_retarget_then_undo_restores_the_previous_action(blender):
    frame_end = setup(blender)
    assert blender.ops.cadence.retarget_motion('EXEC_DEFAULT', True) == {'FINISHED'}
    assert hero(blender).animation_data.action.name == WALK.stem
    assert blender.context.scene.frame_end == 120

    assert blender.ops.ed.undo() == {'FINISHED'}
    obj = hero(blender)
    assert obj.animation_data.action.name == "idle"
    assert WALK.stem not in blender.data.actions
    assert "cadence_bone_map" not in obj.data
    assert blender.context.scene.frame_end == frame_end

    assert blender.ops.ed.redo() == {'FINISHED'}
    assert hero(blender).animation_data.action.name == WALK.stem
    assert "cadence_bone_map" in hero(blender).data


def test_refused_operator_adds_no_undo_step(blender):
    setup(blender)
    assert blender.ops.cadence.detect_bone_map('EXEC_DEFAULT', True) == {'FINISHED'}
    blender.context.scene.cadence.motion_path = "/nonexistent/walk.bvh"
    with pytest.raises(RuntimeError, match="motion file not found"):
        blender.ops.cadence.retarget_motion('EXEC_DEFAULT', True)
    assert hero(blender).animation_data.action.name == "idle"
    # One undo goes back over the detect step: the refused retarget left none.
    blender.ops.ed.undo()
    assert "cadence_bone_map" not in hero(blender).data
    assert hero(blender).animation_data.action.name == "idle"
