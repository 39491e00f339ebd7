"""The Blender layer's helpers: rigs, actions and scenes built from motion-core data.

Thin by design: the maths lives in ``motion/`` (pure numpy); these modules only move
numbers in and out of bpy. Operators and the ``./cadence`` CLI both call them.
"""
