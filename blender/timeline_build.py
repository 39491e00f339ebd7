"""The panel's timeline as the bpy-free ``inference.motion.timeline.Timeline``, checked.

:func:`build_timeline` turns the tracks of prompts (``timeline_properties.py``) into a
``Timeline`` in seconds from an origin frame, leaving muted tracks and prompts out, and
refuses (InputError naming the track, prompt and frames) what cannot be generated: an
empty timeline, an empty prompt, an end not after its start, no body parts, overlaps on
a track, a path that cannot be walked, more than one prompt with a path. Timeline frames
are scene frames; time 0 is the earlier of the scene's first frame and the first
prompt's start.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import bpy

from ..inference.motion.timeline import Segment, Timeline, TimelineError, Track
from ..timeline_properties import ALL_PARTS, PART_ITEMS
from .panel_settings import InputError, settings_of
from .path_curve import CurvePathError, curve_ground_path, path_object_problem
from .scene import scene_fps
from .sliders import slider_values

PART_ORDER = tuple(item[0] for item in PART_ITEMS)


def segment_parts(segment) -> tuple[str, ...]:
    """The prompt's body parts in the timeline's vocabulary (all of them: ``full_body``)."""
    parts = set(segment.parts)
    if parts >= ALL_PARTS:
        return ("full_body",)
    return tuple(p for p in PART_ORDER if p in parts)


def segment_label(segment) -> str:
    """The prompt's body parts as the panel names them ("Full Body", "Arms", ...)."""
    parts = segment_parts(segment)
    if parts == ("full_body",):
        return "Full Body"
    if set(parts) == {"left_arm", "right_arm"}:
        return "Arms"
    return ", ".join(dict(item[:2] for item in PART_ITEMS)[p] for p in parts) or "No Parts"


@dataclass
class TimelineBuild:
    timeline: Timeline
    origin: int                       # scene frame of time 0
    fps: float
    layout: list[dict] = field(default_factory=list)  # per segment: track, text, start, end (frames)
    # (segment index, its Curve, the object to face on arrival or None): the prompt with a path
    path: tuple[int, bpy.types.Object, bpy.types.Object | None] | None = None


def _check_path(segment, where: str) -> None:
    """A prompt's path: a Curve object with a walkable first spline, on a prompt that
    drives the legs. Raises InputError (cheap: the curve's own points, no depsgraph)."""
    obj = segment.path
    problem = path_object_problem(obj)
    if problem:
        raise InputError(f"{where}: {problem}")
    if "legs" not in set(segment.parts):
        raise InputError(f"{where}: a path moves the whole body along the ground, so the prompt must "
                         "drive the legs: tick Legs in its body parts (or clear its Path)")
    try:
        curve_ground_path(obj)
    except CurvePathError as exc:
        raise InputError(f"{where}: {exc}") from exc


def track_label(track, index: int) -> str:
    """How messages name a track: its name, else its number."""
    return f"track {track.name!r}" if track.name else f"track {index + 1}"


def build_timeline(settings, scene: bpy.types.Scene, style_names=()) -> TimelineBuild:
    """The bpy-free timeline of the panel's tracks (muted ones left out), in seconds from
    the origin frame. Raises InputError naming the track, prompt and frames at fault."""
    fps = scene_fps(scene)
    live = [(ti, tr) for ti, tr in enumerate(settings.tracks) if not tr.mute]
    entries = [(ti, tr, si, seg) for ti, tr in live for si, seg in enumerate(tr.segments)
               if not seg.mute]
    if not entries:
        if any(len(tr.segments) for tr in settings.tracks):
            raise InputError("every prompt is muted: unmute a prompt or a track")
        raise InputError("the timeline is empty: add a prompt to a track (Timeline, +)")
    for ti, tr, si, seg in entries:
        where = f"{track_label(tr, ti)}, prompt {si + 1}"
        if not seg.text.strip():
            raise InputError(f"{where}: the prompt is empty: describe the motion, e.g. 'walks forward'")
        if seg.frame_end <= seg.frame_start:
            raise InputError(f"{where} {seg.text.strip()!r}: its end (frame {seg.frame_end}) is not "
                             f"after its start (frame {seg.frame_start}): set End after Start")
        if not seg.parts:
            raise InputError(f"{where} {seg.text.strip()!r}: no body parts selected")
        if seg.path is not None:
            _check_path(seg, f"{where} {seg.text.strip()!r}")
    with_path = [(ti, tr, si, seg) for ti, tr, si, seg in entries if seg.path is not None]
    if len(with_path) > 1:
        named = ", ".join(f"{seg.text.strip()!r} ({track_label(tr, ti)}, prompt {si + 1})"
                          for ti, tr, si, seg in with_path)
        raise InputError(f"only one prompt may walk a path in a generation, and {len(with_path)} have one: "
                         f"{named}; clear the Path of all but one (or mute them)")
    for ti, tr in live:
        segs = sorted((s for s in tr.segments if not s.mute), key=lambda s: s.frame_start)
        for a, b in zip(segs, segs[1:]):
            if b.frame_start < a.frame_end:
                raise InputError(
                    f"{track_label(tr, ti)}: {a.text.strip()!r} (frames {a.frame_start}-{a.frame_end}) "
                    f"overlaps {b.text.strip()!r} (frames {b.frame_start}-{b.frame_end}); prompts on "
                    "one track must not overlap: move one to another track")
    origin = min([scene.frame_start] + [seg.frame_start for _, _, _, seg in entries])
    tracks, layout, path = [], [], None
    for ti, tr in live:
        segments = []
        for si, seg in sorted(((si, s) for si, s in enumerate(tr.segments) if not s.mute),
                              key=lambda item: item[1].frame_start):
            style = slider_values(seg.styles, style_names, keep_zero=True) if seg.use_style else {}
            segments.append(Segment(seg.text.strip(), (seg.frame_start - origin) / fps,
                                    (seg.frame_end - origin) / fps, segment_parts(seg), style))
            if seg.path is not None:
                path = (len(layout), seg.path, seg.path_facing)
            layout.append({"track": tr.name or f"Track {ti + 1}", "text": seg.text.strip(),
                           "start": seg.frame_start, "end": seg.frame_end, "index": [ti, si]})
        if segments:
            tracks.append(Track(segments, tr.name or f"track {ti + 1}"))
    timeline = Timeline(tracks)
    try:
        timeline.validate()
    except TimelineError as exc:
        raise InputError(str(exc)) from exc
    return TimelineBuild(timeline, origin, fps, layout, path)


def timeline_problem(context: bpy.types.Context) -> str | None:
    """What is wrong with the timeline (shown under it), or None."""
    try:
        build_timeline(settings_of(context), context.scene)
    except InputError as exc:
        return str(exc)
    return None
