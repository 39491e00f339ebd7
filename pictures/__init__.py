"""Stand-in geometry and picture layout for the demo and the user guide's pictures
(numpy only: the meshes are built and rendered by ``blender/stand_ins.py`` and
``blender/picture_render.py``)."""
