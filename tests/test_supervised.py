
import numpy as np
import pytest
import torch
from torch import nn

from sklearn_ecg._base import BaseECGEmbedder
from sklearn_ecg.datasets import make_synthetic_ecg
from sklearn_ecg.pclr import PCLRTransformer
from sklearn_ecg.supervised import SupervisedECGClassifier
from sklearn_ecg.testing import ESTIMATORS, tiny_estimator


def tiny_pclr(**kwargs):
    return PCLRTransformer(n_samples=64, filters=(4, 8), kernel_size=3, projection_dims=(8,), **kwargs)


def bump_data(n=40, n_leads=2, n_samples=64, seed=0):
    """Class 1 has a large bump in lead 0; separable, so a net can fit it in a few epochs."""
    rng = np.random.default_rng(seed)
    X = (0.1 * rng.standard_normal((n, n_leads, n_samples))).astype(np.float32)
    y = np.arange(n) % 2
    X[y == 1, 0, 20:40] += 2.0
    return X, y


class MeanEmbedder(BaseECGEmbedder):
    """A minimal method on the base: per-lead mean and std through a linear layer."""

    def __init__(self, *, fs=100, leads=None, max_epochs=1, batch_size=8, lr=1e-3, device="cpu",
                 random_state=None, verbose=0, callbacks=None):
        self.fs, self.leads, self.max_epochs, self.batch_size = fs, leads, max_epochs, batch_size
        self.lr, self.device, self.random_state = lr, device, random_state
        self.verbose, self.callbacks = verbose, callbacks

    def build_encoder(self):
        return MeanStdEncoder(self.n_leads_in_)

    def _build_objective(self, encoder):
        return SquaredOutputObjective(encoder)


class MeanStdEncoder(nn.Module):
    def __init__(self, n_leads):
        super().__init__()
        self.linear = nn.Linear(2 * n_leads, 5)
        self.out_features = 5

    def forward(self, x):
        return self.linear(torch.cat([x.mean(-1), x.std(-1)], dim=1))


class SquaredOutputObjective(nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, x):
        return self.encoder(x).pow(2).mean()


def test_multiclass_outputs_and_learning():
    X, y = bump_data()
    labels = np.array(["normal", "bump"])[y]
    clf = SupervisedECGClassifier(tiny_pclr(fs=100, leads=["I", "II"]), max_epochs=15, batch_size=8,
                                  lr=1e-2, device="cpu", random_state=0).fit(X, labels)
    assert clf.multilabel_ is False
    assert set(clf.classes_) == {"normal", "bump"}
    proba = clf.predict_proba(X)
    assert proba.shape == (40, 2)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    assert clf.decision_function(X).shape == (40,)  # binary: one score, as scikit-learn expects
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.score(X, labels) >= 0.9


def test_multilabel_uses_one_sigmoid_per_column():
    X, y = bump_data(n=24)
    Y = np.stack([y, 1 - y, np.ones_like(y) * (np.arange(24) % 3 == 0)], axis=1)
    clf = SupervisedECGClassifier(tiny_pclr(), max_epochs=2, batch_size=8, device="cpu",
                                  random_state=0).fit(X, Y)
    assert clf.multilabel_ is True
    proba = clf.predict_proba(X)
    assert proba.shape == (24, 3)
    assert ((proba > 0) & (proba < 1)).all()
    assert not np.allclose(proba.sum(1), 1)  # independent labels, not a softmax
    assert set(np.unique(clf.predict(X))) <= {0, 1}
    assert clf.decision_function(X).shape == (24, 3)


def test_generic_over_any_method_on_the_base():
    X, y = bump_data(n=20, n_leads=3)
    y3 = np.arange(20) % 3
    clf = SupervisedECGClassifier(MeanEmbedder(), max_epochs=2, batch_size=8, random_state=0, device="cpu")
    clf.fit(X, y3)
    assert clf.predict_proba(X).shape == (20, 3)
    assert isinstance(clf.net_.module_.encoder.linear, nn.Linear)


def test_training_starts_from_scratch_not_from_a_fitted_embedder():
    X, y = bump_data(n=16)
    embedder = tiny_pclr(max_epochs=1, batch_size=8, device="cpu", random_state=0).fit(X)
    clf = SupervisedECGClassifier(embedder, max_epochs=1, batch_size=8, device="cpu", random_state=0)
    clf.fit(X, y)
    pretrained = embedder.net_.module_.encoder.state_dict()
    trained = clf.net_.module_.encoder.state_dict()
    floats = [k for k in pretrained if pretrained[k].is_floating_point()]
    assert any(not torch.equal(pretrained[k], trained[k]) for k in floats)


def test_errors():
    X, y = bump_data(n=16)
    with pytest.raises(ValueError, match="embedder.*build_encoder"):
        SupervisedECGClassifier("pclr").fit(X, y)
    with pytest.raises(ValueError, match="max_epochs"):
        SupervisedECGClassifier(tiny_pclr(), max_epochs=0).fit(X, y)
    with pytest.raises(ValueError, match="label type"):
        SupervisedECGClassifier(tiny_pclr(), max_epochs=1).fit(X, np.linspace(0, 1, 16))
    with pytest.raises(ValueError, match="0/1"):
        SupervisedECGClassifier(tiny_pclr(), max_epochs=1).fit(X, np.full((16, 2), 3))
    with pytest.raises(ValueError, match="only one class"):
        SupervisedECGClassifier(tiny_pclr(), max_epochs=1).fit(X, np.zeros(16))
    with pytest.raises(ValueError, match="15 rows"):
        SupervisedECGClassifier(tiny_pclr(), max_epochs=1).fit(X, y[:15])
    clf = SupervisedECGClassifier(tiny_pclr(), max_epochs=1, batch_size=8, device="cpu").fit(X, y)
    with pytest.raises(ValueError, match="3 leads but the model was fitted on 2"):
        clf.predict(np.zeros((2, 3, 64), dtype=np.float32))
    with pytest.raises(ValueError, match="NaN|finite"):
        clf.fit(np.full_like(X, np.nan), y)


# Every embedder's encoder must train from scratch as a classifier (the benchmarks' from-scratch
# baseline), including W2V and METS, whose pretraining objectives need what fit learns.
EMBEDDER_NAMES = [name for name in ESTIMATORS if name not in ("supervised", "finetune")]


@pytest.mark.parametrize("name", EMBEDDER_NAMES)
def test_every_method_encoder_trains_from_scratch(name):
    data = make_synthetic_ecg(n_patients=12, ecgs_per_patient=1, fs=100, random_state=0)
    clf = SupervisedECGClassifier(tiny_estimator(name), max_epochs=2, batch_size=6, random_state=0,
                                  device="cpu").fit(data.X, data.y)
    assert clf.predict_proba(data.X).shape == (12, len(clf.classes_))
    assert np.isfinite(clf.loss_curve_).all() and len(clf.loss_curve_) == 2


def test_save_and_load(tmp_path):
    X, y = bump_data(n=16)
    labels = np.array(["normal", "bump"])[y]
    clf = SupervisedECGClassifier(tiny_pclr(), max_epochs=1, batch_size=8, device="cpu", random_state=0)
    clf.fit(X, labels)
    loaded = SupervisedECGClassifier.load(clf.save(tmp_path / "model"), device="cpu")
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    assert loaded.classes_.tolist() == ["bump", "normal"] and loaded.multilabel_ is False


def test_sample_weight_and_class_weight():
    X, y = bump_data(n=24)
    base = dict(max_epochs=3, batch_size=8, device="cpu", random_state=0)
    plain = SupervisedECGClassifier(tiny_pclr(), **base).fit(X, y).predict_proba(X)
    ones = SupervisedECGClassifier(tiny_pclr(), **base).fit(X, y, sample_weight=np.ones(24)).predict_proba(X)
    np.testing.assert_allclose(ones, plain, atol=1e-6)  # unit weights change nothing
    heavy = SupervisedECGClassifier(tiny_pclr(), **base, class_weight={0: 1.0, 1: 20.0}).fit(X, y)
    assert heavy.predict_proba(X)[:, 1].mean() > plain[:, 1].mean()  # the heavy class gains mass
    with pytest.raises(ValueError, match="sample_weight"):
        SupervisedECGClassifier(tiny_pclr(), **base).fit(X, y, sample_weight=np.ones(5))
