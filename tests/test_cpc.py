"""CPCTransformer: the published 4FC+2LSTM+2FC model, its InfoNCE loss, windows, workflows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _shared import untrained_twin
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ecg.cpc import CPCTransformer
from sklearn_ecg.datasets import make_synthetic_ecg
from sklearn_ecg.nn.cpc import info_nce_logits, sample_negatives

TINY = dict(encoder="strided", n_features=16, n_hidden=16, n_negatives=16, batch_size=8, lr=1e-3,
            random_state=0, device="cpu")


@pytest.fixture(scope="module")
def data():
    return make_synthetic_ecg(n_patients=24, ecgs_per_patient=1, fs=100, random_state=0)


@pytest.fixture(scope="module")
def fitted(data):
    return CPCTransformer(**TINY, max_epochs=2).fit(data.X)


def test_published_model():
    est = CPCTransformer(device="cpu")
    est.describe_input(np.zeros((1, 12, 1000), dtype=np.float32))
    module = est._build_objective(est.build_encoder())
    convs = [m for m in module.encoder.steps.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == (
        [(12, 512, (1,), (1,))] + [(512, 512, (1,), (1,))] * 3)
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in module.encoder.steps.modules()) == 4
    assert (module.encoder.lstm.hidden_size, module.encoder.lstm.num_layers) == (512, 2)
    assert module.predictor.bias is None and module.predictor.weight.shape == (512, 512)
    assert (module.n_steps, module.n_negatives) == (12, 128)
    assert est.build_encoder().out_features == 1536
    assert est.set_params(pooling="mean").build_encoder().out_features == 512
    assert (est.lr, est.batch_size, est.weight_decay, est.crop_length) == (1e-4, 32, 1e-3, 1000)
    assert est._net_options()["optimizer"] is torch.optim.AdamW


def test_strided_encoder_downsamples_by_sixteen():
    est = CPCTransformer(encoder="strided", device="cpu")
    est.describe_input(np.zeros((1, 12, 1000), dtype=np.float32))
    encoder = est.build_encoder()
    convs = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [(c.kernel_size[0], c.stride[0]) for c in convs] == [(10, 2), (4, 2), (4, 2), (4, 2)]
    with torch.no_grad():
        z, c = encoder.eval().encode(torch.zeros(2, 12, 1000))
    assert z.shape == (2, 62, 512) and c.shape == (2, 62, 512)
    assert encoder.steps.output_length(250) == 15


def test_negatives_are_other_steps_of_the_same_record():
    torch.manual_seed(0)
    negatives = sample_negatives(3, 20, steps=30, offset=10, n_negatives=500)
    positives = torch.arange(10, 30)[None, :, None]
    assert negatives.shape == (3, 20, 500)
    assert (negatives != positives).all() and negatives.min() == 0 and negatives.max() == 29
    # Uniform over the 29 other steps.
    counts = torch.bincount(negatives[:, 0].flatten(), minlength=30)
    assert counts[10] == 0 and counts[counts > 0].min() > 0.5 * counts.max()


def test_info_nce_puts_the_true_future_first():
    torch.manual_seed(0)
    z = 5 * torch.randn(2, 40, 64)
    offset = 12
    logits = info_nce_logits(z[:, offset:], z, offset, n_negatives=16)  # perfect predictions
    assert logits.shape == (2 * 28, 17)
    assert (logits.argmax(1) == 0).all()
    wrong = info_nce_logits(torch.randn(2, 28, 64), z, offset, n_negatives=16)
    labels = torch.zeros(len(logits), dtype=torch.long)
    assert torch.nn.functional.cross_entropy(logits, labels) < 0.01
    assert torch.nn.functional.cross_entropy(wrong, labels) > 1.0


def test_loss_falls_and_accuracy_is_recorded(data):
    est = CPCTransformer(**{**TINY, "lr": 1e-2}, max_epochs=8).fit(data.X)
    assert est.loss_curve_[0] == pytest.approx(np.log(17), abs=0.3)  # chance: 1 in 1 + 16
    assert est.loss_curve_[-1] < est.loss_curve_[0] - 0.15, est.loss_curve_
    accuracy = [b["cpc_accuracy"] for b in est.net_.history[-1, "batches"]]
    assert len(accuracy) == 3 and all(0 <= a <= 1 for a in accuracy)


def test_transform_averages_pooled_window_contexts(data, fitted):
    X = data.X[:5]
    Z = fitted.transform(X)
    assert Z.shape == (5, 48) and Z.dtype == np.float32
    module = fitted.encoder_.eval()
    with torch.no_grad():
        windows = [module(torch.from_numpy(X[:, :, s:s + 250])) for s in range(0, 751, 125)]
        _, c = module.encode(torch.from_numpy(X[:, :, :250]))
    np.testing.assert_allclose(Z, torch.stack(windows).mean(0).numpy(), atol=1e-5)
    pooled = torch.cat([c.mean(1), c.amax(1), c[:, -1]], 1)
    np.testing.assert_allclose(windows[0].numpy(), pooled.numpy(), atol=1e-6)
    whole = clone(fitted).set_params(window=None)
    whole.net_, whole.n_leads_in_, whole.leads_in_, whole.fs_in_ = (
        fitted.net_, fitted.n_leads_in_, fitted.leads_in_, fitted.fs_in_)
    whole._n_features_out = 48
    with torch.no_grad():
        np.testing.assert_allclose(whole.transform(X), module(torch.from_numpy(X)).numpy(), atol=1e-5)


def test_mean_pooling(data):
    est = CPCTransformer(**TINY, max_epochs=1, pooling="mean").fit(data.X[:8])
    assert est.transform(data.X[:3]).shape == (3, 16)


def test_short_records(data):
    with pytest.raises(ValueError, match="records of 900 samples but training crops are 1000"):
        CPCTransformer(**TINY, max_epochs=1).fit(data.X[:, :, :900])
    est = CPCTransformer(**TINY, max_epochs=1, crop_length=500).fit(data.X[:, :, :900])
    assert est.transform(data.X[:2, :, :600]).shape == (2, 48)
    with pytest.raises(ValueError, match="too short"):
        est.transform(data.X[:2, :, :200])


@pytest.mark.parametrize("params, message", [
    ({"encoder": "lstm"}, "encoder"),
    ({"pooling": "max"}, "pooling"),
    ({"n_negatives": 0}, "n_negatives"),
    ({"crop_length": 100}, "predicting n_steps=12"),
    ({"window": 2.5}, "window"),
    ({"weight_decay": -1}, "weight_decay"),
])
def test_bad_parameters(data, params, message):
    with pytest.raises(ValueError, match=message):
        CPCTransformer(**{**TINY, **params}, max_epochs=1).fit(data.X[:4])


def test_grid_search_in_a_pipeline(data):
    pipe = Pipeline([("cpc", CPCTransformer(**TINY, max_epochs=1)),
                     ("clf", LogisticRegression(max_iter=200))])
    search = GridSearchCV(pipe, {"cpc__pooling": ["concat", "mean"]}, cv=2)
    search.fit(data.X, data.y)
    assert len(search.cv_results_["params"]) == 2
    assert search.predict(data.X[:3]).shape == (3,)


def _held_out_accuracy(est, X):
    """Share of held-out predictions that rank the true future step first (eval mode)."""
    module = est.net_.module_.eval()
    torch.manual_seed(0)
    with torch.no_grad():
        module(torch.from_numpy(X))
    return module.loss_parts["cpc_accuracy"]


@pytest.fixture(scope="module")
def split():
    data = make_synthetic_ecg(n_patients=160, ecgs_per_patient=1, fs=100, random_state=0)
    return data, slice(0, 100), slice(100, 160)


# With the strided encoder a step is 16 samples: 4 steps (0.64 s at 100 Hz) ahead is learnt in a
# few epochs; the default 12 steps (1.9 s, where the paper's fc encoder predicts 0.12 s) is far slower.
LEARNING = {**TINY, "n_features": 32, "n_hidden": 32, "n_steps": 4, "lr": 1e-2}


def test_predictions_carry_to_held_out_ecgs(split):
    data, train, held_out = split
    trained = CPCTransformer(**LEARNING, max_epochs=10).fit(data.X[train])
    # The untrained baseline: same network, BatchNorm statistics of the data, weights as initialised.
    untrained = untrained_twin(trained, data.X[train])
    accuracy = _held_out_accuracy(trained, data.X[held_out])
    baseline = _held_out_accuracy(untrained, data.X[held_out])
    assert baseline < 0.1  # chance: 1 in 17
    assert accuracy > 3 * baseline, (accuracy, baseline)


def test_linear_probe_beats_the_untrained_encoder():
    data = make_synthetic_ecg(n_patients=150, ecgs_per_patient=1, fs=100, random_state=0)
    params = {**LEARNING, "batch_size": 16, "lr": 3e-3}
    trained = CPCTransformer(**params, max_epochs=12).fit(data.X)
    untrained = untrained_twin(trained, data.X)

    def probe_accuracy(est):
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        cv = StratifiedKFold(5, shuffle=True, random_state=0)
        return cross_val_score(probe, est.transform(data.X), data.y, cv=cv).mean()

    accuracy, baseline = probe_accuracy(trained), probe_accuracy(untrained)
    assert accuracy > baseline + 0.1, (accuracy, baseline)
