"""Model inference for Cadence: text encoder, sampler, timeline, gesture, face.

Everything here runs on numpy and onnxruntime (imported lazily, on first use) and never
imports bpy or torch; sessions are created on first use and cached per process.
"""
