"""The label-efficiency curve: a representation (or a classifier) scored against the number of
labelled ECGs, on the same stratified subsets for every method."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.multiclass import OneVsRestClassifier

from ._labels import _as_seed, _check_targets, _split, stratified_subset
from ._metrics import _make_scorer
from ._probe import _fit_quietly, _pretrain, _quiet_tiny_budgets, default_probe

_MODES = ("embedding", "supervised")


def _take(X: Any, rows: np.ndarray) -> Any:
    """The rows of an array or a list, in order."""
    return X[np.sort(rows)] if not isinstance(X, list) else [X[i] for i in np.sort(rows)]


def _with_seed(estimator: Any, seed: int) -> Any:
    """``estimator`` with every ``random_state`` parameter (nested ones too) set to ``seed``."""
    params = estimator.get_params()
    seeds = {k: seed for k in params if k == "random_state" or k.endswith("__random_state")}
    return estimator.set_params(**seeds) if seeds else estimator


def _budgets(n_labels: Sequence[int | str | None]) -> list[int | str]:
    """The label budgets: positive ints, and "all" for "all"/None."""
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


def _embed(estimator: Any, X: Any, X_test: Any, prefit: bool, X_pretrain: Any,
           pretrain_params: Mapping[str, Any] | None) -> tuple[Any, Any, dict[str, Any]]:
    """Embeddings of the pool and the test set, fitting the embedding first unless ``prefit``;
    and the timings for ``results.attrs``."""
    attrs: dict[str, Any] = {}
    embedder = estimator
    if not prefit:
        source = X if X_pretrain is None else X_pretrain
        embedder, seconds = _pretrain(estimator, source, pretrain_params)
        attrs.update(pretrain_time=seconds, n_pretrain=len(source))
    start = time.perf_counter()
    features, features_test = embedder.transform(X), embedder.transform(X_test)
    attrs.update(transform_time=time.perf_counter() - start,
                 n_transformed=len(features) + len(features_test))
    return features, features_test, attrs


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
            features, features_test, attrs = _embed(estimator, X, X_test, prefit, X_pretrain,
                                                    pretrain_params)
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
            _fit_quietly(model, _take(features, subset), y[subset])
            fit_time = time.perf_counter() - start
            with _quiet_tiny_budgets():
                score = float(scorer(model, features_test, y_test))
            rows.append({"method": name, "budget": budget, "n_labels": len(subset), "repeat": repeat,
                         "score": score, "fit_time": fit_time})
        if verbose:
            scores = [r["score"] for r in rows if r["budget"] == budget]
            spread = np.nanstd(scores, ddof=1) if len(scores) > 1 else 0.0
            print(f"{name}: {size} labels -> {np.nanmean(scores):.3f} +/- {spread:.3f}", flush=True)
    results = pd.DataFrame(rows)
    results.attrs.update(attrs)
    return results
