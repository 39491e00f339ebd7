"""Every mesh of a character that takes the face: faces from the wild are split over
several meshes sharing ARKit keys (a Ready Player Me export has the head, the teeth and
the eyes each with their own ``jawOpen`` / ``mouth*`` / ``eyeLook*`` / ``eyeBlink*``
keys), and all of them must move together.

:func:`face_meshes` starts from the chosen object (the face mesh or the armature) and the
selection and collects:

- the chosen mesh itself and the meshes parented below it (teeth parented to the head);
- the meshes of its character: the armature that deforms the chosen mesh (Armature
  modifier or parent, :func:`~cadence.blender.face_rig.face_armature`) or the chosen
  armature, then every mesh below it in the hierarchy (children, bone-parented ones,
  grandchildren) and every mesh whose Armature modifier points at it;
- the selected meshes (and the meshes of selected armatures);

keeping those with at least one ARKit key, found with the same matching as a single
mesh (:func:`cadence.face.shape_key_match.match_shape_keys`: any case or separators, alias
tables). Objects sharing one mesh (linked duplicates) share one shape-key datablock: it
is driven once. Only objects in the scene count.

:func:`bake_face_meshes` writes the same curves with the same timing on each one: one
new Action per shape-key datablock (``blender/shape_keys.py``'s :func:`bake_face`; actions and
slots by ``blender/action_slots.py``), each keying only the keys its mesh has.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import bpy

from ..face.animation import FaceAnimation
from ..face.arkit import ARKIT_NAMES
from ..face.shape_key_match import ShapeKeyMap, match_shape_keys
from .face_rig import face_armature
from .scene import scene_fps
from .shape_keys import FaceBakeResult, bake_face, shape_key_names


@dataclass
class FaceMesh:
    """One shape-key datablock to drive and the objects that use it (usually one)."""
    objects: list[bpy.types.Object]
    key_map: ShapeKeyMap

    @property
    def obj(self) -> bpy.types.Object:
        return self.objects[0]

    @property
    def names(self) -> list[str]:
        return [o.name for o in self.objects]


@functools.lru_cache(maxsize=256)
def _match(names: tuple[str, ...]) -> ShapeKeyMap:
    return match_shape_keys(names)


def arkit_key_map(obj: bpy.types.Object | None) -> ShapeKeyMap | None:
    """The mesh's ARKit key map, or None when it is not a mesh or no key matches
    (cached by key names: the panel asks on every redraw)."""
    if obj is None or obj.type != 'MESH' or obj.data.shape_keys is None:
        return None
    key_map = _match(tuple(shape_key_names(obj)))
    return key_map if key_map.keys else None


def character_armature(obj: bpy.types.Object | None) -> bpy.types.Object | None:
    """The armature itself, or the one deforming the mesh (modifier or parent)."""
    if obj is None:
        return None
    if obj.type == 'ARMATURE':
        return obj
    return face_armature(obj) if obj.type == 'MESH' else None


def character_meshes(arm: bpy.types.Object, scene: bpy.types.Scene) -> list[bpy.types.Object]:
    """Meshes of the character ``arm`` in ``scene``: below it in the hierarchy (children
    of the object or of its bones, at any depth) or deformed by it (Armature modifier)."""
    in_scene = scene.objects
    below = {o for o in arm.children_recursive if o.type == 'MESH'}
    deformed = {o for o in in_scene if o.type == 'MESH' and any(
        m.type == 'ARMATURE' and m.object == arm for m in o.modifiers)}
    return sorted((o for o in below | deformed if o.name in in_scene), key=lambda o: o.name)


def face_meshes(chosen: bpy.types.Object | None, selected: Iterable[bpy.types.Object] = (),
                scene: bpy.types.Scene | None = None) -> list[FaceMesh]:
    """The meshes Generate Face drives for ``chosen`` (a mesh or an armature) and the
    ``selected`` objects: see the module's docstring. The chosen mesh comes first, then
    the others by number of ARKit keys (most first) and name."""
    scene = scene or bpy.context.scene
    found: list[bpy.types.Object] = []
    seen: set[str] = set()

    def add(objects):
        for o in objects:
            if o is not None and o.type == 'MESH' and o.name not in seen and o.name in scene.objects:
                seen.add(o.name)
                found.append(o)

    add([chosen])
    if chosen is not None and chosen.type == 'MESH':
        add(sorted(chosen.children_recursive, key=lambda o: o.name))
    arms = [character_armature(chosen)]
    selected = [o for o in selected if o is not None]
    add(o for o in selected if o.type == 'MESH')
    arms += [o for o in selected if o.type == 'ARMATURE']
    for arm in dict.fromkeys(a for a in arms if a is not None):
        add(character_meshes(arm, scene))
    first = chosen.name if chosen is not None and chosen.type == 'MESH' else None
    return group_by_key(found, first)


def group_by_key(objects: Iterable[bpy.types.Object], first: str | None = None) -> list[FaceMesh]:
    """``objects`` with ARKit keys, one entry per shape-key datablock; ``first`` (an
    object name) leads, the rest by number of ARKit keys, most first, then by name."""
    groups: dict[str, FaceMesh] = {}
    for obj in objects:
        key_map = arkit_key_map(obj)
        if key_map is None:
            continue
        key = obj.data.shape_keys
        if key.name in groups:
            groups[key.name].objects.append(obj)
        else:
            groups[key.name] = FaceMesh([obj], key_map)
    return sorted(groups.values(), key=lambda m: (first not in m.names, -len(m.key_map.keys), m.obj.name))


def shapes_driven(meshes: Iterable[FaceMesh]) -> list[str]:
    """The ARKit shapes some mesh receives, in Apple's order."""
    meshes = list(meshes)
    return [n for n in ARKIT_NAMES if any(n in m.key_map.keys for m in meshes)]


def meshes_label(meshes: list[FaceMesh], limit: int = 4) -> str:
    """"Head, Teeth, Eyes" (at most ``limit`` names, then "and N more")."""
    names = [n for m in meshes for n in m.names]
    text = ", ".join(names[:limit])
    return text + (f" and {len(names) - limit} more" if len(names) > limit else "")


def bake_face_meshes(meshes: list[FaceMesh], anim: FaceAnimation, *, start_frame: int = 1,
                     fps: float | None = None, update_scene: bool = False) -> list[FaceBakeResult]:
    """Key every mesh's ARKit shape keys from ``anim``: one new Action per shape-key
    datablock (named after its first object, "<name>Face"), all starting on
    ``start_frame`` at ``fps`` (default the scene's), so the meshes move as one."""
    rate = fps or scene_fps(bpy.context.scene)
    anim = anim.resample(rate)          # once, not once a mesh: the same frames everywhere
    return [bake_face(m.obj, anim, key_map=m.key_map, action_name=f"{m.obj.name}Face",
                      start_frame=start_frame, fps=rate, update_scene=update_scene and i == 0)
            for i, m in enumerate(meshes)]


def face_report(meshes: list[FaceMesh], bakes: list[FaceBakeResult], frames: int,
                method: str) -> tuple[str, list[str]]:
    """(the operator's one-line report, ARKit shapes no mesh has): e.g. "Face: 3 meshes
    driven (Head, Teeth, Eyes), 52 of 52 ARKit keys, 240 frames (blend), one Action each"."""
    if not meshes:
        return f"Face: no ARKit shape keys driven, {frames} frames ({method})", []
    shapes = shapes_driven(meshes)
    missing = [n for n in ARKIT_NAMES if n not in shapes]
    count = sum(len(m.objects) for m in meshes)
    text = (f"Face: {count} mesh{'es' if count != 1 else ''} driven ({meshes_label(meshes, 8)}), "
            f"{len(shapes)} of {len(ARKIT_NAMES)} ARKit keys, {frames} frames ({method}), "
            + (f"as {bakes[0].action.name!r}" if len(bakes) == 1 else "one Action each"))
    if missing:
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        text += f"; missing: {', '.join(missing[:8])}{more}"
    return text, missing
