"""Motion core: skeletons, rotations, kinematics, BVH, representation, retarget maths.

Pure numpy. Never imports bpy, onnxruntime or torch (see docs/architecture.md).
"""
