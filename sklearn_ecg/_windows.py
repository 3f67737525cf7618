"""Windows of records: random crops for training, sliding windows averaged at transform time.

Mehari & Strodthoff (2022) pretrain on random crops of each record and evaluate a
record by cutting it into 250-sample windows with stride 125 and averaging the
window outputs; these helpers do both for any method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ._net import ECGDataset


def window_starts(n_samples: int, window: int, stride: int, cover_end: bool = True) -> np.ndarray:
    """First sample of each sliding window: the one grid of windows of every method and of
    :func:`sklearn_ecg.preprocessing.sliding_windows`."""
    if n_samples < window:
        raise ValueError(f"Records of {n_samples} samples are shorter than the window ({window}).")
    starts = np.arange(0, n_samples - window + 1, stride)
    if cover_end and starts[-1] != n_samples - window:
        starts = np.append(starts, n_samples - window)
    return starts


def n_sliding_windows(n_samples: int, window: int, stride: int, cover_end: bool = True) -> int:
    """Number of windows :func:`sliding_windows` cuts from ``n_samples`` samples."""
    return len(window_starts(n_samples, window, stride, cover_end))


def sliding_windows(x: torch.Tensor, window: int, stride: int, cover_end: bool = True
                    ) -> tuple[torch.Tensor, int]:
    """Cut every record into windows of ``window`` samples, ``stride`` apart.

    Parameters
    ----------
    x : tensor of shape (n, leads, samples)
    window, stride : int
        Window length and step, in samples.
    cover_end : bool, default=True
        When the grid of windows leaves the last samples out, add one window
        ending at the last sample (so every sample is seen).

    Returns
    -------
    windows : tensor of shape (n * n_windows, leads, window)
        The windows of record 0, then those of record 1, ...
    n_windows : int
        Windows per record.

    Examples
    --------
    >>> import torch
    >>> windows, n_windows = sliding_windows(torch.zeros(2, 12, 1000), 250, 125)
    >>> windows.shape, n_windows
    (torch.Size([14, 12, 250]), 7)
    """
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be positive, got {window} and {stride}.")
    n, leads, n_samples = x.shape
    n_windows = n_sliding_windows(n_samples, window, stride, cover_end)
    windows = x.unfold(-1, window, stride)  # (n, leads, grid windows, window)
    if windows.shape[2] < n_windows:
        windows = torch.cat([windows, x[..., None, n_samples - window:]], dim=2)
    return windows.permute(0, 2, 1, 3).reshape(n * n_windows, leads, window), n_windows


def average_windows(values: torch.Tensor, n_windows: int) -> torch.Tensor:
    """Average per record the rows of ``values`` (n * n_windows, ...) made by :func:`sliding_windows`."""
    if values.shape[0] % n_windows:
        raise ValueError(f"{values.shape[0]} rows cannot be {n_windows} windows per record.")
    return values.reshape(values.shape[0] // n_windows, n_windows, *values.shape[1:]).mean(1)


def embed_in_windows(embed: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                     window: int | None, stride: int | None, chunk_size: int | None = None) -> torch.Tensor:
    """Embed each window of each record with ``embed`` and average the window vectors.

    With ``window=None`` (or records no longer than one window) ``embed`` sees
    whole records. ``chunk_size`` caps the windows per ``embed`` call (memory).
    """
    if window is None or x.shape[-1] == window:
        windows, n_windows = x, 1
    else:
        windows, n_windows = sliding_windows(x, window, stride or window)
    step = chunk_size or len(windows)
    embedded = torch.cat([embed(windows[i:i + step]) for i in range(0, len(windows), step)])
    return average_windows(embedded, n_windows)


class RandomCropDataset(ECGDataset):
    """One ECG per item, cut to a random stretch of ``length`` samples, drawn afresh each time.

    Draws from the global torch RNG (which the estimators seed), so an epoch's crops
    are reproducible. ``length=None`` returns whole records.
    """

    def __init__(self, X: Any, length: int | None, indices: np.ndarray | None = None, name: str = "X"):
        super().__init__(X, indices=indices, name=name)
        n_samples = X.shape[-1]
        if length is not None and n_samples < length:
            raise ValueError(
                f"{name} has records of {n_samples} samples but training crops are {length} samples; "
                f"pass longer records or lower the crop length."
            )
        self.length = length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        ecg, target = super().__getitem__(i)
        if self.length is None or ecg.shape[-1] == self.length:
            return ecg, target
        start = int(torch.randint(0, ecg.shape[-1] - self.length + 1, ()))
        return ecg[:, start:start + self.length], target
