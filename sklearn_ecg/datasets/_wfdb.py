"""Read WFDB records (and PhysioNet/CinC ``.mat`` + ``.hea`` records) into one array.

:func:`load_wfdb` finds the records (``_wfdb_files``), reads each one (``_wfdb_record``: its
header with ``_wfdb_header``, its samples with ``_wfdb_signal``) and checks that they fit in one
array: same leads, sampling rate and length.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_fs, normalize_leads
from ._wfdb_files import _find_records
from ._wfdb_record import _metadata_frame, _run
from ._wfdb_signal import _unit_factor

__all__ = ["load_wfdb"]


def load_wfdb(
    paths_or_directory: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    fs: float | None = None,
    duration: float | None = None,
    leads: Sequence[str] | str | None = None,
    missing_leads: str = "raise",
    on_error: str = "raise",
    n_jobs: int | None = None,
    verbose: bool = False,
    pattern: str | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Read WFDB records into an array of shape (n_records, n_leads, n_samples), in mV.

    Reads anything :func:`wfdb.rdrecord` reads (``.hea`` + ``.dat`` and other
    formats, multi-segment records) and PhysioNet/CinC Challenge records whose
    WFDB header points to a MATLAB ``.mat`` signal file (matrix ``val``).

    Parameters
    ----------
    paths_or_directory : path or list of paths
        A directory (searched recursively for ``*.hea`` headers; segment headers
        of multi-segment records are left out), a record path with or without its
        extension (``"data/100"``, ``"data/100.hea"``, ``"data/A0001.mat"``), or a
        list of these. Records come in the given order; a directory's records
        are sorted by path.
    fs : float, optional
        Target sampling rate in Hz; records at another rate are resampled with
        :func:`scipy.signal.resample_poly`. With ``None`` every record must have
        the same rate, otherwise a ``ValueError`` is raised.
    duration : float, optional
        Target length in seconds: every record is cropped (its first
        ``duration`` seconds are kept) or zero-padded at the end to exactly
        ``round(duration * fs)`` samples. With ``None`` every record must have
        the same number of samples, otherwise a ``ValueError`` is raised.
    leads : list of str, optional
        Leads to return, in this order. Names are normalised
        (:func:`sklearn_ecg._validation.normalize_lead_name`): ``"AVR"``, ``"avr"``
        and ``"aVR"`` are one lead and MIT-BIH ``"MLII"`` is lead ``"II"``. With
        ``None`` all leads of the records are returned, which must then have
        the same set of leads (they are put in the first record's order).
    missing_leads : {"raise", "zero"}, default="raise"
        What to do when a record lacks a requested lead: ``"raise"`` treats the
        record as unreadable (see ``on_error``), ``"zero"`` fills that lead with
        zeros (the record's ``missing_leads`` metadata lists them).
    on_error : {"raise", "skip"}, default="raise"
        A missing, corrupt or unusable record raises a ``ValueError`` naming the
        file. With ``"skip"`` such records are left out, a warning lists them and
        ``metadata.attrs["skipped"]`` holds ``(path, reason)`` pairs.
    n_jobs : int, optional
        Records read in parallel with joblib threads (``-1``: all cores; use
        :func:`joblib.parallel_config` to choose processes instead). ``None``
        means 1 unless inside a :func:`joblib.parallel_config` context.
    verbose : bool, default=False
        Show a tqdm progress bar.
    pattern : str, optional
        Glob pattern for header file names when searching a directory
        (default ``"*.hea"``, e.g. ``"*_lr.hea"``); it is matched at any depth.

    Returns
    -------
    X : ndarray of shape (n_records, n_leads, n_samples), float32
        Signals in millivolts (header units ``uV``, ``V``... are converted;
        channels in other units, such as ``mmHg``, are kept as they are with a
        warning). Samples the record marks as missing are NaN (with a warning).
    metadata : pandas.DataFrame
        One row per record of ``X``: ``record`` (name), ``path`` (header file),
        ``fs`` and ``n_samples`` (of the file, before resampling/cropping),
        ``n_leads``, ``leads`` (normalised names of all channels),
        ``original_leads`` (names as written in the header), ``units``,
        ``comments`` (raw header comments), ``missing_leads``,
        ``uncalibrated_leads`` (leads whose header gives no gain, or 0, read at
        WFDB's default 200 units per mV, with a warning) and one column per
        ``key: value`` header comment, keys lower-cased with non-alphanumerics
        turned into ``_`` (``age``, ``sex``, ``dx``, ``reason_for_admission``...).
        ``age`` is numeric (NaN when unknown); CinC ``Dx`` codes become a list
        of strings in ``dx``; MIT-BIH comments such as ``"69 M ..."`` give
        ``age`` and ``sex``. ``metadata.attrs`` holds ``fs`` and ``leads``
        (describing ``X``) and ``skipped``.

    Raises
    ------
    ValueError
        No records found, a record cannot be read (naming its file), a
        requested lead is missing, or sampling rates / lengths / lead sets
        differ and ``fs`` / ``duration`` / ``leads`` was not given.

    Notes
    -----
    Single-file format-16 records (PTB-XL, CinC, PTB...) are read with numpy
    from the header's gains and baselines, exactly as :func:`wfdb.rdrecord`
    reads them but about 10 times faster; every other record goes through
    :func:`wfdb.rdrecord`.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import wfdb
    >>> from sklearn_ecg.datasets import load_wfdb
    >>> folder = tempfile.mkdtemp()
    >>> signal = np.sin(np.linspace(0, 20, 1000))[:, None] * [1.0, 0.5]
    >>> wfdb.wrsamp("rec", fs=500, units=["mV", "mV"], sig_name=["MLII", "v5"],
    ...             p_signal=signal, fmt=["16", "16"], write_dir=folder)
    >>> X, metadata = load_wfdb(folder, fs=100, leads=["II", "V5"])
    >>> X.shape
    (1, 2, 200)
    >>> metadata.loc[0, "original_leads"]
    ['MLII', 'v5']
    """
    if missing_leads not in ("raise", "zero"):
        raise ValueError(f'missing_leads must be "raise" or "zero", got {missing_leads!r}.')
    if on_error not in ("raise", "skip"):
        raise ValueError(f'on_error must be "raise" or "skip", got {on_error!r}.')
    fs_out = None if fs is None else check_fs(fs, "fs")
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, Real)
        or not np.isfinite(duration) or duration <= 0
    ):
        raise ValueError(f"duration must be a positive number of seconds, got {duration!r}.")
    wanted = None if leads is None else normalize_leads(leads)

    paths = _find_records(paths_or_directory, pattern)
    tasks = [(p, fs_out, duration, wanted, missing_leads, on_error == "skip") for p in paths]
    results = _run(tasks, n_jobs=n_jobs, verbose=verbose)

    skipped: list[tuple[str, str]] = []
    signals: list[np.ndarray] = []
    rows: list[dict[str, Any]] = []
    for path, result in zip(paths, results):
        if isinstance(result, str):
            skipped.append((path, result))
        else:
            signal, row = result
            signals.append(signal)
            rows.append(row)
    listing = "; ".join(f"{path} ({reason})" for path, reason in skipped)
    if skipped:
        warnings.warn(
            f"Skipped {len(skipped)} of {len(paths)} WFDB records: {listing}",
            UserWarning, stacklevel=2,
        )
    if not signals:
        raise ValueError(
            f"None of the {len(paths)} WFDB records could be read; skipped: {listing}"
        )

    out_leads = _align_leads(rows, signals) if wanted is None else wanted
    if fs_out is None:
        fs_out = _common_rate(rows)
    lengths = sorted({s.shape[-1] for s in signals})
    if len(lengths) > 1:
        shortest = min(rows, key=lambda row: row["n_samples"])
        longest = max(rows, key=lambda row: row["n_samples"])
        raise ValueError(
            f"Records have different lengths ({lengths[0]} to {lengths[-1]} samples at "
            f"{fs_out:g} Hz; e.g. {shortest['path']} and {longest['path']}). Pass "
            "duration=<seconds> to crop or zero-pad them to one length."
        )

    nan_records = [row["path"] for row, s in zip(rows, signals) if np.isnan(s).any()]
    # Fill X record by record, freeing each one: peak memory stays near the size of X.
    X = np.empty((len(signals), len(out_leads), lengths[0]), dtype=np.float32)
    for i in range(len(signals)):
        X[i] = signals[i]
        signals[i] = None
    metadata = _metadata_frame(rows)
    metadata.attrs["fs"] = float(fs_out)
    metadata.attrs["leads"] = tuple(out_leads)
    metadata.attrs["skipped"] = skipped

    if nan_records:
        warnings.warn(
            f"{len(nan_records)} records hold missing samples, returned as NaN: "
            + _first_ten(nan_records),
            UserWarning, stacklevel=2,
        )
    uncalibrated = [
        f"{row['path']} ({', '.join(leads)})" for row in rows
        if (leads := [lead for lead in row["uncalibrated_leads"] if lead in out_leads])
    ]
    if uncalibrated:
        warnings.warn(
            "Leads whose header gives no gain (or 0: uncalibrated) were read at WFDB's default of "
            "200 units per mV, so their amplitudes may be wrong: " + _first_ten(uncalibrated),
            UserWarning, stacklevel=2,
        )
    odd_units = sorted({
        (row["path"], unit) for row in rows
        for lead, unit in zip(row["leads"], row["units"])
        if lead in out_leads and _unit_factor(unit) is None
    })
    if odd_units:
        warnings.warn(
            "Channels in units that are not volts were left unconverted: "
            + _first_ten([f"{p} ({u})" for p, u in odd_units]),
            UserWarning, stacklevel=2,
        )
    return X, metadata


def _align_leads(rows: list[dict[str, Any]], signals: list[np.ndarray]) -> tuple[str, ...]:
    """The first record's leads; put every record's leads in that order (all must have them)."""
    out_leads = tuple(rows[0]["leads"])
    for i, row in enumerate(rows):
        if set(row["leads"]) != set(out_leads) or len(row["leads"]) != len(out_leads):
            raise ValueError(
                f"Records have different leads: {rows[0]['path']} has {list(out_leads)}, "
                f"{row['path']} has {row['leads']}. Pass leads=[...] to choose the leads "
                "to return (and missing_leads='zero' to zero-fill absent ones)."
            )
        if tuple(row["leads"]) != out_leads:
            order = [row["leads"].index(name) for name in out_leads]
            signals[i] = signals[i][order]
    return out_leads


def _common_rate(rows: list[dict[str, Any]]) -> float:
    """The sampling rate of every record (they must share it when no target rate is given)."""
    rates = sorted({row["fs"] for row in rows})
    if len(rates) > 1:
        examples = {r: next(row["path"] for row in rows if row["fs"] == r) for r in rates}
        raise ValueError(
            f"Records have different sampling rates {rates} Hz (e.g. "
            + ", ".join(f"{p}: {r:g} Hz" for r, p in examples.items())
            + "). Pass fs=... to resample them to one rate."
        )
    return rates[0]


def _first_ten(items: list[str]) -> str:
    """The first ten items, comma-separated, with " ..." when there are more (warnings stay short)."""
    return ", ".join(items[:10]) + (" ..." if len(items) > 10 else "")
