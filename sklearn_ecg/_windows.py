"""The one grid of sliding windows (numpy only), shared by every method and by preprocessing.

Mehari & Strodthoff (2022) evaluate a record by cutting it into 250-sample windows with
stride 125 and averaging the window outputs; the torch side is :mod:`sklearn_ecg.nn.windows`.
"""

from __future__ import annotations

import numpy as np


def window_starts(n_samples: int, window: int, stride: int, cover_end: bool = True) -> np.ndarray:
    """First sample of each sliding window of ``window`` samples, ``stride`` apart: the one grid
    of windows of :func:`sliding_windows` and of every method's own windowing.

    With ``cover_end``, a last window ending at the last sample is added when the grid leaves
    samples out, so every sample is seen.

    Examples
    --------
    >>> window_starts(1100, 250, 125).tolist()
    [0, 125, 250, 375, 500, 625, 750, 850]
    """
    if n_samples < window:
        raise ValueError(f"Records of {n_samples} samples are shorter than the window ({window}).")
    starts = np.arange(0, n_samples - window + 1, stride)
    if cover_end and starts[-1] != n_samples - window:
        starts = np.append(starts, n_samples - window)
    return starts


def n_sliding_windows(n_samples: int, window: int, stride: int, cover_end: bool = True) -> int:
    """Number of windows :func:`window_starts` gives from ``n_samples`` samples."""
    return len(window_starts(n_samples, window, stride, cover_end))
