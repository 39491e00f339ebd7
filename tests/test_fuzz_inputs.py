"""Property-based tests (hypothesis) over the input families of issue 21: BVH text,
timeline text and JSON, SMPL-X npz headers, WAV headers and the command line's numbers.

Each asserts what the issue asks of every input: no traceback (a parser raises only its
own CadenceError, and its allocations stay under a stated cap, 64 MiB for these inputs;
the command line exits 0, or 2 with one line ``cadence CMD: error: ...``), no file left
behind, the inputs unchanged. Where a valid input would start sampling, the sampler is
replaced by a sentinel: reaching it means the input passed the checks at the edge, and
then every number must be inside the documented range.
"""
import contextlib
import io
import json
import math
import struct
import tempfile
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence import limits
from cadence.cli.main import main
from cadence.inference.motion.timeline import Timeline, TimelineError, parse_json, parse_stmc
from cadence.motion.bvh import Bvh, BvhError, parse_bvh

from conftest import FIXTURES

FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

WALK_LINES = (FIXTURES / "bandai_walk_normal.bvh").read_text().splitlines()
_MOTION = next(i for i, ln in enumerate(WALK_LINES) if ln.strip().upper() == "MOTION")
SMALL_WALK = WALK_LINES[:_MOTION] + ["MOTION", "Frames: 4", WALK_LINES[_MOTION + 2]] + \
    WALK_LINES[_MOTION + 3:_MOTION + 7]

NASTY_NUMBERS = ["0", "1", "-1", "nan", "NaN", "inf", "-inf", "1e300", "-1e300", "1e-300",
                 "1" + "0" * 400, "0.0333333", "30", "240", "241", "1e6", "-0", "abc", "", "1e309",
                 "4294967295", "4294967296", "99999999999999999999"]


class Reached(BaseException):
    """The input got past every check: the sampler was about to run."""


def _stop(*args, **kwargs):
    raise Reached


@contextlib.contextmanager
def folder():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def files_in(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def run_cli(capsys, argv) -> tuple[int, str]:
    """(exit code, stderr) of the command line in-process; argparse errors count as 2."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def assert_clean_failure(code: int, err: str, command: str) -> None:
    assert "Traceback" not in err and "internal error" not in err, err
    assert code == 2, (code, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and lines[-1].startswith(f"cadence {command}: error: "), err


# --- BVH text ---------------------------------------------------------------------------

number = st.sampled_from(NASTY_NUMBERS)
token = st.one_of(number, st.sampled_from(["{", "}", "JOINT", "ROOT", "End", "Site", "OFFSET",
                                           "CHANNELS", "3", "6", "Xrotation", "Yposition",
                                           "MOTION", "Frames:", "Frame Time:", "HIERARCHY"]),
                  st.text(alphabet="abcXYZ{}#:.-+e0123456789 \t", max_size=6))


@st.composite
def mutated_bvh(draw) -> str:
    """A small real BVH with a few lines replaced, duplicated, dropped or cut."""
    lines = list(SMALL_WALK)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["replace", "token", "drop", "dup", "cut", "number"]))
        if action == "replace":
            lines[i] = " ".join(draw(st.lists(token, max_size=6)))
        elif action == "token":
            words = lines[i].split() or [""]
            words[draw(st.integers(0, len(words) - 1))] = draw(token)
            lines[i] = " ".join(words)
        elif action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "cut":
            lines = lines[:i]
        else:
            words = lines[i].split() or [""]
            words[draw(st.integers(0, len(words) - 1))] = draw(number)
            lines[i] = " ".join(words)
        if not lines:
            break
    return "\n".join(lines) + "\n"


@st.composite
def nested_bvh(draw) -> str:
    """Random hierarchies: nesting, channel counts, numbers and frame headers."""
    depth = draw(st.integers(0, 300))
    chans = draw(st.sampled_from(["3 Zrotation Xrotation Yrotation", "0", "7 Xrotation", "6"]))
    offset = " ".join(draw(st.lists(number, min_size=3, max_size=3)))
    body = "".join(f"JOINT j{i} {{ OFFSET {offset} CHANNELS {chans}\n" for i in range(depth))
    body += "End Site { OFFSET 0 1 0 }\n" + "}\n" * draw(st.integers(max(0, depth - 2), depth + 2))
    frames, frame_time = draw(number), draw(number)
    data = "\n".join(" ".join(draw(st.lists(number, min_size=0, max_size=8))) for _ in range(3))
    return (f"HIERARCHY\nROOT Hips {{ OFFSET 0 0 0 CHANNELS 6 Xposition Yposition Zposition "
            f"Zrotation Xrotation Yrotation\n{body}}}\nMOTION\nFrames: {frames}\n"
            f"Frame Time: {frame_time}\n{data}\n")


PARSE_MEMORY_CAP = 64 << 20  # bytes the parsers may allocate for these small inputs


@contextlib.contextmanager
def memory_cap(limit: int = PARSE_MEMORY_CAP):
    """Fail when the block's peak Python and numpy allocations exceed ``limit``."""
    tracemalloc.start()
    try:
        yield
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak <= limit, f"peak {peak / 2**20:.1f} MiB"


@FAST
@given(text=st.one_of(mutated_bvh(), nested_bvh()))
def test_bvh_parser_raises_only_its_own_error(text):
    try:
        with memory_cap():
            bvh = parse_bvh(text)
    except BvhError:
        return
    assert isinstance(bvh, Bvh)
    assert 1 <= bvh.num_frames <= limits.MAX_FRAMES
    assert np.all(np.abs(bvh.values) <= limits.MAX_BVH_VALUE)
    assert 1 / limits.MAX_SOURCE_FPS <= bvh.frame_time <= 1 / limits.MIN_SOURCE_FPS
    assert bvh.skeleton.num_joints <= limits.MAX_BVH_JOINTS


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=mutated_bvh(), fps=st.sampled_from(["30", "24", "240", "0", "nan", "1e6", "-5"]),
       out_name=st.sampled_from(["o.bvh", "o.npz", "in.bvh", "o.txt", "sub/o.bvh"]))
def test_convert_never_leaves_a_traceback_or_a_file(capsys, text, fps, out_name):
    with folder() as d:
        src = d / "in.bvh"
        src.write_text(text)
        before = files_in(d)
        code, err = run_cli(capsys, ["convert", str(src), "--out", str(d / out_name), "--fps", fps])
        after = files_in(d)
        assert after.pop("in.bvh") == before["in.bvh"]   # the input is never touched
        if code == 0:
            assert list(after) == [out_name] and out_name != "in.bvh"
            assert limits.in_range(fps, limits.MIN_FPS, limits.MAX_FPS)
        else:
            assert_clean_failure(code, err, "convert")
            assert after == {}                             # nothing left behind


# --- timelines ----------------------------------------------------------------------------

json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30),
                        st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
                        st.sampled_from(["walk forward", "legs", "happy", "full_body"]))
json_value = st.recursive(json_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)), max_leaves=12)
field_value = st.one_of(json_value, st.sampled_from([0, 1, 2.5, -1, 601, "3", [0], {"happy": 0.5},
                                                      {"happy": [1]}, ["legs", "torso"], ["happy"]]))


@st.composite
def timeline_json(draw) -> str:
    segment = st.dictionaries(st.sampled_from(["text", "start", "end", "parts", "style", "extra"]),
                              field_value, max_size=5)
    doc = draw(st.one_of(
        st.fixed_dictionaries({"tracks": st.lists(st.fixed_dictionaries(
            {"segments": st.lists(segment, max_size=4)}), max_size=3)},
            optional={"duration": field_value, "format": field_value}),
        st.fixed_dictionaries({"segments": st.lists(segment, max_size=4)}),
        json_value))
    text = json.dumps(doc)
    if draw(st.booleans()):  # what json.dumps never writes
        text = draw(st.sampled_from(["[" * 5000, '{"segments": [{"text": "a", "start": 0, "end": NaN}]}',
                                     '{"segments": [{"text": "a", "start": 0, "end": 1' + "9" * 400 + "}]}",
                                     '{"segments": [{"text": "a", "start": -Infinity, "end": 1}]}', text[:-1]]))
    return text


@FAST
@given(text=timeline_json())
def test_timeline_json_raises_only_timeline_errors(text):
    try:
        with memory_cap():
            tl = parse_json(text)
    except TimelineError:
        return
    assert isinstance(tl, Timeline) and 1 <= len(tl.segments()) <= limits.MAX_SEGMENTS
    assert all(math.isfinite(s.start) and math.isfinite(s.end) for s in tl.segments())


stmc_field = st.one_of(number, st.sampled_from(["walk forward", "legs torso", "right arm", "happy=0.5",
                                                "happy=nan", "old=2", "hands, head", "wings", ""]),
                       st.text(max_size=10))


@FAST
@given(lines=st.lists(st.lists(stmc_field, min_size=0, max_size=6), max_size=8))
def test_timeline_text_raises_only_timeline_errors(lines):
    text = "\n".join(" # ".join(fields) for fields in lines)
    try:
        with memory_cap():
            tl = parse_stmc(text)
    except TimelineError:
        return
    assert all(0 <= s.start < s.end <= 600 for s in tl.segments())


@FAST
@given(text=st.one_of(timeline_json(), st.lists(st.lists(stmc_field, max_size=5), max_size=5).map(
    lambda ls: "\n".join(" # ".join(f) for f in ls))), suffix=st.sampled_from([".json", ".txt"]))
def test_generate_timeline_fails_in_one_line_or_reaches_sampling(capsys, monkeypatch, text, suffix):
    import cadence.inference.motion.compose as compose_module
    monkeypatch.setattr(compose_module, "compose", _stop)
    with folder() as d:
        tl = d / f"t{suffix}"
        tl.write_text(text)
        try:
            code, err = run_cli(capsys, ["generate", "--timeline", str(tl), "--out", str(d / "o.bvh")])
        except Reached:
            capsys.readouterr()
            return
        assert_clean_failure(code, err, "generate")
        assert files_in(d) == {tl.name: text.encode()}


# --- numbers on the command line ---------------------------------------------------------------

def in_doc_range(value: str, low: float, high: float, integer: bool = False) -> bool:
    try:
        v = int(value) if integer else float(value)
    except ValueError:
        return False
    return limits.in_range(v, low, high)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(fps=st.sampled_from([None] + NASTY_NUMBERS), seed=st.sampled_from(["0", "7", "-1", "4294967295",
                                                                        "4294967296", "x", "1e3"]),
       steps=st.sampled_from([None, "1", "100", "0", "101", "-3", "2.5"]),
       variations=st.sampled_from(["1", "32", "0", "33", "-1"]),
       guidance=st.sampled_from([None, "0", "10", "10.5", "nan", "-inf", "1e309"]),
       seconds=st.sampled_from(["4", "20", "20.5", "0", "nan", "inf", "-1"]),
       strength=st.sampled_from([None, "1", "0.5", "0", "1.5", "nan"]))
def test_generate_numbers(capsys, monkeypatch, fps, seed, steps, variations, guidance, seconds, strength):
    import cadence.inference.motion.model as mm
    monkeypatch.setattr(mm, "sample", _stop)
    with folder() as d:
        argv = ["generate", "--prompt", "a person walks", "--out", str(d / "o.bvh"), "--seed", seed,
                "--variations", variations, "--seconds", seconds]
        for flag, value in (("--fps", fps), ("--steps", steps), ("--text-guidance", guidance),
                            ("--reference-strength", strength)):
            if value is not None:
                argv += [flag, value]
        try:
            code, err = run_cli(capsys, argv)
        except Reached:
            capsys.readouterr()
            assert fps is None or in_doc_range(fps, limits.MIN_FPS, limits.MAX_FPS)
            assert in_doc_range(seed, 0, limits.MAX_SEED, integer=True)
            assert steps is None or in_doc_range(steps, 1, 100, integer=True)
            assert in_doc_range(variations, 1, 32, integer=True)
            assert guidance is None or in_doc_range(guidance, 0, 10)
            assert in_doc_range(seconds, 1e-9, 20)
            assert strength is None or in_doc_range(strength, 1e-9, 1)
            return
        finally:
            assert not any(d.iterdir())
        assert_clean_failure(code, err, "generate")


@FAST
@given(fps=st.sampled_from([None] + NASTY_NUMBERS), seed=st.sampled_from(NASTY_NUMBERS),
       out=st.sampled_from(["f.csv", "speech.flac", "sub/f.csv", "."]))
def test_face_numbers_and_outputs(capsys, monkeypatch, fps, seed, out):
    import cadence.inference.face.generate as face_module
    monkeypatch.setattr(face_module, "generate_face", _stop)
    with folder() as d:
        audio = d / "speech.flac"
        audio.write_bytes((FIXTURES / "facegood_1114_2_05_slice.flac").read_bytes())
        before = files_in(d)
        argv = ["face", "--audio", str(audio), "--out", str(d / out), "--seed", seed]
        if fps is not None:
            argv += ["--fps", fps]
        try:
            code, err = run_cli(capsys, argv)
        except Reached:
            capsys.readouterr()
            assert out == "f.csv"
            assert fps is None or in_doc_range(fps, limits.MIN_FPS, limits.MAX_FPS)
            assert in_doc_range(seed, 0, limits.MAX_SEED, integer=True)
            return
        finally:
            assert files_in(d) == before
        assert_clean_failure(code, err, "face")


# --- SMPL-X npz headers and WAV headers ------------------------------------------------------

@FAST
@given(shape=st.lists(st.integers(0, 10**7), min_size=0, max_size=3),
       dtype=st.sampled_from(["<f8", "<f4", "<i8", "|u1", "<U40"]),
       key=st.sampled_from(["poses", "trans", "betas", "mocap_frame_rate", "global_orient"]),
       extra=st.integers(0, 200))
def test_npz_headers_are_checked_before_loading(capsys, shape, dtype, key, extra):
    from cadence.motion.smplx_format import SmplxFormatError, load_smplx_motion
    header = {"descr": dtype, "fortran_order": False, "shape": tuple(shape)}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with folder() as d:
        path = d / "m.npz"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(f"{key}.npy", buf.getvalue() + b"\1" * extra)
        try:
            load_smplx_motion(path)
        except SmplxFormatError:
            pass
        code, err = run_cli(capsys, ["convert", str(path), "--out", str(d / "o.bvh")])
        assert_clean_failure(code, err, "convert")
        assert sorted(p.name for p in d.iterdir()) == ["m.npz"]


def wav_bytes(rate: int, channels: int, bits: int, frames_claimed: int, frames_real: int) -> bytes:
    block = channels * bits // 8
    data = bytes((np.arange(frames_real * block) * 37) % 251)
    fmt = struct.pack("<HHIIHH", 1, channels, rate, min(rate * block, 2**32 - 1), block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + \
        struct.pack("<I", min(frames_claimed * block, 2**32 - 1)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@FAST
@given(rate=st.sampled_from([1, 100, 4000, 16000, 48000, 384000, 400000, 2**31 - 1]),
       channels=st.integers(1, 3), bits=st.sampled_from([8, 16, 32]),
       claimed=st.sampled_from([0, 1, 100, 16000, 10**6, 2**30]), real=st.sampled_from([0, 10, 2000, 16000]))
def test_wav_headers_are_refused_in_one_line(rate, channels, bits, claimed, real):
    from cadence.inference.speech.audio import AudioError, load_audio
    with folder() as d:
        path = d / "x.wav"
        path.write_bytes(wav_bytes(rate, channels, bits, claimed, real))
        try:
            audio = load_audio(path)
        except AudioError:
            return
        assert limits.in_range(audio.source_rate, 4000, limits.MAX_SOURCE_RATE)
        assert audio.duration <= limits.MAX_AUDIO_SECONDS
