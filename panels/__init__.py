"""Cadence's sidebar panels (3D viewport, N panel, "Cadence" tab).

``classes`` lists every UI class in registration order (see registration.py); the
layout is in ``sidebar.py``, the logic it shows (enabled states, reasons, summaries)
in ``logic.py``.
"""
from . import sidebar

classes = sidebar.classes
