"""Scores of the protocols: per-class and macro ROC AUC, and the scorers of the label-efficiency curve."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import get_scorer, roc_auc_score


def per_class_roc_auc(y_true: Any, scores: Any) -> np.ndarray:
    """One-vs-rest ROC AUC of each class (column); NaN for a class without both outcomes.

    The AUC is computed from ranks (Mann-Whitney U, tied scores at their average rank), which
    is the value :func:`sklearn.metrics.roc_auc_score` gives, for all classes at once: fast
    enough for thousands of bootstrap resamples.

    Parameters
    ----------
    y_true : array-like of shape (n,) or (n, n_classes)
        Classes ``0..n_classes-1``, or a 0/1 multi-label matrix.
    scores : array-like of shape (n, n_classes)
        A score per class (probability, decision function...), higher for more likely.

    Returns
    -------
    aucs : ndarray of shape (n_classes,)
        NaN for the classes whose column of ``y_true`` is constant (absent from the split, or
        present in every row): they have no AUC.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.evaluation import per_class_roc_auc
    >>> Y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    >>> scores = np.array([[0.9, 0.2, 0.1], [0.3, 0.8, 0.2], [0.6, 0.4, 0.3], [0.2, 0.5, 0.4]])
    >>> per_class_roc_auc(Y, scores).tolist()
    [1.0, 0.75, nan]
    """
    y_true, scores = _check_auc_inputs(y_true, scores)
    positive = y_true.astype(bool)
    n_pos = positive.sum(0)
    n_neg = len(positive) - n_pos
    ranks = rankdata(scores, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        aucs = ((ranks * positive).sum(0) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), aucs, np.nan)


def macro_roc_auc(y_true: Any, scores: Any) -> float:
    """Mean one-vs-rest ROC AUC over the classes (columns) that have both outcomes in ``y_true``.

    ``y_true`` is 1-D classes ``0..k-1`` (``scores`` of shape (n, k), or (n,) for
    two classes) or a 0/1 matrix (``scores`` of the same shape). Classes whose
    column of ``y_true`` is constant have no AUC and are left out with a warning
    (PTB-XL's benchmark does the same); NaN if none is left. The per-class values are
    :func:`per_class_roc_auc`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.evaluation import macro_roc_auc
    >>> round(macro_roc_auc([0, 1, 2, 1], np.eye(3)[[0, 1, 2, 0]]), 3)  # AUCs 0.833, 0.75, 1
    0.861
    """
    y_true = np.asarray(y_true)
    if y_true.ndim == 1 and np.ndim(scores) == 1:
        scores = np.asarray(scores, dtype=float)
        return float(roc_auc_score(y_true, scores)) if len(np.unique(y_true)) == 2 else np.nan
    aucs = per_class_roc_auc(y_true, scores)
    n_left_out = int(np.isnan(aucs).sum())
    if n_left_out:
        warnings.warn(f"{n_left_out} classes have no positive (or no negative) "
                      "example in the test set and are left out of the macro ROC AUC.",
                      UserWarning, stacklevel=2)
    return np.nan if n_left_out == len(aucs) else float(np.nanmean(aucs))


def _check_auc_inputs(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """``y_true`` as a 0/1 matrix of the shape of ``scores`` (n, n_classes), and finite scores."""
    y_true, scores = np.asarray(y_true), np.asarray(scores, dtype=float)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (n, n_classes), got shape {scores.shape}.")
    if y_true.ndim == 1:
        if not np.isin(y_true, np.arange(scores.shape[1])).all():
            raise ValueError(f"1-D y_true must hold classes 0..{scores.shape[1] - 1} (one per column "
                             f"of scores), got values {np.unique(y_true)[:10].tolist()}.")
        y_true = y_true[:, None] == np.arange(scores.shape[1])[None, :]
    if y_true.shape != scores.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but scores have shape {scores.shape}.")
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError(f"A 2-D y_true must be a 0/1 matrix, got values {np.unique(y_true)[:10].tolist()}.")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinity.")
    return y_true, scores


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
