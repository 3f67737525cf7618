"""The baselines of the shared protocol: raw signal + LR, MiniRocket + LR, and each method's
encoder trained from scratch on the label subsets (SupervisedECGClassifier)."""

from __future__ import annotations

from types import ModuleType

import pandas as pd

from sklearn_ecg.evaluation import label_efficiency_curve

from . import methods as method_registry
from .protocol import PROBE, SEED, Budgets, ProtocolData, Stopwatch, curve_summary


def run_baselines(data: ProtocolData, budgets: Budgets, n_repeats: int, preset: str) -> dict:
    """Curves of the raw signal and of MiniRocket features, each with the protocol's probe."""
    from aeon.transformations.collection.convolution_based import MiniRocket

    common = dict(y_test=data.y_test, n_labels=budgets, n_repeats=n_repeats, random_state=SEED,
                  probe=PROBE, verbose=1)
    results = {}
    clock = Stopwatch()
    curve = label_efficiency_curve(None, data.X_pool.reshape(len(data.X_pool), -1), data.y_pool,
                                   X_test=data.X_test.reshape(len(data.X_test), -1),
                                   precomputed=True, method="raw+LR", **common)
    results["raw+LR"] = {**curve_summary(curve), "time_s": clock.wall, "cpu_time_s": clock.cpu}
    n_kernels = 1000 if preset == "fast" else 10_000
    clock = Stopwatch()
    curve = label_efficiency_curve(MiniRocket(n_kernels=n_kernels, random_state=SEED), data.X_pool,
                                   data.y_pool, X_test=data.X_test, method="MiniRocket+LR", **common)
    results["MiniRocket+LR"] = {**curve_summary(curve), "time_s": clock.wall, "cpu_time_s": clock.cpu,
                                "n_kernels": n_kernels}
    return results


def run_supervised(module: ModuleType, data: ProtocolData, budgets: Budgets, n_repeats: int,
                   preset: str) -> dict:
    """The from-scratch baseline: the method's encoder trained on each label subset."""
    name = f"{module.NAME} supervised"
    clock = Stopwatch()
    frames = []
    n_pool = len(data.y_pool)
    for budget in budgets:
        size = n_pool if budget == "all" else min(budget, n_pool)
        classifier = method_registry.make_supervised(module, preset, size)
        frames.append(label_efficiency_curve(
            classifier, data.X_pool, data.y_pool, X_test=data.X_test, y_test=data.y_test,
            mode="supervised", n_labels=[budget], n_repeats=n_repeats, random_state=SEED,
            method=name, verbose=1))
    curves = pd.concat(frames, ignore_index=True)
    epochs = [method_registry.supervised_epochs(preset, int(f["n_labels"].iloc[0])) for f in frames]
    return {
        "curves": {name: curve_summary(curves)},
        "supervised_time_s": clock.wall,
        "supervised_cpu_time_s": clock.cpu,
        "supervised_epochs": {str(f["budget"].iloc[0]): e for f, e in zip(frames, epochs)},
        "supervised_fit_ecgs_per_s": float(
            sum(f["n_labels"].sum() * e for f, e in zip(frames, epochs)) / curves["fit_time"].sum()),
    }


def merge_supervised(entry: dict, supervised: dict) -> None:
    """Add ``run_supervised``'s curve and timings to a method's saved entry."""
    entry["curves"].update(supervised.pop("curves"))
    entry.update(supervised)
