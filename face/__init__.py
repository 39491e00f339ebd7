"""Face core (numpy only, no bpy, no onnxruntime, no torch).

- :mod:`.arkit`: the 52 ARKit blendshape names in Apple's order, their regions, and the
  alias tables that find them among a mesh's shape keys whatever the naming convention.
- :mod:`.facegood`: the FACEGOOD Audio2Face rig's 116 blendshapes and their mapping onto
  ARKit-52 (from the dataset's ``Voice2Face_blendshape2ARkit.xlsx``).
- :mod:`.expression`: emotion offsets, blinks, gaze and head motion laid over the speech
  shapes (procedural, seeded).
- :mod:`.csv_io`: the face CSV (time, 52 weights, head and eye rotations).

The learned speech model and the audio features live in ``inference/`` (they need
onnxruntime and soundfile); the Blender bake lives in ``blender/shape_keys.py``.
"""
