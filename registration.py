"""Register Cadence's Blender classes, its ``Scene.cadence`` settings and its per-object
properties (``properties.OBJECT_PROPERTIES``).

Each Blender-facing module exposes a ``classes`` tuple in registration order; this file
is the only place that knows the list of modules, so adding a panel module means adding
it to ``_MODULES``. Imported lazily by the package ``__init__`` so that the bpy-free
packages never pull in bpy.
"""
import sys

import bpy

from . import operators, panels, preferences, properties
from .properties import OBJECT_PROPERTIES, CadenceSettings

# PropertyGroups first: operators and panels may refer to them.
_MODULES = (properties, preferences, operators, panels)

_register_classes, _unregister_classes = bpy.utils.register_classes_factory(
    tuple(cls for module in _MODULES for cls in module.classes))


# (Blender menu, draw function) pairs appended on register.
_MENUS = (("TOPBAR_MT_file_import", operators.smplx.menu_import),
          ("TOPBAR_MT_file_export", operators.smplx.menu_export),
          ("TOPBAR_MT_file_export", operators.export.menu_export))


def register() -> None:
    _register_classes()
    bpy.types.Scene.cadence = bpy.props.PointerProperty(type=CadenceSettings)
    for name, prop in OBJECT_PROPERTIES.items():   # per character: Generate Gestures' mode
        setattr(bpy.types.Object, name, prop)
    for menu, draw in _MENUS:
        getattr(bpy.types, menu).append(draw)


def unregister() -> None:
    for menu, draw in _MENUS:
        getattr(bpy.types, menu).remove(draw)
    # Remove the property before its PropertyGroup class goes away.
    del bpy.types.Scene.cadence
    for name in OBJECT_PROPERTIES:
        delattr(bpy.types.Object, name)
    _unregister_classes()
    # Speech-recognition worker processes, if any ran (never imported just for this)
    pool = sys.modules.get(f"{__package__}.inference.speech.sphinx_pool")
    if pool is not None:
        pool.shutdown()
