"""Reading one WFDB record into a signal and a metadata row, and many records in parallel."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from .._validation import normalize_lead_name
from ._wfdb_header import _parse_header, _read_text, parse_header_comments
from ._wfdb_signal import _read_signal, _resample, _samples_needed, _unit_factor

# Metadata columns that header comments may not overwrite.
_CORE_COLUMNS = (
    "record", "path", "fs", "n_samples", "n_leads", "leads", "original_leads", "units", "comments",
    "missing_leads", "uncalibrated_leads",
)


def _run(tasks: list[tuple], *, n_jobs: int | None, verbose: bool) -> list[Any]:
    from joblib import Parallel, delayed

    progress = None
    if verbose:
        from tqdm.auto import tqdm

        progress = tqdm(total=len(tasks), desc="Reading WFDB records", unit="record")
    try:
        # Threads: reading is mostly file I/O and numpy, and worker processes would first
        # have to import this package (and torch); parallel_config(backend=...) overrides.
        parallel = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")
        results = []
        for result in parallel(delayed(_read_one)(*task) for task in tasks):
            results.append(result)
            if progress is not None:
                progress.update(1)
    finally:
        if progress is not None:
            progress.close()
    return results


def _read_one(
    path: str,
    fs_out: float | None,
    duration: float | None,
    wanted: tuple[str, ...] | None,
    missing_leads: str,
    skip: bool,
) -> tuple[np.ndarray, dict[str, Any]] | str:
    """Read and prepare one record; in skip mode return the reason it failed instead."""
    try:
        return _read_record(path, fs_out, duration, wanted, missing_leads)
    except Exception as exc:  # noqa: BLE001 - every failure is reported with its file
        reason = f"{type(exc).__name__}: {exc}"
        if skip:
            return reason
        raise ValueError(f"Could not read WFDB record {path}.hea: {reason}") from exc


def _read_record(
    path: str,
    fs_out: float | None,
    duration: float | None,
    wanted: tuple[str, ...] | None,
    missing_leads: str,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Read one record (path without extension): its leads ``wanted``, at ``fs_out``, cut to
    ``duration``, in float32 mV, and its metadata row."""
    header_path = path + ".hea"
    if not os.path.isfile(header_path):
        raise FileNotFoundError(f"no header file {header_path}")
    header = _parse_header(_read_text(header_path))
    sampto = _samples_needed(header, fs_out, duration)
    if header.n_sig == 0:
        raise ValueError("the record holds no signals")
    uncalibrated = [normalize_lead_name(name) for name in header.uncalibrated]
    signal, header = _read_signal(path, header, sampto)
    if signal.ndim != 2 or signal.shape[0] == 0 or signal.shape[1] == 0:
        raise ValueError(f"the record holds no samples (signal shape {signal.shape})")

    original = list(header.sig_name)
    names = [normalize_lead_name(s) for s in original]
    units = list(header.units)
    if len(names) != signal.shape[0]:
        raise ValueError(f"the header names {len(names)} leads but {signal.shape[0]} were read")
    fs_in = float(header.fs)
    if not np.isfinite(fs_in) or fs_in <= 0:
        raise ValueError(f"invalid sampling rate {header.fs!r} in the header")
    n_samples = header.sig_len or signal.shape[1]

    for i, unit in enumerate(units):
        factor = _unit_factor(unit)
        if factor is not None and factor != 1.0:
            signal[i] *= factor
    absent: list[str] = []
    if wanted is not None:
        signal, absent = _select_leads(signal, names, wanted, missing_leads, path, original)
    fs_target = fs_in if fs_out is None else fs_out
    if fs_target != fs_in:
        signal = _resample(signal, fs_in, fs_target)
    if duration is not None:
        signal = _crop_or_pad(signal, int(round(duration * fs_target)))

    row: dict[str, Any] = {
        "record": os.path.basename(path),
        "path": header_path,
        "fs": fs_in,
        "n_samples": int(n_samples),
        "n_leads": len(names),
        "leads": names,
        "original_leads": original,
        "units": units,
        "comments": list(header.comments),
        "missing_leads": absent,
        "uncalibrated_leads": uncalibrated,
    }
    for key, value in parse_header_comments(header.comments).items():
        row[f"comment_{key}" if key in _CORE_COLUMNS else key] = value
    return signal.astype(np.float32), row


def _select_leads(
    signal: np.ndarray, names: list[str], wanted: tuple[str, ...], missing_leads: str, path: str,
    original: list[str],
) -> tuple[np.ndarray, list[str]]:
    """The rows of ``signal`` (leads ``names``) for the leads ``wanted``, and the absent ones
    (zero rows with ``missing_leads="zero"``); a duplicated lead name gives its first row."""
    position: dict[str, int] = {}
    for i, lead in enumerate(names):
        position.setdefault(lead, i)
    absent = [lead for lead in wanted if lead not in position]
    if absent and missing_leads == "raise":
        raise ValueError(
            f"lead(s) {absent} missing from record {path} which has {original}; pass "
            "missing_leads='zero' to zero-fill them or on_error='skip' to skip such records"
        )
    selected = np.zeros((len(wanted), signal.shape[1]), dtype=np.float64)
    for j, lead in enumerate(wanted):
        if lead in position:
            selected[j] = signal[position[lead]]
    return selected, absent


def _crop_or_pad(signal: np.ndarray, n_out: int) -> np.ndarray:
    """Keep the first ``n_out`` samples, or zero-pad at the end up to ``n_out``."""
    if signal.shape[1] >= n_out:
        return signal[:, :n_out]
    return np.pad(signal, ((0, 0), (0, n_out - signal.shape[1])))


def _metadata_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    columns: list[str] = list(_CORE_COLUMNS)
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    return pd.DataFrame(rows, columns=columns)
