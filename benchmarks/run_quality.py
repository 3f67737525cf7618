"""The shared quality benchmark: label-efficiency curves of every method on PTB-XL.

Protocol (the same for every method): that of ``benchmarks/protocol.py`` (PTB-XL
superclasses; pretraining on the unlabelled records, ecg_id 501-1999, at 100 Hz, or
500 Hz for methods that need it; labelled pool strat_fold 1-8, test folds 9-10;
budgets of 25, 50, 100, 200 and all labelled ECGs, 5 stratified subsets each; a
linear probe on frozen embeddings; macro ROC AUC), with, in the same run, the
baselines of ``benchmarks/baselines.py``: raw signal + LogisticRegression,
MiniRocket + LogisticRegression, and each method's encoder trained from scratch on
the same subsets (SupervisedECGClassifier).

Usage::

    python -m benchmarks.run_quality [--data PTBXL_ROOT] [--methods pclr,cpc] [--preset cpu|fast|paper]
                                     [--out benchmarks/results] [--supervised-only]
                                     [--report-only]

from the repository root.

Each method (and each baseline set) is written to ``OUT/quality-PRESET/NAME.json``;
the markdown table ``OUT/quality-PRESET.md`` and the plot
``OUT/label_efficiency-PRESET.png`` are rebuilt from every JSON there, so methods
can be run one at a time. Baselines are reused when their JSON exists
(``--redo-baselines`` recomputes them).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from types import ModuleType

from sklearn_ecg.evaluation import label_efficiency_curve

from . import methods as method_registry
from .baselines import merge_supervised, run_baselines, run_supervised
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
    write_json,
)
from .quality_report import write_report


def run_method(module: ModuleType, data: ProtocolData, budgets: Budgets, n_repeats: int, preset: str,
               supervised: bool) -> dict:
    """Pretrain the method on the unlabelled ECGs, then probe its embeddings at every budget."""
    embedder = module.make_embedder(preset)
    clock = Stopwatch()
    curve = label_efficiency_curve(embedder, data.X_pool, data.y_pool, X_test=data.X_test,
                                   y_test=data.y_test, X_pretrain=data.X_unlabelled, n_labels=budgets,
                                   n_repeats=n_repeats, random_state=SEED, method=module.NAME, probe=PROBE,
                                   verbose=1)
    total, cpu_total = clock.wall, clock.cpu
    attrs = curve.attrs
    epochs = embedder.get_params().get("max_epochs", 1)
    result = {
        "curves": {module.NAME: curve_summary(curve)},
        "params": {k: repr(v) for k, v in embedder.get_params().items()},
        "sampling_rate": module.SAMPLING_RATE,
        "n_pretrain": attrs["n_pretrain"],
        "pretrain_time_s": attrs["pretrain_time"],
        # Unlabelled records consumed per second of pretraining (records x epochs / time).
        "pretrain_ecgs_per_s": attrs["n_pretrain"] * epochs / attrs["pretrain_time"],
        "transform_ecgs_per_s": attrs["n_transformed"] / attrs["transform_time"],
        "total_time_s": total,
        "total_cpu_time_s": cpu_total,
    }
    if supervised:
        merge_supervised(result, run_supervised(module, data, budgets, n_repeats, preset))
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="PTB-XL folder")
    parser.add_argument("--methods", default=None, help="comma-separated names (default: all)")
    parser.add_argument("--preset", default="cpu", choices=method_registry.PRESETS)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--repeats", type=int, default=N_REPEATS)
    parser.add_argument("--no-supervised", action="store_true", help="skip the from-scratch baselines")
    parser.add_argument("--supervised-only", action="store_true",
                        help="rerun only the from-scratch baselines of methods already in OUT")
    parser.add_argument("--redo-baselines", action="store_true")
    parser.add_argument("--report-only", action="store_true",
                        help="only rebuild the table and plot from the JSON files in OUT")
    args = parser.parse_args(argv)
    if args.report_only:
        return write_report(args.out / f"quality-{args.preset}", args.out, args.preset)

    root = args.data or default_data_root()
    names = None if args.methods is None else [n.strip() for n in args.methods.split(",") if n.strip()]
    modules = method_registry.load_methods(names)
    budgets, repeats = budgets_and_repeats(args.preset, args.repeats)
    folder = args.out / f"quality-{args.preset}"
    folder.mkdir(parents=True, exist_ok=True)
    machine = machine_info()

    data_by_rate: dict[int, ProtocolData] = {}
    for rate in sorted({m.SAMPLING_RATE for m in modules.values()} | {100}):
        start = time.perf_counter()
        data = data_by_rate[rate] = load_protocol_data(root, rate, args.preset == "fast")
        print(f"PTB-XL at {rate} Hz: pool {len(data.X_pool)}, test {len(data.X_test)}, unlabelled "
              f"{len(data.X_unlabelled)} (read in {time.perf_counter() - start:.0f} s)", flush=True)
    baseline_file = folder / "baselines.json"
    if args.redo_baselines or not baseline_file.exists():
        print("baselines: raw signal + LR, MiniRocket + LR", flush=True)
        curves = run_baselines(data_by_rate[100], budgets, repeats, args.preset)
        write_json(baseline_file, {
            "curves": curves, "machine": machine, "sampling_rate": 100,
            "notes": [f"MiniRocket: {curves['MiniRocket+LR']['n_kernels']} kernels, fitted on the pool"]})
    for name, module in modules.items():
        data = data_by_rate[module.SAMPLING_RATE]
        path = folder / f"{name}.json"
        if args.supervised_only:
            if not path.exists():
                raise SystemExit(f"--supervised-only: {path} does not exist; run {name} in full first.")
            entry = json.loads(path.read_text())
            print(f"{name}: from-scratch baseline only", flush=True)
            merge_supervised(entry, run_supervised(module, data, budgets, repeats, args.preset))
        else:
            print(f"{name}: pretraining on {len(data.X_unlabelled)} ECGs", flush=True)
            entry = run_method(module, data, budgets, repeats, args.preset, supervised=not args.no_supervised)
        notes = [data.note, getattr(module, "NOTE", "")]
        entry.update(machine=machine, notes=[n for n in notes if n], data=str(root))
        write_json(path, entry)

    return write_report(folder, args.out, args.preset)


if __name__ == "__main__":
    main()
