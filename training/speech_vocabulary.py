"""Make ``weights/speech_vocabulary.dict``: the pronunciations of the words pocketsphinx's
English language model finds most probable, for the gestures' word recognition.

    .venv/bin/python training/speech_vocabulary.py [--words 10000] [--out weights/]

Why: the gestures need the words of a speech and their times (stresses, semantic
gestures), not rare words. pocketsphinx searches every dictionary word its language
model knows (72,547 of the 134,860 entries of ``cmudict-en-us.dict``); searching the
10,000 most probable instead decodes a minute of speech 1.2-1.4x faster, and on the
espeak-ng minute of ``bench/gesture_speed.py`` the word error rate goes 0.554 -> 0.514
(fewer rare words in place of common ones; docs/gesture.md). The file is the package's
own dictionary lines (alternate pronunciations included) of those words, in the
dictionary's order: the same package version gives the same file (a test checks).
The words of the gesture lexicon's phrases are always in (three of them, "farewell",
"greetings" and "hooray", are rarer than the 10,000th word).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a script: bootstrap the package
    import _bootstrap

    from cadence.training.speech_vocabulary import main as _main

    sys.exit(_main())

from ..inference.runtime.weights import sha256_file, update_manifest

FILE = "speech_vocabulary.dict"
WORDS = 10_000
_ALTERNATE = re.compile(r"\(\d+\)$")


def lexicon_words() -> set[str]:
    """The words of the gesture lexicon's phrases (``inference/gesture/lexicon.py``)."""
    from ..inference.gesture.lexicon import LEXICON
    return {w for g in LEXICON for phrase, _ in g.phrases for w in re.findall(r"[a-z']+", phrase.lower())}


def vocabulary_lines(words: int = WORDS) -> list[str]:
    """The dictionary lines of the ``words`` most probable unigrams (ties by spelling)
    and of the gesture lexicon's words."""
    import pocketsphinx as ps
    lines = Path(ps.get_model_path("en-us/cmudict-en-us.dict")).read_text(encoding="utf-8").splitlines()
    spelled = sorted({_ALTERNATE.sub("", line.split(" ", 1)[0]) for line in lines if line.strip()})
    lm = ps.NGramModel(ps.Config(loglevel="FATAL"), ps.LogMath(),
                       ps.get_model_path("en-us/en-us.lm.bin"))
    # a word the model does not know scores its unknown-word probability, below all others
    scored = sorted((-lm.prob([word]), word) for word in spelled)
    keep = {word for _, word in scored[:words]} | lexicon_words()
    return [line for line in lines if line.strip() and _ALTERNATE.sub("", line.split(" ", 1)[0]) in keep]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--words", type=int, default=WORDS)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "weights")
    args = p.parse_args()
    from importlib.metadata import version
    path = args.out / FILE
    path.write_text("\n".join(vocabulary_lines(args.words)) + "\n", encoding="utf-8")
    update_manifest(args.out / "manifest.json", [{
        "file": FILE, "sha256": sha256_file(path),
        "version": f"pocketsphinx {version('pocketsphinx')}, {args.words} words",
        "licence": "BSD-2-Clause", "kind": "speech-vocabulary"}])
    print(f"wrote {path}: the {args.words} most probable words and the gesture lexicon's")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
