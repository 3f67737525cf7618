"""Input checks shared by every estimator: shapes, dtypes, finiteness, leads, sampling rate."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np
from scipy import sparse

#: The standard 12 leads, in the order used by PTB-XL, PCLR and fairseq-signals.
STANDARD_LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)

_CANONICAL = {name.upper(): name for name in STANDARD_LEADS}
# Spellings seen in WFDB headers (MIT-BIH "MLII", PTB "i", CinC "AVR") and their standard lead.
_ALIASES = {"MLI": "I", "MLII": "II", "MLIII": "III", "D1": "I", "D2": "II", "D3": "III"}


def normalize_lead_name(name: str) -> str:
    """Return the canonical spelling of a lead name.

    ``"avr"``, ``"AVR"`` and ``"aVR"`` all become ``"aVR"``; ``"v1"`` becomes ``"V1"``.
    Names that are not one of the 12 standard leads (``"MLII"`` excepted, which is
    lead II) are returned stripped but otherwise unchanged, so unusual leads (Frank
    ``vx``, ``"ECG"``) survive.
    """
    if not isinstance(name, str):
        raise ValueError(f"Lead names must be strings, got {name!r} ({type(name).__name__}).")
    key = name.strip().upper().replace(" ", "")
    key = _ALIASES.get(key, key)
    return _CANONICAL.get(key.upper(), name.strip())


def normalize_leads(leads: Sequence[str] | None, n_leads: int | None = None) -> tuple[str, ...]:
    """Check and canonicalise a list of lead names.

    With ``leads=None`` the first ``n_leads`` standard leads are assumed when
    ``n_leads <= 12``; otherwise leads are named ``"lead0"``, ``"lead1"``...
    """
    if leads is None:
        if n_leads is None:
            return STANDARD_LEADS
        if n_leads == 12:
            return STANDARD_LEADS
        if n_leads == 1:
            return ("I",)
        return tuple(f"lead{i}" for i in range(n_leads))
    if isinstance(leads, str):
        leads = [leads]
    names = tuple(normalize_lead_name(lead) for lead in leads)
    if len(set(names)) != len(names):
        raise ValueError(f"Lead names must be unique, got {list(leads)}.")
    if n_leads is not None and len(names) != n_leads:
        raise ValueError(
            f"X has {n_leads} leads but {len(names)} lead names were given: {list(names)}."
        )
    return names


def lead_indices(source: Sequence[str], target: Sequence[str]) -> list[int | None]:
    """For each lead of ``target``, its index in ``source`` or None when absent."""
    position = {name: i for i, name in enumerate(source)}
    return [position.get(name) for name in target]


def check_fs(fs: Any, name: str = "fs") -> float:
    """Check a sampling rate: a positive finite number, returned as float."""
    if isinstance(fs, bool) or not isinstance(fs, Real) or not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"{name} must be a positive number of Hz, got {fs!r}.")
    return float(fs)


def is_lazy(X: Any) -> bool:
    """True for array-likes that are not in-memory numpy arrays (memmap, h5py, zarr)."""
    return isinstance(X, np.memmap) or not isinstance(X, np.ndarray)


def check_ecg_array(
    X: Any,
    *,
    min_samples: int = 1,
    n_leads: int | None = None,
    check_finite: bool = True,
    name: str = "X",
) -> Any:
    """Validate ECGs of shape (n_ecgs, n_leads, n_samples).

    A 2-D array is one lead: it is viewed as (n_ecgs, 1, n_samples). In-memory
    arrays are converted to float32 and checked for NaN/inf here; lazy array-likes
    (np.memmap, h5py, zarr: anything with ``shape``, ``ndim`` and slicing) are
    returned untouched and checked batch by batch as they are read
    (:func:`check_batch`), so they are never loaded whole.
    """
    if X is None:
        raise ValueError(f"{name} is None; expected an array of shape (n_ecgs, n_leads, n_samples).")
    if sparse.issparse(X):
        raise TypeError(
            f"{name} is a sparse matrix; sparse input is not supported: ECGs are dense arrays."
        )
    # pandas objects index by label, not by row: read them as in-memory arrays.
    if hasattr(X, "iloc") or isinstance(X, (list, tuple)) or (
        not hasattr(X, "shape") and hasattr(X, "__array__")
    ):
        X = np.asarray(X)
    if not hasattr(X, "shape") or not hasattr(X, "__getitem__"):
        raise ValueError(
            f"{name} must be an array-like with a shape (numpy array, memmap, h5py/zarr dataset), "
            f"got {type(X).__name__}."
        )
    if np.iscomplexobj(X):
        raise ValueError(f"Complex data not supported: {name} has dtype {X.dtype}.")
    shape = tuple(X.shape)
    given_shape = shape
    if len(shape) == 2:
        if is_lazy(X):
            X = _LeadAxisView(X)
        else:
            X = np.asarray(X)[:, None, :]
        shape = (shape[0], 1, shape[1])
    elif len(shape) != 3:
        raise ValueError(
            f"{name} must be 3-D (n_ecgs, n_leads, n_samples) or 2-D (n_ecgs, n_samples) "
            f"for one lead; got {len(shape)}-D with shape {shape}. Reshape your data, e.g. "
            "X[None] for a single one-lead ECG."
        )
    if shape[0] == 0:
        raise ValueError(f"{name} is empty: 0 ECGs (shape {shape}); at least 1 is required.")
    if shape[1] == 0:
        raise ValueError(f"{name} has 0 leads (shape {shape}).")
    if n_leads is not None and shape[1] != n_leads:
        raise ValueError(f"{name} has {shape[1]} leads, expected {n_leads} (shape {shape}).")
    if shape[2] < min_samples:
        # For 2-D input the samples of the one lead are scikit-learn's features.
        raise ValueError(
            f"{name} is too short: {shape[2]} sample(s) per lead, i.e. {shape[2]} feature(s) "
            f"(shape={given_shape}) while a minimum of {min_samples} is required."
        )
    if not is_lazy(X):
        try:
            X = np.asarray(X, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{name} must hold numbers (ECG samples in mV); got dtype {X.dtype}: {exc}"
            ) from exc
        if check_finite:
            check_batch(X, name=name)
    return X


def check_batch(batch: np.ndarray, *, name: str = "X", offset: int = 0,
                rows: np.ndarray | None = None) -> np.ndarray:
    """A batch as float32 memory torch can share; raise a ValueError naming the first ECG that
    holds NaN or inf: its index in X is ``rows[i]`` when given, else ``offset + i``."""
    batch = np.asarray(batch, dtype=np.float32)
    # torch wants writable memory (not read-only memmaps) and no negative strides (X[..., ::-1]).
    if not batch.flags.writeable or any(stride < 0 for stride in batch.strides):
        batch = batch.copy()
    if not np.isfinite(batch).all():
        bad = np.flatnonzero(~np.isfinite(batch.reshape(len(batch), -1)).all(axis=1))
        raise ValueError(
            f"{name} contains NaN or infinite values (ECG index "
            f"{int(rows[bad[0]]) if rows is not None else offset + int(bad[0])}"
            f"{' and others' if len(bad) > 1 else ''}); impute or drop them first."
        )
    return batch


def warn_if_no_negatives(n_per_batch: int, method: str, item: str) -> None:
    """Warn when a contrastive loss over in-batch negatives gets batches of fewer than 2 items:
    it is then 0 and the fit learns nothing."""
    if n_per_batch < 2:
        warnings.warn(
            f"{method} has {n_per_batch} {item} per batch: its contrastive loss needs at least 2 "
            f"(each {item}'s negatives are the others), so the loss is 0 and nothing is learnt. "
            f"Fit on more {item}s and use batch_size >= 2.",
            UserWarning, stacklevel=2,
        )


class _LeadAxisView:
    """A lazy 2-D array-like seen as (n, 1, samples) without reading it."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self.shape = (data.shape[0], 1, data.shape[1])
        self.ndim = 3
        self.dtype = getattr(data, "dtype", np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Any) -> np.ndarray:
        rows = np.asarray(self.data[index], dtype=np.float32)
        return rows[..., None, :] if rows.ndim >= 1 else rows


def is_positive_int(value: Any) -> bool:
    """True for an int (numpy ints too, bools not) of at least 1."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


def check_positive_int(value: Any, name: str, allow_none: bool = False) -> int | None:
    """Check one positive int (numpy ints too, bools not); returns it as int (None if allowed)."""
    if value is None and allow_none:
        return None
    if not is_positive_int(value):
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def check_positive_ints(value: Any, name: str, length: int | None = None) -> tuple[int, ...]:
    """Check a non-empty sequence of positive ints (layer widths, block counts...); returns a tuple."""
    if (isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or not len(value)
            or not all(is_positive_int(v) for v in value)):
        raise ValueError(f"{name} must be a non-empty sequence of positive ints, got {value!r}.")
    if length is not None and len(value) != length:
        raise ValueError(f"{name} must hold {length} positive ints, got {len(value)}: {value!r}.")
    return tuple(int(v) for v in value)
