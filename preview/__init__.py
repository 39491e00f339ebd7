"""Stand-in geometry and picture layout for previews, the demo and the user guide's
pictures (numpy only: the meshes are built and rendered by ``blender/stand_ins.py`` and
``blender/preview_render.py``)."""
