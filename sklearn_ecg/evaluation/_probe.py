"""What the protocols share: the default linear probe (and one that cross-validates its C), probe
fits and scores without the warnings of tiny label budgets, and the timed pretraining of the
representation."""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ._cv_probe import PooledCVLogisticRegression

# Tiny budgets: labels constant in a subset (OneVsRest), probes not fully converged, a small test
# set without some class a probe predicts (scikit-learn's balanced accuracy says so at every score).
_TINY_BUDGET_WARNINGS = ".*(not present|Label .* is present|iterations|converge|y_pred contains classes).*"


def default_probe(C: float = 1.0) -> Any:
    """The linear probe used unless another is given: StandardScaler + LogisticRegression."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))


def cv_probe(**params: Any) -> Any:
    """StandardScaler + :class:`PooledCVLogisticRegression` (``params``): a linear probe whose C
    is chosen by cross-validation on its own training labels, for few labels.

    Pass it as ``probe=`` to :func:`label_efficiency_curve`, which wraps it in
    ``OneVsRestClassifier`` for multi-label targets (a C per class). On the shared PTB-XL protocol
    it raised every representation's macro AUC over the fixed C=1 at 50-200 labels (see
    ``benchmarks/probe_cv.py``).

    Examples
    --------
    >>> from sklearn_ecg.evaluation import cv_probe
    >>> cv_probe(random_state=0).steps[-1][1]
    PooledCVLogisticRegression(random_state=0)
    """
    return make_pipeline(StandardScaler(), PooledCVLogisticRegression(**params))


@contextlib.contextmanager
def _quiet_tiny_budgets() -> Iterator[None]:
    """The block without the warnings that tiny label budgets always raise."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_TINY_BUDGET_WARNINGS)
        yield


def _fit_quietly(model: Any, X: Any, y: Any) -> Any:
    """``model.fit(X, y)`` without the warnings that tiny label budgets always raise."""
    with _quiet_tiny_budgets():
        return model.fit(X, y)


def _pretrain(estimator: Any, X: Any, pretrain_params: Mapping[str, Any] | None) -> tuple[Any, float]:
    """A clone of ``estimator`` fitted on ``X`` (labels unused), and the seconds it took."""
    fitted = clone(estimator)
    start = time.perf_counter()
    fitted.fit(X, **dict(pretrain_params or {}))
    return fitted, time.perf_counter() - start
