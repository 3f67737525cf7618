"""The base's mechanics shown on a tiny PCLR: lazy input read batch by batch, the saved layout (and
the persistence mixin on a classifier), devices, progress output. The wording of input, parameter
and file errors is in test_hardening.py. The contract over every
estimator is in test_common.py."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, clone

from sklearn_ecg import PCLRTransformer
from sklearn_ecg._engine import resolve_device
from sklearn_ecg._persistence import PersistenceMixin
from sklearn_ecg.testing import tiny_estimator


def tiny_pclr(**params) -> PCLRTransformer:
    return tiny_estimator("pclr", **params)


@pytest.fixture(scope="module")
def ecgs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 3, 128)).astype(np.float32)
    groups = np.repeat(np.arange(12), 2)
    return X, groups


@pytest.fixture(scope="module")
def fitted(ecgs):
    X, groups = ecgs
    return tiny_pclr(leads=["I", "II", "V1"]).fit(X, groups=groups)


def test_lazy_memmap_input_matches_in_memory(tmp_path, ecgs, fitted):
    X, groups = ecgs
    path = tmp_path / "ecgs.npy"
    np.save(path, X)
    lazy = np.load(path, mmap_mode="r")
    np.testing.assert_allclose(fitted.transform(lazy), fitted.transform(X), atol=1e-6)
    from_lazy = tiny_pclr(leads=["I", "II", "V1"]).fit(lazy, groups=groups)
    np.testing.assert_allclose(from_lazy.transform(X), fitted.transform(X), atol=1e-5)


class _RecordingArray:
    """An array-like that records every read, to show X is never loaded whole."""

    def __init__(self, data):
        self.data, self.shape, self.ndim, self.dtype = data, data.shape, data.ndim, data.dtype
        self.reads = []

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        self.reads.append(index)
        return self.data[index]


def test_transform_reads_lazy_input_batch_by_batch(ecgs, fitted):
    X, _ = ecgs
    recording = _RecordingArray(X)
    fitted.transform(recording)
    assert recording.reads and all(isinstance(i, slice) for i in recording.reads)
    assert max(i.stop - i.start for i in recording.reads) <= fitted.batch_size


def test_reordered_leads_by_name(ecgs, fitted):
    X, _ = ecgs
    reordered = X[:, [2, 0, 1]]
    np.testing.assert_allclose(
        fitted.transform(reordered, leads=["v1", "i", "II"]), fitted.transform(X), atol=1e-6
    )


def test_save_and_load_weights_safely(tmp_path, ecgs, fitted):
    X, _ = ecgs
    fitted.save(tmp_path / "pclr")
    assert sorted(p.name for p in (tmp_path / "pclr").iterdir()) == ["config.json",
                                                                    "model.safetensors"]
    loaded = PCLRTransformer.load(tmp_path / "pclr", device="cpu")
    np.testing.assert_allclose(loaded.transform(X), fitted.transform(X), atol=1e-6)
    assert loaded.leads_in_ == ["I", "II", "V1"] and loaded.n_patient_pairs_ == 12
    with pytest.raises(ValueError, match="not found"):
        PCLRTransformer.load(tmp_path / "nowhere")


def test_to_cpu_and_device_resolution(fitted):
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert fitted.to("cpu").net_.device == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_verbose_shows_progress_and_pairing(capsys, ecgs):
    X, groups = ecgs
    tiny_pclr(verbose=1).fit(X, groups=groups)
    out = capsys.readouterr()
    assert "12 patients with >= 2 ECGs" in out.out
    assert "train_loss" in out.out


def test_feature_names_out(fitted):
    assert list(fitted.get_feature_names_out()[:2]) == ["pclrtransformer0", "pclrtransformer1"]


def test_pandas_input_is_read_by_row(ecgs, fitted):
    import pandas as pd

    X, _ = ecgs
    frame = pd.DataFrame(X[:, 0], index=np.arange(100, 124))
    from sklearn_ecg._validation import check_ecg_array

    np.testing.assert_array_equal(check_ecg_array(frame)[3, 0], X[3, 0])


class _ToyClassifier(PersistenceMixin, BaseEstimator):
    """The smallest estimator on the persistence mixin, shaped like the library's classifiers: an
    embedder as a parameter, an ``embedder_`` rebuilt at load, string classes in an array."""

    _parameter_constraints: dict = {"embedder": [BaseEstimator], "device": [str]}

    def __init__(self, embedder=None, device="cpu"):
        self.embedder = embedder
        self.device = device

    def fit(self, X, y):
        self.classes_, self.n_leads_in_, self.n_samples_in_ = np.unique(y), X.shape[1], X.shape[2]
        return self._attach(self._rebuild_module())

    def predict_proba(self, X):
        with torch.no_grad():
            return torch.softmax(self.net_.module_(torch.from_numpy(X)), dim=1).numpy()

    def _fitted_names(self):
        return ("classes_", "n_leads_in_", "n_samples_in_")

    def _rebuild_module(self):
        self.embedder_ = clone(self.embedder)
        self.embedder_.describe_input(np.zeros((1, self.n_leads_in_, self.n_samples_in_), np.float32))
        encoder = self.embedder_.build_encoder()
        return torch.nn.Sequential(encoder, torch.nn.Linear(encoder.out_features, len(self.classes_)))

    def _attach(self, module):
        self.net_ = SimpleNamespace(module_=module.eval())
        return self


def test_the_persistence_mixin_serves_a_classifier(tmp_path, ecgs):
    from skorch.callbacks import EpochTimer

    X, _ = ecgs
    y = np.array(["normal", "afib", "mi"] * 8)
    clf = _ToyClassifier(tiny_pclr(filters=(4, 6), callbacks=[EpochTimer()])).fit(X, y)
    with pytest.warns(UserWarning, match="embedder__callbacks is not saved"):
        clf.save(tmp_path / "clf")
    loaded = _ToyClassifier.load(tmp_path / "clf", device="cpu")
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    assert loaded.classes_.dtype == clf.classes_.dtype
    assert loaded.embedder.get_params()["filters"] == [4, 6] and loaded.embedder.callbacks is None
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)
