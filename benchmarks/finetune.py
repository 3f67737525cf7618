"""Fine-tuning on the shared protocol: linear probe, fine-tuned, from scratch and MiniRocket + LR at
every label budget, and the noise robustness of the fine-tuned and from-scratch classifiers.

Protocol: that of ``benchmarks/protocol.py`` (PTB-XL superclasses, pretraining on the unlabelled
records, pool folds 1-8, test folds 9-10, budgets 25 to all with 5 stratified subsets each, macro
ROC AUC). Each method is pretrained once (its ``cpu`` preset), then for every subset:

- linear probe: the protocol's probe on the frozen embeddings;
- fine-tuned: :class:`sklearn_ecg.FineTunedECGClassifier` with the published two stages (head
  50 epochs, then the whole network 20 epochs with discriminative rates) and the published
  head, learning rates and weight decay of each method (``FINETUNE``); no validation split (the
  shared protocol has no separate validation fold), so the last epoch is kept;
- from scratch and MiniRocket + LR: read from ``OUT/quality-PRESET`` (run_quality's results on
  the same subsets), not recomputed.

Noise robustness: the fine-tuned and from-scratch classifiers trained on all labelled ECGs (and the
linear probe) scored on the test ECGs with the published noise levels 0-6
(``sklearn_ecg.evaluation.noise_robustness``); the noise bounds are in units of the pool's mean
per-lead standard deviation, as the published code applied them to standardised leads.

Usage::

    python -m benchmarks.finetune [--methods simclr,byol,cpc] [--preset cpu|fast] [--repeats 5]
                                  [--data PTBXL_ROOT] [--out benchmarks/results] [--report-only]

Writes ``OUT/finetune-PRESET/NAME.json`` per method and the table ``OUT/finetune-PRESET.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline

from sklearn_ecg import FineTunedECGClassifier
from sklearn_ecg.evaluation import label_efficiency_curve, noise_robustness
from sklearn_ecg.plotting import plot_label_efficiency

from . import methods as method_registry
from .protocol import (
    N_REPEATS,
    PROBE,
    RESULTS_DIR,
    SEED,
    Budgets,
    ProtocolData,
    Stopwatch,
    budgets_and_repeats,
    curve_summary,
    default_data_root,
    load_protocol_data,
    machine_info,
    score_table,
    write_json,
)

#: The published fine-tuning settings (hhi-aml/ecg-selfsupervised): CPC's finetuning script, and
#: the SimCLR/BYOL eval.py (head lr 8e-3 x batch / 256, fine-tuning lr 1e-2, weight decay 0.1).
FINETUNE = {
    "CPC": dict(lr=1e-3, finetune_lr=1e-4, weight_decay=1e-3),
    "SimCLR": dict(lr=8e-3 * 128 / 256, finetune_lr=1e-2, weight_decay=0.1),
    "BYOL": dict(lr=8e-3 * 128 / 256, finetune_lr=1e-2, weight_decay=0.1),
}
DEFAULT_METHODS = "simclr,byol,cpc"


def make_finetuner(name: str, embedder, preset: str) -> FineTunedECGClassifier:
    epochs = dict(head_epochs=1, finetune_epochs=1) if preset == "fast" else dict(head_epochs=50,
                                                                                   finetune_epochs=20)
    return FineTunedECGClassifier(embedder, head="published", batch_size=128, random_state=SEED,
                                  **epochs, **FINETUNE.get(name, {}))


def run_method(module: ModuleType, data: ProtocolData, budgets: Budgets, n_repeats: int,
               preset: str) -> dict:
    clock = Stopwatch()
    embedder = module.make_embedder(preset).fit(data.X_unlabelled)
    pretrain = {"pretrain_time_s": clock.wall, "pretrain_cpu_time_s": clock.cpu}
    common = dict(X_test=data.X_test, y_test=data.y_test, n_labels=budgets, n_repeats=n_repeats,
                  random_state=SEED, verbose=1)
    probe = label_efficiency_curve(embedder, data.X_pool, data.y_pool, prefit=True, probe=PROBE,
                                   method=f"{module.NAME} linear probe", **common)
    clock = Stopwatch()
    tuned = label_efficiency_curve(make_finetuner(module.NAME, embedder, preset), data.X_pool,
                                   data.y_pool, mode="supervised", method=f"{module.NAME} fine-tuned",
                                   **common)
    finetune_time = {"finetune_time_s": clock.wall, "finetune_cpu_time_s": clock.cpu}

    # Noise robustness of classifiers trained on every labelled ECG of the pool.
    amplitude = float(np.mean(data.X_pool.std(axis=(0, 2))))
    classifiers = {
        "linear probe": make_pipeline(FrozenEstimator(embedder), OneVsRestClassifier(clone(PROBE))),
        "fine-tuned": make_finetuner(module.NAME, embedder, preset),
        "from scratch": method_registry.make_supervised(module, preset, len(data.y_pool)),
    }
    robustness = {}
    for kind, classifier in classifiers.items():
        classifier.fit(data.X_pool, data.y_pool)
        table = noise_robustness(classifier, data.X_test, data.y_test, fs=module.SAMPLING_RATE,
                                 amplitude=amplitude, random_state=SEED)
        robustness[kind] = table.to_dict(orient="records")
    return {"curves": {f"{module.NAME} linear probe": curve_summary(probe),
                       f"{module.NAME} fine-tuned": curve_summary(tuned)},
            "noise_robustness": robustness, "noise_amplitude_mV": amplitude,
            "finetune_params": {k: repr(v) for k, v in make_finetuner(module.NAME, None, preset)
                                .get_params().items() if k != "embedder"},
            "embedder_params": {k: repr(v) for k, v in embedder.get_params().items()},
            **pretrain, **finetune_time}


def _quality_curves(out: Path, preset: str, method: str) -> list[pd.DataFrame]:
    """From-scratch and MiniRocket curves of run_quality on the same subsets, where present."""
    folder = out / f"quality-{preset}"
    frames = []
    for file, name in ((folder / f"{method}.json", f"{method} supervised"),
                       (folder / "baselines.json", "MiniRocket+LR")):
        if file.exists():
            curves = json.loads(file.read_text())["curves"]
            if name in curves:
                frames.append(pd.DataFrame(curves[name]["rows"]))
    return frames


def write_report(out: Path, preset: str) -> str:
    folder = out / f"finetune-{preset}"
    lines = [f"# Fine-tuning on the shared protocol ({preset} presets)", "",
             "Macro ROC AUC on PTB-XL superclasses (test folds 9-10), mean +/- std over the label "
             "subsets. From scratch and MiniRocket + LR come from `quality-" + preset + "` (the "
             "same subsets). Command: `python -m benchmarks.finetune --preset " + preset + "`.", ""]
    all_curves: list[pd.DataFrame] = []
    noise_lines = ["", "## Noise robustness (all labelled ECGs; macro AUC per published noise level)", ""]
    for path in sorted(folder.glob("*.json")):
        entry = json.loads(path.read_text())
        frames = [pd.DataFrame(c["rows"]) for c in entry["curves"].values()]
        method = next(iter(entry["curves"])).split(" ")[0]
        frames += _quality_curves(out, preset, method)
        curves = pd.concat(frames, ignore_index=True)
        curves["method"] = curves["method"].str.replace(" supervised", " from scratch")
        all_curves.append(curves)
        headers, rows = score_table(curves, ["method"])
        lines += [f"## {method}", "", "| | " + " | ".join(headers) + " |",
                  "| --- |" + " --- |" * len(headers)]
        lines += [f"| {name} | " + " | ".join(cells) + " |" for (name,), cells in rows.items()]
        lines += ["", f"Pretraining {entry['pretrain_time_s']:.0f} s; fine-tuning every subset "
                  f"{entry['finetune_time_s']:.0f} s.", ""]
        robustness = entry["noise_robustness"]
        levels = [row["level"] for row in next(iter(robustness.values()))]
        noise_lines += [f"### {method} (noise bounds x {entry['noise_amplitude_mV']:.3f} mV, the pool's "
                        "mean per-lead standard deviation)", "",
                        "| | " + " | ".join(f"level {level}" for level in levels) + " |",
                        "| --- |" + " --- |" * len(levels)]
        noise_lines += [f"| {kind} | " + " | ".join(f"{row['score']:.3f}" for row in rows_) + " |"
                        for kind, rows_ in robustness.items()]
        noise_lines.append("")
    report = "\n".join(lines + noise_lines)
    (out / f"finetune-{preset}.md").write_text(report)
    if all_curves:
        _plot(all_curves, out / f"finetune-{preset}.png", preset)
    return report


def _plot(curves: list[pd.DataFrame], path: Path, preset: str) -> None:
    """One panel per method: linear probe, fine-tuned, from scratch, and MiniRocket + LR."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(curves), 1, figsize=(8, 3.4 * len(curves)), sharex=True)
    for ax, frame in zip(np.atleast_1d(axes), curves):
        method = frame["method"].iloc[0].split(" ")[0]
        plot_label_efficiency(frame, ax=ax, baselines=["MiniRocket+LR"], title=method)
    figure.suptitle(f"Fine-tuning on PTB-XL superclasses ({preset} presets)")
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="PTB-XL folder")
    parser.add_argument("--methods", default=DEFAULT_METHODS, help="comma-separated method modules")
    parser.add_argument("--preset", default="cpu", choices=("cpu", "fast"))
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--repeats", type=int, default=N_REPEATS)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    if not args.report_only:
        modules = method_registry.load_methods([n.strip() for n in args.methods.split(",") if n.strip()])
        budgets, repeats = budgets_and_repeats(args.preset, args.repeats)
        root = args.data or default_data_root()
        machine = machine_info()
        data_by_rate: dict[int, ProtocolData] = {}
        for name, module in modules.items():
            rate = module.SAMPLING_RATE
            if rate not in data_by_rate:
                data_by_rate[rate] = load_protocol_data(root, rate, args.preset == "fast")
            print(f"{name}: pretraining, then fine-tuning at every budget", flush=True)
            entry = run_method(module, data_by_rate[rate], budgets, repeats, args.preset)
            entry.update(machine=machine, data=str(root))
            write_json(args.out / f"finetune-{args.preset}" / f"{name.lower()}.json", entry)
    report = write_report(args.out, args.preset)
    print(report)
    return report


if __name__ == "__main__":
    main()
