"""The panel's sliders (emotion/style and speech emotion): one per name the installed
models know, kept in step with them, reset, and read as {name: weight}.

The names come from the models' metadata, never from a list here. :func:`slider_values`
takes a slider collection and plain names; keeping a collection's names in step is
``timeline_properties.sync_sliders``, next to the slider PropertyGroup, so that a
PropertyGroup's update callback never reaches up into this workflow.
"""
from __future__ import annotations

import time

import bpy

from ..preferences import weights_dir
from ..timeline_properties import sync_sliders
from .panel_settings import model_info, settings_of
from .speech_input import speech_emotion_names


def slider_values(collection, names, keep_zero: bool = False) -> dict[str, float]:
    """{name: weight} of the sliders whose names are in ``names`` (those above 0 unless
    ``keep_zero``): sliders of a model no longer installed are ignored."""
    known = set(names)
    return {s.name: float(s.value) for s in collection
            if s.name in known and (keep_zero or s.value > 0.0)}


def sync_scene_sliders(context: bpy.types.Context) -> bool:
    """Style sliders of the scene (and of prompts with their own) from the model's list."""
    settings = settings_of(context)
    changed = sync_sliders(settings.speech_emotions, speech_emotion_names(weights_dir(context)))
    info = model_info(context)
    if not info.available or not info.styles:
        return changed
    changed |= sync_sliders(settings.styles, info.styles)
    for track in settings.tracks:
        for seg in track.segments:
            if seg.use_style:
                changed |= sync_sliders(seg.styles, info.styles)
    return changed


def sliders_in_sync(context: bpy.types.Context) -> bool:
    """Whether every slider collection already matches the models (cheap: for draw)."""
    settings = settings_of(context)
    if [s.name for s in settings.speech_emotions] != list(speech_emotion_names(weights_dir(context))):
        return False
    info = model_info(context)
    if not info.available:
        return True
    names = list(info.styles)
    if [s.name for s in settings.styles] != names:
        return False
    return all([s.name for s in seg.styles] == names
               for track in settings.tracks for seg in track.segments if seg.use_style)


_SYNC_PENDING: dict[str, float] = {}  # scene name -> when a sync was scheduled


def request_slider_sync(context: bpy.types.Context) -> None:
    """From a panel's draw (which may not write data): sync the sliders on a timer."""
    scene_name = context.scene.name
    if time.monotonic() - _SYNC_PENDING.get(scene_name, -1e9) < 2.0:
        return
    _SYNC_PENDING[scene_name] = time.monotonic()

    def run() -> None:
        _SYNC_PENDING.pop(scene_name, None)
        scene = bpy.data.scenes.get(scene_name)
        if scene is None:
            return None
        with bpy.context.temp_override(scene=scene):
            if sync_scene_sliders(bpy.context):
                for window in bpy.context.window_manager.windows:
                    for area in window.screen.areas:
                        area.tag_redraw()
        return None

    bpy.app.timers.register(run, first_interval=0.0)


def reset_sliders(context: bpy.types.Context) -> None:
    """All sliders to 0, guidance and steps to the model's defaults."""
    settings = settings_of(context)
    sync_scene_sliders(context)
    for slider in settings.styles:
        slider.value = 0.0
    defaults = model_info(context).defaults
    settings.text_guidance = float(defaults.get("text_guidance", 2.5))
    settings.style_guidance = float(defaults.get("style_guidance", 2.0))
    settings.steps = 0
