"""Text encoder (ONNX all-MiniLM-L6-v2), its weight checks and the training prompts.

Parity with the torch model is measured by training/export_text_encoder.py (torch is
not in the runtime venv) and recorded in weights/text_encoder.md.
"""
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cadence.inference.runtime.weights import (
    DEFAULT_WEIGHTS_DIR,
    WeightsError,
    read_manifest,
    sha256_file,
    update_manifest,
    verify,
)
from cadence.inference.text import encoder as te
from cadence.inference.text.encoder import TextEncoder
from cadence.training import prompts as P

ROOT = Path(__file__).resolve().parents[1]

WEIGHT_FILES = (te.MODEL_FILE, te.TOKENIZER_FILE)
# Labels whose meaning does not hinge on left/right or on one vs two hands, where a
# paraphrase must land on its own label's canonical prompt.
DISTINCT_LABELS = ("walk", "run", "walk-back", "bow", "guide", "respond", "call", "punch",
                   "kick", "slash", "dance-short", "wave-both-hands", "raise-up-both-hands")


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder.load()


@pytest.fixture
def weights_copy(tmp_path):
    """A private copy of the text encoder's files and the manifest."""
    for name in (*WEIGHT_FILES, "manifest.json"):
        shutil.copyfile(DEFAULT_WEIGHTS_DIR / name, tmp_path / name)
    return tmp_path


# -- embeddings ------------------------------------------------------------------------------
def test_shape_dtype_and_unit_norm(encoder):
    texts = ["a person walks forward", "someone kicks", "a short dance"]
    vectors = encoder.encode(texts)
    assert vectors.shape == (3, te.EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, te.EMBEDDING_DIM)


def test_batching_and_padding_do_not_change_embeddings(encoder):
    texts = ["run", "a person walks forward, turns left at the corner and keeps going",
             "bow", "someone waves goodbye with both hands"]
    together = encoder._encode(texts)[0]  # the network itself, past the recent-prompt memory
    alone = np.concatenate([encoder._encode([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    # Order is kept although batches are sorted by length inside.
    np.testing.assert_allclose(encoder._encode(texts[::-1])[0], together[::-1], atol=1e-5)


def test_prompts_read_again_come_from_memory_and_match(encoder, monkeypatch):
    first, cut = encoder.encode_with_info(["a person shuffles sideways", "a person bows"])
    calls = []
    real = encoder._encode
    monkeypatch.setattr(encoder, "_encode", lambda texts: calls.append(list(texts)) or real(texts))
    again, cut_again = encoder.encode_with_info(["a person bows", "a person hops", "a person shuffles sideways"])
    assert calls == [["a person hops"]]  # only the new prompt reaches the network
    np.testing.assert_array_equal(again[[0, 2]], first[[1, 0]])
    np.testing.assert_allclose(again[1], real(["a person hops"])[0][0], atol=1e-6)
    again[0] = 0.0  # callers get copies: the memory is not theirs to change
    np.testing.assert_array_equal(encoder.encode(["a person bows"])[0], first[1])
    for i in range(te.RECENT_PROMPTS + 5):  # bounded
        encoder.encode([f"prompt number {i}"])
    assert len(encoder._recent) == te.RECENT_PROMPTS


def test_load_is_cached_and_uses_cpu_here(encoder):
    assert TextEncoder.load() is encoder
    assert TextEncoder.load(DEFAULT_WEIGHTS_DIR) is encoder
    assert "CPUExecutionProvider" in encoder.providers
    assert encoder.max_length == 256 and encoder.dim == 384


def test_thread_count_is_configurable():
    one = TextEncoder.load(intra_op_num_threads=1)
    assert one is not TextEncoder.load()
    np.testing.assert_allclose(one.encode(["someone jogs"]),
                               TextEncoder.load().encode(["someone jogs"]), atol=1e-5)


def test_held_out_nearest_label_accuracy(encoder, capsys):
    """Held-out paraphrases vs the mean embedding of each label's training prompts."""
    labels = list(P.LABELS)
    centroids = np.stack([encoder.encode(list(P.PROMPTS[label])).mean(axis=0)
                          for label in labels])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    correct = total = 0
    misses = []
    for label in labels:
        held_out = list(P.HELD_OUT_PROMPTS[label])
        predicted = (encoder.encode(held_out) @ centroids.T).argmax(axis=1)
        for text, index in zip(held_out, predicted):
            total += 1
            correct += labels[index] == label
            if labels[index] != label:
                misses.append(f"{label} -> {labels[index]}: {text!r}")
    accuracy = correct / total
    with capsys.disabled():
        print(f"\nheld-out nearest-label accuracy: {correct}/{total} = {accuracy:.1%}")
    assert accuracy >= 0.80, "\n".join(misses)


def test_paraphrase_is_closest_to_its_own_canonical_prompt(encoder):
    labels = list(P.LABELS)
    canonical = encoder.encode([P.canonical_prompt(label) for label in labels])
    sample = [(label, P.HELD_OUT_PROMPTS[label][i]) for label in DISTINCT_LABELS
              for i in (0, 3)]
    vectors = encoder.encode([text for _, text in sample])
    for (label, text), vector in zip(sample, vectors):
        similarity = canonical @ vector
        own = similarity[labels.index(label)]
        best_other = max(s for other, s in zip(labels, similarity) if other != label)
        assert own > best_other, (label, text, own, best_other)


# -- errors and truncation -------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_empty_prompt_raises(encoder, bad):
    with pytest.raises(ValueError, match="prompt 1 is empty"):
        encoder.encode(["a person walks", bad])


def test_non_string_prompt_raises(encoder):
    with pytest.raises(TypeError):
        encoder.encode(["walk", None])


def test_long_prompt_is_flagged_as_truncated(encoder):
    long_prompt = "a person walks forward and then " + "keeps walking and " * 120 + "stops"
    vectors, truncated = encoder.encode_with_info(["someone waves", long_prompt])
    assert truncated.tolist() == [False, True]
    assert vectors.shape == (2, 384) and np.isfinite(vectors).all()
    # Only the first max_length tokens count: extra text past the cut changes nothing.
    longer, flags = encoder.encode_with_info([long_prompt + " and dances wildly"])
    assert flags.tolist() == [True]
    np.testing.assert_allclose(longer[0], vectors[1], atol=1e-5)


# -- weights verification --------------------------------------------------------------------
def test_shipped_weights_match_manifest():
    manifest = read_manifest(DEFAULT_WEIGHTS_DIR / "manifest.json")
    listed = {entry["file"]: entry for entry in manifest["files"]}
    for name in (*WEIGHT_FILES, "text_encoder.md"):
        entry = listed[name]
        assert set(entry) >= {"file", "sha256", "version", "licence", "kind"}
        assert entry["licence"] == "Apache-2.0"
        verify(DEFAULT_WEIGHTS_DIR / name)
    size = (DEFAULT_WEIGHTS_DIR / te.MODEL_FILE).stat().st_size
    assert size < 30 * 2**20, f"text encoder is {size / 2**20:.1f} MiB"


@pytest.mark.parametrize("name", WEIGHT_FILES)
def test_corrupt_weights_raise_weights_error(weights_copy, name):
    path = weights_copy / name
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 8] = bytes(b ^ 0xFF for b in data[middle:middle + 8])
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=name.replace(".", r"\.")):
        TextEncoder.load(weights_copy)


def test_missing_weights_raise_weights_error(weights_copy):
    (weights_copy / te.MODEL_FILE).unlink()
    with pytest.raises(WeightsError, match="text_encoder.onnx is missing"):
        TextEncoder.load(weights_copy)


def test_unlisted_or_unmanifested_file_raises(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"not a model")
    with pytest.raises(WeightsError, match="manifest"):
        verify(path)
    update_manifest(tmp_path / "manifest.json", [
        {"file": "other.onnx", "sha256": "0" * 64, "version": "1", "licence": "MIT",
         "kind": "test"}])
    with pytest.raises(WeightsError, match="model.onnx is not listed"):
        verify(path)


def test_update_manifest_merges_entries(tmp_path):
    manifest = tmp_path / "manifest.json"
    (tmp_path / "a.bin").write_bytes(b"a")
    (tmp_path / "b.bin").write_bytes(b"b")
    entry = {"version": "1", "licence": "MIT", "kind": "test"}
    update_manifest(manifest, [{"file": "a.bin", "sha256": "x", **entry}])
    update_manifest(manifest, [{"file": "b.bin", "sha256": sha256_file(tmp_path / "b.bin"),
                                **entry}])
    update_manifest(manifest, [{"file": "a.bin", "sha256": sha256_file(tmp_path / "a.bin"),
                                **entry}])
    data = json.loads(manifest.read_text())
    assert [e["file"] for e in data["files"]] == ["a.bin", "b.bin"]
    verify(tmp_path / "a.bin")
    verify(tmp_path / "b.bin")


# -- import cost -----------------------------------------------------------------------------
def test_import_does_not_load_onnxruntime():
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT / "cli")!r})
        from pathlib import Path
        from _package import load_package
        load_package(Path({str(ROOT)!r}))
        import cadence.inference.text.encoder
        import cadence.inference.runtime.weights
        heavy = [m for m in ("onnxruntime", "tokenizers", "torch") if m in sys.modules]
        print(",".join(heavy))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "", f"imported at module load: {result.stdout}"


# -- training prompts ------------------------------------------------------------------------
def test_prompts_cover_every_label():
    dataset_labels = {label for labels in P.DATASET_LABELS.values() for label in labels}
    assert set(P.PROMPTS) == set(P.HELD_OUT_PROMPTS) == set(P.LABELS) == dataset_labels
    assert len(P.LABELS) == 24
    for label in P.LABELS:
        assert len(P.PROMPTS[label]) >= 40, label
        assert len(P.HELD_OUT_PROMPTS[label]) >= 5, label
        assert P.canonical_prompt(label) in P.PROMPTS[label]
    with pytest.raises(KeyError, match="unknown motion label"):
        P.canonical_prompt("moonwalk")


def test_prompts_have_no_duplicates_and_held_out_is_disjoint():
    seen = {}
    for source in (P.PROMPTS, P.HELD_OUT_PROMPTS):
        for label, texts in source.items():
            for text in texts:
                assert text == text.strip() and text, (label, text)
                key = P.normalise_prompt(text)
                assert key not in seen, f"{text!r} ({label}) duplicates {seen[key]}"
                seen[key] = (label, text)
