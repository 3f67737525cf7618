"""WFDB headers: the record and signal lines that reading needs, and the comments as metadata."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_MITBIH_AGE_SEX = re.compile(r"^\s*(\d+|\?)\s+([MFmf?])(\s|$)")


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
    # Signals whose gain is 0 or absent (uncalibrated): read at WFDB's default 200 adu/mV.
    uncalibrated: list[str] = field(default_factory=list)


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
        if s["adc_gain"] in ("", ".") or gain == 0:
            header.uncalibrated.append(header.sig_name[-1])
    return header


def _read_text(path: str) -> str:
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


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
