"""The ``./cadence`` command line: the same functions the Blender operators call."""
