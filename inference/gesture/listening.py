"""The listener in a dialogue: a calm standing idle, backchannel nods and small posture
shifts while the *other* voice speaks (issue 23's "Listening" mode).

    from cadence.inference.gesture.listening import generate_listening
    r = generate_listening("other_person.wav", seed=1)
    r.motion      # canonical Motion at 30 fps, as long as the audio
    r.nods        # the nods placed, with why (a pause after a phrase, or a stress)

No words are recognised: the speaker's voice activity (``inference/speech/vad.py``)
and prosody (``inference/speech/prosody.py``) are all it reads, so a minute takes
about a second.

1. **Idle**: the motion prior has no idle action; its calmest standing one,
   ``respond`` ("a person nods and answers with a small hand gesture"), is sampled
   and every joint is pulled towards the clip's mean pose (the arms towards their pose
   in the frames where the hand hangs lowest), keeping
   :attr:`ListenSettings.idle` of the movement (the head less, the legs none: the feet
   stay planted; the pelvis where it started, the lower foot on the floor). At most
   ``loop_seconds`` are sampled and looped with a cross-fade, so a long clip costs no
   more sampling than a short one.
2. **Nods** where listeners nod: when the speaker pauses (>= ``min_pause`` s) after a
   phrase of at least ``min_phrase`` s of speech, starting 0.1-0.35 s into the pause;
   and now and then on a strong stress inside a long phrase. Each nod is a pitch of the
   neck and head, ``nod_degrees`` down and back over ``nod_seconds`` (quicker down than
   up), sometimes a double nod; amplitude, length and doubling drawn from the seed.
   The head is otherwise still: no nods in silence.
3. **Posture shifts**: a slow sway of the torso (a few degrees side to side and forward,
   a new target every ``shift_seconds``) and breathing, on the spine only, so the feet
   do not move.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ...motion import rotations as rot
from ...motion.kinematics import Motion
from ...motion.skeleton import BODY_PARTS, JOINT_NAMES
from ..motion.standing import Sway, lay_sway, sway_curves
from ..motion.timeline import Segment, Timeline, Track
from ..speech.audio import Audio
from ..speech.prosody import Prosody
from ..speech.vad import VoiceActivity
from .activity import ARM_JOINTS, rest_pose
from .generate import hear, progress_reporter

LISTEN_PROMPT = "a person nods and answers with a small hand gesture"   # respond: the calmest standing action
LISTEN_STEPS = 4
NECK = JOINT_NAMES.index("neck")
HEAD = JOINT_NAMES.index("head")
LEGS = tuple(JOINT_NAMES.index(n) for n in BODY_PARTS["legs"])
FEET = tuple(JOINT_NAMES.index(n) for n in ("left_ankle", "right_ankle", "left_foot", "right_foot"))
ARMS = ARM_JOINTS["left"] + ARM_JOINTS["right"]
HEAD_PART = tuple(JOINT_NAMES.index(n) for n in BODY_PARTS["head"])
NECK_SHARE = 0.4          # of a nod's pitch on the neck, the rest on the head


@dataclass(frozen=True)
class ListenSettings:
    idle: float = 0.15                     # share of the prior's own movement kept (upper body)
    head_idle: float = 0.05                # ... on the neck and head
    arm_idle: float = 0.08                 # ... on the arms, around their lowest pose
    arm_rest_share: float = 0.1            # the arms rest as in this share of frames with the hand lowest
    min_pause: float = 0.3                 # s of silence that ends a phrase
    min_phrase: float = 1.0                # s of speech before a pause that earns a nod
    pause_delay: tuple[float, float] = (0.1, 0.35)   # s into the pause the nod starts
    clear_pause: float = 0.7               # s: a clear phrase end, always a nod
    pause_chance: float = 0.8              # at most, at a shorter pause
    chance_ramp: float = 4.0               # s of speech heard for that chance
    forget_pause: float = 1.5              # s of silence after which the speech heard is forgotten
    stress_chance: float = 0.3             # a nod on a strong stress inside a phrase
    stress_share: float = 0.2              # the most prominent share of syllables that count
    stress_delay: float = 0.2              # s after the stress
    min_gap: float = 2.0                   # s between nod starts
    nod_degrees: tuple[float, float] = (8.0, 15.0)
    nod_seconds: tuple[float, float] = (0.5, 0.8)
    double_chance: float = 0.3
    sway_degrees: float = 2.0              # torso side-to-side, peak
    sway_forward_degrees: float = 1.0
    shift_seconds: tuple[float, float] = (5.0, 9.0)  # between posture targets
    breath_degrees: float = 0.6
    breath_seconds: float = 4.0
    loop_seconds: float = 20.0             # the idle sampled once, looped beyond
    loop_overlap: float = 2.0              # s of cross-fade between loops


@dataclass(frozen=True)
class Nod:
    start: float         # s
    seconds: float       # the whole nod (both halves of a double nod)
    degrees: float       # peak pitch
    double: bool
    cause: str           # "pause" or "stress"


@dataclass
class ListenResult:
    motion: Motion
    nods: list[Nod]
    activity: VoiceActivity
    prosody: Prosody
    timings: dict[str, float]
    warnings: list[str] = field(default_factory=list)
    timeline: Timeline | None = None
    features: np.ndarray | None = None    # (frames, F) the sampled idle (looped as the motion), before calming


def phrases(segments: Sequence[tuple[float, float]], min_pause: float) -> list[tuple[float, float]]:
    """Speech segments joined across pauses shorter than ``min_pause``."""
    out: list[list[float]] = []
    for a, b in sorted(segments):
        if out and a - out[-1][1] < min_pause:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(float(a), float(b)) for a, b in out]


def place_nods(segments: Sequence[tuple[float, float]], duration: float, seed: int = 0,
               stresses: np.ndarray | None = None, prominence: np.ndarray | None = None,
               settings: ListenSettings | None = None) -> list[Nod]:
    """Where a listener nods; seeded.

    At a clear phrase end (a pause of ``clear_pause`` s or more after ``min_phrase`` s
    of speech since the last nod) always; at a shorter pause (``min_pause`` or more)
    with a chance that grows with the speech heard since the last nod (reaching
    ``pause_chance`` after ``chance_ramp`` s more; a silence of ``forget_pause`` s
    starts the count again); then, in the gaps, now and then on
    the strongest stresses inside phrases of 3 s or more. ``segments``: the speaker's
    speech (s); ``stresses``: syllable times (s) with their ``prominence`` (None:
    pauses only)."""
    st = settings or ListenSettings()
    rng = np.random.default_rng(seed)
    runs = phrases(segments, st.min_pause)
    draws = rng.random((len(runs), 2))   # two draws a phrase, used or not: placements stay put
    placed: list[tuple[float, str]] = []
    heard = 0.0
    for i, (a, b) in enumerate(runs):
        heard += b - a
        pause = (runs[i + 1][0] if i + 1 < len(runs) else duration) - b
        if heard < st.min_phrase or pause < st.min_pause:
            heard = 0.0 if pause >= st.forget_pause else heard
            continue
        chance = 1.0 if pause >= st.clear_pause else \
            st.pause_chance * min(1.0, (heard - st.min_phrase) / st.chance_ramp)
        lo, hi = st.pause_delay
        t = b + lo + (hi - lo) * draws[i, 1]
        if draws[i, 0] < chance and not any(abs(t - p) < st.min_gap for p, _ in placed):
            placed.append((t, "pause"))
            heard = 0.0
        heard = 0.0 if pause >= st.forget_pause else heard
    if stresses is not None and len(stresses):
        s = np.asarray(stresses, np.float64)
        p = np.asarray(prominence if prominence is not None else np.ones(len(s)), np.float64)
        strong = p >= np.quantile(p, 1.0 - st.stress_share)
        for t, ok, d in zip(s, strong, rng.random(len(s))):
            t = float(t) + st.stress_delay
            inside = any(b - a >= 3.0 and a + 0.5 <= t <= b - 0.5 for a, b in runs)
            if ok and inside and d < st.stress_chance and not any(abs(t - q) < st.min_gap for q, _ in placed):
                placed.append((t, "stress"))
    placed.sort()
    params = rng.random((len(placed), 3))
    nods = []
    for (t, cause), u in zip(placed, params):
        lo, hi = st.nod_seconds
        double = bool(u[2] < st.double_chance)
        seconds = (lo + (hi - lo) * u[1]) * (1.6 if double else 1.0)
        dlo, dhi = st.nod_degrees
        if t + seconds <= duration:   # a nod the clip would cut off is left out
            nods.append(Nod(t, float(seconds), float(dlo + (dhi - dlo) * u[0]), double, cause))
    return nods


def _one_nod(u: np.ndarray) -> np.ndarray:
    """0 -> 1 -> 0 over u in [0, 1]: down in the first 40 %, back up in the rest (C1)."""
    down = np.sin(0.5 * np.pi * np.clip(u / 0.4, 0.0, 1.0)) ** 2
    up = np.cos(0.5 * np.pi * np.clip((u - 0.4) / 0.6, 0.0, 1.0)) ** 2
    return np.where(u < 0.4, down, up) * ((u >= 0) & (u <= 1))


def nod_curve(nods: Sequence[Nod], frames: int, fps: float) -> np.ndarray:
    """(frames,) head pitch in radians (positive: down) for the nods."""
    t = np.arange(frames) / fps
    out = np.zeros(frames)
    for n in nods:
        if n.double:   # two nods, the second smaller
            half = n.seconds / 2.0
            pitch = _one_nod((t - n.start) / half) + 0.65 * _one_nod((t - n.start - half) / half)
        else:
            pitch = _one_nod((t - n.start) / n.seconds)
        out = np.maximum(out, np.radians(n.degrees) * pitch)
    return out


def calm_idle(motion: Motion, settings: ListenSettings | None = None) -> Motion:
    """``motion`` pulled towards its mean pose (the arms towards their pose where the
    hand is lowest: hands down): the upper body keeps ``idle`` of its movement, the
    head ``head_idle``, the arms ``arm_idle``, the legs none, the body turned to face
    -Y (the canonical front: the armature's own rotation places the listener); the pelvis held at its first
    planar position and at the height that puts the lower foot on the floor."""
    st = settings or ListenSettings()
    n = motion.num_frames
    rotations = motion.rotations.copy()
    joints = list(range(1, rotations.shape[1]))   # the pelvis' orientation too (joint 0): held
    rest = dict(zip([0] + joints, rest_pose(rotations, [0] + joints)))
    wrists = motion.positions()[:, [ARM_JOINTS[side][-1] for side in ("left", "right")], 2]
    for k, side in enumerate(("left", "right")):   # arms: their pose in the frames with the hand lowest
        low = wrists[:, k] <= np.quantile(wrists[:, k], st.arm_rest_share)
        rest.update(zip(ARM_JOINTS[side], rest_pose(rotations[low], ARM_JOINTS[side])))
    fwd = rot.quat_rotate(rest[0], np.array([0.0, -1.0, 0.0]))   # face -Y, the canonical front
    rest[0] = rot.quat_mul(rot.yaw_quat(-np.arctan2(fwd[0], -fwd[1])), rest[0])
    for j, r in rest.items():
        keep = 0.0 if j in LEGS else st.head_idle if j in HEAD_PART else st.arm_idle if j in ARMS else st.idle
        rotations[:, j] = rot.quat_slerp(np.broadcast_to(r, (n, 4)), rotations[:, j], keep)
    root = motion.root_positions.copy()
    root[:, :2] = root[:1, :2]
    root[:, 2] = root[:, 2].mean()
    out = Motion(rotations, root, motion.fps, motion.skeleton)
    feet = out.slice(0, 1).positions()[0, list(FEET), 2]   # the legs are still: one frame says it
    root[:, 2] -= float(np.min(feet - motion.skeleton.rest_positions()[list(FEET), 2]))
    return Motion(rotations, root, motion.fps, motion.skeleton)


def loop_idle(motion: Motion, frames: int, overlap: int) -> Motion:
    """``motion`` repeated to ``frames`` frames, each repeat cross-faded into the one
    before over ``overlap`` frames (a calm idle loops unnoticed; the cost of sampling
    stays that of one loop however long the audio)."""
    n = motion.num_frames
    if n >= frames:
        return motion.slice(0, frames)
    overlap = max(1, min(overlap, n // 2))
    src = motion.rotations
    out = np.empty((frames,) + src.shape[1:])
    out[:n] = src
    pos = n
    while pos < frames:
        u = (np.arange(overlap) + 1.0) / (overlap + 1.0)
        w = (u * u * (3 - 2 * u))[:, None]
        out[pos - overlap:pos] = rot.quat_slerp(out[pos - overlap:pos], src[:overlap], w)
        take = min(n - overlap, frames - pos)
        out[pos:pos + take] = src[overlap:overlap + take]
        pos += take
    root = np.repeat(motion.root_positions[:1], frames, axis=0)   # calm_idle holds it
    return Motion(out, root, motion.fps, motion.skeleton)


def apply_listening(motion: Motion, pitch: np.ndarray, roll: np.ndarray, sway_pitch: np.ndarray) -> Motion:
    """Lay the nods (neck and head pitch) and the torso sway (``standing.lay_sway``) on
    ``motion``; rotations about the parent's axes (+X pitch nods forward)."""
    rotations = motion.rotations.copy()
    for j, share in ((NECK, NECK_SHARE), (HEAD, 1.0 - NECK_SHARE)):
        rotations[:, j] = rot.quat_mul(rot.axis_rotation_quat("x", share * pitch), rotations[:, j])
    return lay_sway(Motion(rotations, motion.root_positions.copy(), motion.fps, motion.skeleton), roll, sway_pitch)


def listening_timeline(duration: float) -> Timeline:
    return Timeline([Track([Segment(LISTEN_PROMPT, 0.0, duration)], "listen")], duration).validate()


def generate_listening(source: str | os.PathLike | Audio, *, seed: int = 0, steps: int | None = None,
                       settings: ListenSettings | None = None, model=None,
                       weights_dir: str | os.PathLike | None = None,
                       progress: Callable[[float], bool | None] | None = None) -> ListenResult:
    """The listener's motion for the other person's speech ``source`` (a file or an
    Audio). ``progress(fraction)`` returning False cancels (GenerationCancelled)."""
    from ..motion.compose import compose
    from ..motion.model import MotionModel
    st = settings or ListenSettings()
    timings: dict[str, float] = {}
    warnings: list[str] = []
    started = time.perf_counter()
    report = progress_reporter(progress)
    heard = hear(source, "listening is", weights_dir, timings, warnings, report)
    audio, voice, prosody = heard.audio, heard.voice, heard.prosody
    if not voice.segments:
        warnings.append("no speech was found in the audio: the listener only idles")
    report(0.15)

    t0 = time.perf_counter()
    nods = place_nods(voice.segments, audio.duration, seed, prosody.syllables, prosody.prominence, st)
    timings["planning"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    model = model or MotionModel.load(weights_dir)
    timeline = listening_timeline(min(audio.duration, st.loop_seconds))

    def step(done: int, total: int) -> bool | None:
        report(0.15 + 0.8 * done / total)
        return None

    sampled = compose(model, timeline, seed=seed, steps=steps or LISTEN_STEPS, styles={}, progress=step)
    timings["sampling"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    frames = max(2, int(round(audio.duration * model.fps)))
    motion = loop_idle(calm_idle(sampled.motion, st), frames, int(round(st.loop_overlap * model.fps)))
    roll, sway_pitch = sway_curves(frames, motion.fps, seed, Sway(st.sway_degrees, st.sway_forward_degrees,
                                                                  st.shift_seconds, st.breath_degrees,
                                                                  st.breath_seconds))
    motion = apply_listening(motion, nod_curve(nods, frames, motion.fps), roll, sway_pitch)
    timings["listening"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - started
    report(1.0)
    n, overlap = len(sampled.features), max(1, min(int(round(st.loop_overlap * model.fps)), len(sampled.features) // 2))
    rows = np.concatenate([np.arange(n)] + [np.arange(overlap, n)] * (frames // max(1, n - overlap) + 1))[:frames]
    return ListenResult(motion, nods, voice, prosody, timings, warnings, listening_timeline(audio.duration),
                        sampled.features[rows])
