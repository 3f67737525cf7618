"""Longer pretraining and a cross-validated probe: how close does SimCLR get to MiniRocket + LR?

Two levers of the quality issue, measured on the shared protocol (``benchmarks/protocol.py``:
macro ROC AUC over the 5 superclasses on folds 9-10, budgets 25/50/100/200/all with the same 5
stratified label subsets of folds 1-8):

- **pretraining length**: SimCLR with its ``cpu`` preset pretrained on the 1,999 shared PTB-XL
  records at 100 Hz (``real`` in ``benchmarks/pool_size.py``: labels never used) for ``K`` times
  the preset's 100 epochs (``--scales``; the LR schedule stretches with it);
- **the probe's regularisation**: the protocol's fixed probe (StandardScaler + LogisticRegression,
  C=1) against the same probe with C chosen by cross-validation on the training labels of each
  subset alone (:class:`benchmarks.protocol.PooledCVLogisticRegression`), for the SimCLR
  embeddings and for MiniRocket's features alike (MiniRocket fitted on the labelled pool, as in
  run_quality). No choice looks at the test folds.

Embeddings and MiniRocket features are computed once and cached in ``--cache`` (outside the
repository), with the fitted embedders (``save``), so the probes can be rerun in seconds.

Usage::

    python -m benchmarks.probe_cv [--scales 1,3,6] [--threads 1] [--cache /work/pools]
                                  [--data PTBXL_ROOT] [--stage pretrain|probe|all]

Writes ``OUT/probe_cv-cpu.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from sklearn_ecg.datasets import load_ptbxl
from sklearn_ecg.evaluation import label_efficiency_curve

from .methods import simclr
from .protocol import (
    BUDGETS,
    N_REPEATS,
    PROBE,
    RESULTS_DIR,
    SEED,
    Stopwatch,
    curve_summary,
    cv_probe,
    default_data_root,
    load_protocol_data,
    machine_info,
    score_table,
    write_results,
)

DEFAULT_CACHE = Path("/work/pools")
PROBES = {"C=1": PROBE, "CV-chosen C": cv_probe()}


def features_path(cache: Path, name: str) -> Path:
    return cache / f"probe_cv-{name}.npz"


def pretrain_simclr(data, X_real: np.ndarray, scale: float, cache: Path) -> dict:
    """SimCLR (cpu preset, ``scale`` x its epochs) on the real records: embeddings cached."""
    name = f"simclr-real-x{scale:g}"
    path = features_path(cache, name)
    if path.exists():
        print(f"{name}: cached in {path}", flush=True)
        return json.loads(str(np.load(path)["info"]))
    embedder = simclr.make_embedder("cpu")
    epochs = round(scale * embedder.max_epochs)
    embedder.set_params(max_epochs=epochs)
    print(f"{name}: pretraining on {len(X_real)} ECGs for {epochs} epochs", flush=True)
    clock = Stopwatch()
    embedder.fit(X_real)
    info = {"name": name, "epochs": epochs, "n_pretrain": len(X_real), "pretrain_time_s": clock.wall,
            "pretrain_cpu_time_s": clock.cpu, "pretrain_ecgs_per_s": epochs * len(X_real) / clock.wall,
            "first_last_loss": [float(embedder.loss_curve_[0]), float(embedder.loss_curve_[-1])]}
    embedder.save(cache / f"probe_cv-{name}.model")
    np.savez(path, pool=embedder.transform(data.X_pool), test=embedder.transform(data.X_test),
             info=json.dumps(info))
    print(f"{name}: {info}", flush=True)
    return info


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


def probe_curves(data, cache: Path, names: dict[str, str]) -> pd.DataFrame:
    """Every representation (cached features) with every probe, on the protocol's subsets."""
    frames = []
    for file_name, label in names.items():
        features = np.load(features_path(cache, file_name))
        for probe_name, probe in PROBES.items():
            clock = Stopwatch()
            curve = label_efficiency_curve(
                None, features["pool"], data.y_pool, X_test=features["test"], y_test=data.y_test,
                precomputed=True, n_labels=BUDGETS, n_repeats=N_REPEATS, random_state=SEED,
                method=f"{label}, {probe_name}", probe=probe, verbose=1)
            print(f"{label}, {probe_name}: {clock.wall:.0f} s", flush=True)
            frames.append(curve)
    return pd.concat(frames, ignore_index=True)


def markdown(curves: pd.DataFrame, infos: list[dict], machine: dict) -> str:
    headers, rows = score_table(curves, ["method"])
    lines = ["## SimCLR pretraining length and a cross-validated probe, against MiniRocket + LR", "",
             "Macro ROC AUC on PTB-XL folds 9-10, 5 superclasses (mean +/- std over 5 stratified label "
             "subsets of folds 1-8); columns: labelled ECGs. SimCLR: cpu preset pretrained on the 1,999 "
             "shared PTB-XL records at 100 Hz (no labels) for K x 100 epochs. Probes: StandardScaler + "
             "LogisticRegression with C=1 (the protocol's), or with C chosen per class by 5-fold "
             "cross-validation on the subset's own labels (pooled out-of-fold ROC AUC over "
             "C in 1e-4..1e1).", "",
             "| representation, probe | " + " | ".join(headers) + " |", "|---" * (len(headers) + 1) + "|"]
    lines += [f"| {method} | " + " | ".join(cells) + " |" for (method,), cells in rows.items()]
    lines += ["", "| pretraining | epochs | seconds | ECGs/s | NT-Xent first/last epoch |",
              "|---|---|---|---|---|"]
    for info in infos:
        if "epochs" in info:
            loss = info["first_last_loss"]
            lines.append(f"| {info['name']} | {info['epochs']} | {info['pretrain_time_s']:.0f} | "
                         f"{info['pretrain_ecgs_per_s']:.1f} | {loss[0]:.3f} / {loss[1]:.3f} |")
    lines += ["", f"- {machine['summary']}", "- Command: `python -m benchmarks.probe_cv`"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="1,3,6")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--stage", default="all", choices=("pretrain", "probe", "all"))
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    args.cache.mkdir(parents=True, exist_ok=True)
    root = args.data or default_data_root()
    data = load_protocol_data(root, simclr.SAMPLING_RATE, fast=False)
    scales = [float(s) for s in args.scales.split(",")]
    infos = [minirocket_features(data, args.cache)]
    if args.stage != "probe":
        X_real = load_ptbxl(root, sampling_rate=simclr.SAMPLING_RATE, subset="all").X
        infos += [pretrain_simclr(data, X_real, scale, args.cache) for scale in scales]
    if args.stage == "pretrain":
        return {}
    names = {"minirocket": "MiniRocket"}
    for scale in scales:
        path = features_path(args.cache, f"simclr-real-x{scale:g}")
        if path.exists():
            names[path.stem.removeprefix("probe_cv-")] = f"SimCLR x{scale:g}"
            if args.stage == "probe":
                infos.append(json.loads(str(np.load(path)["info"])))
    curves = probe_curves(data, args.cache, names)
    machine = machine_info()
    result = {"machine": machine, "pretraining": infos, "curves": curve_summary(curves)}
    write_results(args.out, "probe_cv-cpu", result, markdown(curves, infos, machine))
    print(markdown(curves, infos, machine))
    return result


if __name__ == "__main__":
    main()

