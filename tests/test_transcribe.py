"""English recognition and forced alignment (inference/speech/transcribe.py, pocketsphinx)."""
import numpy as np
import pytest

pytest.importorskip("pocketsphinx")

from cadence.inference.speech import transcribe as T
from cadence.inference.speech.audio import SAMPLE_RATE, Audio, load_audio

from conftest import FIXTURES

TEXT = "The big brown bear jumped over a bubbling brook."
WORDS = TEXT.lower().rstrip(".").split()


@pytest.fixture(scope="module")
def speech() -> Audio:
    return load_audio(FIXTURES / "english_bear.flac")


def gapless(phones, duration):
    assert phones[0].start == 0.0 and abs(phones[-1].end - duration) < 1e-6
    for a, b in zip(phones, phones[1:]):
        assert abs(a.end - b.start) < 1e-9 and b.end > b.start


def speech_time(phones, start=0.0, end=1e9):
    return sum(max(0.0, min(p.end, end) - max(p.start, start)) for p in phones if p.label != "SIL")


def test_forced_alignment_of_known_text(speech):
    t = T.transcribe(speech, TEXT)
    assert t.aligned and not t.warnings
    assert [w.text for w in t.words] == WORDS
    starts = [w.start for w in t.words]
    assert starts == sorted(starts) and all(w.end > w.start for w in t.words)
    assert t.words[0].start < 0.3 and t.words[-1].end > speech.duration - 0.6
    gapless(t.phones, speech.duration)
    # each word's phones lie inside it and start as its pronunciation does
    for w in t.words:
        inside = [p.label for p in t.phones if p.start >= w.start - 1e-6 and p.end <= w.end + 1e-6
                  and p.label != "SIL"]
        assert inside and inside[0] == T.pronunciation(w.text)[0], w.text
    jumped = next(w for w in t.words if w.text == "jumped")
    assert [p.label for p in t.phones if jumped.start <= p.start < jumped.end][:4] == ["JH", "AH", "M", "P"]
    labels = {p.label for p in t.phones}
    assert {"B", "M", "P"} <= labels and all(not label[-1].isdigit() for label in labels)


def test_phone_loop_agrees_with_the_alignment(speech):
    aligned = T.transcribe(speech, TEXT)
    loop = T.transcribe(speech, words=False)
    assert not loop.words and not loop.aligned
    gapless(loop.phones, speech.duration)
    # the phone loop hears speech where the aligned words are, silence around them
    first, last = aligned.words[0].start, aligned.words[-1].end
    assert speech_time(loop.phones, first, last) > 0.7 * (last - first)
    assert speech_time(loop.phones) - speech_time(loop.phones, first, last) < 0.3
    # and finds lip closures (bilabials) in a sentence full of them
    assert sum(p.label in ("B", "P", "M") for p in loop.phones) >= 3


def test_word_recognition_gives_words_with_their_phones(speech):
    t = T.transcribe(speech)
    assert t.words and not t.aligned
    gapless(t.phones, speech.duration)
    for w in t.words:
        assert 0.0 <= w.start < w.end <= speech.duration + 1e-6


def test_unknown_words_are_reported_and_empty_text_refused(speech):
    t = T.transcribe(speech, "The big brown bear jumped over a bubbling brook zzxqv.")
    assert any("zzxqv" in w for w in t.warnings)
    assert [w.text for w in t.words[:9]] == WORDS
    with pytest.raises(T.TranscribeError, match="empty"):
        T.transcribe(speech, "  ... ")
    with pytest.raises(T.TranscribeError, match="dictionary"):
        T.transcribe(speech, "zzxqv qqxzv")
    with pytest.raises(T.TranscribeError, match="16000 Hz"):
        T.transcribe(Audio(speech.samples, 8000, 8000, 1))


def test_long_audio_is_cut_at_pauses_with_progress(speech):
    gap = np.zeros(int(1.5 * SAMPLE_RATE), np.float32)
    samples = np.concatenate([np.concatenate([speech.samples, gap])] * 10)   # 49 s
    bounds = T.segment_bounds(samples)
    assert len(bounds) >= 3 and bounds[0] == 0 and bounds[-1] == len(samples)
    assert np.all(np.diff(bounds) <= T.SEGMENT_SECONDS[2] * SAMPLE_RATE)
    period = len(speech.samples) + len(gap)
    for cut in bounds[1:-1]:                     # every cut falls in a pause between sentences
        assert cut % period >= len(speech.samples) - 0.3 * SAMPLE_RATE
        assert np.abs(samples[cut - 160:cut + 160]).max() < 1e-3
    seen = []
    t = T.transcribe(Audio(samples, SAMPLE_RATE, SAMPLE_RATE, 1), words=False, progress=seen.append)
    phone_segments = len(T.segment_bounds(samples, T.SEGMENT_SECONDS)) - 1
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == phone_segments
    gapless(t.phones, len(samples) / SAMPLE_RATE)
    assert sum(p.label in ("B", "P", "M") for p in t.phones) >= 20


def test_long_text_is_split_between_segments(speech):
    gap = np.zeros(int(1.5 * SAMPLE_RATE), np.float32)
    samples = np.concatenate([np.concatenate([speech.samples, gap])] * 8)    # 39 s
    t = T.transcribe(Audio(samples, SAMPLE_RATE, SAMPLE_RATE, 1), " ".join([TEXT] * 8))
    assert [w.text for w in t.words] == WORDS * 8
    period = (len(speech.samples) + len(gap)) / SAMPLE_RATE
    firsts = [w.start for w in t.words[::len(WORDS)]]
    assert np.allclose(firsts, firsts[0] + period * np.arange(8), atol=0.25)


def test_word_recognition_of_a_long_file_decodes_every_segment(speech):
    """Each segment after the first is decoded with the language model again (the
    phone pass of the previous one left the decoder in alignment mode: pocketsphinx
    failed or crashed on the second segment of a long file)."""
    gap = np.zeros(int(1.5 * SAMPLE_RATE), np.float32)
    samples = np.concatenate([np.concatenate([speech.samples, gap])] * 10)   # 49 s
    count = len(T.segment_bounds(samples)) - 1
    assert count >= 2
    t = T.transcribe(Audio(samples, SAMPLE_RATE, SAMPLE_RATE, 1))
    period = (len(speech.samples) + len(gap)) / SAMPLE_RATE
    heard = {int(w.start // period) for w in t.words}
    assert len(heard) >= 9                       # words (often wrong on this voice) in nearly every sentence
    gapless(t.phones, len(samples) / SAMPLE_RATE)


def long_speech(speech, copies: int) -> Audio:
    gap = np.zeros(int(1.0 * SAMPLE_RATE), np.float32)
    return Audio(np.concatenate([np.concatenate([speech.samples, gap])] * copies), SAMPLE_RATE,
                 SAMPLE_RATE, 1)


@pytest.fixture
def in_process(monkeypatch):
    """Phones decoded in this process only (and the shared pool restored afterwards)."""
    from cadence.inference.speech import sphinx_pool
    monkeypatch.setattr(T, "SPHINX_WORKERS", 0)
    yield
    sphinx_pool.shutdown()
    sphinx_pool._DISABLED = False


def test_phone_workers_give_the_phones_of_one_process(speech, monkeypatch):
    from cadence.inference.speech import sphinx_pool
    audio = long_speech(speech, 6)                                    # 27 s
    assert len(T.segment_bounds(audio.samples, T.SEGMENT_SECONDS)) - 1 >= 3
    monkeypatch.setattr(T, "SPHINX_WORKERS", 2)
    seen = []
    parallel = T.transcribe(audio, words=False, progress=seen.append)
    assert sphinx_pool._POOLS["phones"] is not None and len(sphinx_pool._POOLS["phones"].workers) == 2
    pids = [w.proc.pid for w in sphinx_pool._POOLS["phones"].workers]
    assert T.transcribe(audio, words=False).phones == parallel.phones   # kept for the next call
    assert [w.proc.pid for w in sphinx_pool._POOLS["phones"].workers] == pids
    monkeypatch.setattr(T, "SPHINX_WORKERS", 0)
    serial = T.transcribe(audio, words=False)
    assert parallel.phones == serial.phones
    assert seen == sorted(seen) and seen[-1] == 1.0
    sphinx_pool.shutdown()
    assert not sphinx_pool._POOLS


def test_a_failing_phone_worker_falls_back_to_this_process(speech, monkeypatch, tmp_path, in_process):
    from cadence.inference.speech import sphinx_pool
    audio = long_speech(speech, 4)
    expected = T.transcribe(audio, words=False).phones                # in-process
    sphinx_pool.shutdown()
    broken = tmp_path / "worker.py"                                   # starts, then dies on the first segment
    broken.write_text("import sys\nsys.stdin.buffer.readline()\nprint('\"ready\"', flush=True)\n"
                      "sys.stdin.buffer.read(4)\nsys.exit(3)\n")
    monkeypatch.setattr(sphinx_pool, "WORKER", broken)
    monkeypatch.setattr(T, "SPHINX_WORKERS", 2)
    seen = []
    got = T.transcribe(audio, words=False, progress=seen.append)
    assert got.phones == expected
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert sphinx_pool._DISABLED and not sphinx_pool._POOLS          # in-process from now on
    assert sphinx_pool.pool("phones", T.PHONE_LOOP_CONFIG, 2) is None


def test_cancelling_during_parallel_phones_stops_and_keeps_the_workers(speech, monkeypatch, in_process):
    from cadence.inference.speech import sphinx_pool
    audio = long_speech(speech, 8)
    monkeypatch.setattr(T, "SPHINX_WORKERS", 2)

    class Cancelled(Exception):
        pass

    def cancel(fraction):
        raise Cancelled

    with pytest.raises(Cancelled):
        T.transcribe(audio, words=False, progress=cancel)
    assert "phones" in sphinx_pool._POOLS and not sphinx_pool._DISABLED
    assert T.transcribe(audio, words=False).phones                   # the workers still answer


def test_word_workers_give_the_words_of_one_process(speech, monkeypatch, in_process):
    audio = long_speech(speech, 6)
    serial = T.transcribe(audio)                                      # in-process (fixture)
    monkeypatch.setattr(T, "SPHINX_WORKERS", 2)
    parallel = T.transcribe(audio)
    from cadence.inference.speech import sphinx_pool
    assert "words" in sphinx_pool._POOLS
    assert parallel.words == serial.words and parallel.phones == serial.phones
    assert len(serial.words) >= 6


def test_no_workers_when_the_host_executable_is_not_python(monkeypatch, in_process):
    from cadence.inference.speech import sphinx_pool
    sphinx_pool.shutdown()
    monkeypatch.setattr(sphinx_pool.sys, "executable", "/opt/blender/blender")
    assert sphinx_pool.pool("phones", T.PHONE_LOOP_CONFIG, 2) is None
    assert not sphinx_pool._POOLS and not sphinx_pool._DISABLED


def test_words_only_recognition_and_alignment_keep_the_words_and_skip_the_phones(speech):
    full, quick = T.transcribe(speech), T.transcribe(speech, phones=False)
    assert [p.label for p in quick.phones] == ["SIL"] and quick.words
    for w in quick.words:
        assert 0.0 <= w.start < w.end <= speech.duration + 1e-6
    # a search of the common words only (the vocabulary), over the same speech
    vocabulary = {line.split()[0] for line in open(T.vocabulary(), encoding="utf-8")}
    assert all(w.text in vocabulary for w in quick.words if not w.text.startswith(("<", "[")))
    assert abs(quick.words[0].start - full.words[0].start) < 0.15
    assert abs(quick.words[-1].end - full.words[-1].end) < 0.15
    aligned, fast = T.transcribe(speech, TEXT), T.transcribe(speech, TEXT, phones=False)
    assert [w.text for w in fast.words] == [w.text for w in aligned.words] == WORDS
    assert max(abs(a.start - b.start) for a, b in zip(aligned.words, fast.words)) < 0.08
    assert [p.label for p in fast.phones] == ["SIL"]


def test_word_time_workers_give_the_words_of_one_process(speech, monkeypatch):
    from cadence.inference.speech import sphinx_pool
    audio = long_speech(speech, 4)                                    # 18 s: several segments
    monkeypatch.setattr(T, "SPHINX_WORKERS", 2)
    parallel = T.transcribe(audio, phones=False)
    pool = sphinx_pool._POOLS["word_times"]
    assert pool is not None and len(pool.workers) == 2 and all(w.ready for w in pool.workers)
    monkeypatch.setattr(T, "SPHINX_WORKERS", 0)
    assert T.transcribe(audio, phones=False).words == parallel.words
    sphinx_pool.shutdown()


def test_alignment_in_a_worker_gives_the_words_and_phones_of_one_process(speech, monkeypatch):
    from cadence.inference.speech import sphinx_pool
    audio = long_speech(speech, 4)
    text = " ".join([TEXT] * 4)
    monkeypatch.setattr(T, "SPHINX_WORKERS", 2)
    seen = []
    there = T.transcribe(audio, text, progress=seen.append)
    assert len(sphinx_pool._POOLS["align"].workers) == 1              # one: it goes in order
    quick = T.transcribe(audio, text, phones=False)
    monkeypatch.setattr(T, "SPHINX_WORKERS", 0)
    here = T.transcribe(audio, text)
    assert there.words == here.words and there.phones == here.phones
    assert quick.words == T.transcribe(audio, text, phones=False).words
    assert [w.text for w in here.words] == WORDS * 4 and seen[-1] == 1.0
    sphinx_pool.shutdown()


def test_the_words_and_times_vocabulary_is_the_tools_and_holds_the_gesture_lexicon():
    from cadence.training.speech_vocabulary import WORDS, lexicon_words, vocabulary_lines
    shipped = open(T.vocabulary(), encoding="utf-8").read().splitlines()
    assert shipped == vocabulary_lines()                 # remade from this pocketsphinx: the same
    spelled = {line.split()[0].split("(")[0] for line in shipped}
    assert lexicon_words() <= spelled and {"the", "you", "this", "never"} <= spelled
    assert WORDS <= len(spelled) < WORDS + len(lexicon_words())
