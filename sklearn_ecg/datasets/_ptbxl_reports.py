"""English reports for PTB-XL, written from the English descriptions of its SCP-ECG statements.

PTB-XL's own ``report`` column is free text, mostly German. For ECG-text pretraining in English
(METS, MERL) a report can be rebuilt from each ECG's ``scp_codes`` and the ``description`` column
of ``scp_statements.csv``: ``{'NORM': 100.0, 'SR': 0.0}`` becomes ``"sinus rhythm, normal ECG"``.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ptbxl_english_reports"]

_STATEMENTS_FILE = "scp_statements.csv"


def _read_statements(scp_statements: Any) -> tuple[pd.DataFrame, str]:
    """The statements table indexed by code, and where it came from (for error messages)."""
    if isinstance(scp_statements, pd.DataFrame):
        table, source = scp_statements, "the scp_statements DataFrame"
    else:
        if not isinstance(scp_statements, (str, os.PathLike)):
            raise ValueError("scp_statements must be the path of scp_statements.csv, the PTB-XL "
                             f"folder, or a DataFrame; got {type(scp_statements).__name__}.")
        path = Path(scp_statements)
        if path.is_dir():
            path = path / _STATEMENTS_FILE
        if not path.is_file():
            raise ValueError(f"{path} not found: expected scp_statements.csv or the PTB-XL folder "
                             "holding it.")
        table, source = pd.read_csv(path, index_col=0), str(path)
    missing = [c for c in ("description", "diagnostic", "form", "rhythm") if c not in table.columns]
    if missing:
        raise ValueError(f"{source} lacks the column(s) {missing}; is it PTB-XL's scp_statements.csv?")
    return table, source


def _code_lists(scp_codes: Any) -> tuple[list[Any], list[Any]]:
    """(row names, one scp_codes entry per ECG) from a Bunch, DataFrame, Series or sequence."""
    if hasattr(scp_codes, "metadata") and isinstance(scp_codes.metadata, pd.DataFrame):
        scp_codes = scp_codes.metadata  # a load_ptbxl Bunch
    if isinstance(scp_codes, pd.DataFrame):
        if "scp_codes" not in scp_codes.columns:
            raise ValueError("The metadata DataFrame has no 'scp_codes' column (PTB-XL's "
                             "ptbxl_database.csv or load_ptbxl(...).metadata have one).")
        scp_codes = scp_codes["scp_codes"]
    if isinstance(scp_codes, pd.Series):
        return [f"ecg_id {i}" for i in scp_codes.index], list(scp_codes)
    if isinstance(scp_codes, (Mapping, str)) or not isinstance(scp_codes, Sequence | np.ndarray):
        raise ValueError("scp_codes must hold one entry per ECG (a load_ptbxl Bunch, its metadata, "
                         f"a Series or a list of dicts); got {type(scp_codes).__name__}.")
    return [f"row {i}" for i in range(len(scp_codes))], list(scp_codes)


def _parse(entry: Any, row: str) -> dict[str, float]:
    if isinstance(entry, str):
        try:
            entry = ast.literal_eval(entry)
        except (ValueError, SyntaxError) as exc:
            raise ValueError(f"scp_codes of {row} is not readable: {entry!r}.") from exc
    if not isinstance(entry, Mapping):
        raise ValueError(
            f"scp_codes of {row} must be a dict code -> likelihood (or its text), got {entry!r}; "
            "unlabelled PTB-XL ECGs have no statements and no report."
        )
    return {str(code): float(likelihood) for code, likelihood in entry.items()}


def ptbxl_english_reports(
    scp_codes: Any,
    scp_statements: str | os.PathLike | pd.DataFrame,
    *,
    min_likelihood: float = 0.0,
    separator: str = ", ",
) -> list[str]:
    """Write an English report for each PTB-XL ECG from its SCP-ECG statements.

    Each statement becomes its English ``description`` from ``scp_statements.csv``
    (e.g. ``IMI`` -> ``"inferior myocardial infarction"``, ``SR`` -> ``"sinus
    rhythm"``), in the order of a clinical report: rhythm statements first, then
    diagnostic statements by decreasing likelihood, then the remaining form
    statements, joined by ``separator``. ``{'NORM': 100.0, 'LVOLT': 0.0, 'SR': 0.0}``
    gives ``"sinus rhythm, normal ECG, low QRS voltages in the frontal and horizontal
    leads"``. Wrap the result in a template at training time (e.g. METS's
    ``"The report of the ECG is that {}"``).

    These reports are a deterministic function of the labels: a model pretrained on
    them sees the PTB-XL statements, in words. Use the original ``report`` column
    (free text, mostly German) for a setting without that overlap.

    Parameters
    ----------
    scp_codes : Bunch, DataFrame, Series or sequence
        One entry per ECG: a ``load_ptbxl`` result, its ``metadata`` (or the raw
        ``ptbxl_database.csv`` table) with a ``scp_codes`` column, or a sequence of
        dicts ``code -> likelihood`` or of their text form ``"{'NORM': 100.0}"``.
    scp_statements : path or DataFrame
        ``scp_statements.csv``, the PTB-XL folder holding it, or the table read
        with ``index_col=0``.
    min_likelihood : float, default=0.0
        Leave out statements whose likelihood is positive but below this (PTB-XL
        uses 15, 35, 50, 80, 100 for diagnostic statements). Statements with
        likelihood 0, which PTB-XL gives when none was stated (every rhythm and
        most form statements), are always kept.
    separator : str, default=", "

    Returns
    -------
    reports : list of str
        One report per ECG, in the input order; ``""`` for an ECG whose every
        statement was left out.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_ecg.datasets import ptbxl_english_reports
    >>> statements = pd.DataFrame(
    ...     {"description": ["normal ECG", "sinus rhythm", "inferior myocardial infarction"],
    ...      "diagnostic": [1.0, None, 1.0], "form": [None, None, None],
    ...      "rhythm": [None, 1.0, None]},
    ...     index=["NORM", "SR", "IMI"])
    >>> ptbxl_english_reports([{"NORM": 100.0, "SR": 0.0}, "{'IMI': 15.0, 'SR': 0.0}"], statements)
    ['sinus rhythm, normal ECG', 'sinus rhythm, inferior myocardial infarction']
    >>> ptbxl_english_reports([{"IMI": 15.0, "SR": 0.0}], statements, min_likelihood=50)
    ['sinus rhythm']
    """
    table, source = _read_statements(scp_statements)
    rows, entries = _code_lists(scp_codes)
    is_rhythm = table["rhythm"].fillna(0).astype(float) == 1
    is_diagnostic = table["diagnostic"].fillna(0).astype(float) == 1
    reports = []
    for row, entry in zip(rows, entries):
        codes = _parse(entry, row)
        unknown = [code for code in codes if code not in table.index]
        if unknown:
            raise ValueError(f"scp_codes of {row} has statement(s) {unknown} not in {source}.")
        kept = [(code, lik) for code, lik in codes.items() if lik <= 0 or lik >= min_likelihood]
        rhythm = [code for code, _ in kept if is_rhythm[code]]
        diagnostic = [code for code, _ in sorted(
            ((c, lik) for c, lik in kept if is_diagnostic[c] and not is_rhythm[c]),
            key=lambda item: -item[1])]
        other = [code for code, _ in kept if not is_rhythm[code] and not is_diagnostic[code]]
        descriptions = [str(table.at[code, "description"]).strip() for code in rhythm + diagnostic + other]
        reports.append(separator.join(dict.fromkeys(d for d in descriptions if d)))
    return reports
