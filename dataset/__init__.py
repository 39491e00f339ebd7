"""Training data: locating, unpacking and converting the motion capture archives.

numpy only (no torch), so the CLI can report on the data and tests can use it; the
trainers in training/ read the processed arrays this package caches.
"""
