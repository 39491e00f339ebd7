"""Communicative gestures the motion prior can perform, and matching them to words.

Semantic Gesticulator and meta4 retrieve gestures from the words; we have no gesture
library, only a motion prior trained on 24 actions (training/prompts.py). The lexicon
therefore lists the communicative acts those actions can stand for, each with the
prompt that makes the prior perform it, the body parts it drives on the timeline, how
long it lasts, and phrases that call for it:

========  ================================================  ============  ===========
gesture   prompt (the prior's action)                       parts         phrases e.g.
========  ================================================  ============  ===========
wave      waves the right hand (wave-right-hand)            right arm     hello, bye
guide     open hand guiding this way (guide)                right arm     there, look
call      calls someone over (call)                         right arm     hey, listen
raise     raises both hands (raise-up-both-hands)           arms          everyone, up
bow       bows (bow)                                        torso, head   thank you
nod       nods and answers (respond)                        head          yes, exactly
shake     (procedural: the data has no head shake)          head          no, never
========  ================================================  ============  ===========

Matching (:func:`match_words`): a phrase of one to three words that is written in the
lexicon matches with its listed weight; every other single content word is compared
with the lexicon's phrases by sentence embeddings (the shipped text encoder, cosine
similarity times the phrase's weight), so "greetings", "farewell", "everybody" or "absolutely" find their gesture
without being listed. Embeddings of words are cached per process.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Gesture:
    name: str
    prompt: str                  # what the motion prior is asked for ("" = procedural)
    parts: tuple[str, ...]       # timeline body parts
    seconds: float               # segment length
    lead: float                  # the segment starts this long before the word
    phrases: tuple[tuple[str, float], ...]   # (phrase, weight of an exact match)

    @property
    def procedural(self) -> bool:
        return not self.prompt


def _ph(*items: str) -> tuple[tuple[str, float], ...]:
    """"hello", "you:0.7" -> (("hello", 1.0), ("you", 0.7))."""
    out = []
    for item in items:
        text, _, w = item.partition(":")
        out.append((text, float(w) if w else 1.0))
    return tuple(out)


LEXICON: tuple[Gesture, ...] = (
    Gesture("wave", "a person waves their right hand", ("right_arm",), 2.0, 0.4,
            _ph("hello", "hi", "goodbye", "bye", "welcome", "see you", "farewell", "greetings",
                "good morning", "good night")),
    Gesture("guide", "a person gestures with an open hand to guide someone this way", ("right_arm",),
            1.6, 0.4, _ph("over there", "this way", "that way", "look at this", "look", "there:0.8",
                          "here:0.75", "that one", "you:0.7", "your:0.65", "follow me")),
    Gesture("call", "a person calls someone over, cupping a hand to their mouth and beckoning",
            ("right_arm",), 1.6, 0.4, _ph("hey", "come here", "come on", "listen", "excuse me", "attention")),
    Gesture("raise", "a person raises both hands up", ("arms",), 2.0, 0.5,
            _ph("everyone", "everybody", "all of you", "up:0.8", "high", "hooray", "amazing",
                "huge", "celebrate", "wonderful", "incredible")),
    Gesture("bow", "a person bows", ("torso", "head"), 1.6, 0.3,
            _ph("thank you", "thanks", "please", "sorry", "nice to meet you", "grateful",
                "apologies", "pleasure")),
    Gesture("nod", "a person nods and answers with a small hand gesture", ("head",), 1.2, 0.2,
            _ph("yes", "yeah", "exactly", "i agree", "of course", "sure", "right:0.7", "okay",
                "indeed", "absolutely", "agreed")),
    Gesture("shake", "", ("head",), 1.0, 0.1,
            _ph("no", "not:0.8", "never", "nope", "don't", "nothing", "nobody", "disagree",
                "can't", "won't")),
)

# Single words never compared by embedding (they match only when listed).
STOP_WORDS = frozenset("""a an the and or but if of to in on at by for with from as is are was were be
been being it its this that these those i me my we our us he him his she her they them their
so do does did have has had will would can could should may might must just than then too very
also about into over under again there here what which who whom whose when where why how all
any both each few more most other some such only own same not no nor up out off""".split())

MAX_NGRAM = 3


@dataclass(frozen=True)
class Match:
    gesture: Gesture
    first: int          # index of the first word
    last: int           # index of the last word (inclusive)
    phrase: str         # the words that matched
    score: float        # 0..1


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


class PhraseIndex:
    """The lexicon's phrase embeddings and a cache of word embeddings."""

    def __init__(self, encoder, lexicon: Sequence[Gesture] = LEXICON):
        self.encoder = encoder
        self.lexicon = tuple(lexicon)
        self.exact: dict[str, tuple[int, float]] = {}
        phrases, owners = [], []
        for gi, g in enumerate(self.lexicon):
            for text, w in g.phrases:
                key = normalise(text)
                if key not in self.exact or self.exact[key][1] < w:
                    self.exact[key] = (gi, w)
                phrases.append(key)
                owners.append(gi)
        self.owners = np.array(owners)
        self.weights = np.array([w for g in self.lexicon for _, w in g.phrases])
        self.phrase_vectors = np.asarray(encoder.encode(phrases), np.float32) if phrases else np.zeros((0, 1))
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def word_vectors(self, words: Sequence[str]) -> np.ndarray:
        with self._lock:
            todo = [w for w in dict.fromkeys(words) if w not in self._cache]
            if todo:
                for w, v in zip(todo, np.asarray(self.encoder.encode(todo), np.float32)):
                    self._cache[w] = v
            return np.stack([self._cache[w] for w in words]) if words else np.zeros((0, 1), np.float32)

    def nearest(self, words: Sequence[str]) -> list[tuple[int, float]]:
        """(gesture index, score) of the best lexicon phrase for each word: cosine
        similarity times the phrase's weight."""
        if not words:
            return []
        sims = (self.word_vectors(words) @ self.phrase_vectors.T) * self.weights
        best = sims.argmax(axis=1)
        return [(int(self.owners[b]), float(sims[i, b])) for i, b in enumerate(best)]


def match_words(words: Sequence[str], index: PhraseIndex, min_score: float = 0.6) -> list[Match]:
    """Gesture candidates for a word sequence (texts only), at most one per word,
    best score first among overlapping phrases."""
    norm = [normalise(w) for w in words]
    taken = [False] * len(norm)
    found: list[Match] = []
    # exact phrases, longest first
    for n in range(MAX_NGRAM, 0, -1):
        for i in range(len(norm) - n + 1):
            if any(taken[i:i + n]):
                continue
            key = " ".join(t for t in norm[i:i + n] if t)
            if key in index.exact:
                gi, w = index.exact[key]
                if w >= min_score:
                    found.append(Match(index.lexicon[gi], i, i + n - 1, key, w))
                for k in range(i, i + n):   # listed: its weight decides, not its embedding
                    taken[k] = True
    # other content words by embedding
    rest = [i for i, t in enumerate(norm) if not taken[i] and t and t not in STOP_WORDS
            and not t.isdigit()]
    for i, (gi, score) in zip(rest, index.nearest([norm[i] for i in rest])):
        if score >= min_score:
            found.append(Match(index.lexicon[gi], i, i, norm[i], score))
    return sorted(found, key=lambda m: (-m.score, m.first))


def gesture_by_name(name: str, lexicon: Sequence[Gesture] = LEXICON) -> Gesture:
    for g in lexicon:
        if g.name == name:
            return g
    raise KeyError(f"no gesture {name!r}; known: {', '.join(g.name for g in lexicon)}")
