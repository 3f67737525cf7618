"""The PTB-XL protocol the benchmarks share: data, label budgets, probe, scores and result files.

- data: PTB-XL (the shared subset: labelled records ecg_id 1-500, unlabelled 501-1999);
  strat_fold 1-8 are the labelled pool, folds 9-10 the test set;
- task: the 5 diagnostic superclasses (NORM, MI, STTC, CD, HYP), multi-label, ECGs
  without any superclass left out (as in the PTB-XL benchmark); macro ROC AUC;
- budgets: 25, 50, 100, 200 and all labelled ECGs of the pool, 5 stratified subsets
  each, drawn from ``SEED`` (identical for every method);
- probe: StandardScaler + one-vs-rest LogisticRegression on frozen embeddings.
"""

from __future__ import annotations

import json
import os
import platform
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.signal import resample_poly
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ecg.datasets import load_ptbxl
from sklearn_ecg.evaluation import macro_roc_auc

#: Label budgets: numbers of labelled ECGs, or "all" (the whole pool).
Budgets = tuple[int | str, ...]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SEED = 0
LAST_POOL_FOLD = 8  # strat_fold 1-8: labelled pool (and pretraining text); 9-10: test set
BUDGETS: Budgets = (25, 50, 100, 200, "all")
N_REPEATS = 5
# The "fast" preset is a smoke test of the whole pipeline in seconds.
FAST_BUDGETS: Budgets = (10, 20, "all")
FAST_REPEATS = 2
FAST_N_UNLABELLED = 64
N_BOOTSTRAP = 1000
# One probe for every method and baseline. liblinear's dual solver fits the same L2-regularised
# logistic regression as lbfgs (bar the intercept's penalty) and is ~6x faster on the 10,000-12,000
# features of MiniRocket and the raw signal, which have far more features than labelled ECGs.
PROBE = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, solver="liblinear", dual=True,
                                                           max_iter=1000))


@dataclass(frozen=True)
class ProtocolData:
    """The labelled pool, the test set and the unlabelled pretraining ECGs at one sampling rate."""

    X_pool: np.ndarray
    y_pool: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    X_unlabelled: np.ndarray
    classes: list[str]
    leads: list[str]
    note: str = ""  # a departure from the protocol, printed under the results


def default_data_root() -> Path:
    """$SKLEARN_ECG_DATA, else ../shared/data beside the repository; its ptbxl/ folder if it has one."""
    base = os.environ.get("SKLEARN_ECG_DATA")
    base = Path(base) if base else Path(__file__).resolve().parents[2] / "shared" / "data"
    return base / "ptbxl" if (base / "ptbxl").is_dir() else base


def pool_and_test(strat_fold: Any) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of the labelled pool and of the test set, from PTB-XL's ``strat_fold``."""
    folds = np.asarray(strat_fold)
    return folds <= LAST_POOL_FOLD, folds > LAST_POOL_FOLD


def budgets_and_repeats(preset: str, repeats: int = N_REPEATS) -> tuple[Budgets, int]:
    """The label budgets and subsets per budget of ``preset``."""
    return (FAST_BUDGETS, FAST_REPEATS) if preset == "fast" else (BUDGETS, repeats)


def load_protocol_data(root: Path, sampling_rate: int, fast: bool) -> ProtocolData:
    """The protocol's ECGs at ``sampling_rate``; ``fast`` keeps ``FAST_N_UNLABELLED`` unlabelled ones."""
    labelled = load_ptbxl(root, sampling_rate=sampling_rate, task="superdiagnostic", drop_empty=True)
    pool, test = pool_and_test(labelled.metadata["strat_fold"])
    note = ""
    try:
        unlabelled = load_ptbxl(root, sampling_rate=sampling_rate, subset="unlabelled").X
    except ValueError:
        # The shared subset has no unlabelled records at 500 Hz: upsample the 100 Hz ones.
        low = load_ptbxl(root, sampling_rate=100, subset="unlabelled").X
        unlabelled = resample_poly(low, sampling_rate // 100, 1, axis=-1).astype(np.float32)
        note = f"unlabelled records exist only at 100 Hz here: resampled to {sampling_rate} Hz"
    if fast:
        rng = np.random.default_rng(SEED)
        unlabelled = unlabelled[np.sort(rng.choice(len(unlabelled), FAST_N_UNLABELLED, replace=False))]
    return ProtocolData(
        X_pool=labelled.X[pool], y_pool=labelled.y[pool], X_test=labelled.X[test], y_test=labelled.y[test],
        X_unlabelled=unlabelled, classes=[str(c) for c in labelled.target_names],
        leads=[str(lead) for lead in labelled.leads], note=note)


# -- scores -------------------------------------------------------------------------------------
def macro_and_class_aucs(y: np.ndarray, scores: np.ndarray, classes: list[str]
                         ) -> tuple[float, dict[str, float]]:
    """The macro ROC AUC (``sklearn_ecg.evaluation.macro_roc_auc``) and the AUC of each class it
    averages (those with both outcomes in ``y``)."""
    per_class = {name: macro_roc_auc(y[:, j], scores[:, j])
                 for j, name in enumerate(classes) if 0 < y[:, j].sum() < len(y)}
    return macro_roc_auc(y, scores), per_class


def bootstrap_macro_aucs(y: np.ndarray, scores: dict[str, np.ndarray], rng: np.random.Generator,
                         n_resamples: int = N_BOOTSTRAP) -> dict[str, np.ndarray]:
    """Macro AUC of each model's ``scores`` on the same ``n_resamples`` resamples of the test ECGs."""
    aucs: dict[str, list[float]] = {name: [] for name in scores}
    with warnings.catch_warnings():
        # A resample may miss a rare class: it is left out of that resample's macro AUC.
        warnings.filterwarnings("ignore", message=".*left out of the macro ROC AUC.*")
        for _ in range(n_resamples):
            rows = rng.integers(0, len(y), len(y))
            for name, s in scores.items():
                aucs[name].append(macro_roc_auc(y[rows], s[rows]))
    return {name: np.asarray(values) for name, values in aucs.items()}


# -- tables -------------------------------------------------------------------------------------
def curve_summary(curve: pd.DataFrame) -> dict:
    """A label-efficiency curve as saved in the JSON results."""
    return {"rows": curve.to_dict(orient="records"), "attrs": dict(curve.attrs)}


def score_cell(stats: pd.Series) -> str:
    """Mean +/- std over the label subsets; a run with a single subset (a slow baseline run
    with ``--repeats 1``) says so instead of showing a std."""
    if stats["count"] == 1:
        return f"{stats['mean']:.3f} (1 subset)"
    return f"{stats['mean']:.3f} +/- {stats['std']:.3f}"


def score_table(curves: pd.DataFrame, by: list[str]) -> tuple[list[str], dict[tuple, list[str]]]:
    """The budget column headers ("all" with its size) and, for each group of the ``by`` columns
    (in order of appearance), its score cell per budget ("" where it lacks that budget)."""
    curves = curves.assign(budget=curves["budget"].astype(str))
    budgets = list(dict.fromkeys(curves["budget"]))
    sizes = curves.groupby("budget")["n_labels"].first()
    stats = curves.groupby([*by, "budget"], sort=False)["score"].agg(["mean", "std", "count"])
    headers = [f"{b} ({sizes[b]})" if b == "all" else b for b in budgets]
    groups = dict.fromkeys(zip(*(curves[column] for column in by)))
    return headers, {group: [score_cell(stats.loc[(*group, b)]) if (*group, b) in stats.index else ""
                             for b in budgets] for group in groups}


# -- runs and result files ----------------------------------------------------------------------
class Stopwatch:
    """Wall-clock and CPU seconds since creation. CPU time counts every thread of this process: on
    a shared machine, wall time / CPU time tells how much of the machine a run actually had."""

    def __init__(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    @property
    def wall(self) -> float:
        return time.perf_counter() - self._wall

    @property
    def cpu(self) -> float:
        return time.process_time() - self._cpu


def machine_info() -> dict:
    """The machine a result came from, with a one-line ``summary`` for the tables."""
    import torch

    threads = torch.get_num_threads()
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor() or "CPU"
    return {"python": platform.python_version(), "torch": torch.__version__, "device": device,
            "cpu_count": os.cpu_count(), "torch_threads": threads,
            "summary": f"{device}, {os.cpu_count()} CPU cores, torch {torch.__version__} "
                       f"({threads} threads)"}


def write_json(path: Path, result: Any, indent: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=indent, default=str))


def write_results(out: Path, stem: str, result: Any, table: str, indent: int = 1) -> None:
    """``OUT/STEM.json`` and its markdown table ``OUT/STEM.md``."""
    write_json(out / f"{stem}.json", result, indent)
    (out / f"{stem}.md").write_text(table)
