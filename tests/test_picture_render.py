"""Stand-in meshes and headless renders (blender/stand_ins.py, blender/picture_render.py)."""
import numpy as np

from cadence.blender import picture_render as R
from cadence.blender.armature import build_armature
from cadence.blender.stand_ins import add_body, add_face
from cadence.pictures.face_mesh import face_height


def test_face_renders_and_its_jaw_opens(blender):
    bpy = blender
    scene = bpy.context.scene
    face = add_face()
    jaw = face.data.shape_keys.key_blocks["jawOpen"]
    for frame, value in ((1, 0.0), (2, 1.0)):  # keyed, as a face bake keys it
        jaw.value = value
        jaw.keyframe_insert("value", frame=frame)
    assert R.setup_render(scene, 48, 48, engine='BLENDER_WORKBENCH') == 'BLENDER_WORKBENCH'
    camera = R.add_camera(scene)
    R.aim(camera, (0.0, 0.0, 0.0), 1.3 * face_height(), direction=(0.0, -1.0, 0.0))
    closed, opened = R.render_frames(scene, [1, 2])
    assert closed.shape == (48, 48, 4)
    np.testing.assert_allclose(closed[0, 0, :3], R.BACKGROUND, atol=0.05)  # corner: the world
    assert np.abs(closed[24, 24, :3] - R.BACKGROUND).max() > 0.1            # centre: the head
    change = np.abs(opened - closed)[..., :3].max(axis=2)
    assert change[28:40, 16:32].max() > 0.2          # the mouth (below the centre) opened
    assert change[:20].max() < 0.02                  # eyes and brows did not move


def test_cycles_fallback_renders(blender):
    bpy = blender
    scene = bpy.context.scene
    add_face()
    R.setup_render(scene, 16, 16)
    R.use_cycles(scene)
    camera = R.add_camera(scene)
    R.aim(camera, (0.0, 0.0, 0.0), 1.3 * face_height(), direction=(0.0, -1.0, 0.0))
    image = R.render_image(scene)
    assert scene.render.engine == 'CYCLES' and image.shape == (16, 16, 4)
    assert np.abs(image[8, 8, :3] - image[0, 0, :3]).max() > 0.05


def test_body_is_skinned_one_bone_per_vertex(blender):
    bpy = blender
    arm = build_armature()
    body = add_body(arm)
    assert body.parent == arm and body.modifiers["Armature"].object == arm
    groups = {g.index: g.name for g in body.vertex_groups}
    assert set(groups.values()) <= {b.name for b in arm.data.bones}
    assert all(len(v.groups) == 1 and v.groups[0].weight == 1.0 for v in body.data.vertices)
    # posing the left elbow moves only the forearm's capsule and what hangs below it
    before = np.array([v.co for v in body.evaluated_get(bpy.context.evaluated_depsgraph_get()).data.vertices])
    arm.pose.bones["left_elbow"].rotation_quaternion = (0.7071, 0.0, 0.0, 0.7071)
    bpy.context.view_layer.update()
    after = np.array([v.co for v in body.evaluated_get(bpy.context.evaluated_depsgraph_get()).data.vertices])
    moved = np.linalg.norm(after - before, axis=1) > 1e-4
    owners = np.array([groups[v.groups[0].group] for v in body.data.vertices])
    assert set(owners[moved]) == {"left_elbow", "left_wrist"}
