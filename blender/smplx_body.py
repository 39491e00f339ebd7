"""The optional SMPL-X body: a skinned mesh from the user's own model files.

Built only when the user has pointed the preferences at their SMPL-X model
(``motion/smplx_model.py`` reads it with numpy; nothing here is shipped or downloaded):
an armature on the shaped model's joints (canonical names, so every Cadence bake and
retarget works on it), the shaped rest mesh with one vertex group per joint and an
Armature modifier (linear blend skinning; SMPL-X's pose correctives are not applied),
and one shape key per expression component, keyed from the file's expression
coefficients.
"""
from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np

from ..face.animation import FaceAnimation
from ..face.smplx_expression import ArkitExpressionFit, fit_arkit_to_expressions
from ..motion.skeleton import JOINT_NAMES
from ..motion.smplx_model import MODEL_TO_CADENCE, SmplxModel, model_skeleton
from .action_slots import fcurve_factory, write_keys
from .armature import build_armature

_MIN_WEIGHT = 1e-6
EXPRESSION_KEY = "Expression{:03d}"
# Custom property on the armature: what the SMPL-X export needs to write the body back.
BODY_PROPERTY = "cadence_smplx"


@dataclass
class SmplxBody:
    armature: bpy.types.Object
    mesh: bpy.types.Object
    expression_keys: list[str]


def build_smplx_body(model: SmplxModel, betas: np.ndarray | None, num_expressions: int,
                     gender: str = "neutral", name: str = "SMPL-X") -> SmplxBody:
    """Armature + skinned mesh of the model shaped by ``betas``, with ``num_expressions``
    expression shape keys (at most the model's), in the active scene (Z up, facing -Y)."""
    armature = build_armature(model_skeleton(model, betas), name=name)
    armature[BODY_PROPERTY] = {"gender": gender, "betas": [float(b) for b in
                                                           (betas if betas is not None else ())]}
    to_cadence = MODEL_TO_CADENCE.T
    vertices = model.shaped_vertices(betas) @ to_cadence
    data = bpy.data.meshes.new(f"{name} Body")
    data.from_pydata(vertices.tolist(), [], model.faces.tolist())
    data.update()
    mesh = bpy.data.objects.new(f"{name} Body", data)
    armature.users_collection[0].objects.link(mesh)
    mesh.parent = armature
    for j, joint in enumerate(JOINT_NAMES):
        group = mesh.vertex_groups.new(name=joint)
        column = model.weights[:, j]
        for v in np.flatnonzero(column > _MIN_WEIGHT):
            group.add([int(v)], float(column[v]), 'REPLACE')
    modifier = mesh.modifiers.new("Armature", 'ARMATURE')
    modifier.object = armature
    keys = []
    count = min(num_expressions, model.num_expressions)
    if count:
        mesh.shape_key_add(name="Basis", from_mix=False)
        for k in range(count):
            block = mesh.shape_key_add(name=EXPRESSION_KEY.format(k), from_mix=False)
            block.data.foreach_set("co", (vertices + model.exprdirs[:, :, k] @ to_cadence)
                                   .astype(np.float32).ravel())
            keys.append(block.name)
    return SmplxBody(armature, mesh, keys)


def bake_expressions(body: SmplxBody, expressions: np.ndarray, action_name: str,
                     start_frame: int = 1) -> bpy.types.Action | None:
    """Key the body's expression shape keys from coefficients (T, E) in a new Action."""
    if not body.expression_keys:
        return None
    return bake_expression_keys(body.mesh, body.expression_keys, expressions, action_name,
                                start_frame)


def bake_expression_keys(mesh: bpy.types.Object, names: list[str], values: np.ndarray,
                         action_name: str, start_frame: int = 1) -> bpy.types.Action:
    """Key ``names`` from the columns of ``values`` (T, >= len(names)) in a new Action.

    Coefficients are unbounded (they scale the model's expression basis), so each key's
    slider range is widened to hold its curve (Blender allows -10..10).
    """
    key = mesh.data.shape_keys
    action = bpy.data.actions.new(action_name)
    action.use_fake_user = True
    new_fcurve, _ = fcurve_factory(action, key, assign=True)
    frames = start_frame + np.arange(len(values), dtype=float)
    for k, name in enumerate(names):
        block = key.key_blocks[name]
        column = values[:, k]
        block.slider_min = max(-10.0, min(block.slider_min, float(np.floor(column.min()))))
        block.slider_max = min(10.0, max(block.slider_max, float(np.ceil(column.max()))))
        write_keys(new_fcurve(block.path_from_id("value")), frames, column, 'LINEAR')
    return action


def expression_keys(mesh: bpy.types.Object | None) -> list[str]:
    """The SMPL-X expression shape keys of a body mesh made by :func:`build_smplx_body`."""
    if mesh is None or mesh.type != 'MESH' or mesh.data.shape_keys is None:
        return []
    prefix = EXPRESSION_KEY.split("{")[0]
    return [k.name for k in mesh.data.shape_keys.key_blocks if k.name.startswith(prefix)]


def expression_basis(mesh: bpy.types.Object, names: list[str]) -> np.ndarray:
    """(V, 3, E) offsets of the expression keys from the basis, in the mesh's frame."""
    blocks = mesh.data.shape_keys.key_blocks
    count = len(mesh.data.vertices)
    coords = np.empty(count * 3, dtype=np.float32)
    mesh.data.shape_keys.reference_key.data.foreach_get("co", coords)
    basis = coords.reshape(count, 3).astype(float)
    out = np.empty((count, 3, len(names)))
    for k, name in enumerate(names):
        blocks[name].data.foreach_get("co", coords)
        out[:, :, k] = coords.reshape(count, 3) - basis
    return out


def bake_arkit_face(mesh: bpy.types.Object, anim: FaceAnimation, arkit_offsets: np.ndarray,
                    action_name: str = "CadenceFace", start_frame: int = 1,
                    fps: float = 30.0) -> tuple[bpy.types.Action, ArkitExpressionFit]:
    """ARKit curves onto a SMPL-X body's expression keys, through the least-squares fit of
    the user's ARKit shapes (``arkit_offsets`` (52, V, 3), model frame) by the body's
    expression basis (``face/smplx_expression.py``). Raises ValueError."""
    names = expression_keys(mesh)
    if not names:
        raise ValueError(f"{getattr(mesh, 'name', None)!r} is not a SMPL-X body with expression "
                         "shape keys: import a SMPL-X file with the body option")
    fit = fit_arkit_to_expressions(expression_basis(mesh, names),
                                   np.asarray(arkit_offsets) @ MODEL_TO_CADENCE.T)
    values = fit.expressions(anim.resample(fps).weights)
    return bake_expression_keys(mesh, names, values, action_name, start_frame), fit
