"""Shared machinery: ONNX sessions, verified weights, model metadata, worker-thread jobs."""
