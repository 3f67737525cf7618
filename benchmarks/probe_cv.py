"""Longer pretraining, a wider backbone and a cross-validated probe: how close do SimCLR and BYOL
get to MiniRocket + LR?

Levers of the quality issue, measured on the shared protocol (``benchmarks/protocol.py``: macro
ROC AUC over the 5 superclasses on folds 9-10, budgets 25/50/100/200/all with the same 5
stratified label subsets of folds 1-8):

- **pretraining length, width, views and seed** (``--runs [METHOD:]WIDTHxSCALE[r][sSEED],...``,
  METHOD ``simclr`` (the default) or ``byol``): the method's ``cpu`` preset (backbone 16 wide) or
  the same backbone 32 wide, pretrained on the 1,999 shared PTB-XL records at 100 Hz (``real`` in
  ``benchmarks/pool_size.py``: labels never used) for ``SCALE`` times the preset's 100 epochs (the
  LR schedule stretches with it); ``r``: the two views of an item cut from different windows of the
  record (``views_from="record"``) instead of one window; ``sSEED``: another ``random_state``;
- **two pretrained methods side by side** (``--unions RUN+RUN,...``): the embeddings of cached runs
  concatenated, as a ``FeatureUnion`` of the fitted embedders would give them (never MiniRocket's
  features), a candidate on fold 8 like any run;
- **the probe's regularisation**: the protocol's fixed probe (StandardScaler + LogisticRegression,
  C=1) against the same probe with C chosen by cross-validation on the training labels of each
  subset alone (:func:`sklearn_ecg.evaluation.cv_probe`), for the pretrained
  embeddings and for MiniRocket's features alike (MiniRocket fitted on the labelled pool, as in
  run_quality);
- **fine-tuning** (``--finetune``): the chosen run fine-tuned end to end on each subset as in
  ``benchmarks/finetune.py`` (published two stages, head and rates; last epoch kept).

The run is chosen on fold 8 alone (probes trained on all labels of folds 1-7): the test folds 9-10
never inform a choice. Every run is reported on the test folds all the same.

Embeddings and MiniRocket features are computed once and cached in ``--cache`` (outside the
repository), with the fitted embedders (``save``), so the probes can be rerun in minutes. With
``--reuse REPORT`` (an earlier ``probe_cv-cpu.json``), a representation whose features are not in the
cache is read from that report instead, so a new candidate does not mean pretraining every run again.

Usage::

    python -m benchmarks.probe_cv [--runs RUN,...] [--unions 16x12+byol:16x6] [--threads 1]
                                  [--cache /work/pools] [--data PTBXL_ROOT]
                                  [--stage pretrain|probe|all] [--finetune] [--reuse REPORT]

(``--runs`` defaults to the thirteen runs of ``DEFAULT_RUNS``.)

Writes ``OUT/probe_cv-cpu.json``, ``.md`` and ``.png`` (the chosen run against MiniRocket).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.multiclass import OneVsRestClassifier

from sklearn_ecg.datasets import load_ptbxl
from sklearn_ecg.evaluation import cv_probe, label_efficiency_curve, macro_roc_auc

from .finetune import make_finetuner
from .methods import byol, simclr
from .protocol import (
    BUDGETS,
    N_REPEATS,
    PROBE,
    RESULTS_DIR,
    SEED,
    Stopwatch,
    curve_summary,
    default_data_root,
    load_protocol_data,
    machine_info,
    pool_and_test,
    score_table,
    write_results,
)

DEFAULT_CACHE = Path("/work/pools")
# The seed fixes the folds of the fold-8 validation; label_efficiency_curve reseeds every subset.
PROBES = {"C=1": PROBE, "CV-chosen C": cv_probe(random_state=SEED)}
PROBE_FILES = {"C=1": "c1", "CV-chosen C": "cv"}
#: The labelled pool's last fold validates the choice between runs (the test folds 9-10 never do).
VALIDATION_FOLD = 8


def features_path(cache: Path, name: str) -> Path:
    return cache / f"probe_cv-{name}.npz"


#: Wider variants of the cpu preset's backbone: ``width`` -> the xresnet1d widths and stem.
WIDE_BACKBONES = {32: dict(widths=(32, 32, 32, 32), stem_widths=(32, 32, 64))}


#: The candidates compared on fold 8 (see ``Run.parse``).
DEFAULT_RUNS = "16x3,16x6,32x3,32x6,16x12,byol:16x6,16x6s1,16x6r,16x6rs1,16x12r,byol:16x6r,16x24r,32x6r"

#: The methods a run may pretrain (benchmarks/methods modules with a ``cpu`` preset).
METHODS = {"simclr": simclr, "byol": byol}


#: ``[METHOD:]WIDTHxSCALE[r][sSEED]``: see :meth:`Run.parse`.
RUN_PATTERN = re.compile(r"(?:(?P<method>\w+):)?(?P<width>\d+)x(?P<scale>\d+(?:\.\d+)?)(?P<record>r?)"
                         r"(?:s(?P<seed>\d+))?")


@dataclass(frozen=True)
class Run:
    """A method's ``cpu`` preset with its backbone ``width`` wide, pretrained ``scale`` x its epochs
    from ``random_state=seed`` (the preset's is 0), its two views cut from one window (the paper)
    or, with ``record_views``, each from its own window of the record (``views_from="record"``)."""

    method: str
    width: int
    scale: float
    seed: int = 0
    record_views: bool = False

    @classmethod
    def parse(cls, text: str) -> Run:
        """``[METHOD:]WIDTHxSCALE[r][sSEED]``, e.g. ``16x6`` (SimCLR), ``byol:16x6``, ``16x6r``
        (views from the whole record) or ``16x6s1`` (seed 1)."""
        match = RUN_PATTERN.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"run {text!r} is not [METHOD:]WIDTHxSCALE[r][sSEED], e.g. 16x6 or byol:16x6r")
        method = match["method"] or "simclr"
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r} in run {text!r}; expected one of {list(METHODS)}")
        return cls(method, int(match["width"]), float(match["scale"]), int(match["seed"] or 0),
                   bool(match["record"]))

    @property
    def name(self) -> str:
        """The cache name (SimCLR's as before methods were named: ``simclr-real-x6``)."""
        wide = "" if self.width == 16 else f"-w{self.width}"
        views = "-record" if self.record_views else ""
        seed = f"-s{self.seed}" if self.seed else ""
        return f"{self.method}-real{wide}-x{self.scale:g}{views}{seed}"

    @property
    def label(self) -> str:
        wide = "" if self.width == 16 else f" {self.width} wide"
        views = " record views" if self.record_views else ""
        seed = f" seed {self.seed}" if self.seed else ""
        return f"{METHODS[self.method].NAME}{wide} x{self.scale:g}{views}{seed}"


def pretrain(data, X_real: np.ndarray, run: Run, cache: Path) -> dict:
    """``run`` pretrained on the real records: the model and its embeddings cached."""
    name = run.name
    path = features_path(cache, name)
    if path.exists():
        print(f"{name}: cached in {path}", flush=True)
        return json.loads(str(np.load(path)["info"]))
    embedder = METHODS[run.method].make_embedder("cpu").set_params(
        **WIDE_BACKBONES.get(run.width, {}), random_state=run.seed,
        views_from="record" if run.record_views else "window")
    epochs = round(run.scale * embedder.max_epochs)
    embedder.set_params(max_epochs=epochs)
    print(f"{name}: pretraining on {len(X_real)} ECGs for {epochs} epochs", flush=True)
    clock = Stopwatch()
    embedder.fit(X_real)
    info = {"name": name, "label": run.label, "width": run.width, "epochs": epochs,
            "n_pretrain": len(X_real), "pretrain_time_s": clock.wall, "pretrain_cpu_time_s": clock.cpu,
            "pretrain_ecgs_per_s": epochs * len(X_real) / clock.wall,
            "first_last_loss": [float(embedder.loss_curve_[0]), float(embedder.loss_curve_[-1])]}
    embedder.save(cache / f"probe_cv-{name}.model")
    np.savez(path, pool=embedder.transform(data.X_pool), test=embedder.transform(data.X_test),
             info=json.dumps(info))
    print(f"{name}: {info}", flush=True)
    return info


def union_naming(parts: list[Run]) -> tuple[str, str]:
    """The cache name and label of ``parts``' embeddings side by side."""
    return "union-" + "-".join(part.name for part in parts), " + ".join(part.label for part in parts)


def union_features(parts: list[Run], cache: Path) -> tuple[str, str] | None:
    """The cached embeddings of ``parts`` side by side (cached too): (name, label), or None while a
    part is not pretrained."""
    paths = [features_path(cache, part.name) for part in parts]
    if not all(path.exists() for path in paths):
        return None
    name, label = union_naming(parts)
    path = features_path(cache, name)
    if not path.exists():
        features = [np.load(part_path) for part_path in paths]
        np.savez(path, pool=np.hstack([f["pool"] for f in features]),
                 test=np.hstack([f["test"] for f in features]),
                 info=json.dumps({"name": name, "label": label}))
    return name, label


def minirocket_features(data, cache: Path) -> dict:
    """MiniRocket (10,000 kernels) fitted on the labelled pool, as in run_quality: features cached."""
    from aeon.transformations.collection.convolution_based import MiniRocket

    path = features_path(cache, "minirocket")
    if not path.exists():
        clock = Stopwatch()
        rocket = MiniRocket(n_kernels=10_000, random_state=SEED).fit(data.X_pool)
        info = {"name": "minirocket", "time_s": clock.wall}
        np.savez(path, pool=rocket.transform(data.X_pool), test=rocket.transform(data.X_test),
                 info=json.dumps(info))
    return json.loads(str(np.load(path)["info"]))


def pool_folds(root: Path) -> np.ndarray:
    """PTB-XL's ``strat_fold`` of each labelled-pool ECG, in the order of ``load_protocol_data``."""
    folds = np.asarray(load_ptbxl(root, sampling_rate=simclr.SAMPLING_RATE, task="superdiagnostic",
                                  drop_empty=True).metadata["strat_fold"])
    return folds[pool_and_test(folds)[0]]


def held_out_score(probe, features: np.ndarray, y: np.ndarray, train: np.ndarray,
                   held_out: np.ndarray) -> float:
    """Macro AUC on the ``held_out`` ECGs of ``probe`` (one per class) trained on the ``train`` ones."""
    model = OneVsRestClassifier(clone(probe)).fit(features[train], y[train])
    return macro_roc_auc(y[held_out], model.predict_proba(features[held_out]))


def validation_scores(data, folds: np.ndarray, cache: Path, names: dict[str, str]) -> dict:
    """Macro AUC on fold 8 of probes trained on all the labels of folds 1-7, for every
    representation and probe: the only scores the choice between runs looks at."""
    train, valid = folds < VALIDATION_FOLD, folds == VALIDATION_FOLD
    scores = {}
    for file_name, label in names.items():
        features = np.load(features_path(cache, file_name))["pool"]
        scores[label] = {probe_name: held_out_score(probe, features, data.y_pool, train, valid)
                         for probe_name, probe in PROBES.items()}
    return scores


def leave_one_fold_out(data, folds: np.ndarray, cache: Path, names: dict[str, str]) -> dict:
    """Mean and std over folds 1-8 of the macro AUC on each fold of the cross-validated probe
    trained on the other seven: how much the fold-8 choice rests on its ~44 ECGs. Reported beside
    the choice, never used by it; the test folds stay out. Pretrained runs only (MiniRocket's
    10,000 features would take this 15 minutes)."""
    scores = {}
    for file_name, label in names.items():
        if file_name == "minirocket":
            continue
        features = np.load(features_path(cache, file_name))["pool"]
        per_fold = [held_out_score(PROBES["CV-chosen C"], features, data.y_pool, folds != fold, folds == fold)
                    for fold in range(1, VALIDATION_FOLD + 1)]
        scores[label] = [float(np.mean(per_fold)), float(np.std(per_fold))]
    return scores


def split_by_source(names: dict[str, str], cache: Path, report: dict) -> tuple[dict, dict]:
    """``names`` (cache name -> label) whose features are in ``cache``, and those taken from
    ``report`` instead (an earlier report of this command); the others (not pretrained yet) are
    left out."""
    computed = {name: label for name, label in names.items() if features_path(cache, name).exists()}
    reused = {name: label for name, label in names.items()
              if name not in computed and label in report.get("validation_fold_8", {})}
    return computed, reused


def report_rows(report: dict, label: str, kinds: list[str]) -> pd.DataFrame:
    """The curve rows of ``label`` with each probe (or ``fine-tuned``) of ``kinds`` in ``report``."""
    methods = {f"{label}, {kind}" for kind in kinds}
    return pd.DataFrame([row for row in report["curves"]["rows"] if row["method"] in methods])


def pretraining_info(name: str, label: str, cache: Path, report: dict) -> dict:
    """What the cache (or else ``report``) says of how ``name`` was pretrained."""
    path = features_path(cache, name)
    if path.exists():
        info = json.loads(str(np.load(path)["info"]))
        return info if name == "minirocket" else {"label": label, **info}
    return next(info for info in report["pretraining"] if info["name"] == name)


def cached_curve(path: Path, make: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``make()``'s curve, read from ``path`` where an earlier run of the same settings left it."""
    if path.exists():
        return pd.DataFrame(json.loads(path.read_text()))
    clock = Stopwatch()
    curve = make()
    print(f"{path.stem}: {clock.wall:.0f} s", flush=True)
    path.write_text(json.dumps(curve.to_dict(orient="records"), default=str))
    return curve


def probe_curves(data, cache: Path, names: dict[str, str]) -> pd.DataFrame:
    """Every representation (cached features) with every probe, on the protocol's subsets (the
    curves cached too: MiniRocket's with the cross-validated probe takes about 20 minutes)."""
    frames = []
    for file_name, label in names.items():
        features = np.load(features_path(cache, file_name))
        for probe_name, probe in PROBES.items():
            frames.append(cached_curve(
                cache / f"probe_cv-curve-{file_name}-{PROBE_FILES[probe_name]}.json",
                partial(label_efficiency_curve, None, features["pool"], data.y_pool,
                        X_test=features["test"], y_test=data.y_test, precomputed=True, n_labels=BUDGETS,
                        n_repeats=N_REPEATS, random_state=SEED, method=f"{label}, {probe_name}",
                        probe=probe, verbose=1)))
    return pd.concat(frames, ignore_index=True)


def finetune_curve(data, cache: Path, run: Run) -> pd.DataFrame:
    """The cached ``run`` fine-tuned on every subset (benchmarks/finetune.py's settings)."""
    module = METHODS[run.method]
    embedder = type(module.make_embedder("cpu")).load(cache / f"probe_cv-{run.name}.model", device="cpu")
    label = run.label
    return cached_curve(cache / f"probe_cv-curve-{run.name}-finetuned.json", lambda: label_efficiency_curve(
        make_finetuner(module.NAME, embedder, "cpu"), data.X_pool, data.y_pool, X_test=data.X_test,
        y_test=data.y_test, mode="supervised", n_labels=BUDGETS, n_repeats=N_REPEATS, random_state=SEED,
        method=f"{label}, fine-tuned", verbose=1))


def paired_differences(curves: pd.DataFrame, chosen: str | None) -> list[str]:
    """Markdown lines: the chosen run minus MiniRocket with the same probe, on the same label
    subsets (mean +/- std over the subsets; positive: the chosen run is better)."""
    if chosen is None:
        return []
    scores = curves.astype({"budget": str}).set_index(["method", "budget", "repeat"])["score"]
    lines = ["", f"{chosen} minus MiniRocket with the same probe, on the same label subsets (mean +/- std "
             f"over the subsets; positive: {chosen} is better):", ""]
    for probe_name in PROBES:
        difference = (scores[f"{chosen}, {probe_name}"] - scores[f"MiniRocket, {probe_name}"])
        stats = difference.groupby(level="budget", sort=False).agg(["mean", "std"])
        if len(lines) == 3:
            lines += ["| probe | " + " | ".join(stats.index) + " |", "|---" * (len(stats) + 1) + "|"]
        lines.append(f"| {probe_name} | " + " | ".join(
            f"{row['mean']:+.3f} +/- {row['std']:.3f}" for _, row in stats.iterrows()) + " |")
    return lines


def markdown(result: dict) -> str:
    curves = pd.DataFrame(result["curves"]["rows"])
    headers, rows = score_table(curves, ["method"])
    lines = ["## SimCLR and BYOL: pretraining length, width and a cross-validated probe, against "
             "MiniRocket + LR", "",
             "Macro ROC AUC on PTB-XL folds 9-10, 5 superclasses (mean +/- std over 5 stratified label "
             "subsets of folds 1-8); columns: labelled ECGs. SimCLR and BYOL: the cpu preset (or its "
             "backbone 32 wide) pretrained on the 1,999 shared PTB-XL records at 100 Hz (no labels) for K "
             "x 100 epochs, from seed 0 unless named; 'record views': each view cut from its own window "
             "of the record (views_from='record'), else both from one window (the paper). Probes: "
             "StandardScaler + LogisticRegression with C=1 (the protocol's), or with C chosen per class "
             "by 5-fold cross-validation on the subset's own labels (pooled out-of-fold ROC AUC over C "
             "in 1e-4..1e1). Fine-tuned: the run chosen on fold 8 (below), "
             "benchmarks/finetune.py's settings.", "",
             "| representation, probe | " + " | ".join(headers) + " |", "|---" * (len(headers) + 1) + "|"]
    lines += [f"| {method} | " + " | ".join(cells) + " |" for (method,), cells in rows.items()]
    lines += paired_differences(curves, result["chosen"])
    lofo = result.get("leave_one_fold_out", {})
    columns = [*PROBES] + (["CV-chosen C, folds 1-8 one left out"] if lofo else [])
    lines += ["", f"Validation (fold {VALIDATION_FOLD}, probe trained on all labels of folds 1-"
              f"{VALIDATION_FOLD - 1}; the only scores the choice of run looks at): chosen "
              f"**{result['chosen']}**.", "", "| representation | " + " | ".join(columns) + " |",
              "|---" * (len(columns) + 1) + "|"]
    for label, scores in result["validation_fold_8"].items():
        cells = [f"{value:.3f}" for value in scores.values()]
        if lofo:
            cells.append(f"{lofo[label][0]:.3f} +/- {lofo[label][1]:.3f}" if label in lofo else "-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if lofo:
        lines += ["", "Leave one out: the mean (+/- std over the 8 folds) of each fold's macro AUC, probe "
                  "trained on the other 7 folds; it shows how far fold 8 alone (about 44 ECGs) can be "
                  "trusted to choose, and is not used by the choice."]
    lines += ["", "| pretraining | epochs | seconds | ECGs/s | loss first/last epoch |",
              "|---|---|---|---|---|"]
    for info in result["pretraining"]:
        if "epochs" in info:
            loss = info["first_last_loss"]
            lines.append(f"| {info.get('label', info['name'])} | {info['epochs']} | "
                         f"{info['pretrain_time_s']:.0f} | {info['pretrain_ecgs_per_s']:.1f} | "
                         f"{loss[0]:.3f} / {loss[1]:.3f} |")
    lines += ["", f"- Last run (probes): {result['machine']['summary']}. Pretraining (seconds above): "
              "torch on one thread (`--threads 1`, the default), beside other jobs.",
              "- Command: `python -m benchmarks.probe_cv --finetune`"]
    if result.get("reused"):
        lines.append("- Taken from the previous report (`--reuse`, their cached features gone): "
                     + ", ".join(result["reused"]) + ". Pretraining and probes are deterministic: the "
                     "command above on an empty cache gives the same rows.")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> bool:
    """The label-efficiency curves of the chosen run (each probe, fine-tuned) against MiniRocket's."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    from sklearn_ecg.plotting import plot_label_efficiency

    curves = pd.DataFrame(result["curves"]["rows"])
    shown = [m for m in curves["method"].unique() if m.startswith(("MiniRocket", f"{result['chosen']},"))]
    frames = {m: curves[curves["method"] == m] for m in shown}
    ax = plot_label_efficiency(frames, baselines=[m for m in shown if m.startswith("MiniRocket")],
                               title=f"{result['chosen']} (chosen on fold {VALIDATION_FOLD}) and MiniRocket")
    ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    return True


def probe_results(data, root: Path, runs: list[Run], unions: list[list[Run]], cache: Path, report: dict,
                  finetune: bool) -> dict:
    """Validation, leave-one-fold-out and test curves of MiniRocket, every run and union (cached
    features, or else ``report``'s rows), the run chosen on fold 8 fine-tuned if ``finetune``."""
    by_name = {run.name: run for run in runs}
    for parts in unions:
        union_features(parts, cache)  # cached where its parts are
    names = {"minirocket": "MiniRocket", **{run.name: run.label for run in runs},
             **dict(union_naming(parts) for parts in unions)}
    if "MiniRocket" not in report.get("validation_fold_8", {}):
        minirocket_features(data, cache)
    computed, reused = split_by_source(names, cache, report)
    # In the order of ``names``, reused ones in their place, as a full rerun would list them.
    available = {name: label for name, label in names.items() if name in computed or name in reused}
    infos = [pretraining_info(name, label, cache, report) for name, label in available.items()
             if not name.startswith("union-")]
    folds = pool_folds(root)
    scores = validation_scores(data, folds, cache, computed) | {
        label: report["validation_fold_8"][label] for label in reused.values()}
    lofo = leave_one_fold_out(data, folds, cache, computed) | {
        label: report["leave_one_fold_out"][label] for label in reused.values()
        if label in report.get("leave_one_fold_out", {})}
    validation = {label: scores[label] for label in available.values()}
    lofo = {label: lofo[label] for label in available.values() if label in lofo}
    print(validation, lofo, flush=True)
    curves = pd.concat([probe_curves(data, cache, {name: label}) if name in computed
                        else report_rows(report, label, list(PROBES)) for name, label in available.items()],
                       ignore_index=True)
    chosen = max((name for name in available if name != "minirocket"),
                 key=lambda name: max(validation[names[name]].values()), default=None)
    if finetune and chosen in by_name:  # a union of runs is not one model to fine-tune
        if chosen in computed:
            finetuned = finetune_curve(data, cache, by_name[chosen])
        else:
            finetuned = report_rows(report, names[chosen], ["fine-tuned"])
            if finetuned.empty:
                raise SystemExit(f"{names[chosen]} is chosen but neither pretrained in {cache} nor "
                                 "fine-tuned in the reused report: pretrain it (--stage pretrain --runs)")
        curves = pd.concat([curves, finetuned], ignore_index=True)
    return {"machine": machine_info(), "pretraining": infos, "validation_fold_8": validation,
            "leave_one_fold_out": lofo, "reused": list(reused.values()),
            "chosen": names.get(chosen), "curves": curve_summary(curves)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default=DEFAULT_RUNS,
                        help="runs as [METHOD:]WIDTHxSCALE[r][sSEED] (METHOD simclr, the default, or "
                             "byol): backbone width (16: the cpu preset; 32), pretraining length in "
                             "multiples of the preset's 100 epochs, r: views from the whole record, "
                             "SEED: random_state (default 0)")
    parser.add_argument("--unions", default="16x12+byol:16x6",
                        help="runs whose embeddings are also probed side by side, as RUN+RUN,...")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--stage", default="all", choices=("pretrain", "probe", "all"))
    parser.add_argument("--finetune", action="store_true",
                        help="also fine-tune the run chosen on fold 8 on every subset")
    parser.add_argument("--reuse", type=Path, default=None,
                        help="an earlier report of this command (its JSON): representations whose "
                             "features are not in --cache are taken from it instead of being pretrained "
                             "and probed again (runs are deterministic: a full rerun gives the same rows)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    args.cache.mkdir(parents=True, exist_ok=True)
    root = args.data or default_data_root()
    data = load_protocol_data(root, simclr.SAMPLING_RATE, fast=False)
    runs = [Run.parse(run) for run in args.runs.split(",")]
    if args.stage != "probe":
        X_real = load_ptbxl(root, sampling_rate=simclr.SAMPLING_RATE, subset="all").X
        for run in runs:
            pretrain(data, X_real, run, args.cache)
    if args.stage == "pretrain":
        return {}
    report = json.loads(args.reuse.read_text()) if args.reuse else {}
    unions = [[Run.parse(part) for part in union.split("+")] for union in args.unions.split(",") if union]
    result = probe_results(data, root, runs, unions, args.cache, report, args.finetune)
    table = markdown(result)
    write_results(args.out, "probe_cv-cpu", result, table)
    plot(result, args.out / "probe_cv-cpu.png")
    print(table)
    return result


if __name__ == "__main__":
    main()

