"""A default emotion/style slider setting from the voice (a documented heuristic).

AMUSE and BEAT learn emotion from paired speech and motion; we have no such data, so
the default slider setting for gestures comes from three prosodic measures with a
known link to vocal arousal (Scherer 2003; Juslin & Laukka 2003: aroused speech is
faster, with a wider pitch range and more loudness variation):

- speech rate: syllable nuclei per second of speech (``inference/speech/prosody.py``),
  reference 4.0/s, spread 1.2;
- pitch range: standard deviation of voiced pitch in semitones around the median,
  reference 2.5 st, spread 1.2;
- loudness variation: standard deviation of the 0..1 loudness over speech frames,
  reference 0.30, spread 0.06.

On the only real speech we have (FACEGOOD, 7 takes of one speaker reading, Mandarin)
the measures are 3.5 syllables/s, 3.0 semitones and 0.33 (sd over takes 0.4, 0.1,
0.04): arousal +0.16, neutral, as it should be for calm reading.

Arousal is the mean of the three z-scores, each clipped to +-2. Above +0.4 the speaker
sounds energetic: ``active`` = min(0.6, arousal - 0.3), and ``happy`` as well when the
pitch range alone is above +1 (lively intonation). Below -0.4: ``tired`` = min(0.6,
-arousal - 0.3), and ``sad`` as well when the pitch is flat (range below -1). In
between: no slider (the model's ``normal``). Valence is not estimated: the voice alone
says little about it, and a wrong "angry" is worse than none. The animator can override
every slider; the references come from general findings and the FACEGOOD check
below, not from fitting labelled data (we have none).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .prosody import Prosody

RATE_REF, RATE_SPREAD = 4.0, 1.2
PITCH_REF, PITCH_SPREAD = 2.5, 1.2
LOUD_REF, LOUD_SPREAD = 0.30, 0.06


@dataclass
class StyleEstimate:
    styles: dict[str, float]
    arousal: float
    measures: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        if not self.styles:
            return f"neutral (arousal {self.arousal:+.2f})"
        return ", ".join(f"{k}={v:.2f}" for k, v in self.styles.items()) + f" (arousal {self.arousal:+.2f})"


def measures(prosody: Prosody, speech: list[tuple[float, float]]) -> dict[str, float]:
    """Speech rate (/s), pitch range (semitones) and loudness variation over speech."""
    t = (np.arange(len(prosody.loudness)) + 0.5) / prosody.rate
    mask = np.zeros(len(t), bool)
    for a, b in speech:
        mask |= (t >= a) & (t < b)
    seconds = float(mask.sum()) / prosody.rate
    if seconds < 0.5:
        return {"speech_seconds": seconds, "rate": RATE_REF, "pitch_range": PITCH_REF,
                "loudness_variation": LOUD_REF}
    in_speech = np.zeros(len(prosody.syllables), bool)
    for a, b in speech:
        in_speech |= (prosody.syllables >= a) & (prosody.syllables < b)
    f0 = prosody.pitch[mask]
    f0 = f0[f0 > 0]
    semis = 12.0 * np.log2(f0 / np.median(f0)) if len(f0) > 10 else np.zeros(1)
    return {"speech_seconds": seconds, "rate": float(in_speech.sum()) / seconds,
            "pitch_range": float(np.std(semis)),
            "loudness_variation": float(np.std(prosody.loudness[mask]))}


def estimate_style(prosody: Prosody, speech: list[tuple[float, float]]) -> StyleEstimate:
    """The default slider setting for a recording (see the module docstring)."""
    m = measures(prosody, speech)
    z_rate = float(np.clip((m["rate"] - RATE_REF) / RATE_SPREAD, -2, 2))
    z_pitch = float(np.clip((m["pitch_range"] - PITCH_REF) / PITCH_SPREAD, -2, 2))
    z_loud = float(np.clip((m["loudness_variation"] - LOUD_REF) / LOUD_SPREAD, -2, 2))
    arousal = (z_rate + z_pitch + z_loud) / 3.0
    styles: dict[str, float] = {}
    if arousal > 0.4:
        styles["active"] = round(min(0.6, arousal - 0.3), 2)
        if z_pitch > 1.0:
            styles["happy"] = round(min(0.6, arousal - 0.3), 2)
    elif arousal < -0.4:
        styles["tired"] = round(min(0.6, -arousal - 0.3), 2)
        if z_pitch < -1.0:
            styles["sad"] = round(min(0.6, -arousal - 0.3), 2)
    m.update(z_rate=z_rate, z_pitch=z_pitch, z_loudness=z_loud)
    return StyleEstimate(styles, arousal, m)
