# %% [markdown]
# # `make demo`: pretrain PCLR without labels, then count how many labels it saves
#
# 1. Pretrain PCLR on unlabelled ECGs (synthetic patients with several ECGs each,
#    so PCLR's positive pairs are two ECGs of one patient; or the unlabelled
#    PTB-XL records with `--data`).
# 2. Draw label budgets from a labelled pool, fit a linear probe on the PCLR
#    embeddings of each subset, score it on held-out ECGs, and do the same with a
#    linear model on the raw signal.
# 3. Print the table and save the curve to `demo_output/label_efficiency.png`.
#
# Usage: `python examples/demo.py [--data PTBXL_ROOT] [--fast]`.
#
# PCLR is small here so the default run takes a few minutes on a laptop CPU:
# a narrower encoder (filters 16-96, about 0.5 M parameters instead of 6.4 M),
# ECGs interpolated to 1024 samples instead of 4096, 6 epochs instead of 50.
# With `--data` the unlabelled PTB-XL records carry no patient ids, so PCLR pairs
# the two halves of each ECG instead (its `single_ecg="windows"` fallback), and the
# 1,499 unlabelled records make the run longer (about 15 minutes on 2 cores).

# %%
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupShuffleSplit
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ecg import PCLRTransformer
from sklearn_ecg.datasets import load_ptbxl, make_synthetic_ecg
from sklearn_ecg.evaluation import label_efficiency_curve, plot_label_efficiency


def synthetic_protocol(fast: bool) -> dict:
    """Disjoint synthetic patients: half unlabelled, a quarter labelled pool, a quarter test."""
    data = make_synthetic_ecg(n_patients=24 if fast else 240, ecgs_per_patient=(2, 4), random_state=0)
    split = GroupShuffleSplit(n_splits=1, test_size=0.5, random_state=0)
    unlabelled, labelled = next(split.split(data.X, groups=data.patient_id))
    pool, test = next(split.split(labelled, groups=data.patient_id[labelled]))
    pool, test = labelled[pool], labelled[test]
    return {
        "X_unlabelled": data.X[unlabelled], "groups": data.patient_id[unlabelled],
        "X_pool": data.X[pool], "y_pool": data.y[pool], "X_test": data.X[test], "y_test": data.y[test],
        "budgets": [6, "all"] if fast else [6, 12, 24, 48, "all"],
        "description": f"synthetic ECGs, {len(data.target_names)} classes",
    }


def ptbxl_protocol(root: Path, fast: bool) -> dict:
    """The shared benchmark's split: unlabelled records, folds 1-8 pool, folds 9-10 test."""
    labelled = load_ptbxl(root, task="superdiagnostic", drop_empty=True)
    unlabelled = load_ptbxl(root, subset="unlabelled").X
    if fast:
        unlabelled = unlabelled[:64]
    fold = labelled.metadata["strat_fold"].to_numpy()
    return {
        "X_unlabelled": unlabelled, "groups": None,
        "X_pool": labelled.X[fold <= 8], "y_pool": labelled.y[fold <= 8],
        "X_test": labelled.X[fold >= 9], "y_test": labelled.y[fold >= 9],
        "budgets": [25, "all"] if fast else [25, 50, 100, 200, "all"],
        "description": "PTB-XL diagnostic superclasses",
    }


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description="Pretrain PCLR, then plot a label-efficiency curve.")
    parser.add_argument("--data", type=Path, default=None, help="PTB-XL folder (default: synthetic ECGs)")
    parser.add_argument("--fast", action="store_true", help="a tiny run (seconds), also SKLEARN_ECG_FAST=1")
    parser.add_argument("--out", type=Path, default=Path("demo_output"))
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("SKLEARN_ECG_FAST") == "1"
    if fast:
        print("Fast mode: tiny data and models, so the numbers below are not meaningful.")

    start = time.perf_counter()
    setup = ptbxl_protocol(args.data, fast) if args.data else synthetic_protocol(fast)
    print(f"{setup['description']}: {len(setup['X_unlabelled'])} unlabelled ECGs for pretraining, "
          f"{len(setup['X_pool'])} in the labelled pool, {len(setup['X_test'])} for testing")
    pclr = PCLRTransformer(n_samples=128 if fast else 1024, filters=(16, 32, 48, 64, 96),
                           projection_dims=(96, 96), max_epochs=1 if fast else 6, batch_size=32,
                           random_state=0, verbose=1)  # an epoch table and progress bars
    # The benchmark's probe: L2 logistic regression by liblinear's dual solver, fast when there are
    # more features (12,000 raw samples) than labelled ECGs.
    # liblinear is binary: one-vs-rest for classes (multi-label targets get one-vs-rest anyway).
    probe = make_pipeline(StandardScaler(), LogisticRegression(solver="liblinear", dual=True, max_iter=1000))
    probe = OneVsRestClassifier(probe) if setup["y_pool"].ndim == 1 else probe
    common = dict(X_test=setup["X_test"], y_test=setup["y_test"], n_labels=setup["budgets"],
                  n_repeats=2 if fast else 5, probe=probe, random_state=0)
    pretrain = {} if setup["groups"] is None else {"groups": setup["groups"]}
    curves = {"PCLR + linear probe": label_efficiency_curve(
        pclr, setup["X_pool"], setup["y_pool"], X_pretrain=setup["X_unlabelled"], pretrain_params=pretrain,
        **common)}
    print(f"PCLR pretraining: {curves['PCLR + linear probe'].attrs['pretrain_time']:.0f} s")
    flat = {k: setup[k].reshape(len(setup[k]), -1) for k in ("X_pool", "X_test")}
    curves["raw signal + linear probe"] = label_efficiency_curve(
        None, flat["X_pool"], setup["y_pool"], precomputed=True, **{**common, "X_test": flat["X_test"]})

    results = pd.concat([df.assign(method=name) for name, df in curves.items()], ignore_index=True)
    table = results.pivot_table(index="method", columns="n_labels", values="score", aggfunc="mean")
    print("\nmacro ROC AUC on the test ECGs (mean over repeats), by number of labelled ECGs:")
    print(table.round(3).to_string())
    args.out.mkdir(parents=True, exist_ok=True)
    import matplotlib

    if os.environ.get("MPLBACKEND") is None:
        matplotlib.use("Agg")
    ax = plot_label_efficiency(curves, baselines=["raw signal + linear probe"],
                               title=f"Label efficiency: {setup['description']}")
    path = args.out / "label_efficiency.png"
    ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    print(f"\nplot: {path}  (total {time.perf_counter() - start:.0f} s)")
    return results


if __name__ == "__main__":
    main()
