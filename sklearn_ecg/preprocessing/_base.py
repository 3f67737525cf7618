"""What every transformer of this package shares: batch-wise reading and the fit/transform checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import check_batch, check_ecg_array, is_lazy

# ECGs read at a time from lazy array-likes.
_BATCH = 256


def _batches(X: Any, name: str = "X") -> Iterator[tuple[int, np.ndarray]]:
    """Yield (start, float32 batch) over a checked array or lazy array-like, a few ECGs at a time.

    In-memory arrays are sliced too (views), which bounds the float64 temporaries of filters.
    """
    for start in range(0, X.shape[0], _BATCH):
        if is_lazy(X):
            yield start, check_batch(np.asarray(X[start:start + _BATCH]), name=name, offset=start)
        else:
            yield start, X[start:start + _BATCH]


class _ECGTransformer(TransformerMixin, BaseEstimator):
    """Input checks shared by the transformers: ``fit`` records the shape, ``transform`` checks it."""

    def _min_samples(self) -> int:
        return 1

    def set_output(self, *, transform: str | None = None) -> _ECGTransformer:
        """Accept scikit-learn's output configuration and leave the output as it is.

        ECGs are 3-D arrays, which no table can hold, so they stay numpy arrays; accepting
        the call lets ``make_pipeline(BandpassFilter(fs=100), PCLRTransformer())
        .set_output(transform="pandas")`` configure the steps that return tables.
        """
        if transform not in (None, "default", "pandas", "polars"):
            raise ValueError(f"transform must be 'default', 'pandas', 'polars' or None, got {transform!r}.")
        return self

    def _check_params(self) -> None:
        """Raise ValueError for invalid parameters (called by ``fit``)."""

    def _validate(self, X: Any, reset: bool) -> Any:
        if reset:
            self._check_params()
            X = check_ecg_array(X, min_samples=self._min_samples())
            self.n_leads_in_ = int(X.shape[1])
            self.n_samples_in_ = int(X.shape[2])
            return X
        check_is_fitted(self, "n_leads_in_")
        X = check_ecg_array(X, min_samples=self._min_samples())
        if X.shape[1] != self.n_leads_in_:
            raise ValueError(
                f"X has {X.shape[1]} leads but {type(self).__name__} was fitted on "
                f"{self.n_leads_in_} leads."
            )
        return X

    def fit(self, X: Any, y: Any = None) -> _ECGTransformer:
        """Check the parameters and record the input shape.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
            ECGs; a 2-D array is one lead.
        y : ignored

        Returns
        -------
        self
        """
        self._validate(X, reset=True)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Transform ECGs of shape (n_ecgs, n_leads, n_samples), batch by batch.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
            ECGs with as many leads as in ``fit``; a 2-D array is one lead.

        Returns
        -------
        X_new : ndarray of shape (n_ecgs, n_leads_out, n_samples_out), float32
        """
        X = self._validate(X, reset=False)
        return self._map_batches(X, self._transform_batch)

    @staticmethod
    def _map_batches(X: Any, function: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Apply ``function`` to every batch of ``X`` and join the results."""
        parts = [function(batch) for _, batch in _batches(X)]
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def _transform_batch(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
