"""Decoding WFDB signal files into physical units: format 16 with numpy, MATLAB ``.mat`` files,
everything else with :func:`wfdb.rdrecord`; then millivolts and resampling."""

from __future__ import annotations

import math
import os
from fractions import Fraction

import numpy as np

from ._wfdb_header import _Header

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

# Bytes per sample of each WFDB signal format (the WFDB specification, signal(5)); the FLAC
# formats 508, 516 and 524 are compressed, so their size says nothing.
_BYTES_PER_SAMPLE: dict[str, float | None] = {
    "8": 1, "16": 2, "24": 3, "32": 4, "61": 2, "80": 1, "160": 2, "212": 1.5, "310": 4 / 3,
    "311": 4 / 3, "508": None, "516": None, "524": None,
}


def _read_signal(path: str, header: _Header, sampto: int | None) -> tuple[np.ndarray, _Header]:
    """Physical samples (leads, samples) of the record at ``path`` (without extension).

    Returns the header too: records read by wfdb get the header wfdb parsed.
    """
    folder = os.path.dirname(path)
    if not header.multi_segment and all(f.lower().endswith(".mat") for f in set(header.file_name)):
        return _read_mat_signal(header, folder, sampto), header
    _check_signal_files(header, folder, sampto)
    if _is_plain_format16(header, folder):
        return _read_format16(header, folder, sampto), header
    return _read_with_wfdb(path, sampto, header.comments)  # every other layout: wfdb's reader


def _check_signal_files(header: _Header, folder: str, sampto: int | None) -> None:
    """Name what a reader would fail on obscurely: an unknown format code, a missing signal
    file, or one too short for the samples the header announces."""
    if header.multi_segment:
        return
    for i, fmt in enumerate(header.fmt):
        if fmt not in _BYTES_PER_SAMPLE:
            raise ValueError(f"signal {i} ({header.sig_name[i]}) has format {fmt!r}, which is not a "
                             f"WFDB signal format (known: {', '.join(_BYTES_PER_SAMPLE)})")
    for name in dict.fromkeys(header.file_name):
        path = os.path.join(folder, name)
        if name == "~":  # no file: the samples come from elsewhere (e.g. a network stream)
            continue
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no signal file {path}")
        signals = [i for i, f in enumerate(header.file_name) if f == name]
        frame_bytes = [_BYTES_PER_SAMPLE[header.fmt[i]] for i in signals]
        if not header.sig_len or None in frame_bytes:
            continue
        n_frames = header.sig_len if sampto is None else min(sampto, header.sig_len)
        per_frame = sum(int(header.samps_per_frame[i] or 1) * frame_bytes[k] for k, i in enumerate(signals))
        # Rounded down: packed formats (212, 310, 311) may pad their last group.
        needed = header.byte_offset[signals[0]] + math.floor(n_frames * per_frame)
        size = os.path.getsize(path)
        if size < needed:
            raise ValueError(
                f"signal file {path} is truncated: {size} bytes, but {n_frames} samples of its "
                f"{len(signals)} signal(s) in format {header.fmt[signals[0]]} need {needed}"
            )


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
    if val.dtype == object or not np.issubdtype(val.dtype, np.number) or val.ndim > 2:
        raise ValueError(
            f"'val' in {mat_path} must be a numeric matrix (leads x samples), got a {val.ndim}-D "
            f"{'cell array' if val.dtype == object else f'array of {val.dtype}'} of shape {val.shape}"
        )
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

