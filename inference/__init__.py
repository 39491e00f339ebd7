"""Model inference for Cadence, by feature: ``runtime/`` (ONNX sessions, verified weights,
model metadata, worker-thread jobs), ``text/`` (reading a prompt), ``motion/`` (the
denoiser's sampler, timelines, path following), ``speech/`` (audio, voice activity,
prosody, words), ``gesture/`` (co-speech gesture) and ``face/`` (the talking face).

Everything here runs on numpy and onnxruntime (imported lazily, on first use) and never
imports bpy or torch; sessions are created on first use and cached per process.
"""
