"""What a transcription gives: words and phones with times, and how labels are tidied.

The types :func:`~cadence.inference.speech.transcribe.transcribe` returns, kept apart from
the recogniser so that their readers (face visemes, gesture timing) and tests need no
pocketsphinx, and the label and timing clean-up that turns pocketsphinx's raw output
(stressed ARPAbet, filler words, alternative pronunciations, overlapping or gappy
phones) into them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

SILENCE = "SIL"


@dataclass(frozen=True)
class Word:
    text: str
    start: float                 # seconds
    end: float


@dataclass(frozen=True)
class Phone:
    label: str                   # ARPAbet without stress ("AA", "P"), "SIL" for silence
    start: float                 # seconds
    end: float


@dataclass
class Transcript:
    words: list[Word]
    phones: list[Phone]
    aligned: bool                # True when a given text was force-aligned
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


def normalise_text(text: str) -> list[str]:
    """Lowercase words with inner apostrophes kept (``"Don't stop!"`` -> don't, stop)."""
    return re.findall(r"[a-z0-9]+(?:'[a-z0-9]+)*", text.lower().replace("\u2019", "'"))


def is_filler(word: str) -> bool:
    """pocketsphinx's non-words (``<s>``, ``[NOISE]``, ``+BREATH+``): not said, left out."""
    return word.startswith("<") or word.startswith("[") or word.startswith("+")


def word_text(word: str) -> str:
    """The word without the dictionary's alternative-pronunciation mark (``read(2)``)."""
    return re.sub(r"\(\d+\)$", "", word)


def phone_label(label: str) -> str:
    """ARPAbet without stress; silence and noise fillers become ``SIL``."""
    label = label.strip().upper()
    if not label or label.startswith("+") or label in ("SIL", "<SIL>", "<S>", "</S>"):
        return SILENCE
    return label.rstrip("012")


def tidy_phones(phones: list[Phone], duration: float) -> list[Phone]:
    """Sorted, gapless, merged runs of silence, covering [0, duration]."""
    out: list[Phone] = []
    t = 0.0
    for p in sorted(phones, key=lambda p: p.start):
        start, end = max(p.start, t), min(p.end, duration)
        if end <= start + 1e-9:
            continue
        if start > t + 1e-9:
            out.append(Phone(SILENCE, t, start))
        out.append(Phone(p.label, start, end))
        t = end
    if t < duration - 1e-9:
        out.append(Phone(SILENCE, t, duration))
    merged: list[Phone] = []
    for p in out:
        if merged and merged[-1].label == SILENCE == p.label:
            merged[-1] = Phone(SILENCE, merged[-1].start, p.end)
        else:
            merged.append(p)
    return merged
