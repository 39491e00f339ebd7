"""The prompt timeline: tracks of text segments in time and by body part (bpy-free).

A :class:`Timeline` holds tracks; a track holds :class:`Segment` s that do not overlap
in time. A segment says *what* (a prompt, optional style sliders), *when* (start and end
in seconds) and *where* (a set of body parts, names from ``motion/skeleton.py``:
``legs``, ``torso``, ``left_arm``, ``right_arm``, ``head``, ``left_hand``,
``right_hand`` and the aliases ``full_body``, ``arms``, ``hands``). Gaps are allowed:
``inference/motion/compose.py`` fills them with natural motion.

Two file forms:

- **STMC text** (the format of "Multi-Track Timeline Control", Petrovich et al. 2024),
  one interval a line::

      walk forward # 0 # 6 # legs # torso
      wave with the right hand # 1 # 3 # right arm

  ``text # start # end # parts``: the parts may be separate ``#`` fields (STMC's way)
  and/or separated by commas or spaces inside a field (``legs torso``, ``legs, torso``);
  two-word names may be written with a space (``right arm``) and STMC's names are
  understood (``spine`` = torso, ``neck`` = head, ``left leg``/``right leg`` = legs).
  No parts means the full body. Extensions of ours: a field ``NAME=WEIGHT[,...]`` holds
  the segment's style sliders, and lines starting with ``#`` are comments (unless they read as an interval with
  no text, which is an error). STMC text has
  no tracks: reading packs the segments onto tracks (each on the first track where it
  fits, in order of start time); the writer writes one line per segment, track by track.
- **JSON**: ``{"format": "cadence-timeline-v1", "duration": 12.0, "tracks": [{"name":
  "body", "segments": [{"text": ..., "start": 0, "end": 6, "parts": ["legs", "torso"],
  "style": {"happy": 0.5}}]}]}``; ``duration`` is optional (default: the last end),
  and a flat ``"segments"`` list may stand in for ``"tracks"`` (packed as for STMC). A
  segment may walk a path: ``"path": {"points": [[x, y], ...], "times": [t, ...], "facing": [x, y]}``
  (motion/ground_path.py; times from the segment's start, optional: a steady pace over
  the segment); one such segment per timeline, and it must drive the legs.

Errors are :class:`TimelineError` (a ``ValueError``) naming the line or the segment.
Style names are checked against the model's vocabulary when composing, not here.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import CadenceError, LimitError
from ...limits import MAX_JSON_DEPTH, MAX_SEGMENTS, MAX_TIMELINE_BYTES, check_input_file
from ...motion.skeleton import BODY_PARTS, PART_ALIASES
from ...output_file import write_text

FORMAT = "cadence-timeline-v1"
MAX_SECONDS = 600.0

# Other names for parts: STMC's vocabulary and a few natural ones.
PART_SYNONYMS: dict[str, str] = {
    "spine": "torso", "chest": "torso", "back": "torso", "trunk": "torso",
    "neck": "head", "face": "head",
    "left_leg": "legs", "right_leg": "legs", "leg": "legs", "feet": "legs", "lower_body": "legs",
    "body": "full_body", "whole_body": "full_body", "all": "full_body", "everything": "full_body",
    "both_arms": "arms", "both_hands": "hands",
}
PART_NAMES: tuple[str, ...] = tuple(BODY_PARTS) + tuple(PART_ALIASES)


class TimelineError(CadenceError, ValueError):
    """A timeline that cannot be used; the message says where and what to change."""


def valid_part_names() -> str:
    return ", ".join(PART_NAMES)


def _key(word: str) -> str:
    return re.sub(r"[\s\-]+", "_", word.strip().lower())


def normalise_part(name: str) -> str | None:
    """A part name or alias in canonical spelling, or None when unknown."""
    k = _key(name)
    k = PART_SYNONYMS.get(k, k)
    return k if k in PART_NAMES else None


def parse_parts(fields: Iterable[str]) -> tuple[str, ...]:
    """Part names from text fields (commas/spaces inside, two-word names allowed)."""
    out: list[str] = []
    for fld in fields:
        for item in filter(None, (s.strip() for s in fld.split(","))):
            whole = normalise_part(item)
            if whole:
                out.append(whole)
                continue
            words = item.split()
            i = 0
            while i < len(words):
                pair = normalise_part(f"{words[i]}_{words[i + 1]}") if i + 1 < len(words) else None
                if pair:
                    out.append(pair)
                    i += 2
                    continue
                single = normalise_part(words[i])
                if not single:
                    raise TimelineError(f"unknown body part {words[i]!r}; valid: {valid_part_names()}")
                out.append(single)
                i += 1
    return tuple(dict.fromkeys(out))  # unique, in order


def parse_style(text: str) -> dict[str, float]:
    """"happy=0.7,old=0.3" -> {"happy": 0.7, "old": 0.3}; weights 0..1."""
    out: dict[str, float] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, sep, value = item.partition("=")
        try:
            w = float(value) if sep else 1.0
        except ValueError:
            raise TimelineError(f"style {item!r}: expected NAME=WEIGHT, e.g. happy=0.7") from None
        out[name.strip()] = w
    return out


def format_seconds(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".") if math.isfinite(x) else str(x)


@dataclass
class Segment:
    """One prompt on the timeline. ``parts`` as written (names or aliases)."""

    text: str
    start: float
    end: float
    parts: tuple[str, ...] = ("full_body",)
    style: dict[str, float] = field(default_factory=dict)
    # A path on the ground walked during the segment (motion/ground_path.GroundPath, times
    # from the segment's start; without times at a steady pace over the segment).
    path: object = None

    def __post_init__(self) -> None:
        self.parts = tuple(self.parts)
        self.style = dict(self.style)

    @property
    def duration(self) -> float:
        return self.end - self.start

    def body_parts(self) -> frozenset[str]:
        """The parts of ``BODY_PARTS`` this segment covers (aliases expanded)."""
        out: set[str] = set()
        for p in self.parts:
            out.update(PART_ALIASES.get(p, (p,)))
        return frozenset(out)

    def describe(self) -> str:
        return f"{self.text!r} ({format_seconds(self.start)}-{format_seconds(self.end)} s)"

    def to_stmc(self) -> str:
        if "#" in self.text or "\n" in self.text:
            raise TimelineError(f"{self.describe()}: STMC text cannot hold '#' or line breaks "
                                "in a prompt; write JSON instead")
        if self.path is not None:
            raise TimelineError(f"{self.describe()}: STMC text cannot hold a path; write JSON instead")
        fields = [self.text, format_seconds(self.start), format_seconds(self.end), " ".join(self.parts)]
        if self.style:
            fields.append(",".join(f"{k}={format_seconds(v)}" for k, v in self.style.items()))
        return " # ".join(fields)

    def to_dict(self) -> dict:
        d = {"text": self.text, "start": self.start, "end": self.end, "parts": list(self.parts)}
        if self.style:
            d["style"] = dict(self.style)
        if self.path is not None:
            d["path"] = self.path.to_dict()
        return d


@dataclass
class Track:
    segments: list[Segment] = field(default_factory=list)
    name: str = ""


@dataclass
class Timeline:
    tracks: list[Track] = field(default_factory=list)
    duration: float | None = None  # None: the last segment's end

    # --- construction -------------------------------------------------------------
    @classmethod
    def from_segments(cls, segments: Iterable[Segment], duration: float | None = None) -> Timeline:
        """Pack segments onto tracks: each goes to the first track where it fits."""
        tracks: list[Track] = []
        for seg in sorted(segments, key=lambda s: (s.start, s.end)):
            for tr in tracks:
                if all(seg.start >= o.end or seg.end <= o.start for o in tr.segments):
                    tr.segments.append(seg)
                    break
            else:
                tracks.append(Track([seg], f"track {len(tracks) + 1}"))
        return cls(tracks, duration)

    # --- queries --------------------------------------------------------------------
    def segments(self) -> list[Segment]:
        """All segments, track by track, each track in time order."""
        return [s for tr in self.tracks for s in sorted(tr.segments, key=lambda s: s.start)]

    def track_of(self) -> list[int]:
        """The track index of each entry of :meth:`segments`."""
        return [i for i, tr in enumerate(self.tracks) for _ in tr.segments]

    @property
    def end(self) -> float:
        last = max((s.end for s in self.segments()), default=0.0)
        return max(last, self.duration or 0.0)

    # --- validation -----------------------------------------------------------------
    def validate(self) -> Timeline:
        """Raise TimelineError on the first problem; return self when all is well."""
        segs = self.segments()
        if not segs:
            raise TimelineError("the timeline is empty: add at least one segment")
        for ti, tr in enumerate(self.tracks):
            for seg in tr.segments:
                _check_segment(seg, f"track {ti + 1}: ")
            ordered = sorted(tr.segments, key=lambda s: s.start)
            for a, b in zip(ordered, ordered[1:]):
                if b.start < a.end - 1e-9:
                    raise TimelineError(f"track {ti + 1}: {a.describe()} overlaps {b.describe()}; "
                                        "segments on one track must not overlap (put one on another track)")
        if self.duration is not None:
            if not math.isfinite(self.duration) or self.duration <= 0:
                raise TimelineError(f"duration must be above 0 s (got {self.duration})")
            last = max(s.end for s in segs)
            if self.duration < last - 1e-9:
                raise TimelineError(f"duration {format_seconds(self.duration)} s ends before the last "
                                    f"segment (ends at {format_seconds(last)} s)")
        walking = [s for s in segs if s.path is not None]
        if len(walking) > 1:
            raise TimelineError("only one segment may walk a path for now: "
                                + ", ".join(s.describe() for s in walking))
        for seg in walking:
            if "legs" not in seg.body_parts():
                raise TimelineError(f"{seg.describe()} walks a path, so it must drive the legs "
                                    "(parts full_body or legs)")
        if self.end > MAX_SECONDS:
            raise TimelineError(f"the timeline lasts {format_seconds(self.end)} s; the limit is "
                                f"{format_seconds(MAX_SECONDS)} s")
        return self

    # --- STMC text ------------------------------------------------------------------
    def to_stmc(self) -> str:
        return "".join(s.to_stmc() + "\n" for s in self.segments())

    def to_json(self) -> str:
        d: dict = {"format": FORMAT}
        if self.duration is not None:
            d["duration"] = self.duration
        d["tracks"] = [{"name": tr.name or f"track {i + 1}",
                        "segments": [s.to_dict() for s in sorted(tr.segments, key=lambda s: s.start)]}
                       for i, tr in enumerate(self.tracks)]
        return json.dumps(d, indent=2) + "\n"

    def write(self, path: str | Path) -> None:
        """Write JSON for .json, STMC text otherwise."""
        path = Path(path)
        text = self.to_json() if path.suffix.lower() == ".json" else self.to_stmc()
        write_text(path, text, what="", example="timeline.json")


def _check_segment(seg: Segment, where: str = "") -> None:
    if not isinstance(seg.text, str) or not seg.text.strip():
        raise TimelineError(f"{where}a segment at {format_seconds(seg.start)} s has no text: "
                            "describe the motion, e.g. 'walk forward'")
    for name, v in (("start", seg.start), ("end", seg.end)):
        if not isinstance(v, (int, float)) or not math.isfinite(v):
            raise TimelineError(f"{where}{seg.text!r}: {name} must be a number of seconds (got {v!r})")
    if seg.start < 0:
        raise TimelineError(f"{where}{seg.describe()}: start must not be negative")
    if seg.end <= seg.start:
        raise TimelineError(f"{where}{seg.describe()}: end must be after start")
    if not seg.parts:
        raise TimelineError(f"{where}{seg.describe()}: no body parts (use full_body for all)")
    for p in seg.parts:
        if p not in PART_NAMES:
            raise TimelineError(f"{where}{seg.describe()}: unknown body part {p!r}; "
                                f"valid: {valid_part_names()}")
    for name, w in seg.style.items():
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0.0 <= w <= 1.0:
            raise TimelineError(f"{where}{seg.describe()}: style {name}={w}: weights go from 0 to 1")


def make_segment(text: str, start, end, parts: Iterable[str] | str | None = None,
                 style: Mapping[str, float] | str | None = None) -> Segment:
    """A segment from loose input (strings for numbers, part names in any spelling)."""
    def num(v, what):
        if isinstance(v, bool):
            raise TimelineError(f"{text!r}: {what} {v!r} is not a number of seconds")
        try:
            return float(v)
        except (TypeError, ValueError, OverflowError):
            raise TimelineError(f"{text!r}: {what} {_brief(v)} is not a number of seconds") from None
    if parts is None or parts == "" or parts == []:
        names: tuple[str, ...] = ("full_body",)
    elif isinstance(parts, str):
        names = parse_parts([parts])
    elif isinstance(parts, (list, tuple)) and all(isinstance(p, str) for p in parts):
        names = parse_parts(list(parts))
    else:
        raise TimelineError(f"{text!r}: parts must be a list of body part names, e.g. "
                            f"[\"legs\", \"torso\"] (got {_brief(parts)})")
    if style is None or isinstance(style, str):
        st = parse_style(style or "")
    elif isinstance(style, Mapping) and all(isinstance(k, str) for k in style):
        st = dict(style)
    else:
        raise TimelineError(f"{text!r}: style must be an object of NAME: WEIGHT, e.g. "
                            f"{{\"happy\": 0.5}} (got {_brief(style)})")
    seg = Segment(str(text).strip() if isinstance(text, str) else text, num(start, "start"),
                  num(end, "end"), names or ("full_body",), st)
    _check_segment(seg)
    return seg


# --- reading ------------------------------------------------------------------------

def _looks_like_interval(fields: list[str]) -> bool:
    """A '#' line that is an interval with its text missing, not a comment."""
    try:
        float(fields[1]), float(fields[2])
        return True
    except (IndexError, ValueError):
        return False


def parse_stmc(text: str) -> Timeline:
    """A timeline from STMC text (see the module docstring)."""
    segments = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        fields = [f.strip() for f in line.split("#")]
        if not line or (line.startswith("#") and not _looks_like_interval(fields)):
            continue
        if len(fields) < 3:
            raise TimelineError(f"line {n}: expected 'text # start # end # parts', got {raw.strip()!r}")
        text_, start, end, rest = fields[0], fields[1], fields[2], fields[3:]
        style_fields = [f for f in rest if "=" in f]
        part_fields = [f for f in rest if "=" not in f]
        try:
            seg = make_segment(text_, start, end, part_fields or None,
                               ",".join(style_fields) if style_fields else None)
        except TimelineError as exc:
            raise TimelineError(f"line {n}: {exc}") from None
        segments.append(seg)
        _check_count(len(segments))
    return Timeline.from_segments(segments).validate()


def _check_count(count: int) -> None:
    if count > MAX_SEGMENTS:
        raise TimelineError(f"the timeline has more than {MAX_SEGMENTS} segments (the limit)")


def _segment_from_dict(d, where: str) -> Segment:
    if not isinstance(d, dict):
        raise TimelineError(f"{where}: a segment must be an object with text, start, end, parts")
    missing = [k for k in ("text", "start", "end") if k not in d]
    if missing:
        raise TimelineError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(set(d) - {"text", "start", "end", "parts", "style", "path"})
    if unknown:
        raise TimelineError(f"{where}: unknown field(s) {', '.join(unknown)}")
    text = d["text"] if isinstance(d["text"], str) else ""
    try:
        seg = make_segment(text, d["start"], d["end"], d.get("parts"), d.get("style"))
    except TimelineError as exc:
        raise TimelineError(f"{where}: {exc}") from None
    if "path" in d:
        from ...motion.ground_path import GroundPath, PathError
        try:
            seg.path = GroundPath.from_dict(d["path"], f"{where}: path")
        except PathError as exc:
            raise TimelineError(str(exc)) from None
    return seg


def _brief(value, width: int = 40) -> str:
    """A value for a one-line message, cut short."""
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def json_depth(text: str) -> int:
    """The deepest nesting of [] and {} in JSON text (strings skipped), without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _no_constant(name: str):
    raise TimelineError(f"{name} is not a number a timeline can hold")


def parse_json(text: str) -> Timeline:
    """A timeline from its JSON form (see the module docstring). Nesting deeper than
    MAX_JSON_DEPTH, NaN/Infinity and numbers too large for seconds are refused."""
    if json_depth(text) > MAX_JSON_DEPTH:
        raise TimelineError(f"the JSON is nested more than {MAX_JSON_DEPTH} deep: not a timeline")
    try:
        # integers as floats: a 400-digit number becomes inf (refused) instead of an int
        data = json.loads(text, parse_int=float, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise TimelineError(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise TimelineError("a timeline JSON must be an object with 'tracks' (or 'segments')")
    fmt = data.get("format", FORMAT)
    if fmt != FORMAT:
        raise TimelineError(f"unknown timeline format {_brief(fmt)} (this Cadence reads {FORMAT!r})")
    duration = data.get("duration")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float))):
        raise TimelineError(f"duration must be a number of seconds (got {_brief(duration)})")
    if "tracks" in data:
        if not isinstance(data["tracks"], list):
            raise TimelineError("'tracks' must be a list")
        tracks = []
        for ti, tr in enumerate(data["tracks"]):
            if not isinstance(tr, dict) or not isinstance(tr.get("segments", []), list):
                raise TimelineError(f"track {ti + 1}: must be an object with a 'segments' list")
        _check_count(sum(len(tr.get("segments", [])) for tr in data["tracks"]))
        for ti, tr in enumerate(data["tracks"]):
            segs = [_segment_from_dict(s, f"track {ti + 1}, segment {si + 1}")
                    for si, s in enumerate(tr.get("segments", []))]
            tracks.append(Track(segs, str(tr.get("name", f"track {ti + 1}"))))
        tl = Timeline(tracks, None if duration is None else float(duration))
    elif "segments" in data:
        if not isinstance(data["segments"], list):
            raise TimelineError("'segments' must be a list")
        _check_count(len(data["segments"]))
        segs = [_segment_from_dict(s, f"segment {si + 1}") for si, s in enumerate(data["segments"])]
        tl = Timeline.from_segments(segs, None if duration is None else float(duration))
    else:
        raise TimelineError("a timeline JSON needs 'tracks' (or a flat 'segments' list)")
    return tl.validate()


def load_timeline(path: str | Path) -> Timeline:
    """Read a timeline file: JSON when it looks like JSON, STMC text otherwise."""
    path = Path(path)
    try:
        try:
            check_input_file(path, "timeline", MAX_TIMELINE_BYTES)
        except LimitError as exc:
            raise TimelineError(str(exc)) from None
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TimelineError(f"cannot read timeline {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise TimelineError(f"timeline {path} is not UTF-8 text") from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        return parse_json(text)
    return parse_stmc(text)
