"""Zero-phase filters: band-pass/high-pass/low-pass Butterworth, and baseline wander removal."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import butter, sosfiltfilt

from .._validation import check_fs, check_positive_int
from ._base import _ECGTransformer
from ._resample import _interp_last_axis


def _check_rate(fs: Any, owner: str) -> float:
    """The sampling rate that ``owner`` requires, as a float."""
    if fs is None:
        raise ValueError(f"{owner} needs the sampling rate of the input: pass fs=... (Hz).")
    return check_fs(fs)


def _butter_sos(fs: float, low: float | None, high: float | None, order: int) -> np.ndarray:
    """Butterworth band-pass (both cutoffs), high-pass (``high=None``) or low-pass (``low=None``)
    filter as second-order sections, after checking the cutoffs against the Nyquist frequency."""
    nyquist = fs / 2.0
    for value, name in ((low, "low"), (high, "high")):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, Real) or not 0 < value:
            raise ValueError(f"{name} must be a positive cutoff in Hz or None, got {value!r}.")
        if value >= nyquist:
            raise ValueError(
                f"{name}={value} Hz is not below the Nyquist frequency fs/2 = {nyquist:g} Hz "
                f"(fs={fs:g} Hz); lower it"
                + (" or pass high=None for a high-pass filter." if name == "high" else ".")
            )
    if low is None and high is None:
        raise ValueError("At least one of low and high must be a cutoff frequency; both are None.")
    if low is not None and high is not None and not low < high:
        raise ValueError(f"low must be below high, got low={low} and high={high}.")
    check_positive_int(order, "order")
    if low is None:
        return butter(order, high, btype="lowpass", fs=fs, output="sos")
    if high is None:
        return butter(order, low, btype="highpass", fs=fs, output="sos")
    return butter(order, [low, high], btype="bandpass", fs=fs, output="sos")


def _filter_min_samples(sos: np.ndarray) -> int:
    """sosfiltfilt pads each end by 3 * (2 * sections + 1) samples and needs more than that."""
    return 3 * (2 * len(sos) + 1) + 1


def _zero_phase(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Filter along the last axis forwards and backwards (no phase shift), in float64."""
    padlen = _filter_min_samples(sos) - 1
    return sosfiltfilt(sos, x.astype(np.float64), axis=-1, padlen=padlen).astype(np.float32)


class BandpassFilter(_ECGTransformer):
    """Zero-phase Butterworth filter (band-pass, high-pass or low-pass) of every lead.

    The filter runs forwards and backwards (:func:`scipy.signal.sosfiltfilt`), so waves keep
    their timing; the effective order is twice ``order``.

    Parameters
    ----------
    fs : float
        Sampling rate of the input in Hz (required; ``None`` raises in ``fit``).
    low : float or None, default=0.5
        High-pass cutoff in Hz (removes baseline wander); None for a low-pass filter.
    high : float or None, default=40.0
        Low-pass cutoff in Hz (removes muscle noise and mains interference); None for a
        high-pass filter. Must be below ``fs / 2``.
    order : int, default=2
        Butterworth order of each pass.

    Attributes
    ----------
    sos_ : ndarray of shape (n_sections, 6)
        The filter, as second-order sections.
    n_leads_in_, n_samples_in_ : int
        Shape of the ECGs seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import BandpassFilter
    >>> t = np.arange(1000) / 100
    >>> X = np.sin(2 * np.pi * 0.1 * t)[None, None, :] + np.sin(2 * np.pi * 10 * t)
    >>> X_f = BandpassFilter(fs=100, low=0.5, high=40).fit_transform(X)
    >>> bool(np.abs(X_f[0, 0, 200:800] - np.sin(2 * np.pi * 10 * t[200:800])).max() < 0.1)
    True
    """

    def __init__(
        self, fs: float | None = None, low: float | None = 0.5, high: float | None = 40.0,
        order: int = 2,
    ) -> None:
        self.fs = fs
        self.low = low
        self.high = high
        self.order = order

    def _check_params(self) -> None:
        fs = _check_rate(self.fs, "BandpassFilter")
        self.sos_ = _butter_sos(fs, self.low, self.high, self.order)

    def _min_samples(self) -> int:
        return _filter_min_samples(self.sos_)

    def _transform_batch(self, x: np.ndarray) -> np.ndarray:
        return _zero_phase(self.sos_, x)


class BaselineWanderRemoval(_ECGTransformer):
    """Remove baseline wander: subtract a median-filtered baseline, or high-pass filter.

    Parameters
    ----------
    fs : float
        Sampling rate of the input in Hz (required; ``None`` raises in ``fit``).
    method : {"median", "highpass"}, default="median"
        ``"median"``: the baseline is estimated by two median filters in a row, of
        ``windows[0]`` then ``windows[1]`` seconds (the first removes QRS complexes, the
        second P and T waves), and subtracted; it follows fast baseline shifts and leaves
        ST segments alone. Above 100 Hz the medians run on every ``fs // 50``-th sample and
        the baseline is interpolated back to the full rate. ``"highpass"``: a zero-phase
        Butterworth high-pass at ``cutoff`` Hz, as :class:`BandpassFilter` with ``high=None``.
    windows : (float, float), default=(0.2, 0.6)
        Median filter lengths in seconds (``"median"``).
    cutoff : float, default=0.5
        High-pass cutoff in Hz (``"highpass"``).

    Attributes
    ----------
    step_ : int
        Subsampling step of the median filters (``"median"``).
    window_lengths_ : tuple of int
        Median filter lengths, in subsampled samples (``"median"``).
    sos_ : ndarray
        The high-pass filter as second-order sections (``"highpass"``).
    n_leads_in_, n_samples_in_ : int
        Shape of the ECGs seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import BaselineWanderRemoval
    >>> t = np.arange(2000) / 200
    >>> ecg = (np.sin(2 * np.pi * t) > 0.99).astype(float)  # spikes once a second
    >>> X = (ecg + 0.5 * np.sin(2 * np.pi * 0.15 * t))[None, None, :]
    >>> X_clean = BaselineWanderRemoval(fs=200).fit_transform(X)
    >>> bool(np.abs(X_clean - ecg).max() < 0.05)
    True
    """

    def __init__(
        self,
        fs: float | None = None,
        method: str = "median",
        windows: tuple[float, float] = (0.2, 0.6),
        cutoff: float = 0.5,
    ) -> None:
        self.fs = fs
        self.method = method
        self.windows = windows
        self.cutoff = cutoff

    def _check_params(self) -> None:
        fs = _check_rate(self.fs, "BaselineWanderRemoval")
        if self.method == "highpass":
            self.sos_ = _butter_sos(fs, self.cutoff, None, 2)
            return
        if self.method != "median":
            raise ValueError(f"method must be 'median' or 'highpass', got {self.method!r}.")
        windows = self.windows
        if (
            not isinstance(windows, Sequence)
            or len(windows) == 0
            or not all(isinstance(w, Real) and not isinstance(w, bool) and w > 0 for w in windows)
        ):
            raise ValueError(f"windows must be positive durations in seconds, got {windows!r}.")
        # The baseline is slow: medians over every step-th sample (about 50 Hz) are as good and
        # far cheaper at high rates; odd lengths centre each median on its sample.
        self.step_ = max(1, int(fs // 50))
        self.window_lengths_ = tuple(
            2 * int(round(w * fs / self.step_ / 2)) + 1 for w in windows
        )

    def _min_samples(self) -> int:
        return _filter_min_samples(self.sos_) if self.method == "highpass" else 1

    def _transform_batch(self, x: np.ndarray) -> np.ndarray:
        if self.method == "highpass":
            return _zero_phase(self.sos_, x)
        n_samples = x.shape[-1]
        baseline = x[..., :: self.step_]
        for length in self.window_lengths_:
            baseline = median_filter(baseline, size=(1, 1, length), mode="nearest")
        if self.step_ > 1:
            where = np.arange(n_samples) / self.step_
            baseline = _interp_last_axis(baseline, np.minimum(where, baseline.shape[-1] - 1))
        return (x - baseline).astype(np.float32)
