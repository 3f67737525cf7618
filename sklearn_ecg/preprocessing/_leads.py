"""Per-lead transformers: selecting and reordering leads by name, and standardising each lead."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import STANDARD_LEADS, lead_indices, normalize_leads
from ._base import _batches, _ECGTransformer


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
        return self._map_batches(X, self._inverse_transform_batch)

    def _inverse_transform_batch(self, x: np.ndarray) -> np.ndarray:
        return (x * self.scale_[None, :, None] + self.mean_[None, :, None]).astype(np.float32)
