"""FineTunedECGClassifier: the two published stages from a pretrained encoder, discriminative rates,
validation-based epoch selection, windows, and model selection that keeps the pretrained weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score

from sklearn_ecg import FineTunedECGClassifier, SimCLRTransformer, SupervisedECGClassifier
from sklearn_ecg.datasets import make_synthetic_ecg
from sklearn_ecg.evaluation import label_efficiency_curve, macro_roc_auc
from sklearn_ecg.nn.finetune import WeightedClassificationLoss
from sklearn_ecg.nn.windows import sliding_windows
from sklearn_ecg.testing import fit_arguments, tiny_estimator


@pytest.fixture(scope="module")
def data():
    return make_synthetic_ecg(n_patients=24, ecgs_per_patient=1, fs=100, random_state=0)


@pytest.fixture(scope="module")
def pretrained(data):
    """A tiny pretrained embedder of each kind: windows (SimCLR, CPC) and whole records (PCLR)."""
    found = {}
    for name in ("simclr", "cpc", "pclr"):
        args, kwargs = fit_arguments(name, data)
        found[name] = tiny_estimator(name, max_epochs=2).fit(*args, **kwargs)
    return found


def finetuner(embedder, **params):
    defaults = dict(head_epochs=2, finetune_epochs=2, batch_size=8, device="cpu", random_state=0)
    return FineTunedECGClassifier(embedder, **{**defaults, **params})


def weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in module.state_dict().items()}


@pytest.mark.parametrize("name", ["simclr", "cpc", "pclr"])
def test_head_stage_keeps_the_pretrained_encoder_and_fine_tuning_changes_it(name, data, pretrained):
    embedder = pretrained[name]
    before = weights(embedder.encoder_)
    linear = finetuner(embedder, finetune_epochs=0).fit(data.X, data.y)
    after_head = weights(linear.net_.module_.encoder)
    # Frozen: weights and BatchNorm statistics are those of the pretrained encoder, exactly.
    assert before.keys() == after_head.keys()
    assert all(torch.equal(before[key], after_head[key]) for key in before)
    tuned = finetuner(embedder).fit(data.X, data.y)
    after_tuning = weights(tuned.net_.module_.encoder)
    floats = [key for key in before if before[key].is_floating_point()]
    assert any(not torch.equal(before[key], after_tuning[key]) for key in floats)
    # The embedder itself is never changed.
    assert all(torch.equal(before[key], value) for key, value in weights(embedder.encoder_).items())


def test_discriminative_rates_follow_the_published_rules(data, pretrained):
    def rates(classifier, prefix):
        found = _rates_by_parameter(classifier)
        return sorted({rate for name, rate in found.items() if name.startswith(prefix)})

    cpc = finetuner(pretrained["cpc"], head_epochs=0, finetune_epochs=1, finetune_lr=1e-3).fit(data.X, data.y)
    assert rates(cpc, "encoder.steps.") == pytest.approx([1e-5])
    assert rates(cpc, "encoder.lstm.") == pytest.approx([1e-4])
    assert rates(cpc, "head.") == pytest.approx([1e-3])

    simclr = finetuner(pretrained["simclr"], head_epochs=0, finetune_epochs=1, finetune_lr=1e-3).fit(
        data.X, data.y)
    # Tiny xresnet1d: stem, then 2 stages of 1 block = one pair of blocks; each 1/4 of the rate above.
    assert rates(simclr, "encoder.stages.") == pytest.approx([2.5e-4])
    assert rates(simclr, "encoder.stem.") == pytest.approx([6.25e-5])
    flat = finetuner(pretrained["simclr"], head_epochs=0, finetune_epochs=1, finetune_lr=1e-3,
                     lr_factor=1.0).fit(data.X, data.y)
    assert rates(flat, "") == pytest.approx([1e-3])


def _rates_by_parameter(classifier) -> dict[str, float]:
    names = {id(p): name for name, p in classifier.net_.module_.named_parameters()}
    return {names[id(p)]: group["lr"] for group in classifier.net_.optimizer_.param_groups
            for p in group["params"]}


def test_clones_start_from_the_pretrained_weights_in_model_selection(data, pretrained):
    embedder = pretrained["pclr"]
    classifier = finetuner(embedder, head="linear", finetune_epochs=0)
    copy = clone(classifier)
    assert copy.embedder is embedder
    reference = classifier.fit(data.X, data.y).predict_proba(data.X)
    np.testing.assert_allclose(copy.fit(data.X, data.y).predict_proba(data.X), reference, atol=1e-6)
    search = GridSearchCV(finetuner(embedder, finetune_epochs=0), {"head": ["linear", "published"]}, cv=2)
    search.fit(data.X, data.y)
    assert search.best_params_["head"] in ("linear", "published")
    assert len(cross_val_score(classifier, data.X, data.y, cv=2)) == 2
    curve = label_efficiency_curve(classifier, data.X, data.y, n_labels=(12, "all"), n_repeats=1,
                                   mode="supervised", test_size=0.5, scoring="accuracy")
    assert len(curve) == 2 and curve["score"].between(0, 1).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_validation_keeps_the_best_epoch_and_patience_stops(data, pretrained, seed):
    y = np.arange(24) % 3  # 3 classes, each in both halves
    X_fit, y_fit, X_val, y_val = data.X[:16], y[:16], data.X[16:], y[16:]
    classifier = finetuner(pretrained["pclr"], head="linear", head_epochs=40, finetune_epochs=0, lr=0.05,
                           patience=2, random_state=seed).fit(X_fit, y_fit, validation_data=(X_val, y_val))
    n_epochs = len(classifier.loss_curve_)
    assert n_epochs < 40 and len(classifier.validation_scores_) == n_epochs
    best = classifier.best_epochs_["head"]
    assert n_epochs - best == 2
    assert classifier.validation_scores_[best - 1] == max(classifier.validation_scores_)
    # The kept weights are the best epoch's: scoring them again gives the best validation score.
    assert macro_roc_auc(y_val, classifier.predict_proba(X_val)) == pytest.approx(
        max(classifier.validation_scores_), abs=1e-6)
    split = finetuner(pretrained["pclr"], validation_fraction=0.25, random_state=seed).fit(data.X, y)
    assert len(split.validation_scores_) == 4 and set(split.best_epochs_) == {"head", "finetune"}


def test_window_methods_average_window_probabilities(data, pretrained):
    classifier = finetuner(pretrained["simclr"]).fit(data.X, data.y)
    module = classifier.net_.module_.eval()
    X = torch.from_numpy(data.X[:3])
    with torch.no_grad():
        windows, n_windows = sliding_windows(X, 250, 125)
        expected = torch.softmax(module(windows), dim=1).reshape(3, n_windows, -1).mean(1)
    np.testing.assert_allclose(classifier.predict_proba(data.X[:3]), expected.numpy(), atol=1e-5)


def test_multilabel_and_weights(data, pretrained):
    Y = np.stack([data.y == data.y[0], data.y != data.y[0]], axis=1).astype(int)
    classifier = finetuner(pretrained["pclr"], class_weight="balanced").fit(data.X, Y)
    proba = classifier.predict_proba(data.X)
    assert classifier.multilabel_ and proba.shape == (24, 2) and ((proba > 0) & (proba < 1)).all()
    loss = WeightedClassificationLoss(multilabel=False)
    logits, y = torch.randn(3, 4), torch.tensor([0, 2, 1])
    weighted = loss(logits, {"y": y, "w": torch.tensor([1.0, 1.0, 0.0])})
    assert weighted == pytest.approx(float(torch.nn.functional.cross_entropy(logits[:2], y[:2])))
    weighted_fit = finetuner(pretrained["pclr"]).fit(data.X, data.y, sample_weight=np.arange(24) % 3)
    assert weighted_fit.predict(data.X).shape == (24,)


def test_embedder_from_a_saved_directory(tmp_path, data, pretrained):
    embedder = pretrained["pclr"]
    embedder.save(tmp_path / "pclr")
    from_directory = finetuner(str(tmp_path / "pclr")).fit(data.X, data.y)
    from_object = finetuner(embedder).fit(data.X, data.y)
    np.testing.assert_allclose(from_directory.predict_proba(data.X), from_object.predict_proba(data.X),
                               atol=1e-5)


def test_errors(data, pretrained):
    with pytest.raises(NotFittedError, match="pretrained"):
        finetuner(tiny_estimator("pclr")).fit(data.X, data.y)
    with pytest.raises(ValueError, match="nothing to train"):
        finetuner(pretrained["pclr"], head_epochs=0, finetune_epochs=0).fit(data.X, data.y)
    with pytest.raises(ValueError, match="not both"):
        finetuner(pretrained["pclr"], validation_fraction=0.2).fit(data.X, data.y,
                                                                   validation_data=(data.X, data.y))
    with pytest.raises(ValueError, match="leads"):
        finetuner(pretrained["pclr"]).fit(data.X[:, :3], data.y)
    with pytest.raises(ValueError, match="sample_weight"):
        finetuner(pretrained["pclr"]).fit(data.X, data.y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="config.json not found"):
        finetuner("/nonexistent/model").fit(data.X, data.y)


@pytest.mark.slow
def test_fine_tuning_beats_training_from_scratch_at_few_labels():
    # Measured (gain in test macro AUC of fine-tuning over the same architecture from scratch,
    # 24 labels, 4 label subsets): SimCLR pretrained with seed 0: +0.020 +0.075 +0.028 +0.075
    # (mean +0.050); with seed 1: -0.007 +0.048 +0.044 +0.168 (mean +0.063).
    classes = ["normal sinus rhythm", "bundle branch block", "ST changes"]
    pool = make_synthetic_ecg(n_patients=300, ecgs_per_patient=1, fs=100, classes=classes, random_state=0)
    test = make_synthetic_ecg(n_patients=300, ecgs_per_patient=1, fs=100, classes=classes, random_state=100)
    embedder = SimCLRTransformer(layers=(1, 1, 1), widths=(16, 16, 16), stem_widths=(16, 16, 32),
                                 batch_size=16, warmup_epochs=1, max_epochs=60, random_state=0,
                                 device="cpu").fit(pool.X)

    def test_auc(classifier):
        truth = np.stack([test.y == k for k in classifier.classes_], axis=1).astype(int)
        return macro_roc_auc(truth, classifier.predict_proba(test.X))

    gains = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        rows = np.concatenate([rng.choice(np.flatnonzero(pool.y == k), 8, replace=False) for k in range(3)])
        tuned = FineTunedECGClassifier(embedder, head="linear", head_epochs=20, finetune_epochs=20, lr=1e-2,
                                       finetune_lr=1e-3, batch_size=16, random_state=seed, device="cpu")
        scratch = SupervisedECGClassifier(embedder, max_epochs=40, batch_size=16, lr=1e-3, random_state=seed,
                                          device="cpu")
        gains.append(test_auc(tuned.fit(pool.X[rows], pool.y[rows]))
                     - test_auc(scratch.fit(pool.X[rows], pool.y[rows])))
    assert np.mean(gains) > 0.02 and min(gains) > -0.03, gains


@pytest.mark.parametrize("name", ["simclr", "pclr"])
def test_save_and_load(tmp_path, data, pretrained, name):
    classifier = finetuner(pretrained[name]).fit(data.X, data.y)
    loaded = FineTunedECGClassifier.load(classifier.save(tmp_path / "model"), device="cpu")
    np.testing.assert_allclose(loaded.predict_proba(data.X), classifier.predict_proba(data.X), atol=1e-6)
    assert loaded.classes_.tolist() == classifier.classes_.tolist()
    assert loaded.best_epochs_ == classifier.best_epochs_ and loaded.leads_in_ == classifier.leads_in_
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["config.json", "model.safetensors"]
