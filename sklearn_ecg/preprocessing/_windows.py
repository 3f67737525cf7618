"""Sliding windows of ECG arrays, on the one grid of window starts (``sklearn_ecg._windows``) that
the methods' own windowing (``sklearn_ecg.nn.windows``) uses too."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._validation import check_ecg_array, check_positive_int
from .._windows import window_starts
from ._base import _batches, _ECGTransformer


def sliding_windows(
    X: Any, window: int, stride: int | None = None, cover_end: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Cut every ECG into windows of ``window`` samples, ``stride`` samples apart.

    Parameters
    ----------
    X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
    window : int
        Window length in samples.
    stride : int, optional
        Step between window starts; ``window`` (no overlap) by default.
    cover_end : bool, default=True
        When the grid of windows leaves the last samples out, add a window ending at the last
        sample, so every sample is in some window (the methods' own windowing does the same).

    Returns
    -------
    windows : ndarray of shape (n_ecgs * n_windows, n_leads, window), float32
        The windows of ECG 0 in time order, then those of ECG 1, ...
    record_index : ndarray of shape (n_ecgs * n_windows,)
        The ECG each window comes from: ``y[record_index]`` gives per-window targets and
        ``np.bincount(record_index, weights)`` or a groupby averages window outputs per ECG.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import sliding_windows
    >>> windows, record = sliding_windows(np.zeros((2, 12, 1000)), window=250, stride=125)
    >>> windows.shape, record.tolist()
    ((14, 12, 250), [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    """
    window = check_positive_int(window, "window")
    stride = window if stride is None else check_positive_int(stride, "stride")
    X = check_ecg_array(X, min_samples=window)
    starts = window_starts(X.shape[2], window, stride, cover_end)
    windows = np.empty((X.shape[0], len(starts), X.shape[1], window), dtype=np.float32)
    for first, batch in _batches(X):
        for k, s in enumerate(starts):
            windows[first:first + len(batch), k] = batch[:, :, s:s + window]
    record_index = np.repeat(np.arange(X.shape[0]), len(starts))
    return windows.reshape(-1, X.shape[1], window), record_index


class Windowing(_ECGTransformer):
    """Cut every ECG into (possibly overlapping) windows: (n_ecgs * n_windows, leads, window).

    The windows of ECG 0 come first, in time order, then those of ECG 1, and so on;
    :meth:`record_index` gives the ECG of each output row, so per-window targets are
    ``y[windowing.record_index(X)]`` and window predictions average back per ECG with
    ``np.bincount``/``pandas.groupby`` on it. This is how Mehari & Strodthoff evaluate on
    PTB-XL: 250-sample windows, stride 125, predictions averaged per record.

    ``transform`` returns more rows than it receives, so this transformer cannot precede a
    supervised step in a :class:`~sklearn.pipeline.Pipeline` (the targets would not be
    repeated along with the rows); use it on its own, or before unsupervised steps, or use a
    method's own ``window`` parameter where it has one.

    Parameters
    ----------
    window : int, default=250
        Window length in samples.
    stride : int, optional
        Step between window starts; ``window`` (no overlap) by default.
    cover_end : bool, default=True
        Add a last window ending at the last sample when the grid leaves samples out.

    Attributes
    ----------
    n_windows_ : int
        Windows per ECG for ECGs of ``n_samples_in_`` samples.
    n_leads_in_, n_samples_in_ : int
        Shape of the ECGs seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import Windowing
    >>> X = np.zeros((3, 12, 1000), dtype="float32")
    >>> windowing = Windowing(window=250, stride=125).fit(X)
    >>> windowing.transform(X).shape, windowing.n_windows_
    ((21, 12, 250), 7)
    >>> windowing.record_index(X)[:8].tolist()
    [0, 0, 0, 0, 0, 0, 0, 1]
    """

    def __init__(self, window: int = 250, stride: int | None = None, cover_end: bool = True) -> None:
        self.window = window
        self.stride = stride
        self.cover_end = cover_end

    def _check_params(self) -> None:
        check_positive_int(self.window, "window")
        check_positive_int(self.stride, "stride", allow_none=True)

    def _min_samples(self) -> int:
        return check_positive_int(self.window, "window")

    def _starts(self, n_samples: int) -> np.ndarray:
        stride = self.window if self.stride is None else self.stride
        return window_starts(n_samples, int(self.window), int(stride), bool(self.cover_end))

    def fit(self, X: Any, y: Any = None) -> Windowing:
        """Check the parameters and count the windows per ECG.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
        y : ignored

        Returns
        -------
        self
        """
        self._validate(X, reset=True)
        self.n_windows_ = len(self._starts(self.n_samples_in_))
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Cut the ECGs into windows.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)

        Returns
        -------
        windows : ndarray of shape (n_ecgs * n_windows, n_leads, window), float32
        """
        X = self._validate(X, reset=False)
        windows, _ = sliding_windows(X, self.window, self.stride, self.cover_end)
        return windows

    def record_index(self, X: Any) -> np.ndarray:
        """The ECG (row of ``X``) of each window that :meth:`transform` returns for ``X``.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)

        Returns
        -------
        record_index : ndarray of shape (n_ecgs * n_windows,)
        """
        check_is_fitted(self, "n_windows_")
        shape = X.shape if hasattr(X, "shape") else np.shape(X)
        if len(shape) not in (2, 3):
            raise ValueError(f"X must be 2-D or 3-D, got shape {tuple(shape)}.")
        return np.repeat(np.arange(shape[0]), len(self._starts(shape[-1])))
