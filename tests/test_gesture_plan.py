"""Semantic gesture lexicon, word matching and the gesture timeline (no motion model)."""
from dataclasses import dataclass

import pytest

from cadence.inference.gesture.lexicon import LEXICON, PhraseIndex, match_words
from cadence.inference.gesture.plan import BEAT_PROMPT, plan_gestures, speaking_spans
from cadence.inference.motion.timeline import Segment
from cadence.inference.motion.window_plan import model_parts, plan_timeline
from cadence.inference.text.encoder import TextEncoder


@dataclass(frozen=True)
class W:  # the shape of inference.speech.transcript.Word
    text: str
    start: float
    end: float


def words(text, start=0.5, step=0.35):
    return [W(t, start + i * step, start + i * step + 0.3) for i, t in enumerate(text.split())]


@pytest.fixture(scope="module")
def index():
    return PhraseIndex(TextEncoder.load())


def names(matches):
    return {(m.phrase, m.gesture.name) for m in matches}


def test_every_gesture_is_something_the_timeline_can_drive():
    for g in LEXICON:
        Segment(g.prompt or "procedural", 0, g.seconds, g.parts)  # valid parts
        assert g.phrases and 0 < g.seconds <= 3 and 0 <= g.lead < g.seconds


def test_exact_phrases_and_embedding_neighbours(index):
    found = names(match_words("thank you and hello , look over there".split(), index))
    assert {("thank you", "bow"), ("hello", "wave"), ("over there", "guide")} <= found
    # not listed, found through sentence embeddings
    found = names(match_words(["greetings", "farewell", "everybody", "absolutely"], index))
    assert found == {("greetings", "wave"), ("farewell", "wave"), ("everybody", "raise"),
                     ("absolutely", "nod")}
    # function words and unrelated content words call for nothing
    assert match_words("the table of the computer is in a room".split(), index) == []


def test_listed_weights_and_threshold(index):
    strong = match_words(["you"], index, min_score=0.6)
    assert [(m.gesture.name, m.score) for m in strong] == [("guide", 0.7)]
    assert match_words(["you"], index, min_score=0.8) == []


def test_speaking_spans_close_short_pauses():
    assert speaking_spans([(0.1, 1.0), (1.3, 2.0), (3.0, 4.0), (9.5, 12)], 10.0) == \
        [(0.1, 2.0), (3.0, 4.0), (9.5, 10.0)]


def test_plan_places_gestures_on_their_words(index):
    ws = words("hello everyone thank you for coming and look over there please")
    plan = plan_gestures(ws, [(0.4, 4.5)], 5.0, index, amount=1.0)
    by_name = {p.gesture.name: p for p in plan.semantic}
    assert {"wave", "bow"} <= set(by_name)
    wave = by_name["wave"]
    assert wave.word_start == ws[0].start and wave.start == pytest.approx(max(0, ws[0].start - wave.gesture.lead))
    # one track per kind, nothing overlapping on a track
    tl = plan.timeline
    assert [t.name for t in tl.tracks] == ["beat", "semantic arms", "semantic head"]
    for tr in tl.tracks:
        segs = sorted(tr.segments, key=lambda s: s.start)
        assert all(a.end <= b.start for a, b in zip(segs, segs[1:]))
    beat = tl.tracks[0].segments
    assert [(s.text, s.start, s.end, s.parts) for s in beat] == [(BEAT_PROMPT, 0.0, 5.0, ("full_body",))]
    assert plan.speech == [(0.4, 4.5)]
    # semantic arm gestures override the beat on their arm (fewer parts win)
    plan_ = plan_timeline(tl, 30.0)
    segs = tl.segments()
    k = next(i for i, s in enumerate(segs) if s.text.startswith("a person waves"))
    f = int(round((wave.start + 0.8) * 30))
    right = 3  # MODEL_PARTS index of right_arm
    assert plan_.alpha[k, right, f] == pytest.approx(1.0)
    assert model_parts(segs[k]) == {"right_arm"}


def test_amount_slider_sets_how_many(index):
    ws = words("hello you look there thanks yes everyone no please welcome " * 3, step=0.4)
    counts = [len(plan_gestures(ws, [(0.0, 13.0)], 13.0, index, amount=a).semantic)
              for a in (0.0, 0.3, 0.6, 1.0)]
    assert counts[0] == 0 and counts == sorted(counts) and counts[-1] > counts[1] > 0
    assert plan_gestures(ws, [(0.0, 13.0)], 13.0, None, amount=1.0).semantic == []
    with pytest.raises(ValueError, match="0 to 1"):
        plan_gestures(ws, [], 13.0, index, amount=1.5)


def test_no_speech_gives_an_idle_timeline(index):
    plan = plan_gestures([], [], 4.0, index)
    assert plan.semantic == [] and len(plan.timeline.segments()) == 1
    seg = plan.timeline.segments()[0]
    assert (seg.start, seg.end) == (0.0, 4.0)


def test_head_shake_is_procedural_not_on_the_timeline(index):
    plan = plan_gestures(words("no never"), [(0.4, 1.5)], 2.0, index, amount=1.0)
    assert [p.gesture.name for p in plan.semantic] == ["shake"]
    assert plan.procedural == plan.semantic
    assert all(s.text == BEAT_PROMPT for s in plan.timeline.segments())
