"""From what was said and when to a gesture timeline (bpy-free, no model needed).

LivelySpeaker's first stage plans semantic gestures from the script; ours places them
on the prompt timeline (``inference/motion/timeline.py``) so the same composition that runs
text timelines performs them:

- track ``beat``: one full-body segment (:data:`BEAT_PROMPT`) over the whole
  recording. The rhythm comes from the beat guidance at sampling time
  (``inference/gesture/guidance.py``), which also calms the arms in pauses (idle but
  alive) and holds the root in place. One segment and no gaps means no background
  tiles: per DDIM step the network runs 3 rows per 192-frame window and nothing else
  (a version with arm segments over speech only and the unconditional prior elsewhere
  cost 56 rows instead of 36 for a minute of speech);
- tracks ``semantic arms`` and ``semantic head``: lexicon gestures matched to the words
  (``inference/gesture/lexicon.py``), each starting its ``lead`` before its word, so the
  stroke lands on the word. They drive fewer parts than the beat segment and so win
  where they overlap (the timeline's most-specific rule).

``amount`` (0..1, the "semantic gestures" slider) sets both how good a match must be
(score at least 0.95 - 0.35 x amount: 0.6 at 1) and how many are kept (at most one per
``2.5 / amount`` seconds of speech, the best first, none overlapping on a track).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..motion.timeline import Segment, Timeline, TimelineError, Track
from .lexicon import Gesture, Match, PhraseIndex, match_words

BEAT_PROMPT = "a person nods and answers with a small hand gesture"
BEAT_PARTS = ("full_body",)
MERGE_GAP = 0.6          # s: pauses shorter than this do not stop the beat segment
MIN_GAP = 0.25           # s between two semantic gestures on one track
SECONDS_PER_GESTURE = 2.5


@dataclass(frozen=True)
class PlacedGesture:
    gesture: Gesture
    phrase: str
    word_start: float
    start: float
    end: float
    score: float

    @property
    def track(self) -> str:
        return "semantic head" if {"head", "torso"} & set(self.gesture.parts) else "semantic arms"


@dataclass
class GesturePlan:
    timeline: Timeline
    duration: float
    speech: list[tuple[float, float]]
    semantic: list[PlacedGesture] = field(default_factory=list)
    candidates: int = 0

    @property
    def procedural(self) -> list[PlacedGesture]:
        return [p for p in self.semantic if p.gesture.procedural]


def speaking_spans(segments: Sequence[tuple[float, float]], duration: float,
                   merge_gap: float = MERGE_GAP) -> list[tuple[float, float]]:
    """Voice-activity segments with short pauses closed, clipped to [0, duration]."""
    out: list[list[float]] = []
    for a, b in sorted(segments):
        a, b = max(0.0, float(a)), min(duration, float(b))
        if b <= a:
            continue
        if out and a - out[-1][1] < merge_gap:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def min_score(amount: float) -> float:
    return 0.95 - 0.35 * amount


def place(matches: Sequence[Match], words: Sequence, duration: float, amount: float,
          speech_seconds: float) -> list[PlacedGesture]:
    """Choose and time semantic gestures: best matches first, none overlapping on a
    track, at most one per ``SECONDS_PER_GESTURE / amount`` seconds of speech."""
    if amount <= 0 or not matches:
        return []
    limit = max(1, math.ceil(amount * max(speech_seconds, 1.0) / SECONDS_PER_GESTURE))
    chosen: list[PlacedGesture] = []
    for m in sorted(matches, key=lambda m: (-m.score, m.first)):
        if len(chosen) >= limit:
            break
        g = m.gesture
        word_start = float(words[m.first].start)
        start = max(0.0, word_start - g.lead)
        end = min(duration, start + g.seconds)
        if end - start < 0.3:
            continue
        cand = PlacedGesture(g, m.phrase, word_start, start, end, m.score)
        if any(c.track == cand.track and start < c.end + MIN_GAP and c.start < end + MIN_GAP
               for c in chosen):
            continue
        chosen.append(cand)
    return sorted(chosen, key=lambda p: p.start)


def build_timeline(duration: float, semantic: Sequence[PlacedGesture],
                   extra: Timeline | None = None) -> Timeline:
    """The gesture timeline: the beat segment over everything, semantic gestures on their
    own tracks (procedural ones are not on the timeline), then the tracks of ``extra``
    (the animator's own prompts, e.g. a walk on the legs: they drive fewer parts than
    the beat segment, so they win where they act)."""
    tracks = [Track([Segment(BEAT_PROMPT, 0.0, duration, BEAT_PARTS)], "beat")]
    for name in ("semantic arms", "semantic head"):
        segs = [Segment(p.gesture.prompt, p.start, p.end, p.gesture.parts)
                for p in semantic if p.track == name and not p.gesture.procedural]
        if segs:
            tracks.append(Track(segs, name))
    if extra is not None:
        extra.validate()
        if extra.end > duration + 1e-6:
            raise TimelineError(f"the timeline lasts {extra.end:.2f} s, longer than the speech "
                                f"({duration:.2f} s)")
        tracks += [Track(list(tr.segments), tr.name or f"timeline {i + 1}") for i, tr in enumerate(extra.tracks)]
    return Timeline(tracks, duration).validate()


def plan_gestures(words: Sequence, speech: Sequence[tuple[float, float]], duration: float,
                  index: PhraseIndex | None, amount: float = 0.5,
                  extra: Timeline | None = None) -> GesturePlan:
    """The gesture timeline for speech lasting ``duration`` seconds.

    ``words``: objects with ``text``, ``start`` and ``end`` (``inference.speech.transcript.Word``),
    in time order; ``speech``: voice-activity intervals; ``index``: the lexicon's phrase
    index (None or ``amount`` 0: no semantic gestures); ``extra``: the animator's own
    timeline, added on its own tracks (raises TimelineError when it outlasts the speech).
    """
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"the semantic gesture amount goes from 0 to 1 (got {amount:g})")
    if not math.isfinite(duration) or duration <= 0:
        raise ValueError(f"duration must be above 0 s (got {duration})")
    spans = speaking_spans(speech, duration)
    words = [w for w in words if 0.0 <= float(w.start) < duration]
    matches: list[Match] = []
    if index is not None and amount > 0 and words:
        matches = match_words([w.text for w in words], index, min_score(amount))
    speech_seconds = sum(b - a for a, b in spans) or duration
    semantic = place(matches, words, duration, amount, speech_seconds)
    return GesturePlan(build_timeline(duration, semantic, extra), duration, spans, semantic,
                       len(matches))
