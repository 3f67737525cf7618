"""PTB-XL (Wagner et al. 2020) with the label tasks of its benchmark (Strodthoff et al. 2021)."""

from __future__ import annotations

import ast
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from .._validation import STANDARD_LEADS
from ._wfdb import load_wfdb

__all__ = ["load_ptbxl", "PTBXL_TASKS"]

#: Label tasks of the PTB-XL benchmark.
PTBXL_TASKS = ("all", "diagnostic", "subdiagnostic", "superdiagnostic", "form", "rhythm")
_SUBSETS = ("labelled", "unlabelled", "all")
_SUFFIX = {100: "lr", 500: "hr"}
_RECORD_FILE = re.compile(r"^(\d+)_(lr|hr)\.hea$")

_DESCR = """PTB-XL: 12-lead, 10 s clinical ECGs (Wagner et al., Scientific Data 2020;
PhysioNet, CC-BY 4.0). Labels: SCP-ECG statements aggregated as in the PTB-XL benchmark
(Strodthoff et al., IEEE JBHI 2021). Use metadata.strat_fold for the recommended splits
(folds 1-8 train, 9 validation, 10 test)."""


def load_ptbxl(
    root: str | os.PathLike,
    *,
    sampling_rate: int = 100,
    task: str = "superdiagnostic",
    subset: str = "labelled",
    ecg_ids: Sequence[int] | None = None,
    drop_empty: bool = False,
    load_signals: bool = True,
    on_error: str = "raise",
    n_jobs: int | None = None,
    verbose: bool = False,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load PTB-XL ECGs, multi-label targets for a benchmark task and metadata.

    Works on the PhysioNet download (``ptbxl_database.csv``,
    ``scp_statements.csv``, ``records100/``, ``records500/``) and on partial
    copies of it: record files without a row in ``ptbxl_database.csv`` are the
    *unlabelled* subset.

    Parameters
    ----------
    root : path
        The PTB-XL folder.
    sampling_rate : {100, 500}, default=100
        Read ``records100`` (``*_lr``, 1000 samples) or ``records500``
        (``*_hr``, 5000 samples).
    task : {"all", "diagnostic", "subdiagnostic", "superdiagnostic", "form", "rhythm"}
        Targets as in the PTB-XL benchmark, from ``scp_statements.csv``:
        ``"all"``: every statement (71); ``"diagnostic"``: statements with
        ``diagnostic == 1`` (44); ``"subdiagnostic"``: their
        ``diagnostic_subclass`` (23); ``"superdiagnostic"``: their
        ``diagnostic_class`` (5: CD, HYP, MI, NORM, STTC); ``"form"``: statements
        with ``form == 1`` (19); ``"rhythm"``: statements with ``rhythm == 1``
        (12). As in the benchmark code, a statement listed in an ECG's
        ``scp_codes`` counts whatever its likelihood (``{'SR': 0.0}`` is a
        positive ``SR``: PTB-XL gives 0 to statements whose likelihood was not
        stated). ``target_names`` always lists every class of the task, sorted
        (the benchmark's ``MultiLabelBinarizer`` order), so ``y`` has the same
        columns whatever the rows; on a partial copy some columns may be all 0.
    subset : {"labelled", "unlabelled", "all"}, default="labelled"
        ``"labelled"``: ECGs with a row in ``ptbxl_database.csv``.
        ``"unlabelled"``: record files under ``records<sampling_rate>/`` whose
        ecg_id has no row (their ``y`` rows are all 0 and metadata columns from
        the CSV are missing). ``"all"``: both; ``metadata["labelled"]`` tells
        them apart.
    ecg_ids : list of int, optional
        Only these ECGs, returned in this order (otherwise sorted by ecg_id). An
        id not in ``subset`` is an error.
    drop_empty : bool, default=False
        Leave out ECGs without any label of ``task`` (the benchmark does this;
        e.g. about 400 ECGs have no diagnostic statement). Default: keep them,
        with all-zero ``y`` rows. This drops every unlabelled ECG.
    load_signals : bool, default=True
        With False, signals are not read (``X`` is None): a fast listing of the
        ECGs, their labels and metadata.
    on_error : {"raise", "skip"}, default="raise"
        A missing or unreadable record file raises a ``ValueError`` naming it;
        with ``"skip"`` it is left out with a warning and listed in ``skipped``.
    n_jobs, verbose
        Parallel reading and progress bar, see :func:`load_wfdb`.
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X``: ndarray (n_ecgs, 12, 1000 or 5000), float32, mV, leads
        I, II, III, aVR, aVL, aVF, V1-V6 (or None without ``load_signals``);
        ``y``: ndarray (n_ecgs, n_classes) of 0/1 (int64); ``target_names``:
        ndarray of class names; ``metadata``: DataFrame indexed by ``ecg_id``
        with the CSV's columns (``patient_id``, ``age``, ``sex``, ``report``,
        ``scp_codes`` parsed to a dict, ``strat_fold``, ``filename_lr``,
        ``filename_hr``...; ages of 90 and above are recorded as 300 by PTB-XL), plus
        ``labelled`` (has a CSV row), ``labels`` (the task's classes of each
        ECG) and ``path`` (the header file read); ``fs``, ``leads``, ``task``,
        ``subset``, ``skipped`` (``(path, reason)`` pairs) and ``DESCR``.
        With ``return_X_y=True``, the tuple ``(X, y)`` instead.

    Notes
    -----
    Integer CSV columns (``sex``, ``strat_fold``) become floats when unlabelled
    ECGs, whose values are missing, are included.

    Examples
    --------
    >>> from sklearn_ecg.datasets import load_ptbxl
    >>> data = load_ptbxl("ptbxl", task="superdiagnostic")  # doctest: +SKIP
    >>> data.X.shape, list(data.target_names)  # doctest: +SKIP
    ((21837, 12, 1000), ['CD', 'HYP', 'MI', 'NORM', 'STTC'])
    >>> train = data.metadata["strat_fold"] <= 8  # doctest: +SKIP
    >>> unlabelled = load_ptbxl("ptbxl", subset="unlabelled", load_signals=False)  # doctest: +SKIP
    >>> unlabelled.metadata.index  # ecg_ids without a CSV row  # doctest: +SKIP
    """
    root = Path(os.path.abspath(root))
    if sampling_rate not in _SUFFIX:
        raise ValueError(f"sampling_rate must be 100 or 500 (Hz), got {sampling_rate!r}.")
    if task not in PTBXL_TASKS:
        raise ValueError(f"task must be one of {list(PTBXL_TASKS)}, got {task!r}.")
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {list(_SUBSETS)}, got {subset!r}.")
    if drop_empty and subset == "unlabelled":
        raise ValueError("drop_empty=True drops every unlabelled ECG; use subset='labelled'.")
    if not root.is_dir():
        raise ValueError(f"PTB-XL folder not found: {root}.")
    for name in ("ptbxl_database.csv", "scp_statements.csv"):
        if not (root / name).is_file():
            raise ValueError(f"{root / name} not found: is {root} a PTB-XL folder?")

    column = f"filename_{_SUFFIX[sampling_rate]}"
    database = _read_database(root / "ptbxl_database.csv", column)
    mapping, target_names, known = _task_mapping(root / "scp_statements.csv", task)
    unknown = sorted({code for codes in database["scp_codes"] for code in codes} - known)
    if unknown:
        warnings.warn(
            f"scp_codes not in scp_statements.csv are ignored: {unknown}", UserWarning, stacklevel=2
        )

    frames = []
    if subset in ("labelled", "all"):
        labelled = database.copy()
        labelled.insert(len(labelled.columns), "labelled", True)
        frames.append(labelled)
    if subset in ("unlabelled", "all"):
        frames.append(_unlabelled_frame(root, sampling_rate, database))
    frames = [f for f in frames if len(f)]
    if not frames:
        raise ValueError(
            f"No {subset} PTB-XL ECGs at {sampling_rate} Hz in {root}"
            + (" (every record file has a row in ptbxl_database.csv)." if subset == "unlabelled"
               else ".")
        )
    metadata = pd.concat(frames) if len(frames) > 1 else frames[0]
    metadata = metadata.sort_index()
    metadata["labelled"] = metadata["labelled"].astype(bool)

    if ecg_ids is not None:
        metadata = _select_ids(metadata, ecg_ids, subset)

    labels = [
        sorted({mapping[code] for code in codes if code in mapping})
        if isinstance(codes, dict) else []
        for codes in metadata["scp_codes"]
    ]
    metadata["labels"] = pd.Series(labels, index=metadata.index, dtype=object)
    if drop_empty:
        keep = np.array([len(lab) > 0 for lab in labels], dtype=bool)
        metadata = metadata[keep]
        if not len(metadata):
            raise ValueError(f"No ECG left: none of the selected ECGs has a {task!r} label.")
    metadata["path"] = [
        str(root / rel) + ".hea" if isinstance(rel, str) else np.nan for rel in metadata[column]
    ]
    missing_file = metadata["path"].isna()
    if missing_file.any():  # a CSV row without a file name for this rate: never expected
        raise ValueError(
            f"ptbxl_database.csv has no {column} for ecg_id "
            f"{metadata.index[missing_file].tolist()[:10]}."
        )

    X = None
    skipped: list[tuple[str, str]] = []
    if load_signals:
        X, read = load_wfdb(
            [p[: -len(".hea")] for p in metadata["path"]],
            leads=STANDARD_LEADS, on_error=on_error, n_jobs=n_jobs, verbose=verbose,
        )
        skipped = list(read.attrs["skipped"])
        if skipped:
            kept = set(read["path"])
            metadata = metadata[metadata["path"].isin(kept)]
        if read.attrs["fs"] != sampling_rate:
            raise ValueError(
                f"Records under records{sampling_rate}/ are sampled at {read.attrs['fs']:g} Hz, "
                f"not {sampling_rate} Hz."
            )

    y = _binarize(metadata["labels"], target_names)
    if return_X_y:
        return X, y
    return Bunch(
        X=X,
        y=y,
        target_names=np.asarray(target_names, dtype=object),
        metadata=metadata,
        fs=float(sampling_rate),
        leads=STANDARD_LEADS,
        task=task,
        subset=subset,
        skipped=skipped,
        DESCR=_DESCR,
    )


def _read_table(path: Path, columns: Sequence[str], index_col: str | int) -> pd.DataFrame:
    """A CSV of the PTB-XL folder holding ``columns`` and the index column, or a ValueError
    naming the file."""
    try:
        table = pd.read_csv(path)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{path} is not a readable CSV table ({type(exc).__name__}: {exc}).") from exc
    index = table.columns[index_col] if isinstance(index_col, int) and len(table.columns) else index_col
    missing = [name for name in (index, *columns) if name not in table.columns]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {missing}; is it PTB-XL's {path.name}?")
    return table.set_index(index)


def _read_database(path: Path, filename_column: str) -> pd.DataFrame:
    database = _read_table(path, ["scp_codes", filename_column], index_col="ecg_id")
    try:
        database.index = database.index.astype(np.int64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: ecg_id must hold integers ({exc}).") from exc
    database["scp_codes"] = pd.Series(
        [_parse_codes(text, ecg_id) for ecg_id, text in database["scp_codes"].items()],
        index=database.index, dtype=object,
    )
    return database


def _parse_codes(text: Any, ecg_id: int) -> dict[str, float]:
    if not isinstance(text, str):
        return {}
    try:
        codes = ast.literal_eval(text)
    except (ValueError, SyntaxError) as exc:
        raise ValueError(f"ptbxl_database.csv: unreadable scp_codes {text!r} for ecg_id {ecg_id}.") from exc
    if not isinstance(codes, dict):
        raise ValueError(f"ptbxl_database.csv: scp_codes of ecg_id {ecg_id} is not a dict: {text!r}.")
    return codes


def _task_mapping(path: Path, task: str) -> tuple[dict[str, str], list[str], set[str]]:
    """SCP code -> class of ``task``, the sorted class names and all known codes."""
    statements = _read_table(
        path, ["diagnostic", "form", "rhythm", "diagnostic_class", "diagnostic_subclass"], index_col=0)
    flags = statements[["diagnostic", "form", "rhythm"]].fillna(0).astype(float)
    if task == "all":
        chosen = statements.index
        target = pd.Series(statements.index, index=statements.index)
    elif task in ("form", "rhythm"):
        chosen = statements.index[flags[task] == 1]
        target = pd.Series(chosen, index=chosen)
    else:
        chosen = statements.index[flags["diagnostic"] == 1]
        source = {"diagnostic": None, "subdiagnostic": "diagnostic_subclass",
                  "superdiagnostic": "diagnostic_class"}[task]
        target = (pd.Series(chosen, index=chosen) if source is None
                  else statements.loc[chosen, source])
    mapping = {str(code): str(cls) for code, cls in target.items() if isinstance(cls, str)}
    return mapping, sorted(set(mapping.values())), {str(c) for c in statements.index}


def _unlabelled_frame(root: Path, sampling_rate: int, database: pd.DataFrame) -> pd.DataFrame:
    """Record files of ``records<sampling_rate>/`` whose ecg_id has no CSV row."""
    folder = root / f"records{sampling_rate}"
    suffix = _SUFFIX[sampling_rate]
    found: dict[int, str] = {}
    if folder.is_dir():
        for sub in sorted(os.scandir(folder), key=lambda e: e.name):
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub.path):
                match = _RECORD_FILE.match(entry.name)
                if match and match.group(2) == suffix:
                    ecg_id = int(match.group(1))
                    if ecg_id not in database.index:
                        found[ecg_id] = f"records{sampling_rate}/{sub.name}/{entry.name[:-4]}"
    index = pd.Index(sorted(found), name="ecg_id", dtype=np.int64)
    # The CSV's columns, all missing (integers become floats, booleans objects).
    frame = database.iloc[:0].reindex(index)
    other_rate = 500 if sampling_rate == 100 else 100
    other_suffix = _SUFFIX[other_rate]
    frame[f"filename_{suffix}"] = pd.Series([found[i] for i in index], index=index, dtype="str")
    frame[f"filename_{other_suffix}"] = pd.Series(
        [
            rel if (root / (rel + ".hea")).is_file() else None
            for rel in (
                f"records{other_rate}/{i // 1000 * 1000:05d}/{i:05d}_{other_suffix}" for i in index
            )
        ],
        index=index, dtype="str",
    )
    frame["scp_codes"] = pd.Series([np.nan] * len(index), index=index, dtype=object)
    frame["labelled"] = False
    return frame


def _select_ids(metadata: pd.DataFrame, ecg_ids: Sequence[int], subset: str) -> pd.DataFrame:
    ids = np.asarray(ecg_ids)
    if ids.ndim != 1 or not (np.issubdtype(ids.dtype, np.integer) or ids.size == 0):
        raise ValueError(f"ecg_ids must be a 1-D list of integers, got {ecg_ids!r}.")
    if ids.size == 0:
        raise ValueError("ecg_ids is empty.")
    if len(np.unique(ids)) != len(ids):
        raise ValueError("ecg_ids holds duplicates.")
    absent = [int(i) for i in ids if i not in metadata.index]
    if absent:
        hint = (
            " Unlabelled ECGs (no row in ptbxl_database.csv) need subset='unlabelled' or 'all'."
            if subset == "labelled" else ""
        )
        raise ValueError(
            f"{len(absent)} ecg_ids are not in the {subset!r} subset: {absent[:20]}"
            f"{' ...' if len(absent) > 20 else ''}.{hint}"
        )
    return metadata.loc[ids.astype(np.int64)]


def _binarize(labels: pd.Series, target_names: list[str]) -> np.ndarray:
    column = {name: j for j, name in enumerate(target_names)}
    y = np.zeros((len(labels), len(target_names)), dtype=np.int64)
    for i, row in enumerate(labels):
        for name in row:
            y[i, column[name]] = 1
    return y
