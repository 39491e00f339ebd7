"""Speech -> body gestures, zero-shot on the text-to-motion prior.

    from cadence.inference.gesture.generate import generate_gestures
    result = generate_gestures("talk.wav", styles={"angry": 0.6}, seed=1)
    result.motion          # canonical Motion at 30 fps, as long as the audio
    result.plan.semantic   # the semantic gestures placed at their words

No paired speech and motion capture is available to us (BEAT2, ZEGGS, Trinity and
Talking With Hands are out of reach), so nothing here was trained on speech. As in
LivelySpeaker, two stages run on the motion prior (``inference/motion/model.py``):

1. **Understand the speech**: voice activity (``inference/speech/vad.py``, silero-vad),
   prosody (``inference/speech/prosody.py``), English words with their times
   (``inference/speech/transcribe.py``, pocketsphinx; a typed transcript is aligned instead).
2. **Plan** (``inference/gesture/plan.py``): semantic gestures from the words
   (``inference/gesture/lexicon.py``) and beat segments over speech, as a timeline.
3. **Sample** the timeline with ``inference/motion/compose.py`` and the beat guidance of
   ``inference/gesture/guidance.py`` (arm speed towards the stressed syllables, root
   held in place), with the style sliders (default estimated from the voice:
   ``inference/speech/style.py``).
4. **Follow the voice** (``inference/gesture/activity.py``): the arms rest in the long
   pauses and grow with loudness, and the body is re-timed to one stroke between
   beats, stopped on each.
5. **Head shakes**, which the data lacks, are laid on the head procedurally.

Errors: :class:`~cadence.inference.speech.audio.AudioError` for unusable audio,
:class:`GestureError` for requests out of range, ``TranscribeError`` when recognition
fails, ``WeightsError`` for missing model files.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import CadenceError
from ...motion import rotations as rot
from ...motion.kinematics import Motion
from ...motion.skeleton import JOINT_NAMES
from ...motion.smoothing import fill_short_gaps
from ..motion.sampler import GenerationCancelled
from ..motion.timeline import MAX_SECONDS, Segment, Timeline
from ..motion.window_plan import model_parts
from ..runtime.model_cache import ModelCache
from ..speech.audio import Audio, load_audio
from ..speech.prosody import Prosody, analyse
from ..speech.style import StyleEstimate, estimate_style
from ..speech.vad import VoiceActivity, detect_speech
from .activity import (
    ActivitySettings,
    activity_envelope,
    apply_activity,
    smooth_arms,
    stroke_time_warp,
    upper_body_path,
)
from .guidance import BeatGuidance, BeatSettings, beat_times, target_speed
from .lexicon import PhraseIndex
from .plan import GesturePlan, PlacedGesture, plan_gestures

# DDIM steps for gestures: fewer than the model's 10 (docs/gesture.md: with fewer steps
# the beat guidance weighs more against the prior; 4 aligned as well as 6 (BeatAlign
# 0.907 vs 0.886), jitter and semantic gestures alike, a minute sampled 1.5x faster).
GESTURE_STEPS = 4
SHAKE_DEGREES = 14.0
SHAKE_HZ = 2.5
_INDEXES: ModelCache[int, PhraseIndex] = ModelCache()


class GestureError(CadenceError, ValueError):
    """A gesture request that cannot be honoured; the message says what to change."""


@dataclass
class GestureResult:
    motion: Motion
    features: np.ndarray                  # (frames, F) denormalised, before activity and head shakes
    plan: GesturePlan
    styles: dict[str, float]
    style_estimate: StyleEstimate | None  # None when the sliders were given
    words: list                            # inference.speech.transcript.Word
    activity: VoiceActivity
    prosody: Prosody
    timings: dict[str, float]             # seconds per stage
    warnings: list[str] = field(default_factory=list)
    guidance_losses: list[float] = field(default_factory=list)
    envelope: np.ndarray | None = None    # (frames, 2) left/right arm activity (1: as sampled)


def phrase_index(encoder) -> PhraseIndex:
    """The lexicon's phrase index for an encoder, built once per process."""
    return _INDEXES.get(id(encoder), lambda: PhraseIndex(encoder))


def beat_guidance(model, prosody: Prosody, activity: VoiceActivity, frames: int,
                  semantic: Sequence[PlacedGesture], settings: BeatSettings | None = None,
                  extra: Timeline | None = None) -> BeatGuidance:
    """The beat guidance for a recording (targets per frame; arms freed where a
    semantic gesture or the animator's timeline drives them, the root freed where the
    timeline drives the legs)."""
    st = settings or BeatSettings()
    fps = model.fps
    loud = prosody.at(prosody.loudness, fps, frames)
    speaking = activity.frame_mask(fps, frames)
    beats = beat_times(prosody.stresses, prosody.onsets, st.min_beat_gap)
    beats = beats[[bool(speaking[min(frames - 1, int(b * fps))]) for b in beats]] if len(beats) else beats
    right = target_speed(beats, loud, speaking, fps, st)
    target = np.stack([st.left_share * right, right], axis=1)
    weight = np.ones_like(target)
    t = (np.arange(frames - 1) + 1.0) / fps
    spans = [(p.start, p.end, model_parts(Segment(p.gesture.prompt, p.start, p.end, p.gesture.parts)))
             for p in semantic if not p.gesture.procedural]
    if extra is not None:
        spans += [(seg.start, seg.end, model_parts(seg)) for seg in extra.segments()]
    free_root = np.zeros(frames)
    centres = (np.arange(frames) + 0.5) / fps
    for start, end, parts in spans:
        inside = (t >= start) & (t < end)
        if "left_arm" in parts:
            weight[inside, 0] = 0.0
        if "right_arm" in parts:
            weight[inside, 1] = 0.0
        if "legs" in parts:
            free_root[(centres >= start) & (centres < end)] = 1.0
    return BeatGuidance(model.normalizer, fps, target, weight, st,
                        free_root=free_root if free_root.any() else None)


def arm_envelope(prosody: Prosody, activity: VoiceActivity, frames: int, fps: float,
                 guidance: BeatGuidance, settings: ActivitySettings | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(frames, 2) left/right arm activity from the voice (``gesture_activity.py``),
    1 where a semantic gesture or the animator's timeline drives the arm (the beat
    guidance's zero weights), eased in and out over the same ramp; and the beats (s) its
    strokes stop on."""
    st = settings or ActivitySettings()
    if guidance.settings.scale < 1.0:   # the beat strokes follow the beat strength (0: none)
        from dataclasses import replace
        st = replace(st, beat_depth=st.beat_depth * max(0.0, guidance.settings.scale))
    speaking = activity.frame_mask(fps, frames)
    if st.beat_source == "onsets":
        beats = beat_times(np.array([]), prosody.onsets, BeatSettings().min_beat_gap)
    else:
        beats = beat_times(prosody.stresses, prosody.onsets, BeatSettings().min_beat_gap)
    beats = beats[[bool(speaking[min(frames - 1, int(b * fps))]) for b in beats]] if len(beats) else beats
    env = activity_envelope(speaking, prosody.at(prosody.loudness, fps, frames), fps, st, beats)
    out = np.stack([env, env], axis=1)
    if not st.enabled:
        return out, beats
    width = max(3, int(round(st.ramp * fps)))
    kernel = np.hanning(width + 2)[1:-1]
    kernel /= kernel.sum()      # a ramp centred on each edge of a driven span, no step
    for k in range(2):
        driven = np.zeros(frames)
        driven[1:] = guidance.weight[:, k] == 0
        if driven.any():
            spread = np.clip(np.convolve(driven, kernel, mode="same"), 0.0, 1.0)
            out[:, k] = np.maximum(out[:, k], spread)
    return out, beats


def beat_strokes(motion: Motion, beats: np.ndarray, guidance: BeatGuidance, voice: VoiceActivity,
                 settings: ActivitySettings) -> Motion:
    """``motion`` re-timed to one stroke between beats, stopped on each, slow in the short
    pauses inside a phrase, as sampled in the long ones (``gesture_activity.
    stroke_time_warp``), and as sampled where a semantic gesture or the animator's
    timeline drives a part (their own timing is the point)."""
    st = settings
    strength = st.stroke * max(0.0, min(1.0, guidance.settings.scale))
    if strength <= 0 or not len(beats):
        return motion
    n, fps = motion.num_frames, motion.fps
    fixed = np.zeros(n, bool)
    if guidance.weight.shape[0] == n - 1:
        fixed[1:] = (guidance.weight == 0).any(axis=1)
    if guidance.free_root is not None and len(guidance.free_root) == n:
        fixed |= np.asarray(guidance.free_root) > 0
    speaking = voice.frame_mask(fps, n)
    active = fill_short_gaps(speaking, int(round(st.min_pause * fps)))
    clock = np.where(speaking, 1.0, st.pause_rate)
    warp = stroke_time_warp(upper_body_path(motion), fps, beats, strength, fixed, st.stroke_gap, active, clock)
    return motion.at_frames(warp)


def add_head_shakes(motion: Motion, shakes: Sequence[PlacedGesture],
                    degrees: float = SHAKE_DEGREES, hz: float = SHAKE_HZ) -> Motion:
    """Turn the head left and right (about the neck's up axis) over each shake's span,
    with a Hann envelope so it starts and ends at the sampled pose."""
    if not shakes:
        return motion
    head = JOINT_NAMES.index("head")
    t = np.arange(motion.num_frames) / motion.fps
    angle = np.zeros(motion.num_frames)
    for s in shakes:
        inside = (t >= s.start) & (t < s.end)
        u = (t[inside] - s.start) / max(s.end - s.start, 1e-6)
        angle[inside] += np.radians(degrees) * np.sin(2 * np.pi * hz * (t[inside] - s.start)) \
            * np.sin(np.pi * u) ** 2
    rotations = motion.rotations.copy()
    yaw = rot.axis_rotation_quat("z", angle)
    rotations[:, head] = rot.quat_mul(yaw, rotations[:, head])
    return Motion(rotations, motion.root_positions.copy(), motion.fps, motion.skeleton)


class _WordsAlongside:
    """The words (recognised, or the transcript aligned) found in a thread started as
    soon as the audio is read: pocketsphinx decodes in its worker processes (or in
    this process, where it holds the interpreter only segment by segment) while the
    caller reads voice activity and prosody and loads the models. On a minute of speech
    that hides most of their time behind the recognition's (docs/gesture.md)."""

    def __init__(self, transcript: str | None, recognise: bool,
                 progress: Callable[[float], None] | None):
        self.transcript, self.recognise, self.progress = transcript, recognise, progress
        self.words: list = []
        self.warnings: list[str] = []
        self.seconds = 0.0
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self, audio: Audio) -> None:
        self._thread = threading.Thread(target=self._run, args=(audio,), daemon=True)
        self._thread.start()

    def _run(self, audio: Audio) -> None:
        t0 = time.perf_counter()
        try:
            self.words = _words(audio, self.transcript, self.recognise, self.warnings, self.progress)
        except BaseException as exc:     # handed to the caller by result()
            self._error = exc
        self.seconds = time.perf_counter() - t0

    def result(self, warnings: list[str]) -> list:
        """The words (waits for them); the thread's warnings go into ``warnings``; its
        error, if any, is raised here."""
        if self._thread is not None:
            self._thread.join()
        warnings.extend(self.warnings)
        if self._error is not None:
            raise self._error
        return list(self.words)


def _words(audio: Audio, transcript: str | None, recognise: bool, warnings: list[str],
           progress: Callable[[float], None] | None):
    if transcript is None and not recognise:
        return []
    try:
        from ..speech.transcribe import TranscribeError, transcribe
    except ImportError as exc:  # pocketsphinx missing (e.g. a bare Blender Python)
        warnings.append(f"speech recognition is not available ({exc}): beat gestures only")
        return []
    try:
        result = transcribe(audio, transcript, words=True, phones=False, progress=progress)
    except TranscribeError as exc:
        if transcript is not None:   # the user's text could not be aligned: say so
            raise
        warnings.append(f"speech recognition failed ({exc}): beat gestures only")
        return []
    warnings.extend(getattr(result, "warnings", []) or [])
    return list(result.words)


def progress_reporter(progress: Callable[[float], bool | None] | None) -> Callable[[float], None]:
    """``report(fraction)`` for a generator: passes the fraction (at most 1) to
    ``progress`` and raises GenerationCancelled when it returns False."""

    shown = [0.0]     # never backwards: recognition reports from its own thread

    def report(fraction: float) -> None:
        shown[0] = max(shown[0], min(1.0, fraction))
        if progress is not None and progress(shown[0]) is False:
            raise GenerationCancelled("generation cancelled")
    return report


@dataclass
class HeardSpeech:
    audio: Audio
    voice: VoiceActivity
    prosody: Prosody


def hear(source: str | os.PathLike | Audio, what: str, weights_dir: str | os.PathLike | None,
         timings: dict[str, float], warnings: list[str],
         report: Callable[[float], None] | None = None,
         loaded: Callable[[Audio], None] | None = None) -> HeardSpeech:
    """What every speech-driven generator reads first: the audio (refused beyond
    MAX_SECONDS, naming ``what`` is made), its voice activity and prosody; each stage's
    seconds go into ``timings``, the reader's warnings into ``warnings``. ``loaded``
    gets the audio as soon as it is read (to start work that runs alongside)."""
    t0 = time.perf_counter()
    audio = source if isinstance(source, Audio) else load_audio(Path(source), max_seconds=MAX_SECONDS)
    warnings.extend(audio.warnings)
    if audio.duration > MAX_SECONDS:
        raise GestureError(f"the audio lasts {audio.duration:.0f} s; {what} made for at most "
                           f"{MAX_SECONDS:.0f} s at a time: split the recording")
    timings["load"] = time.perf_counter() - t0
    if loaded is not None:
        loaded(audio)
    if report is not None:
        report(0.05)
    t0 = time.perf_counter()
    voice = detect_speech(audio, weights_dir=weights_dir)
    timings["voice_activity"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    prosody = analyse(audio.samples)
    timings["prosody"] = time.perf_counter() - t0
    return HeardSpeech(audio, voice, prosody)


def generate_gestures(source: str | os.PathLike | Audio, transcript: str | None = None, *,
                      words: Sequence | None = None, recognise: bool = True,
                      styles: Mapping[str, float] | None = None, semantic_amount: float = 0.5,
                      beat: BeatSettings | None = None, seed: int = 0, steps: int | None = None,
                      timeline: Timeline | None = None, activity: ActivitySettings | None = None,
                      model=None, encoder=None, weights_dir: str | os.PathLike | None = None,
                      progress: Callable[[float], bool | None] | None = None,
                      solver: str | None = None) -> GestureResult:
    """Body gestures for a speech recording.

    ``transcript``: the text that was spoken (aligned to the audio) or None (recognised
    when ``recognise``); ``words``: word timings to use as they are (skips recognition);
    ``styles``: slider weights 0..1 (None: estimated from the voice; ``{}``: neutral);
    ``semantic_amount``: 0 (beats only) .. 1 (as many semantic gestures as fit);
    ``beat``: the beat guidance settings (``BeatSettings(scale=0)`` turns it off);
    ``activity``: the activity envelope (arms rest in pauses, larger when louder;
    ``ActivitySettings(enabled=False)`` turns it off);
    ``steps``: DDIM steps (default :data:`GESTURE_STEPS`; with ``solver="distilled"``, the
    fast student's, default 2: docs/gesture.md, "The fast sampler");
    ``timeline``: the animator's own prompts (e.g. a walk on the legs), composed with
    the gestures; the character stays in place only where it does not move the legs.
    ``progress(fraction)`` returning False cancels (GenerationCancelled).
    """
    from ..motion.compose import compose
    from ..motion.model import MotionModel
    from ..text.encoder import TextEncoder

    timings: dict[str, float] = {}
    warnings: list[str] = []
    started = time.perf_counter()
    report = progress_reporter(progress)
    if not 0.0 <= semantic_amount <= 1.0:
        raise GestureError(f"the semantic gesture amount goes from 0 to 1 (got {semantic_amount:g})")
    alongside = None
    if words is None and (transcript is not None or recognise):
        alongside = _WordsAlongside(transcript, recognise,
                                    (lambda f: report(0.1 + 0.4 * f)) if progress else None)
    heard = hear(source, "gestures are", weights_dir, timings, warnings, report,
                 alongside.start if alongside is not None else None)
    audio, voice, prosody = heard.audio, heard.voice, heard.prosody
    if not voice.segments:
        warnings.append("no speech was found in the audio: the character idles")
    report(0.1)

    t0 = time.perf_counter()
    model = model or MotionModel.load(weights_dir)
    encoder = encoder or TextEncoder.load(weights_dir)      # the prompts', and the lexicon's
    if semantic_amount > 0 and (alongside is not None or words):
        phrase_index(encoder)
    if alongside is not None:       # the sampler's sessions open while the words are found
        model.prepare(solver)
    timings["models"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if alongside is not None:       # recognised words count only where speech was heard
        words = alongside.result(warnings)
        words = words if voice.segments or transcript is not None else []
        timings["recognition"] = alongside.seconds
    else:
        timings["recognition"] = 0.0
    words = list(words or [])
    timings["waiting_for_words"] = time.perf_counter() - t0
    report(0.5)

    t0 = time.perf_counter()
    estimate = None
    if styles is None:
        estimate = estimate_style(prosody, voice.segments)
        styles = estimate.styles
    styles = dict(styles)
    from ..motion.model import GenerationError
    try:
        model.style_vector(styles)
    except GenerationError as exc:
        raise GestureError(str(exc)) from None
    index = None
    if semantic_amount > 0 and words:
        index = phrase_index(encoder)
    plan = plan_gestures(words, voice.segments, audio.duration, index, semantic_amount, timeline)
    frames = max(2, int(round(plan.timeline.end * model.fps)))
    guidance = beat_guidance(model, prosody, voice, frames, plan.semantic, beat, timeline)
    envelope, beats = arm_envelope(prosody, voice, frames, model.fps, guidance, activity)
    timings["planning"] = time.perf_counter() - t0

    t0 = time.perf_counter()

    def step(done: int, total: int) -> bool | None:
        report(0.5 + 0.5 * done / total)
        return None

    # From noise: the beat guidance shapes the arms, and a recorded take's own rhythm
    # would fight it.
    fast = solver == "distilled"
    result = compose(model, plan.timeline, seed=seed, steps=steps or (None if fast else GESTURE_STEPS),
                     styles=styles, encoder=encoder, progress=step, guidance=guidance, reference_strength=1.0,
                     solver=solver)
    timings["sampling"] = time.perf_counter() - t0
    motion = result.motion
    t0 = time.perf_counter()
    st = activity or ActivitySettings()
    if st.enabled:
        motion = apply_activity(smooth_arms(motion, st.smooth), envelope)
        motion = beat_strokes(motion, beats, guidance, voice, st)
    timings["activity"] = time.perf_counter() - t0
    motion = add_head_shakes(motion, plan.procedural)
    timings["total"] = time.perf_counter() - started
    return GestureResult(motion, result.features, plan, styles, estimate, words, voice, prosody,
                         timings, warnings, list(guidance.losses), envelope)
