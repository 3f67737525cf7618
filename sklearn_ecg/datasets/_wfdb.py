"""Read WFDB records (and PhysioNet/CinC ``.mat`` + ``.hea`` records) into one array."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_fs, normalize_lead_name, normalize_leads

__all__ = ["load_wfdb"]

# Physical units of voltage and their factor to millivolts (compared lower-case).
_TO_MV = {
    "mv": 1.0,
    "millivolt": 1.0,
    "millivolts": 1.0,
    "uv": 1e-3,
    "µv": 1e-3,  # micro sign
    "μv": 1e-3,  # Greek mu
    "microvolt": 1e-3,
    "microvolts": 1e-3,
    "nv": 1e-6,
    "v": 1e3,
    "volt": 1e3,
    "volts": 1e3,
}
# Metadata columns that header comments may not overwrite.
_CORE_COLUMNS = (
    "record", "path", "fs", "n_samples", "n_leads", "leads", "original_leads", "units", "comments",
    "missing_leads",
)
_MITBIH_AGE_SEX = re.compile(r"^\s*(\d+|\?)\s+([MFmf?])(\s|$)")
_SIGNAL_EXTENSIONS = (".hea", ".dat", ".mat")


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
        ``comments`` (raw header comments), ``missing_leads`` and one column per
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
    if skipped:
        listing = "; ".join(f"{path} ({reason})" for path, reason in skipped)
        warnings.warn(
            f"Skipped {len(skipped)} of {len(paths)} WFDB records: {listing}",
            UserWarning, stacklevel=2,
        )
    if not signals:
        raise ValueError(
            f"None of the {len(paths)} WFDB records could be read; skipped: "
            + "; ".join(f"{p} ({r})" for p, r in skipped)
        )

    # Lead order: the requested one, or the first record's (all records must agree).
    if wanted is None:
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
    else:
        out_leads = wanted

    # Sampling rate: the target or the common one.
    if fs_out is None:
        rates = sorted({row["fs"] for row in rows})
        if len(rates) > 1:
            examples = {r: next(row["path"] for row in rows if row["fs"] == r) for r in rates}
            raise ValueError(
                f"Records have different sampling rates {rates} Hz (e.g. "
                + ", ".join(f"{p}: {r:g} Hz" for r, p in examples.items())
                + "). Pass fs=... to resample them to one rate."
            )
        fs_out = rates[0]

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
            + ", ".join(nan_records[:10]) + (" ..." if len(nan_records) > 10 else ""),
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
            + ", ".join(f"{p} ({u})" for p, u in odd_units[:10])
            + (" ..." if len(odd_units) > 10 else ""),
            UserWarning, stacklevel=2,
        )
    return X, metadata


# --------------------------------------------------------------------------- finding records


def _record_base(path: str) -> str:
    """A record path without its ``.hea``/``.dat``/``.mat`` extension."""
    root, ext = os.path.splitext(path)
    return root if ext.lower() in _SIGNAL_EXTENSIONS else path


def _find_records(source: Any, pattern: str | None) -> list[str]:
    if isinstance(source, (str, os.PathLike)):
        items: Iterable[Any] = [source]
    elif isinstance(source, Iterable):
        items = list(source)
        if not items:
            raise ValueError("No WFDB records given: the list of paths is empty.")
    else:
        raise ValueError(
            "paths_or_directory must be a directory, a record path or a list of them, "
            f"got {type(source).__name__}."
        )
    paths: list[str] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise ValueError(f"Record paths must be strings or os.PathLike, got {item!r}.")
        item = os.fspath(item)
        if os.path.isdir(item):
            found = _scan_directory(item, pattern or "*.hea")
            if not found:
                raise ValueError(
                    f"No WFDB records ({pattern or '*.hea'} header files) found in directory "
                    f"{os.path.abspath(item)}."
                )
            paths.extend(found)
        else:
            paths.append(os.path.abspath(_record_base(item)))
    return paths


def _scan_directory(directory: str, pattern: str) -> list[str]:
    """Record paths (without extension) of the headers under ``directory``, sorted.

    Headers of multi-segment records name their segments; those segment headers
    (and the layout segment) are read as part of their record, not on their own.
    """
    headers = sorted(str(p) for p in Path(directory).rglob(pattern) if p.is_file())
    headers = [h for h in headers if h.lower().endswith(".hea")]
    segments: set[str] = set()
    for header in headers:
        lines = _header_lines(header, max_bytes=1 << 16)
        if not lines:
            continue
        first = lines[0].split()
        if first and "/" in first[0]:  # "name/n_segments": a multi-segment record
            folder = os.path.dirname(header)
            for line in lines[1:]:
                seg = line.split()[0] if line.split() else ""
                if seg and seg != "~":
                    segments.add(os.path.abspath(os.path.join(folder, seg)))
    records = [os.path.abspath(h[:-4]) for h in headers]
    return [r for r in records if r not in segments]


def _header_lines(header: str, max_bytes: int | None = None) -> list[str]:
    """Non-empty, non-comment lines of a header file ([] when unreadable)."""
    try:
        with open(header, encoding="latin-1") as f:
            text = f.read(max_bytes) if max_bytes else f.read()
    except OSError:
        return []
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


# --------------------------------------------------------------------------- reading


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


@dataclass
class _Header:
    """The fields of a WFDB header that reading needs (one entry per signal in lists)."""

    n_sig: int
    fs: float
    sig_len: int | None
    file_name: list[str]
    fmt: list[str]
    samps_per_frame: list[str]
    skew: list[str]
    byte_offset: list[int]
    adc_gain: list[float]
    baseline: list[int]
    units: list[str]
    sig_name: list[str]
    comments: list[str] = field(default_factory=list)
    multi_segment: bool = False


def _parse_header(text: str) -> _Header:
    """Parse a header's text with wfdb's own line patterns and defaults.

    ``wfdb.rdheader`` does the same but spends milliseconds per header in pandas
    look-ups; this keeps reading thousands of short records fast.
    """
    from wfdb.io.header import parse_header_content, rx_record, rx_signal

    lines, comment_lines = parse_header_content(text)
    comments = [line.strip(" \t#") for line in comment_lines]
    if not lines:
        raise ValueError("the header file holds no record line")
    match = rx_record.match(lines[0])
    if match is None:
        raise ValueError(f"invalid record line {lines[0]!r}")
    fields = match.groupdict()
    n_sig = int(fields["n_sig"])
    fs = float(fields["fs"]) if fields["fs"] not in ("", ".") else 250.0
    sig_len = int(fields["sig_len"]) if fields["sig_len"] else None
    header = _Header(n_sig, fs, sig_len, [], [], [], [], [], [], [], [], [], comments)
    if fields["n_seg"]:
        header.multi_segment = True
        return header
    if len(lines) - 1 < n_sig:
        raise ValueError(f"the header announces {n_sig} signals but has {len(lines) - 1} lines")
    for i, line in enumerate(lines[1 : n_sig + 1]):
        sig = rx_signal.match(line)
        if sig is None:
            raise ValueError(f"invalid signal line {line!r}")
        s = sig.groupdict()
        gain = float(s["adc_gain"]) if s["adc_gain"] not in ("", ".") else 200.0
        if s["baseline"]:
            baseline = int(s["baseline"])
        else:
            baseline = int(s["adc_zero"]) if s["adc_zero"] not in ("", "-") else 0
        header.file_name.append(s["file_name"])
        header.fmt.append(s["fmt"])
        header.samps_per_frame.append(s["samps_per_frame"])
        header.skew.append(s["skew"])
        header.byte_offset.append(int(s["byte_offset"]) if s["byte_offset"] else 0)
        header.adc_gain.append(200.0 if gain == 0 else gain)
        header.baseline.append(baseline)
        header.units.append(s["units"] or "mV")
        header.sig_name.append(s["sig_name"].strip() or f"lead{i}")
    return header


def _read_text(path: str) -> str:
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _read_record(
    path: str,
    fs_out: float | None,
    duration: float | None,
    wanted: tuple[str, ...] | None,
    missing_leads: str,
) -> tuple[np.ndarray, dict[str, Any]]:
    header_path = path + ".hea"
    if not os.path.isfile(header_path):
        raise FileNotFoundError(f"no header file {header_path}")
    header = _parse_header(_read_text(header_path))
    folder = os.path.dirname(path)
    sampto = _samples_needed(header, fs_out, duration)

    files = set(header.file_name)
    if header.n_sig == 0:
        raise ValueError("the record holds no signals")
    if not header.multi_segment and all(f.lower().endswith(".mat") for f in files):
        signal = _read_mat_signal(header, folder, sampto)
    elif _is_plain_format16(header, folder):
        signal = _read_format16(header, folder, sampto)
    else:  # every other layout: wfdb's reader
        signal, header = _read_with_wfdb(path, sampto, header.comments)
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
        signal = selected

    fs_target = fs_in if fs_out is None else fs_out
    if fs_target != fs_in:
        signal = _resample(signal, fs_in, fs_target)
    if duration is not None:
        n_out = int(round(duration * fs_target))
        if signal.shape[1] >= n_out:
            signal = signal[:, :n_out]
        else:
            signal = np.pad(signal, ((0, 0), (0, n_out - signal.shape[1])))

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
    }
    for key, value in parse_header_comments(header.comments).items():
        row[f"comment_{key}" if key in _CORE_COLUMNS else key] = value
    return signal.astype(np.float32), row


def _samples_needed(header: _Header, fs_out: float | None, duration: float | None) -> int | None:
    """Samples of the file to read for ``duration`` seconds (None: all of them)."""
    if duration is None or not header.sig_len or header.fs <= 0:
        return None
    margin = 0
    if fs_out is not None and fs_out != header.fs:
        up, down = _ratio(header.fs, fs_out)
        # resample_poly's filter reaches 10 * max(up, down) upsampled samples each side.
        margin = int(np.ceil(10 * max(up, down) / up)) + 2
    needed = int(np.ceil(duration * header.fs)) + margin
    return needed if needed < header.sig_len else None


def _is_plain_format16(header: _Header, folder: str) -> bool:
    """One signal file in format 16, no skew, one sample per frame, with the expected size."""
    if header.multi_segment or not header.sig_len or len(set(header.file_name)) != 1:
        return False
    if any(f != "16" for f in header.fmt) or any(s not in ("", "1") for s in header.samps_per_frame):
        return False
    if any(s not in ("", "0") for s in header.skew) or len(set(header.byte_offset)) != 1:
        return False
    name = header.file_name[0]
    if name == "~":
        return False
    try:
        size = os.path.getsize(os.path.join(folder, name))
    except OSError:
        return False  # wfdb reports the missing file
    return size - header.byte_offset[0] == 2 * header.n_sig * header.sig_len


def _to_physical(digital: np.ndarray, header: _Header, invalid: int | None) -> np.ndarray:
    gain = np.asarray(header.adc_gain, dtype=np.float64)[:, None]
    baseline = np.asarray(header.baseline, dtype=np.float64)[:, None]
    signal = (digital.astype(np.float64) - baseline) / gain
    if invalid is not None:
        signal[digital == invalid] = np.nan  # WFDB's "missing sample" value
    return signal


def _read_format16(header: _Header, folder: str, sampto: int | None) -> np.ndarray:
    n_read = header.sig_len if sampto is None else min(sampto, header.sig_len)
    digital = np.fromfile(
        os.path.join(folder, header.file_name[0]), dtype="<i2",
        count=n_read * header.n_sig, offset=header.byte_offset[0],
    ).reshape(n_read, header.n_sig).T
    return _to_physical(digital, header, invalid=-32768)


def _read_with_wfdb(path: str, sampto: int | None, comments: list[str]) -> tuple[np.ndarray, _Header]:
    import wfdb

    rec = wfdb.rdrecord(path, sampto=sampto, physical=True)
    if rec.p_signal is None:
        raise ValueError("the record holds no signals")
    n_sig = rec.p_signal.shape[1]
    header = _Header(
        n_sig=n_sig,
        fs=float(rec.fs),
        sig_len=None,
        file_name=[], fmt=[], samps_per_frame=[], skew=[], byte_offset=[], adc_gain=[],
        baseline=[],
        units=[str(u) if u else "mV" for u in (rec.units or ["mV"] * n_sig)],
        sig_name=[str(s) for s in (rec.sig_name or [f"lead{i}" for i in range(n_sig)])],
        comments=list(rec.comments or comments),
    )
    full = wfdb.rdheader(path) if sampto is not None else rec
    header.sig_len = int(full.sig_len) if full.sig_len else None
    return np.asarray(rec.p_signal, dtype=np.float64).T, header


def _read_mat_signal(header: _Header, folder: str, sampto: int | None) -> np.ndarray:
    """Signals of a header pointing to a MATLAB file (PhysioNet/CinC Challenges)."""
    from scipy.io import loadmat

    files = sorted(set(header.file_name))
    if len(files) != 1:
        raise ValueError(f"the header points to several .mat files {files}; expected one")
    mat_path = os.path.join(folder, files[0])
    if not os.path.isfile(mat_path):
        raise FileNotFoundError(f"no signal file {mat_path}")
    content = loadmat(mat_path)
    if "val" not in content:
        keys = [k for k in content if not k.startswith("__")]
        raise ValueError(f"{mat_path} holds no 'val' matrix (variables: {keys})")
    val = np.asarray(content["val"])
    if val.ndim == 1:
        val = val[None, :]
    if val.shape[0] != header.n_sig:
        if val.ndim == 2 and val.shape[1] == header.n_sig:
            val = val.T
        else:
            raise ValueError(
                f"'val' in {mat_path} has shape {val.shape}; the header has {header.n_sig} leads"
            )
    if sampto is not None:
        val = val[:, :sampto]
    invalid = -32768 if val.dtype == np.int16 else None
    return _to_physical(val, header, invalid=invalid)


def _unit_factor(unit: str) -> float | None:
    return _TO_MV.get(str(unit).strip().lower())


def _ratio(fs_in: float, fs_out: float) -> tuple[int, int]:
    ratio = (Fraction(fs_out).limit_denominator(1000) / Fraction(fs_in).limit_denominator(1000))
    ratio = ratio.limit_denominator(10000)
    return ratio.numerator, ratio.denominator


def _resample(signal: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    from scipy.signal import resample_poly

    up, down = _ratio(fs_in, fs_out)
    n_out = int(np.ceil(signal.shape[1] * up / down))
    return resample_poly(signal, up, down, axis=1)[:, :n_out]


# --------------------------------------------------------------------------- metadata


def _comment_key(key: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", key.strip().lower()).strip("_")


def parse_header_comments(comments: Sequence[str]) -> dict[str, Any]:
    """Turn WFDB header comments into a dict.

    ``key: value`` lines give ``{key: value}`` with keys lower-cased and
    non-alphanumerics made ``_`` (the first occurrence of a key wins; lines with
    an empty value, such as section titles, are left out). ``age`` becomes a
    float (NaN when unknown), ``dx`` (CinC diagnosis codes) a list of strings. A
    MIT-BIH comment ``"<age> <sex> ..."`` gives ``age`` and ``sex`` when no
    ``age``/``sex`` key is present.
    """
    parsed: dict[str, Any] = {}
    for comment in comments:
        if ":" not in comment:
            continue
        key, value = comment.split(":", 1)
        key, value = _comment_key(key), value.strip()
        if key and value and key not in parsed:
            parsed[key] = value
    if "age" not in parsed and "sex" not in parsed:
        for comment in comments:
            match = _MITBIH_AGE_SEX.match(comment)
            if match:
                parsed["age"], parsed["sex"] = match.group(1), match.group(2).upper()
                break
    if "age" in parsed:
        try:
            parsed["age"] = float(parsed["age"])
        except ValueError:
            parsed["age"] = np.nan
    if "dx" in parsed:
        parsed["dx"] = [code.strip() for code in str(parsed["dx"]).split(",") if code.strip()]
    return parsed


def _metadata_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    columns: list[str] = list(_CORE_COLUMNS)
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    return pd.DataFrame(rows, columns=columns)
