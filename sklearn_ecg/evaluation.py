"""Evaluating embeddings: label-efficiency curves and the published linear-evaluation protocols."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import get_scorer, roc_auc_score
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit, StratifiedShuffleSplit
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .plotting import plot_ecg_12lead, plot_embedding_2d, plot_label_efficiency

__all__ = [
    "label_efficiency_curve",
    "linear_evaluation",
    "macro_roc_auc",
    "plot_ecg_12lead",
    "plot_embedding_2d",
    "plot_label_efficiency",
    "stratified_subset",
]

_MODES = ("embedding", "supervised")


def default_probe(C: float = 1.0) -> Any:
    """The linear probe used unless another is given: StandardScaler + LogisticRegression."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))


# -- labels ----------------------------------------------------------------------------------------
def _check_targets(y: Any, name: str = "y") -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim == 2 and not np.isin(y, (0, 1)).all():
        raise ValueError(f"A 2-D {name} must be a 0/1 multi-label matrix, got values "
                         f"{np.unique(y)[:10].tolist()}.")
    if y.ndim not in (1, 2) or len(y) == 0:
        raise ValueError(f"{name} must be 1-D classes or a 2-D 0/1 multi-label matrix with at least "
                         f"one row, got shape {y.shape}.")
    return y


def _strata(y: np.ndarray) -> np.ndarray:
    """One stratum per row: its class, or (multi-label) its least frequent positive label.

    Rows of a multi-label ``y`` without any positive label form one more stratum.
    """
    if y.ndim == 1:
        return np.unique(y, return_inverse=True)[1]
    positives = y.astype(bool)
    frequency = positives.sum(0)
    rank = np.where(positives, frequency[None, :], np.inf)
    return np.where(positives.any(1), np.argmin(rank, axis=1), y.shape[1])


def stratified_subset(y: Any, n_labels: int, random_state: Any = None) -> np.ndarray:
    """Draw ``n_labels`` rows of ``y``: every class covered first, the rest stratified.

    1. Coverage: for each class (multi-label: each label), rarest first, one row
       having it is drawn unless an already drawn row has it; this stops when the
       budget is spent, so a budget below the number of classes covers the rarest.
    2. The rest of the budget goes to the strata short of their proportional
       share of the whole budget, in proportion to what they lack (largest
       remainders round up), drawn at random within each. The stratum of a row is
       its class, or for a multi-label ``y`` its least frequent positive label
       (rows with no positive label form one more stratum).

    Parameters
    ----------
    y : array-like of shape (n,) or (n, n_labels)
        Classes, or a 0/1 multi-label matrix.
    n_labels : int
        Number of rows to draw; at least ``n`` returns every row.
    random_state : int, Generator, RandomState or None

    Returns
    -------
    indices : ndarray of int, sorted

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.evaluation import stratified_subset
    >>> y = np.array([0] * 90 + [1] * 9 + [2])
    >>> rows = stratified_subset(y, 10, random_state=0)
    >>> np.bincount(y[rows]).tolist()
    [8, 1, 1]
    """
    y = _check_targets(y)
    rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(
        None if random_state is None else _as_seed(random_state))
    n_total = len(y)
    if n_labels >= n_total:
        return np.arange(n_total)
    if n_labels < 1:
        raise ValueError(f"n_labels must be at least 1, got {n_labels}.")
    members = (y.astype(bool).T if y.ndim == 2
               else [y == value for value in np.unique(y)])
    groups = sorted((np.flatnonzero(m) for m in members if m.any()), key=len)
    chosen = np.zeros(n_total, dtype=bool)
    for rows in groups:
        if chosen.sum() >= n_labels:
            break
        if not chosen[rows].any():
            chosen[rng.choice(rows)] = True
    remaining = n_labels - int(chosen.sum())
    if remaining > 0:
        strata = _strata(y)
        keys, counts = np.unique(strata, return_counts=True)
        # What each stratum still lacks of its proportional share of the whole budget.
        already = np.array([chosen[strata == key].sum() for key in keys])
        lack = np.maximum(n_labels * counts / n_total - already, 0)
        if lack.sum() == 0:
            lack = counts - already.astype(float)
        share = remaining * lack / lack.sum()
        take = np.floor(share).astype(int)
        short = remaining - take.sum()
        if short:
            # Largest fractional parts first, ties broken at random.
            order = np.lexsort((rng.random(len(keys)), -(share - take)))
            take[order[:short]] += 1
        for key, k in zip(keys, take):
            pool = np.flatnonzero((strata == key) & ~chosen)
            chosen[rng.choice(pool, size=min(k, len(pool)), replace=False)] = True
        left = n_labels - int(chosen.sum())
        if left > 0:  # a stratum had fewer rows than its share: fill from any row
            chosen[rng.choice(np.flatnonzero(~chosen), size=left, replace=False)] = True
    return np.flatnonzero(chosen)


def _as_seed(random_state: Any) -> int:
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    return int(random_state)


# -- scoring ---------------------------------------------------------------------------------------
def macro_roc_auc(y_true: Any, scores: Any) -> float:
    """Mean one-vs-rest ROC AUC over the classes (columns) that have both outcomes in ``y_true``.

    ``y_true`` is 1-D classes ``0..k-1`` (``scores`` of shape (n, k), or (n,) for
    two classes) or a 0/1 matrix (``scores`` of the same shape). Classes whose
    column of ``y_true`` is constant have no AUC and are left out with a warning
    (PTB-XL's benchmark does the same); NaN if none is left.
    """
    y_true = np.asarray(y_true)
    scores = np.asarray(scores, dtype=float)
    if y_true.ndim == 1:
        if scores.ndim == 1:
            return float(roc_auc_score(y_true, scores)) if len(np.unique(y_true)) == 2 else np.nan
        y_true = (y_true[:, None] == np.arange(scores.shape[1])[None, :]).astype(int)
    if y_true.shape != scores.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but scores have shape {scores.shape}.")
    valid = [j for j in range(y_true.shape[1]) if 0 < y_true[:, j].sum() < len(y_true)]
    if len(valid) < y_true.shape[1]:
        warnings.warn(f"{y_true.shape[1] - len(valid)} classes have no positive (or no negative) "
                      "example in the test set and are left out of the macro ROC AUC.",
                      UserWarning, stacklevel=2)
    if not valid:
        return np.nan
    return float(np.mean([roc_auc_score(y_true[:, j], scores[:, j]) for j in valid]))


def _class_scores(model: Any, X: Any, classes: np.ndarray | None) -> np.ndarray:
    """Scores per class (columns aligned with ``classes``) or per label (multi-label)."""
    if hasattr(model, "predict_proba"):
        scores = np.asarray(model.predict_proba(X))
    else:
        scores = np.asarray(model.decision_function(X))
    if classes is None:  # multi-label: one column per label already
        return scores
    seen = np.asarray(model.classes_)
    if scores.ndim == 1:  # binary decision_function: the score of seen[1]
        scores = np.stack([-scores, scores], axis=1)
    full = np.full((len(scores), len(classes)), scores.min() - 1.0)  # classes the model never saw
    for j, label in enumerate(seen):
        full[:, np.searchsorted(classes, label)] = scores[:, j]
    return full


def _make_scorer(scoring: str | Callable, classes: np.ndarray | None) -> Callable:
    if callable(scoring):
        return scoring
    if scoring == "roc_auc_macro":
        def score(model, X, y):
            if classes is None:
                return macro_roc_auc(y, _class_scores(model, X, None))
            scores = _class_scores(model, X, classes)
            encoded = np.searchsorted(classes, y)
            if len(classes) == 2:
                return macro_roc_auc(encoded, scores[:, 1])
            return macro_roc_auc(encoded, scores)
        return score
    return get_scorer(scoring)


# -- the curve -------------------------------------------------------------------------------------
def _split(y, groups, test_size, seed):
    if groups is not None:
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        return next(splitter.split(np.zeros(len(y)), y, groups))
    strata = _strata(y)
    if np.bincount(strata).min() >= 2:
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        return next(splitter.split(np.zeros(len(y)), strata))
    return next(ShuffleSplit(n_splits=1, test_size=test_size, random_state=seed).split(np.zeros(len(y))))


def _take(X: Any, rows: np.ndarray) -> Any:
    return X[np.sort(rows)] if not isinstance(X, list) else [X[i] for i in np.sort(rows)]


def _with_seed(estimator: Any, seed: int) -> Any:
    params = estimator.get_params()
    seeds = {k: seed for k in params if k == "random_state" or k.endswith("__random_state")}
    return estimator.set_params(**seeds) if seeds else estimator


def _budgets(n_labels: Sequence[int | str | None]) -> list[int | str]:
    budgets: list[int | str] = []
    for value in n_labels:
        if value is None or value == "all":
            budgets.append("all")
        elif isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1:
            budgets.append(int(value))
        else:
            raise ValueError(f"n_labels must hold positive integers or 'all'/None, got {value!r}.")
    if not budgets:
        raise ValueError("n_labels is empty.")
    return budgets


def label_efficiency_curve(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    n_labels: Sequence[int | str | None] = (25, 50, 100, 200, "all"),
    n_repeats: int = 5,
    scoring: str | Callable = "roc_auc_macro",
    mode: str = "embedding",
    probe: Any = None,
    X_test: Any = None,
    y_test: Any = None,
    test_size: float = 0.25,
    groups: Any = None,
    X_pretrain: Any = None,
    pretrain_params: Mapping[str, Any] | None = None,
    prefit: bool = False,
    precomputed: bool = False,
    method: str | None = None,
    random_state: int | None = 0,
    verbose: int = 0,
) -> pd.DataFrame:
    """Score a representation (or a classifier) against the number of labelled ECGs.

    With ``mode="embedding"`` the embedding is fitted once (on ``X_pretrain``, or
    on the labelled pool ``X`` without its labels), the pool and the test set are
    embedded once, then for every budget in ``n_labels`` and every repeat a
    stratified subset of the pool (:func:`stratified_subset`) trains a fresh
    ``probe`` on the embeddings, which is scored on the fixed test set. With
    ``mode="supervised"``, ``estimator`` is a classifier trained directly on each
    subset of raw ECGs (e.g. :class:`~sklearn_ecg.supervised.SupervisedECGClassifier`
    or a raw-signal pipeline): the baselines of the same curve.

    Subsets depend only on ``random_state``, the budget and the repeat, so every
    method scored with the same pool and seed sees exactly the same labelled ECGs.

    Parameters
    ----------
    estimator : transformer, classifier or None
        ``mode="embedding"``: a transformer (fitted with ``prefit=True``);
        ignored with ``precomputed=True``. ``mode="supervised"``: a classifier.
    X : array-like of shape (n, n_leads, n_samples), or (n, dim) if ``precomputed``
        The labelled pool (and, without ``X_test``, the test set too).
    y : array-like of shape (n,) or (n, n_labels)
        Classes, or a 0/1 multi-label matrix (PTB-XL tasks).
    n_labels : list of int or "all", default=(25, 50, 100, 200, "all")
        Label budgets; ``"all"`` (or None, or a budget above the pool size) uses
        the whole pool. The ``n_labels`` column holds the size actually used.
    n_repeats : int, default=5
        Subsets drawn per budget (a new probe/classifier seed for each).
    scoring : str or callable, default="roc_auc_macro"
        ``"roc_auc_macro"``: macro one-vs-rest ROC AUC over classes/labels with
        both outcomes in the test set (:func:`macro_roc_auc`), from
        ``predict_proba`` (or ``decision_function``); any other scikit-learn
        scorer name (``"accuracy"``, ``"balanced_accuracy"``...) or a callable
        ``scorer(model, X_test, y_test)``.
    mode : {"embedding", "supervised"}, default="embedding"
    probe : classifier, default=StandardScaler + LogisticRegression(C=1)
        Fitted on embeddings; wrapped in ``OneVsRestClassifier`` for multi-label y.
    X_test, y_test : array-like, optional
        A fixed test set. Without them, ``test_size`` of ``X`` is held out
        (grouped by ``groups`` if given, else stratified).
    test_size : float, default=0.25
    groups : array-like of shape (n,), optional
        E.g. patient ids, so that no patient is in both pool and test set.
    X_pretrain : array-like, optional
        Unlabelled ECGs to fit the embedding on (default: the pool ``X``).
    pretrain_params : dict, optional
        Extra ``fit`` arguments of the embedding (e.g. ``{"groups": patient_ids}``
        for PCLR), matching ``X_pretrain`` (or the pool).
    prefit : bool, default=False
        Use an already fitted ``estimator`` as is.
    precomputed : bool, default=False
        ``X`` and ``X_test`` are embeddings already.
    method : str, optional
        Name in the ``method`` column (default: the estimator's class name).
    random_state : int, default=0
    verbose : int, default=0
        Print one line per budget.

    Returns
    -------
    results : pandas.DataFrame
        One row per fit: ``method``, ``budget`` (as requested), ``n_labels``
        (ECGs used), ``repeat``, ``score``, ``fit_time`` (s). ``results.attrs``
        holds ``pretrain_time``, ``n_pretrain``, ``transform_time`` and
        ``n_transformed`` (embedding mode).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.evaluation import label_efficiency_curve
    >>> rng = np.random.default_rng(0)
    >>> Z, y = rng.normal(size=(200, 4)), np.arange(200) % 2
    >>> Z[:, 0] += 2 * y
    >>> df = label_efficiency_curve(None, Z, y, n_labels=[10, "all"], n_repeats=3,
    ...                             precomputed=True, method="toy")
    >>> df.groupby("n_labels")["score"].mean().round(2).to_dict()  # 50 of 200 held out
    {10: 0.86, 150: 0.91}
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}.")
    if mode == "supervised" and (precomputed or prefit or X_pretrain is not None or pretrain_params):
        raise ValueError("precomputed, prefit, X_pretrain and pretrain_params apply to mode='embedding' "
                         "only; in mode='supervised' the classifier is trained on each subset.")
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, (int, np.integer)) or n_repeats < 1:
        raise ValueError(f"n_repeats must be a positive integer, got {n_repeats!r}.")
    budgets = _budgets(n_labels)
    if (X_test is None) != (y_test is None):
        raise ValueError("Pass both X_test and y_test, or neither.")
    seed = 0 if random_state is None else _as_seed(random_state)
    y = _check_targets(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}.")
    if X_test is None:
        pool, test = _split(y, None if groups is None else np.asarray(groups), test_size, seed)
        X, X_test, y, y_test = _take(X, pool), _take(X, test), y[np.sort(pool)], y[np.sort(test)]
    else:
        y_test = _check_targets(y_test, "y_test")
        if len(X_test) != len(y_test):
            raise ValueError(f"X_test has {len(X_test)} rows but y_test has {len(y_test)}.")
        if y_test.ndim != y.ndim:
            raise ValueError(f"y is {y.ndim}-D but y_test is {y_test.ndim}-D.")
    multilabel = y.ndim == 2
    classes = None if multilabel else np.unique(np.concatenate([y, y_test]))
    scorer = _make_scorer(scoring, classes)
    name = method or (type(estimator).__name__ if estimator is not None else "precomputed")

    attrs: dict[str, Any] = {}
    if mode == "embedding":
        if precomputed:
            features, features_test = np.asarray(X), np.asarray(X_test)
            if features.ndim != 2 or features_test.ndim != 2:
                raise ValueError(f"precomputed=True expects 2-D embeddings, got X of shape "
                                 f"{features.shape} and X_test of shape {features_test.shape}.")
        else:
            embedder = estimator if prefit else clone(estimator)
            if not prefit:
                source = X if X_pretrain is None else X_pretrain
                start = time.perf_counter()
                embedder.fit(source, **dict(pretrain_params or {}))
                attrs.update(pretrain_time=time.perf_counter() - start, n_pretrain=len(source))
            start = time.perf_counter()
            features, features_test = embedder.transform(X), embedder.transform(X_test)
            attrs.update(transform_time=time.perf_counter() - start,
                         n_transformed=len(features) + len(features_test))
        base = default_probe() if probe is None else probe
        base = OneVsRestClassifier(base) if multilabel else base
    else:
        if estimator is None:
            raise ValueError("mode='supervised' needs a classifier as estimator.")
        features, features_test, base = X, X_test, estimator

    rows = []
    for budget in budgets:
        size = len(y) if budget == "all" else min(budget, len(y))
        for repeat in range(n_repeats):
            rng = np.random.default_rng([seed, size, repeat])
            subset = stratified_subset(y, size, rng)
            model = _with_seed(clone(base), int(rng.integers(np.iinfo(np.int32).max)))
            start = time.perf_counter()
            with warnings.catch_warnings():
                # Tiny budgets: constant labels in OneVsRest, probes not fully converged.
                warnings.filterwarnings("ignore", message=".*(not present|Label .* is present|"
                                        "iterations|converge).*")
                model.fit(_take(features, subset), y[subset])
            fit_time = time.perf_counter() - start
            rows.append({"method": name, "budget": budget, "n_labels": len(subset), "repeat": repeat,
                         "score": float(scorer(model, features_test, y_test)), "fit_time": fit_time})
        if verbose:
            scores = [r["score"] for r in rows if r["budget"] == budget]
            spread = np.nanstd(scores, ddof=1) if len(scores) > 1 else 0.0
            print(f"{name}: {size} labels -> {np.nanmean(scores):.3f} +/- {spread:.3f}", flush=True)
    results = pd.DataFrame(rows)
    results.attrs.update(attrs)
    return results


# -- PTB-XL linear evaluation ----------------------------------------------------------------------
def linear_evaluation(
    estimator: Any,
    data: str | os.PathLike | Mapping,
    *,
    task: str = "superdiagnostic",
    sampling_rate: int = 100,
    train_folds: Sequence[int] = tuple(range(1, 9)),
    val_folds: Sequence[int] = (9,),
    test_folds: Sequence[int] = (10,),
    Cs: Sequence[float] = (0.001, 0.01, 0.1, 1.0, 10.0),
    prefit: bool = False,
    X_pretrain: Any = None,
    pretrain_params: Mapping[str, Any] | None = None,
    drop_empty: bool = True,
) -> dict[str, Any]:
    """Linear evaluation on PTB-XL's recommended folds, reported as macro ROC AUC.

    The protocol of the PTB-XL benchmark (Strodthoff et al. 2021) and of the
    self-supervised papers built on it (Mehari & Strodthoff 2022): folds 1-8
    train, fold 9 validation, fold 10 test, the task's multi-label targets, ECGs
    without a label of the task left out, macro ROC AUC. The representation is
    frozen; a linear probe (StandardScaler + one-vs-rest LogisticRegression) is
    trained on the train folds, its ``C`` chosen from ``Cs`` on the validation
    folds, and scored on the test folds. Window-based methods already average
    their windows inside ``transform``, so every embedding is one record.

    Departure from the papers: they train a linear layer with Adam for 50
    epochs; a regularised logistic regression is the same model class, fitted
    to convergence, with the regularisation chosen on fold 9.

    Parameters
    ----------
    estimator : transformer
        An embedder; fitted on ``X_pretrain`` (default: the train folds' ECGs,
        labels unused) unless ``prefit=True``.
    data : path or Bunch
        The PTB-XL folder (read with :func:`~sklearn_ecg.datasets.load_ptbxl`)
        or a Bunch from it (``X``, ``y``, ``target_names``, ``metadata`` with
        ``strat_fold``).
    task : str, default="superdiagnostic"
        Any task of ``load_ptbxl`` ("all", "diagnostic", "subdiagnostic",
        "superdiagnostic", "form", "rhythm"); ignored when ``data`` is a Bunch.
    sampling_rate : {100, 500}, default=100
        Ignored when ``data`` is a Bunch.
    train_folds, val_folds, test_folds : lists of int
        Folds absent from the data are ignored (e.g. on a subset); an empty
        train or test set is an error; without validation ECGs, ``C=1``.
    Cs : list of float
        Inverse regularisation strengths tried on the validation folds.
    prefit : bool, default=False
    X_pretrain : array-like, optional
    pretrain_params : dict, optional
        Extra ``fit`` arguments for the embedder (e.g. ``groups``).
    drop_empty : bool, default=True
        Leave out ECGs with no label of the task (as the benchmark does).

    Returns
    -------
    result : dict
        ``test_macro_auc``, ``val_macro_auc`` (of the chosen C, or None),
        ``C``, ``per_class_auc`` ({class: test AUC}), ``n_train``, ``n_val``,
        ``n_test``, ``task`` and ``pretrain_time`` (s, or None).

    Examples
    --------
    >>> from sklearn_ecg import PCLRTransformer
    >>> from sklearn_ecg.evaluation import linear_evaluation
    >>> result = linear_evaluation(PCLRTransformer(), "ptbxl", task="all")  # doctest: +SKIP
    >>> round(result["test_macro_auc"], 3)  # doctest: +SKIP
    """
    if isinstance(data, Mapping):
        bunch = data
    else:
        from .datasets import load_ptbxl

        bunch = load_ptbxl(data, task=task, sampling_rate=sampling_rate, drop_empty=drop_empty)
    X, Y = bunch["X"], np.asarray(bunch["y"])
    folds = np.asarray(bunch["metadata"]["strat_fold"])
    keep = Y.sum(1) > 0 if drop_empty else np.ones(len(Y), dtype=bool)
    fold_lists = {"train": list(train_folds), "val": list(val_folds), "test": list(test_folds)}
    parts = {name: np.flatnonzero(np.isin(folds, f) & keep) for name, f in fold_lists.items()}
    for name in ("train", "test"):
        if not len(parts[name]):
            raise ValueError(f"No labelled ECG in the {name} folds {fold_lists[name]} (folds present: "
                             f"{sorted(set(folds[~pd.isna(folds)].astype(int).tolist()))}).")
    pretrain_time = None
    if not prefit:
        estimator = clone(estimator)
        source = X[parts["train"]] if X_pretrain is None else X_pretrain
        start = time.perf_counter()
        estimator.fit(source, **dict(pretrain_params or {}))
        pretrain_time = time.perf_counter() - start
    Z = {name: estimator.transform(X[rows]) for name, rows in parts.items() if len(rows)}
    Y_parts = {name: Y[rows] for name, rows in parts.items()}

    def fit_probe(C):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*(not present|Label .* is present|converge).*")
            return OneVsRestClassifier(default_probe(C)).fit(Z["train"], Y_parts["train"])

    best_C, val_auc = 1.0, None
    if "val" in Z:
        val_scores = {C: macro_roc_auc(Y_parts["val"], fit_probe(C).predict_proba(Z["val"])) for C in Cs}
        best_C = max(val_scores, key=lambda C: -np.inf if np.isnan(val_scores[C]) else val_scores[C])
        val_auc = val_scores[best_C]
    probe = fit_probe(best_C)
    scores = probe.predict_proba(Z["test"])
    names = [str(n) for n in bunch["target_names"]]
    per_class = {name: (float(roc_auc_score(Y_parts["test"][:, j], scores[:, j]))
                        if 0 < Y_parts["test"][:, j].sum() < len(scores) else None)
                 for j, name in enumerate(names)}
    return {
        "task": bunch.get("task", task),
        "test_macro_auc": macro_roc_auc(Y_parts["test"], scores),
        "val_macro_auc": val_auc,
        "C": best_C,
        "per_class_auc": per_class,
        "n_train": len(parts["train"]),
        "n_val": len(parts["val"]),
        "n_test": len(parts["test"]),
        "pretrain_time": pretrain_time,
    }
