"""scikit-learn transformers for ECG arrays of shape (n_ecgs, n_leads, n_samples).

Every transformer here accepts a 3-D array (or a 2-D array, read as one lead) and returns a
float32 array of shape (n_ecgs, n_leads, n_samples), so they chain in a
:class:`~sklearn.pipeline.Pipeline` in front of any method of this library::

    make_pipeline(BandpassFilter(fs=500), Resample(fs=500, fs_out=100), LeadStandardScaler(),
                  PCLRTransformer(fs=100), LogisticRegression())

``fit`` records the input shape (``n_leads_in_``, ``n_samples_in_``) and, where there is
something to learn, statistics (:class:`LeadStandardScaler`); ``transform`` checks that the number
of leads has not changed. Lazy array-likes (np.memmap, h5py, zarr) are read batch by batch;
``transform`` returns an in-memory array.

:class:`Windowing` is the exception: it turns each ECG into several rows, so it cannot sit in a
Pipeline before a supervised step (the targets would not follow); see its docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from numbers import Integral, Real
from typing import Any

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import butter, resample_poly, sosfiltfilt
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._validation import (
    STANDARD_LEADS,
    check_batch,
    check_ecg_array,
    check_fs,
    is_lazy,
    lead_indices,
    normalize_leads,
)
from ._windows import window_starts

__all__ = [
    "BandpassFilter",
    "BaselineWanderRemoval",
    "FixedLengthCrop",
    "LeadSelector",
    "LeadStandardScaler",
    "Resample",
    "Windowing",
    "sliding_windows",
]

# ECGs read at a time from lazy array-likes.
_BATCH = 256


def _batches(X: Any, name: str = "X"):
    """Yield (start, float32 batch) over a checked array or lazy array-like, a few ECGs at a time.

    In-memory arrays are sliced too (views), which bounds the float64 temporaries of filters.
    """
    for start in range(0, X.shape[0], _BATCH):
        if is_lazy(X):
            yield start, check_batch(np.asarray(X[start:start + _BATCH]), name=name, offset=start)
        else:
            yield start, X[start:start + _BATCH]


def _positive_int(value: Any, name: str, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


class _ECGTransformer(TransformerMixin, BaseEstimator):
    """Input checks shared by the transformers: ``fit`` records the shape, ``transform`` checks it."""

    def _min_samples(self) -> int:
        return 1

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
        parts = [self._transform_batch(batch) for _, batch in _batches(X)]
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def _transform_batch(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


# --------------------------------------------------------------------------------------------
# Sampling rate
# --------------------------------------------------------------------------------------------


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
            _positive_int(self.n_samples, "n_samples")
            if self.fs is not None:
                check_fs(self.fs, "fs")
        if self.method not in ("polyphase", "linear"):
            raise ValueError(f"method must be 'polyphase' or 'linear', got {self.method!r}.")
        _positive_int(self.max_denominator, "max_denominator")

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


# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------


def _check_rate(fs: Any, owner: str) -> float:
    if fs is None:
        raise ValueError(f"{owner} needs the sampling rate of the input: pass fs=... (Hz).")
    return check_fs(fs)


def _butter_sos(fs: float, low: float | None, high: float | None, order: int) -> np.ndarray:
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
    _positive_int(order, "order")
    if low is None:
        return butter(order, high, btype="lowpass", fs=fs, output="sos")
    if high is None:
        return butter(order, low, btype="highpass", fs=fs, output="sos")
    return butter(order, [low, high], btype="bandpass", fs=fs, output="sos")


def _filter_min_samples(sos: np.ndarray) -> int:
    """sosfiltfilt pads each end by 3 * (2 * sections + 1) samples and needs more than that."""
    return 3 * (2 * len(sos) + 1) + 1


def _zero_phase(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
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


# --------------------------------------------------------------------------------------------
# Leads
# --------------------------------------------------------------------------------------------


class LeadSelector(_ECGTransformer):
    """Select and reorder leads by name.

    Names are matched after normalisation (``"avr"``, ``"AVR"`` and ``"aVR"`` are one lead,
    ``"MLII"`` is lead II).

    Parameters
    ----------
    leads : str or list of str, default=STANDARD_LEADS
        The leads to output, in this order. The default conforms any input to the 12 standard
        leads in the standard order.
    input_leads : list of str, optional
        Names of the input's leads, in order. By default the 12 standard leads (I, II, III,
        aVR, aVL, aVF, V1-V6) for 12-lead input, ``("I",)`` for one lead and ``lead0``,
        ``lead1``... otherwise.
    missing : {"error", "zero"}, default="error"
        What to do with a requested lead the input lacks: raise a ValueError, or output a lead
        of zeros (how the methods of this library treat missing leads).

    Attributes
    ----------
    leads_ : tuple of str
        The output leads (normalised names).
    input_leads_ : tuple of str
        The input leads (normalised names).
    missing_leads_ : tuple of str
        Requested leads absent from the input (zero-filled).
    input_index_ : list of int or None
        For each output lead, its index in the input (None when zero-filled).
    n_leads_in_, n_samples_in_ : int
        Shape of the ECGs seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import LeadSelector
    >>> X = np.arange(24, dtype="float32").reshape(1, 12, 2)
    >>> LeadSelector(["II", "v1"]).fit_transform(X)
    array([[[ 2.,  3.],
            [12., 13.]]], dtype=float32)
    >>> LeadSelector(["I", "V7"], missing="zero").fit_transform(X)[0, 1]
    array([0., 0.], dtype=float32)
    """

    def __init__(
        self,
        leads: str | Sequence[str] = STANDARD_LEADS,
        input_leads: Sequence[str] | None = None,
        missing: str = "error",
    ) -> None:
        self.leads = leads
        self.input_leads = input_leads
        self.missing = missing

    def fit(self, X: Any, y: Any = None) -> LeadSelector:
        """Match the requested leads to the input's leads.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
        y : ignored

        Returns
        -------
        self
        """
        if self.missing not in ("error", "zero"):
            raise ValueError(f"missing must be 'error' or 'zero', got {self.missing!r}.")
        X = self._validate(X, reset=True)
        if self.leads is None or (not isinstance(self.leads, str) and len(self.leads) == 0):
            raise ValueError(f"leads must name at least one lead, got {self.leads!r}.")
        self.leads_ = normalize_leads(self.leads)
        self.input_leads_ = normalize_leads(self.input_leads, n_leads=self.n_leads_in_)
        self.input_index_ = lead_indices(self.input_leads_, self.leads_)
        self.missing_leads_ = tuple(
            name for name, i in zip(self.leads_, self.input_index_) if i is None
        )
        if self.missing_leads_ and self.missing == "error":
            raise ValueError(
                f"Leads {list(self.missing_leads_)} are not in the input, whose leads are "
                f"{list(self.input_leads_)}; pass input_leads=... to name them, or "
                "missing='zero' to zero-fill absent leads."
            )
        return self

    def _transform_batch(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros((x.shape[0], len(self.leads_), x.shape[2]), dtype=np.float32)
        for j, i in enumerate(self.input_index_):
            if i is not None:
                out[:, j] = x[:, i]
        return out


class LeadStandardScaler(_ECGTransformer):
    """Standardise each lead with a mean and standard deviation learnt in ``fit``.

    The statistics of lead ``j`` pool every sample of every ECG in ``fit``'s X (as Mehari &
    Strodthoff normalise PTB-XL), so the shape of each ECG is kept and the leads keep their
    relative timing; constant leads get a scale of 1.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract the per-lead mean.
    with_std : bool, default=True
        Divide by the per-lead standard deviation.

    Attributes
    ----------
    mean_ : ndarray of shape (n_leads,)
        Per-lead mean (zeros when ``with_mean=False``).
    var_ : ndarray of shape (n_leads,)
        Per-lead variance.
    scale_ : ndarray of shape (n_leads,)
        Per-lead divisor (ones when ``with_std=False``).
    n_leads_in_, n_samples_in_ : int
        Shape of the ECGs seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import LeadStandardScaler
    >>> X = np.random.default_rng(0).normal(3.0, 2.0, size=(8, 12, 500))
    >>> scaler = LeadStandardScaler().fit(X)
    >>> Z = scaler.transform(X)
    >>> bool(np.allclose(Z.mean(axis=(0, 2)), 0, atol=1e-5)), bool(np.allclose(Z.std(axis=(0, 2)), 1))
    (True, True)
    >>> bool(np.allclose(scaler.inverse_transform(Z), X, atol=1e-4))
    True
    """

    def __init__(self, with_mean: bool = True, with_std: bool = True) -> None:
        self.with_mean = with_mean
        self.with_std = with_std

    def fit(self, X: Any, y: Any = None) -> LeadStandardScaler:
        """Learn the per-lead mean and standard deviation, batch by batch.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
        y : ignored

        Returns
        -------
        self
        """
        X = self._validate(X, reset=True)
        count = 0
        total = np.zeros(self.n_leads_in_)
        squares = np.zeros(self.n_leads_in_)
        shift = None  # a first estimate of the mean, subtracted for a stable variance
        for _, batch in _batches(X):
            batch = batch.astype(np.float64)
            if shift is None:
                shift = batch.mean(axis=(0, 2))
            centred = batch - shift[None, :, None]
            total += centred.sum(axis=(0, 2))
            squares += (centred**2).sum(axis=(0, 2))
            count += batch.shape[0] * batch.shape[2]
        mean = total / count
        self.var_ = np.maximum(squares / count - mean**2, 0.0)
        self.mean_ = (shift + mean) if self.with_mean else np.zeros(self.n_leads_in_)
        std = np.sqrt(self.var_)
        # Constant leads (a flat lead, zero-filled missing leads) are left unscaled.
        tiny = std < 10 * np.finfo(np.float32).eps * np.maximum(np.abs(shift + mean), 1.0)
        self.scale_ = np.where(tiny, 1.0, std) if self.with_std else np.ones(self.n_leads_in_)
        return self

    def _transform_batch(self, x: np.ndarray) -> np.ndarray:
        out = (x - self.mean_[None, :, None]) / self.scale_[None, :, None]
        return out.astype(np.float32)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Undo :meth:`transform`: back to the original units (mV).

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples)

        Returns
        -------
        X_original : ndarray of shape (n_ecgs, n_leads, n_samples), float32
        """
        X = self._validate(X, reset=False)
        parts = [
            (batch * self.scale_[None, :, None] + self.mean_[None, :, None]).astype(np.float32)
            for _, batch in _batches(X)
        ]
        return np.concatenate(parts) if len(parts) > 1 else parts[0]


# --------------------------------------------------------------------------------------------
# Length
# --------------------------------------------------------------------------------------------


class FixedLengthCrop(_ECGTransformer):
    """Crop or zero-pad every ECG to ``n_samples`` samples.

    Parameters
    ----------
    n_samples : int
        Output length (required; ``None`` raises in ``fit``).
    position : {"start", "center", "end", "random"}, default="start"
        Which part of a longer ECG to keep: the first, middle or last ``n_samples``
        samples, or a random stretch per ECG. A shorter ECG is placed at the start (padding
        after it), in the centre (padding on both sides), at the end (padding before it), or
        at a random offset.
    pad : {"zero"} or None, default="zero"
        ``"zero"`` pads shorter ECGs with zeros; None raises a ValueError for them instead.
    random_state : int, RandomState instance or None, default=None
        Seed of the random crops (``position="random"``). With an int, every call to
        ``transform`` draws the same crops.

    Attributes
    ----------
    n_leads_in_, n_samples_in_ : int
        Shape of the ECGs seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import FixedLengthCrop
    >>> X = np.ones((2, 12, 1000), dtype="float32")
    >>> FixedLengthCrop(250, position="center").fit_transform(X).shape
    (2, 12, 250)
    >>> padded = FixedLengthCrop(1200).fit_transform(X)
    >>> padded.shape, float(padded[0, 0, 999]), float(padded[0, 0, 1000])
    ((2, 12, 1200), 1.0, 0.0)
    """

    def __init__(
        self, n_samples: int | None = None, position: str = "start", pad: str | None = "zero",
        random_state: Any = None,
    ) -> None:
        self.n_samples = n_samples
        self.position = position
        self.pad = pad
        self.random_state = random_state

    def _check_params(self) -> None:
        _positive_int(self.n_samples, "n_samples")
        if self.position not in ("start", "center", "end", "random"):
            raise ValueError(
                f"position must be 'start', 'center', 'end' or 'random', got {self.position!r}."
            )
        if self.pad not in ("zero", None):
            raise ValueError(f"pad must be 'zero' or None, got {self.pad!r}.")

    def _validate(self, X: Any, reset: bool) -> Any:
        X = super()._validate(X, reset)
        if self.pad is None and X.shape[2] < self.n_samples:
            raise ValueError(
                f"X has {X.shape[2]} samples per lead, fewer than n_samples={self.n_samples}, "
                "and pad=None; pass pad='zero' to zero-pad short ECGs."
            )
        return X

    def transform(self, X: Any) -> np.ndarray:
        """Crop or pad every ECG to ``n_samples`` samples.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples_in) or (n_ecgs, n_samples_in)

        Returns
        -------
        X_new : ndarray of shape (n_ecgs, n_leads, n_samples), float32
        """
        X = self._validate(X, reset=False)
        n, n_in, n_out = X.shape[0], X.shape[2], int(self.n_samples)
        slack = abs(n_in - n_out)
        if self.position == "start":
            offsets = np.zeros(n, dtype=int)
        elif self.position == "end":
            offsets = np.full(n, slack)
        elif self.position == "center":
            offsets = np.full(n, slack // 2)
        else:
            offsets = check_random_state(self.random_state).randint(0, slack + 1, size=n)
        out = np.zeros((n, X.shape[1], n_out), dtype=np.float32)
        for start, batch in _batches(X):
            stop = start + len(batch)
            # Sample positions per ECG: where to read from (crop) or write to (pad).
            where = offsets[start:stop, None, None] + np.arange(min(n_in, n_out))
            where = np.broadcast_to(where, (len(batch), X.shape[1], where.shape[-1]))
            if n_in >= n_out:
                out[start:stop] = np.take_along_axis(batch, where, axis=2)
            else:
                np.put_along_axis(out[start:stop], where, batch, axis=2)
        return out


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
    window = _positive_int(window, "window")
    stride = window if stride is None else _positive_int(stride, "stride")
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
        _positive_int(self.window, "window")
        _positive_int(self.stride, "stride", allow_none=True)

    def _min_samples(self) -> int:
        return _positive_int(self.window, "window")

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
        stride = self.window if self.stride is None else self.stride
        windows, _ = sliding_windows(X, self.window, stride, self.cover_end)
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
