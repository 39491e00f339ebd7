"""Cadence: character animation from words, voice and sliders, on your own rig.

This file only registers the Blender classes; everything else lives in sub-packages
(see docs/architecture.md). Blender modules are imported inside register() so that the
bpy-free packages (motion/, inference/) can be used from the command line and tests
without Blender.
"""


def register() -> None:
    from . import registration
    registration.register()


def unregister() -> None:
    from . import registration
    registration.unregister()
