"""A logistic-regression probe whose regularisation is chosen on its own few training labels."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

DEFAULT_CS = tuple(float(C) for C in np.logspace(-4, 1, 11))


class PooledCVLogisticRegression(ClassifierMixin, BaseEstimator):
    """Binary logistic regression whose C is chosen by cross-validation on its training labels.

    Each C of ``Cs`` is scored by the ROC AUC of the out-of-fold decision values pooled over
    ``cv`` stratified folds; the best C (the smallest among ties) is refitted on all the labels.
    The scores are pooled rather than averaged over folds because with a few dozen labelled
    ECGs most folds hold no positive of a rare class, where a per-fold AUC (and so
    :class:`~sklearn.linear_model.LogisticRegressionCV` with ``scoring="roc_auc"``) is
    undefined. With fewer than 2 positives or negatives there is nothing to cross-validate and
    ``fallback_C`` is used.

    The solver is liblinear's dual coordinate descent: the same L2-regularised logistic
    regression as lbfgs (bar the intercept's penalty), and several times faster where features
    outnumber labelled ECGs, as in label-efficiency curves. For multi-label targets (PTB-XL's
    superclasses) wrap it in :class:`~sklearn.multiclass.OneVsRestClassifier`, so each class gets
    its own C; :func:`cv_probe` adds the scaler.

    Parameters
    ----------
    Cs : sequence of float, default=11 values from 1e-4 to 10, evenly spaced in log
        Inverse regularisation strengths tried.
    cv : int, default=5
        Stratified folds (fewer where the rarer class has fewer members).
    fallback_C : float, default=1.0
        C used when the labels cannot be cross-validated.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds' shuffling and liblinear's coordinate order.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    C_ : float
        The chosen C.
    cv_scores_ : dict of float to float
        Pooled out-of-fold ROC AUC of each C (empty when ``fallback_C`` was used).
    model_ : LogisticRegression
        The model refitted with ``C_`` on all the labels.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.evaluation import PooledCVLogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.zeros(30), np.ones(10)].astype(int)
    >>> X = rng.normal(size=(40, 50)) + 1.5 * y[:, None] * (np.arange(50) < 5)
    >>> probe = PooledCVLogisticRegression(Cs=(1e-3, 1e-1, 10.0), random_state=0).fit(X, y)
    >>> probe.C_ in (1e-3, 1e-1, 10.0), probe.predict_proba(X).shape
    (True, (40, 2))
    """

    _parameter_constraints: dict = {
        "Cs": ["array-like"],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "fallback_C": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, Cs: tuple[float, ...] = DEFAULT_CS, cv: int = 5, fallback_C: float = 1.0,
                 random_state: int | np.random.RandomState | None = None):
        self.Cs = Cs
        self.cv = cv
        self.fallback_C = fallback_C
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _model(self, C: float, seed: int) -> LogisticRegression:
        return LogisticRegression(C=C, solver="liblinear", dual=True, max_iter=1000, random_state=seed)

    def fit(self, X: Any, y: Any) -> PooledCVLogisticRegression:
        """Choose C on ``(X, y)`` by cross-validation, then fit it on all of them."""
        self._validate_params()
        Cs = np.asarray(self.Cs, dtype=float).ravel()
        if Cs.size == 0 or not np.all(Cs > 0):
            raise ValueError(f"Cs must be positive values, got {self.Cs!r}.")
        X, y = validate_data(self, X, y)
        target_type = type_of_target(y, input_name="y", raise_unknown=True)
        if target_type != "binary":
            raise ValueError(f"Only binary classification is supported. The type of the target is "
                             f"{target_type}: wrap PooledCVLogisticRegression in OneVsRestClassifier.")
        self.classes_, counts = np.unique(y, return_counts=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y has one class ({self.classes_[0]!r}); a probe needs both outcomes.")
        # One seed for the folds and liblinear's coordinate order, drawn once: an int random_state
        # gives the same folds as StratifiedKFold(random_state=random_state).
        seed = self.random_state if isinstance(self.random_state, Integral) else int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        n_splits = min(self.cv, int(counts.min()))
        self.cv_scores_ = {}
        if n_splits >= 2:
            folds = list(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(X, y))
            for C in sorted(Cs):
                scores = np.empty(len(y))
                for train, valid in folds:
                    model = self._model(C, seed).fit(X[train], y[train])
                    scores[valid] = model.decision_function(X[valid])
                self.cv_scores_[float(C)] = float(roc_auc_score(y, scores))
            self.C_ = max(self.cv_scores_, key=lambda C: (self.cv_scores_[C], -C))
        else:
            self.C_ = float(self.fallback_C)
        self.model_ = self._model(self.C_, seed).fit(X, y)
        return self

    def _checked(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return validate_data(self, X, reset=False)

    def decision_function(self, X: Any) -> np.ndarray:
        X = self._checked(X)
        return self.model_.decision_function(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        X = self._checked(X)
        return self.model_.predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        X = self._checked(X)
        return self.model_.predict(X)
