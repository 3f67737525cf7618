"""Windows of records in torch: sliding windows embedded one by one and averaged per record.

Mehari & Strodthoff (2022) evaluate a record by cutting it into 250-sample windows with
stride 125 and averaging the window outputs; these helpers do it for any encoder.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._windows import n_sliding_windows


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
