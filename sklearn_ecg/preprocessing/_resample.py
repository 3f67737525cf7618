"""Changing the sampling rate or the length of ECGs by resampling."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from scipy.signal import resample_poly

from .._validation import check_fs, check_positive_int
from ._base import _ECGTransformer


class Resample(_ECGTransformer):
    """Change the sampling rate, or stretch every ECG to a fixed number of samples.

    Give either ``fs_out`` (with the input rate ``fs``) or ``n_samples``.

    Parameters
    ----------
    fs : float, optional
        Sampling rate of the input in Hz; required with ``fs_out``.
    fs_out : float, optional
        Sampling rate of the output in Hz; records of ``m`` samples become
        ``round(m * fs_out / fs)`` samples long.
    n_samples : int, optional
        Length of every output record, whatever the input length. PCLR's published
        preprocessing stretches 10 s records to 4096 samples this way, with
        ``method="linear"``.
    method : {"polyphase", "linear"}, default="polyphase"
        ``"polyphase"``: :func:`scipy.signal.resample_poly` with the ratio approximated by a
        fraction whose denominator is at most ``max_denominator``, which low-pass filters
        before decimating (no aliasing); the output is then cut or edge-padded to the exact
        length. ``"linear"``: linear interpolation (:func:`numpy.interp`), no anti-aliasing
        filter. With ``n_samples`` the first and last samples of input and output are
        aligned (as ``np.interp(np.linspace(0, 1, n_samples), np.linspace(0, 1, m), x)``);
        with ``fs_out`` output sample ``k`` is at time ``k / fs_out``.
    max_denominator : int, default=1000
        Largest denominator of the rational approximation of the ratio (``"polyphase"``).

    Attributes
    ----------
    n_leads_in_ : int
        Leads of the ECGs seen in ``fit``.
    n_samples_in_ : int
        Samples per lead of the ECGs seen in ``fit``.
    up_, down_ : int
        The resampling ratio ``up_ / down_`` for ECGs of ``n_samples_in_`` samples.
    n_samples_out_ : int
        Output length for ECGs of ``n_samples_in_`` samples.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import Resample
    >>> X = np.random.default_rng(0).normal(size=(2, 12, 5000)).astype("float32")
    >>> Resample(fs=500, fs_out=100).fit_transform(X).shape
    (2, 12, 1000)
    >>> Resample(n_samples=4096, method="linear").fit_transform(X).shape
    (2, 12, 4096)
    """

    def __init__(
        self,
        fs: float | None = None,
        fs_out: float | None = None,
        *,
        n_samples: int | None = None,
        method: str = "polyphase",
        max_denominator: int = 1000,
    ) -> None:
        self.fs = fs
        self.fs_out = fs_out
        self.n_samples = n_samples
        self.method = method
        self.max_denominator = max_denominator

    def _check_params(self) -> None:
        if (self.fs_out is None) == (self.n_samples is None):
            raise ValueError(
                "Resample needs exactly one of fs_out (a sampling rate, with the input rate fs) "
                f"or n_samples (an output length); got fs_out={self.fs_out!r}, "
                f"n_samples={self.n_samples!r}."
            )
        if self.fs_out is not None:
            if self.fs is None:
                raise ValueError(
                    f"Resample(fs_out={self.fs_out!r}) needs the input sampling rate fs as well."
                )
            check_fs(self.fs, "fs")
            check_fs(self.fs_out, "fs_out")
        else:
            check_positive_int(self.n_samples, "n_samples")
            if self.fs is not None:
                check_fs(self.fs, "fs")
        if self.method not in ("polyphase", "linear"):
            raise ValueError(f"method must be 'polyphase' or 'linear', got {self.method!r}.")
        check_positive_int(self.max_denominator, "max_denominator")

    def fit(self, X: Any, y: Any = None) -> Resample:
        """Check the parameters and record the input shape and resampling ratio.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
        y : ignored

        Returns
        -------
        self
        """
        self._validate(X, reset=True)
        self.n_samples_out_ = self._length_out(self.n_samples_in_)
        ratio = self._ratio(self.n_samples_in_)
        self.up_, self.down_ = ratio.numerator, ratio.denominator
        return self

    def _length_out(self, n_in: int) -> int:
        if self.n_samples is not None:
            return int(self.n_samples)
        return max(1, int(round(n_in * float(self.fs_out) / float(self.fs))))

    def _ratio(self, n_in: int) -> Fraction:
        if self.n_samples is not None:
            exact = Fraction(int(self.n_samples), n_in)
        else:
            exact = Fraction(float(self.fs_out)) / Fraction(float(self.fs))
        return exact.limit_denominator(int(self.max_denominator))

    def _transform_batch(self, x: np.ndarray) -> np.ndarray:
        n_in = x.shape[-1]
        n_out = self._length_out(n_in)
        if n_out == n_in and (self.n_samples is not None or self.fs == self.fs_out):
            return np.array(x, dtype=np.float32)
        if self.method == "linear":
            if self.n_samples is not None:
                where = np.linspace(0.0, n_in - 1.0, n_out)
            else:
                where = np.arange(n_out) * (float(self.fs) / float(self.fs_out))
            return _interp_last_axis(x, where)
        ratio = self._ratio(n_in)
        # padtype="line": the filter sees the record continued as a line, not as zeros, so
        # baseline offsets do not droop at the edges.
        out = resample_poly(
            x.astype(np.float64), ratio.numerator, ratio.denominator, axis=-1, padtype="line"
        )
        if out.shape[-1] > n_out:
            out = out[..., :n_out]
        elif out.shape[-1] < n_out:
            out = np.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, n_out - out.shape[-1])], mode="edge")
        return out.astype(np.float32)


def _interp_last_axis(x: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Linear interpolation of every row of ``x`` at fractional sample positions ``where``."""
    n_in = x.shape[-1]
    where = np.clip(where, 0.0, n_in - 1.0)
    left = np.minimum(np.floor(where).astype(int), max(n_in - 2, 0))
    right = np.minimum(left + 1, n_in - 1)
    frac = (where - left).astype(np.float32)
    return (x[..., left] * (1 - frac) + x[..., right] * frac).astype(np.float32)
