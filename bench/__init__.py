"""Benchmarks: measured quality of generated motion (FID, diversity, foot skating, jitter).

Everything here is numpy only; the learned feature space comes from the motion
evaluator (``training/evaluator.py``), loaded by whoever runs a benchmark.
"""
