import os
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import Bunch
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ecg.evaluation import (
    PooledCVLogisticRegression,
    cv_probe,
    label_efficiency_curve,
    linear_evaluation,
    macro_roc_auc,
    per_class_roc_auc,
    plot_ecg_12lead,
    plot_embedding_2d,
    plot_label_efficiency,
    stratified_subset,
)

matplotlib.use("Agg")


def data_root():
    root = Path(os.environ.get("SKLEARN_ECG_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    return root / "ptbxl"


def toy(n=200, dim=6, seed=0, shift=2.0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    Z = rng.normal(size=(n, dim))
    Z[np.arange(n), y] += shift
    return Z, y


def toy_multilabel(n=200, seed=0):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, 3)) < [0.5, 0.2, 0.06]).astype(int)
    Z = rng.normal(size=(n, 5)) + 2.0 * np.pad(Y, ((0, 0), (0, 2)))
    return Z, Y


# -- subsets ---------------------------------------------------------------------------------------
def test_stratified_subset_covers_classes_and_keeps_proportions():
    y = np.array([0] * 90 + [1] * 9 + [2])
    rows = stratified_subset(y, 10, random_state=0)
    assert len(rows) == 10 and np.all(np.diff(rows) > 0)
    assert np.bincount(y[rows]).tolist() == [8, 1, 1]
    big = stratified_subset(y, 50, random_state=1)
    assert np.bincount(y[big]).tolist() == [45, 4, 1]
    np.testing.assert_array_equal(stratified_subset(y, 10, random_state=0), rows)
    assert not np.array_equal(stratified_subset(y, 10, random_state=5), rows)
    np.testing.assert_array_equal(stratified_subset(y, 500), np.arange(100))
    with pytest.raises(ValueError, match="at least 1"):
        stratified_subset(y, 0)


def test_stratified_subset_multilabel_gives_every_label_a_positive():
    _, Y = toy_multilabel(300)
    for seed in range(5):
        rows = stratified_subset(Y, 5, random_state=seed)
        assert len(rows) == 5
        assert (Y[rows].sum(0) >= 1).all()
    with pytest.raises(ValueError, match="0/1"):
        stratified_subset(Y * 2, 5)


# -- scoring ---------------------------------------------------------------------------------------
def test_macro_roc_auc():
    y = np.array([0, 1, 2, 0, 1, 2])
    assert macro_roc_auc(y, np.eye(3)[y]) == 1.0
    assert macro_roc_auc(y, 1 - np.eye(3)[y]) == 0.0
    assert macro_roc_auc(np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.8, 0.3])) == 1.0
    Y = np.array([[1, 0], [0, 0], [1, 0]])
    with pytest.warns(UserWarning, match="left out"):
        assert macro_roc_auc(Y, np.array([[0.9, 0.1], [0.2, 0.5], [0.7, 0.3]])) == 1.0
    with pytest.raises(ValueError, match="shape"):
        macro_roc_auc(Y, np.zeros((3, 3)))


def test_roc_auc_is_scikit_learns_for_multilabel_targets_with_ties_and_absent_labels():
    # What the benchmarks compute: each label's roc_auc_score, averaged over the labels with
    # both outcomes in the split (bootstrap resamples too, where rare labels drop out).
    rng = np.random.default_rng(0)
    Y = (rng.random((300, 4)) < [0.5, 0.2, 0.05, 0.0]).astype(int)
    scores = np.round(rng.normal(size=(300, 4)) + Y, 1)  # rounded: many tied scores
    expected = [roc_auc_score(Y[:, j], scores[:, j]) for j in range(3)]
    aucs = per_class_roc_auc(Y, scores)
    np.testing.assert_allclose(aucs[:3], expected, rtol=0, atol=1e-12)
    assert np.isnan(aucs[3])  # no positive example: no AUC
    with pytest.warns(UserWarning, match="1 classes have no positive"):
        assert macro_roc_auc(Y, scores) == pytest.approx(np.mean(expected), abs=1e-12)
    Y[:, 3] = 1  # a label on every ECG has no AUC either
    assert np.isnan(per_class_roc_auc(Y, scores)[3])
    rows = rng.integers(0, len(Y), len(Y))  # a bootstrap resample
    present = [j for j in range(4) if 0 < Y[rows, j].sum() < len(rows)]
    resampled = np.mean([roc_auc_score(Y[rows, j], scores[rows, j]) for j in present])
    assert np.nanmean(per_class_roc_auc(Y[rows], scores[rows])) == pytest.approx(resampled, abs=1e-12)


def test_roc_auc_of_class_indices_leaves_out_classes_absent_from_the_split():
    rng = np.random.default_rng(1)
    y = np.array([0, 2, 0, 2, 2, 0, 2, 0])  # class 1 is not in this split
    scores = rng.random((8, 3))
    expected = [roc_auc_score(y == 0, scores[:, 0]), roc_auc_score(y == 2, scores[:, 2])]
    np.testing.assert_allclose(per_class_roc_auc(y, scores)[[0, 2]], expected, rtol=0, atol=1e-12)
    with pytest.warns(UserWarning, match="left out"):
        assert macro_roc_auc(y, scores) == pytest.approx(np.mean(expected), abs=1e-12)
    with pytest.warns(UserWarning, match="left out"):
        assert np.isnan(macro_roc_auc(np.zeros(4, dtype=int), np.ones((4, 1))))
    assert np.isnan(macro_roc_auc(np.ones(4), np.arange(4.0)))  # binary scores, one class only
    with pytest.raises(ValueError, match="classes 0..2"):
        per_class_roc_auc(np.array([0, 1, 3]), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="0/1"):
        per_class_roc_auc(2 * np.eye(3), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        per_class_roc_auc(np.eye(3), np.full((3, 3), np.nan))


# -- the curve -------------------------------------------------------------------------------------
class RecordingProbe(ClassifierMixin, BaseEstimator):
    """Remembers which rows (column 0 holds the row id) it was trained on."""

    seen: list = []

    def fit(self, X, y):
        RecordingProbe.seen.append(tuple(np.asarray(X)[:, 0].astype(int)))
        self.model_ = LogisticRegression().fit(X[:, 1:], y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X[:, 1:])


def test_curve_shape_and_same_subsets_for_every_method():
    Z, y = toy()
    ids = np.arange(len(Z))[:, None]
    features = np.hstack([ids, Z])
    RecordingProbe.seen = []
    a = label_efficiency_curve(None, features, y, n_labels=[6, 30, "all"], n_repeats=3, precomputed=True,
                               probe=RecordingProbe(), method="a", random_state=1)
    first = list(RecordingProbe.seen)
    RecordingProbe.seen = []
    label_efficiency_curve(None, np.hstack([ids, -Z]), y, n_labels=[6, 30, "all"], n_repeats=3,
                           precomputed=True, probe=RecordingProbe(), method="b", random_state=1)
    assert RecordingProbe.seen == first
    assert list(a.columns) == ["method", "budget", "n_labels", "repeat", "score", "fit_time"]
    assert len(a) == 9 and set(a["method"]) == {"a"}
    assert a["n_labels"].tolist() == [6] * 3 + [30] * 3 + [150] * 3  # test_size=0.25 of 200
    assert len({frozenset(s) for s in first[:3]}) == 3  # repeats differ
    assert all(len(set(y[list(s)])) == 3 for s in first[:3])  # every class in 6 labels
    means = a.groupby("n_labels")["score"].mean()
    assert means[150] > 0.85 and means[150] >= means[6] - 0.02


def test_curve_fits_the_embedding_once_on_pretrain_data():
    Z, y = toy(120)
    pretrain = np.random.default_rng(1).normal(size=(300, 6))
    pca = PCA(n_components=3)
    df = label_efficiency_curve(pca, Z, y, n_labels=[20], n_repeats=2, X_pretrain=pretrain,
                                scoring="accuracy", method="pca")
    assert not hasattr(pca, "components_")  # cloned, the given estimator stays unfitted
    assert df.attrs["n_pretrain"] == 300 and df.attrs["n_transformed"] == 120
    assert df["score"].between(0, 1).all()
    fitted = PCA(n_components=6).fit(Z)
    df2 = label_efficiency_curve(fitted, Z, y, n_labels=["all"], n_repeats=1, prefit=True)
    assert "pretrain_time" not in df2.attrs and df2["method"].iloc[0] == "PCA"
    assert df2["score"].iloc[0] > 0.85


def test_curve_multilabel_and_fixed_test_set():
    Z, Y = toy_multilabel(300)
    df = label_efficiency_curve(None, Z[:200], Y[:200], X_test=Z[200:], y_test=Y[200:], precomputed=True,
                                n_labels=[10, 200], n_repeats=2, method="ml")
    assert (df["n_labels"].tolist() == [10, 10, 200, 200])
    assert df["score"].between(0.5, 1).all()
    recorder = []
    label_efficiency_curve(None, Z[:200], Y[:200], X_test=Z[200:], y_test=Y[200:], precomputed=True,
                           n_labels=[10], n_repeats=1,
                           scoring=lambda model, X, y: recorder.append(model.predict_proba(X).shape) or 0.0)
    assert recorder == [(100, 3)]


def test_curve_supervised_mode_trains_the_classifier_on_raw_inputs():
    Z, y = toy(150)
    flat_lr = make_pipeline(FunctionTransformer(lambda X: X.reshape(len(X), -1)),
                            LogisticRegression(max_iter=500))
    ecgs = Z[:, None, :]  # (n, 1 lead, 6 samples)
    df = label_efficiency_curve(flat_lr, ecgs, y, mode="supervised", n_labels=[12, "all"], n_repeats=2,
                                scoring="balanced_accuracy", random_state=0)
    assert len(df) == 4 and df["method"].iloc[0] == "Pipeline"
    assert df.groupby("n_labels")["score"].mean().iloc[-1] > 0.6


def test_curve_groups_keep_patients_apart():
    Z, y = toy(120)
    groups = np.repeat(np.arange(40), 3)
    recorder = []

    def scorer(model, X, y_true):
        recorder.append(np.asarray(X)[:, 0])
        return 0.0

    ids = np.arange(120)[:, None].astype(float)
    label_efficiency_curve(None, np.hstack([ids, Z]), y, groups=groups, precomputed=True, n_labels=[9],
                           n_repeats=1, probe=RecordingProbe(), scoring=scorer)
    test_patients = set(groups[recorder[0].astype(int)])
    train_patients = set(groups[list(RecordingProbe.seen[-1])])
    assert test_patients and not (test_patients & train_patients)


def test_curve_errors():
    Z, y = toy(60)
    with pytest.raises(ValueError, match="mode"):
        label_efficiency_curve(None, Z, y, mode="finetune", precomputed=True)
    with pytest.raises(ValueError, match="n_repeats"):
        label_efficiency_curve(None, Z, y, n_repeats=0, precomputed=True)
    with pytest.raises(ValueError, match="n_labels"):
        label_efficiency_curve(None, Z, y, n_labels=[0], precomputed=True)
    with pytest.raises(ValueError, match="both X_test and y_test"):
        label_efficiency_curve(None, Z, y, X_test=Z, precomputed=True)
    with pytest.raises(ValueError, match="2-D embeddings"):
        label_efficiency_curve(None, Z[:, :, None], y, precomputed=True)
    with pytest.raises(ValueError, match="rows"):
        label_efficiency_curve(None, Z, y[:10], precomputed=True)
    with pytest.raises(ValueError, match="needs a classifier"):
        label_efficiency_curve(None, Z, y, mode="supervised")
    with pytest.raises(ValueError, match="mode='embedding' only"):
        label_efficiency_curve(LogisticRegression(), Z, y, mode="supervised", X_pretrain=Z)


# -- linear evaluation -----------------------------------------------------------------------------
def fold_bunch(n=300, folds=range(1, 11)):
    Z, Y = toy_multilabel(n)
    Y[:5] = 0  # ECGs without a label of the task
    meta = pd.DataFrame({"strat_fold": np.resize(list(folds), n)})
    return Bunch(X=Z, y=Y, target_names=np.array(["A", "B", "C"]), metadata=meta, task="toy")


def test_linear_evaluation_on_folds():
    data = fold_bunch()
    result = linear_evaluation(PCA(n_components=5), data, Cs=(0.01, 1.0))
    labelled = data.y.sum(1) > 0  # ECGs without a label of the task are left out
    assert result["n_train"] + result["n_val"] + result["n_test"] == labelled.sum()
    assert result["n_test"] == ((data.metadata.strat_fold == 10) & labelled).sum()
    assert result["C"] in (0.01, 1.0) and result["val_macro_auc"] > 0.7
    assert 0.7 < result["test_macro_auc"] <= 1 and set(result["per_class_auc"]) == {"A", "B", "C"}
    assert result["pretrain_time"] is not None and result["task"] == "toy"

    no_val = linear_evaluation(PCA(n_components=5).fit(data.X), fold_bunch(folds=[1, 2, 10]), prefit=True)
    assert no_val["C"] == 1.0 and no_val["val_macro_auc"] is None and no_val["n_val"] == 0
    with pytest.raises(ValueError, match=r"test folds \[10\]"):
        linear_evaluation(PCA(n_components=5), fold_bunch(folds=[1, 2, 3]))


@pytest.mark.data
def test_linear_evaluation_reads_ptbxl():
    root = data_root()
    if not (root / "ptbxl_database.csv").is_file():
        pytest.skip(f"PTB-XL subset not found at {root} (set SKLEARN_ECG_DATA)")
    # Amplitude spectra up to 25 Hz in 1 Hz bins: shift-invariant, so better than chance.
    spectrum = FunctionTransformer(
        lambda X: np.log1p(np.abs(np.fft.rfft(X, axis=-1))[:, :, :250].reshape(len(X), 12, 25, 10)
                           .mean(-1)).reshape(len(X), -1))
    result = linear_evaluation(spectrum, root, task="superdiagnostic", Cs=(0.01, 0.1))
    assert set(result["per_class_auc"]) == {"CD", "HYP", "MI", "NORM", "STTC"}
    assert result["n_test"] > 0 and result["n_val"] > 0 and 0.5 < result["test_macro_auc"] < 1


# -- plots -----------------------------------------------------------------------------------------
def test_plot_label_efficiency_several_methods():
    Z, y = toy()
    runs = {name: label_efficiency_curve(None, Z * s, y, n_labels=[6, 30], n_repeats=2, precomputed=True)
            for name, s in (("a", 1.0), ("b", 0.3))}
    ax = plot_label_efficiency(runs, spread="range", title="t")
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert len(ax.collections) == 2 and ax.get_xscale() == "log"
    with pytest.raises(ValueError, match="spread"):
        plot_label_efficiency(runs, spread="sem")
    with pytest.raises(ValueError, match="n_labels"):
        plot_label_efficiency(pd.DataFrame({"method": ["a"], "score": [1.0]}))


def test_plot_label_efficiency_reads_at_a_glance():
    Z, y = toy()
    runs = {name: label_efficiency_curve(None, Z * s, y, n_labels=[6, "all"], n_repeats=2, precomputed=True)
            for name, s in (("raw", 0.1), ("B from scratch", 0.5), ("A", 1.0), ("B", 0.8),
                            ("A supervised", 0.3))}
    ax = plot_label_efficiency(runs, baselines=["raw"])
    lines = {line.get_label(): line for line in ax.get_lines()}
    # Families in order of first appearance, each pretrained curve then its from-scratch one, baselines last.
    assert list(lines) == ["B", "B from scratch", "A", "A supervised", "raw"]
    assert lines["A"].get_color() == lines["A supervised"].get_color() != lines["B"].get_color()
    assert [lines[m].get_linestyle() for m in lines] == ["-", "--", "-", "--", ":"]
    assert lines["A supervised"].get_markerfacecolor() == "white"
    n_all = runs["A"].loc[runs["A"]["budget"] == "all", "n_labels"].iloc[0]  # the whole pool
    assert [t.get_text() for t in ax.get_xticklabels()] == ["6", f"all\n({n_all})"]
    legend = ax.get_legend()
    assert "1 std" in legend.get_title().get_text() and "2 label subsets" in legend.get_title().get_text()
    assert legend.get_bbox_to_anchor().x0 > ax.get_window_extent().x1  # outside the axes
    kinds = pd.concat([df.assign(method=name, kind="baseline" if name == "A" else None)
                       for name, df in runs.items()])
    assert plot_label_efficiency(kinds).get_lines()[-1].get_label() == "A"
    with pytest.raises(ValueError, match="kind of 'raw' must be one of"):
        plot_label_efficiency(kinds.assign(kind="pretrained?"))


def test_plot_ecg_12lead_layouts():
    rng = np.random.default_rng(0)
    ecg = 0.1 * rng.standard_normal((12, 1000))
    ax = plot_ecg_12lead(ecg, fs=100)
    names = [t.get_text() for t in ax.texts]
    assert names == ["I", "aVR", "V1", "V4", "II", "aVL", "V2", "V5", "III", "aVF", "V3", "V6", "II"]
    assert ax.get_xlim() == (-10.0, 250.0)  # 10 s at 25 mm/s
    ax = plot_ecg_12lead(ecg[:2], fs=100, leads=["MLII", "V5"], rhythm_lead=None)
    assert [t.get_text() for t in ax.texts] == ["II", "V5"]
    with pytest.raises(ValueError, match="n_leads, n_samples"):
        plot_ecg_12lead(ecg[0], fs=100)
    with pytest.raises(ValueError, match="rhythm_lead"):
        plot_ecg_12lead(ecg, fs=100, rhythm_lead="X7")


def test_plot_embedding_2d():
    Z, y = toy(60)
    ax = plot_embedding_2d(Z, y, method="tsne", label_names=["a", "b", "c"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    ax = plot_embedding_2d(Z, np.linspace(20, 80, 60))
    assert ax.get_legend() is None and "PC1" in ax.get_xlabel()
    with pytest.raises(ValueError, match="method"):
        plot_embedding_2d(Z, y, method="umap")
    with pytest.raises(ValueError, match="labels"):
        plot_embedding_2d(Z, y[:3])


def test_scores_of_tiny_budgets_do_not_leak_scikit_learn_warnings():
    import warnings

    Z, y = toy()
    keep = y != 2  # the test set lacks a class the probes predict
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        curve = label_efficiency_curve(None, Z[:150], y[:150], X_test=Z[150:][keep[150:]],
                                       y_test=y[150:][keep[150:]], n_labels=[6], n_repeats=2,
                                       precomputed=True, scoring="balanced_accuracy")
    assert curve["score"].notna().all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cv_probe_chooses_c_on_its_training_labels(seed):
    from sklearn.model_selection import StratifiedKFold

    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(30), np.ones(10)].astype(int)
    X = rng.normal(size=(40, 50))
    X[:, :5] += 1.5 * y[:, None]
    probe = PooledCVLogisticRegression(Cs=(1e-3, 1e-1, 10.0), random_state=seed).fit(X, y)
    # Each C's score: the AUC of the out-of-fold scores of the 5 stratified folds, pooled.
    oof = np.empty(40)
    for train, valid in StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y):
        model = LogisticRegression(C=0.1, solver="liblinear", dual=True, max_iter=1000, random_state=seed)
        oof[valid] = model.fit(X[train], y[train]).decision_function(X[valid])
    assert probe.cv_scores_[0.1] == pytest.approx(roc_auc_score(y, oof))
    best = max(probe.cv_scores_.values())
    assert probe.C_ == min(c for c, score in probe.cv_scores_.items() if score == best)
    assert probe.model_.C == probe.C_ and probe.cv_scores_[probe.C_] > 0.8
    # One positive: nothing to cross-validate, the fallback C.
    one = PooledCVLogisticRegression(fallback_C=0.5).fit(X, (np.arange(40) == 3).astype(int))
    assert one.C_ == 0.5 and one.cv_scores_ == {}
    scores = cv_probe(random_state=seed).fit(X, y).predict_proba(X)[:, 1]
    assert scores[y == 1].mean() > scores[y == 0].mean()
    # The same seed, the same probe.
    again = PooledCVLogisticRegression(Cs=(1e-3, 1e-1, 10.0), random_state=seed).fit(X, y)
    assert again.cv_scores_ == probe.cv_scores_


def test_cv_probe_errors_name_the_problem():
    X, y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2
    with pytest.raises(ValueError, match="Only binary.*multiclass.*OneVsRestClassifier"):
        PooledCVLogisticRegression().fit(X, np.arange(40) % 3)
    with pytest.raises(ValueError, match="one class"):
        PooledCVLogisticRegression().fit(X, np.zeros(40))
    with pytest.raises(ValueError, match="Cs must be positive"):
        PooledCVLogisticRegression(Cs=(1.0, -1.0)).fit(X, y)
    with pytest.raises(ValueError, match="cv"):
        PooledCVLogisticRegression(cv=1).fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        PooledCVLogisticRegression().fit(np.where(X > 2, np.nan, X), y)
    fitted = PooledCVLogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="3 features"):
        fitted.predict(X[:, :2])


def test_cv_probe_in_a_multilabel_label_efficiency_curve():
    rng = np.random.default_rng(0)
    Y = (rng.random((60, 3)) < 0.4).astype(int)
    X = rng.normal(size=(60, 8)) + Y @ rng.normal(size=(3, 8))
    curve = label_efficiency_curve(None, X[:40], Y[:40], X_test=X[40:], y_test=Y[40:], precomputed=True,
                                   n_labels=(20, "all"), n_repeats=2, random_state=0,
                                   probe=cv_probe(random_state=0))
    assert curve["score"].notna().all() and curve["score"].mean() > 0.6


# The checks' random data do not always let liblinear converge in 1000 iterations: not what they test.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([PooledCVLogisticRegression(cv=2)])
def test_cv_probe_passes_scikit_learns_checks(estimator, check):
    check(estimator)
