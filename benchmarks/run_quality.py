"""The shared quality benchmark: label-efficiency curves of every method on PTB-XL.

Protocol (the same for every method):

- data: PTB-XL at 100 Hz (500 Hz for methods that need it); on the shared subset,
  pretraining on the unlabelled records (ecg_id 501-1999), probing on the labelled
  ones (ecg_id 1-500): strat_fold 1-8 are the labelled pool, folds 9-10 the test set;
- task: the 5 diagnostic superclasses (NORM, MI, STTC, CD, HYP), multi-label, ECGs
  without any superclass left out (as in the PTB-XL benchmark); macro ROC AUC;
- budgets: 25, 50, 100, 200 and all labelled ECGs of the pool, 5 subsets each
  (stratified, every superclass present; identical for all methods);
- probes: StandardScaler + one-vs-rest LogisticRegression on frozen embeddings;
- baselines in the same run: raw signal + LogisticRegression, MiniRocket +
  LogisticRegression, and each method's encoder trained from scratch on the same
  subsets (SupervisedECGClassifier).

Usage::

    python benchmarks/run_quality.py [--data PTBXL_ROOT] [--methods pclr,cpc] [--preset cpu|fast|paper]
                                     [--out benchmarks/results] [--supervised-only]
                                     [--report-only]

Each method (and each baseline set) is written to ``OUT/quality-PRESET/NAME.json``;
the markdown table ``OUT/quality-PRESET.md`` and the plot
``OUT/label_efficiency-PRESET.png`` are rebuilt from every JSON there, so methods
can be run one at a time. Baselines are reused when their JSON exists
(``--redo-baselines`` recomputes them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import methods as method_registry  # noqa: E402

from sklearn_ecg.datasets import load_ptbxl  # noqa: E402
from sklearn_ecg.evaluation import label_efficiency_curve, plot_label_efficiency  # noqa: E402

BUDGETS = (25, 50, 100, 200, "all")
# One probe for every method and baseline. liblinear's dual solver fits the same L2-regularised
# logistic regression as lbfgs (bar the intercept's penalty) and is ~6x faster on the 10,000-12,000
# features of MiniRocket and the raw signal, which have far more features than labelled ECGs.
PROBE = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, solver="liblinear", dual=True,
                                                           max_iter=1000))
N_REPEATS = 5
SEED = 0


def default_root() -> Path:
    base = os.environ.get("SKLEARN_ECG_DATA")
    base = Path(base) if base else HERE.parent.parent / "shared" / "data"
    return base / "ptbxl" if (base / "ptbxl").is_dir() else base


def load_protocol_data(root: Path, sampling_rate: int, fast: bool) -> dict:
    """Labelled pool, test set and unlabelled pretraining ECGs at ``sampling_rate``."""
    labelled = load_ptbxl(root, sampling_rate=sampling_rate, task="superdiagnostic", drop_empty=True)
    folds = labelled.metadata["strat_fold"].to_numpy()
    pool, test = folds <= 8, folds >= 9
    note = ""
    try:
        unlabelled = load_ptbxl(root, sampling_rate=sampling_rate, subset="unlabelled").X
    except ValueError:
        # The shared subset has no unlabelled records at 500 Hz: upsample the 100 Hz ones.
        from scipy.signal import resample_poly

        low = load_ptbxl(root, sampling_rate=100, subset="unlabelled").X
        unlabelled = resample_poly(low, sampling_rate // 100, 1, axis=-1).astype(np.float32)
        note = f"unlabelled records exist only at 100 Hz here: resampled to {sampling_rate} Hz"
    if fast:  # a smoke test of the whole pipeline in seconds
        rng = np.random.default_rng(SEED)
        unlabelled = unlabelled[np.sort(rng.choice(len(unlabelled), 64, replace=False))]
    return {
        "X_pool": labelled.X[pool], "y_pool": labelled.y[pool],
        "X_test": labelled.X[test], "y_test": labelled.y[test],
        "X_unlabelled": unlabelled, "classes": [str(c) for c in labelled.target_names],
        "leads": [str(lead) for lead in labelled.leads], "note": note,
    }


def curve_summary(df: pd.DataFrame) -> dict:
    attrs = dict(df.attrs)
    return {"rows": df.to_dict(orient="records"), "attrs": attrs}


def run_baselines(data: dict, budgets, n_repeats: int, preset: str) -> dict:
    from aeon.transformations.collection.convolution_based import MiniRocket

    common = dict(y_test=data["y_test"], n_labels=budgets, n_repeats=n_repeats, random_state=SEED,
                  probe=PROBE, verbose=1)
    results = {}
    start, cpu_start = time.perf_counter(), time.process_time()
    df = label_efficiency_curve(None, data["X_pool"].reshape(len(data["X_pool"]), -1), data["y_pool"],
                                X_test=data["X_test"].reshape(len(data["X_test"]), -1),
                                precomputed=True, method="raw+LR", **common)
    results["raw+LR"] = {**curve_summary(df), "time_s": time.perf_counter() - start,
                         "cpu_time_s": time.process_time() - cpu_start}
    n_kernels = 1000 if preset == "fast" else 10_000
    start, cpu_start = time.perf_counter(), time.process_time()
    df = label_efficiency_curve(MiniRocket(n_kernels=n_kernels, random_state=SEED), data["X_pool"],
                                data["y_pool"], X_test=data["X_test"], method="MiniRocket+LR", **common)
    results["MiniRocket+LR"] = {**curve_summary(df), "time_s": time.perf_counter() - start,
                                "cpu_time_s": time.process_time() - cpu_start, "n_kernels": n_kernels}
    return results


def run_method(module, data: dict, budgets, n_repeats: int, preset: str, supervised: bool) -> dict:
    embedder = module.make_embedder(preset)
    start, cpu_start = time.perf_counter(), time.process_time()
    df = label_efficiency_curve(embedder, data["X_pool"], data["y_pool"], X_test=data["X_test"],
                                y_test=data["y_test"], X_pretrain=data["X_unlabelled"], n_labels=budgets,
                                n_repeats=n_repeats, random_state=SEED, method=module.NAME, probe=PROBE,
                                verbose=1)
    total, cpu_total = time.perf_counter() - start, time.process_time() - cpu_start
    attrs = df.attrs
    epochs = embedder.get_params().get("max_epochs", 1)
    result = {
        "curves": {module.NAME: curve_summary(df)},
        "params": {k: repr(v) for k, v in embedder.get_params().items()},
        "sampling_rate": module.SAMPLING_RATE,
        "n_pretrain": attrs["n_pretrain"],
        "pretrain_time_s": attrs["pretrain_time"],
        # Unlabelled records consumed per second of pretraining (records x epochs / time).
        "pretrain_ecgs_per_s": attrs["n_pretrain"] * epochs / attrs["pretrain_time"],
        "transform_ecgs_per_s": attrs["n_transformed"] / attrs["transform_time"],
        "total_time_s": total,
        # CPU seconds of this process (all threads): on a shared machine, wall time / CPU time
        # tells how much of the machine the run actually had.
        "total_cpu_time_s": cpu_total,
    }
    if supervised:
        merge_supervised(result, run_supervised(module, data, budgets, n_repeats, preset))
    return result


def merge_supervised(entry: dict, supervised: dict) -> None:
    entry["curves"].update(supervised.pop("curves"))
    entry.update(supervised)


def run_supervised(module, data: dict, budgets, n_repeats: int, preset: str) -> dict:
    """The from-scratch baseline: the method's encoder trained on each label subset."""
    name = f"{module.NAME} supervised"
    start, cpu_start = time.perf_counter(), time.process_time()
    frames = []
    n_pool = len(data["y_pool"])
    for budget in budgets:
        size = n_pool if budget == "all" else min(budget, n_pool)
        classifier = method_registry.make_supervised(module, preset, size)
        frames.append(label_efficiency_curve(
            classifier, data["X_pool"], data["y_pool"], X_test=data["X_test"], y_test=data["y_test"],
            mode="supervised", n_labels=[budget], n_repeats=n_repeats, random_state=SEED,
            method=name, verbose=1))
    df = pd.concat(frames, ignore_index=True)
    epochs = [method_registry.supervised_epochs(preset, int(f["n_labels"].iloc[0])) for f in frames]
    return {
        "curves": {name: curve_summary(df)},
        "supervised_time_s": time.perf_counter() - start,
        "supervised_cpu_time_s": time.process_time() - cpu_start,
        "supervised_epochs": {str(f["budget"].iloc[0]): e for f, e in zip(frames, epochs)},
        "supervised_fit_ecgs_per_s": float(
            sum(f["n_labels"].sum() * e for f, e in zip(frames, epochs)) / df["fit_time"].sum()),
    }


def load_results(folder: Path) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def all_curves(results: dict[str, dict]) -> pd.DataFrame:
    frames = [pd.DataFrame(curve["rows"]) for entry in results.values() for curve in entry["curves"].values()]
    return pd.concat(frames, ignore_index=True)


def score_cell(row: pd.Series) -> str:
    """Mean +/- std over the label subsets; a run with a single subset (a slow baseline run
    with ``--repeats 1``) says so instead of showing a std."""
    if row["count"] == 1:
        return f"{row['mean']:.3f} (1 subset)"
    return f"{row['mean']:.3f} +/- {row['std']:.3f}"


def markdown(results: dict[str, dict], preset: str) -> str:
    df = all_curves(results)
    df["budget"] = df["budget"].astype(str)
    budgets = list(dict.fromkeys(df["budget"]))
    sizes = df.groupby("budget")["n_labels"].first()
    stats = df.groupby(["method", "budget"], sort=False)["score"].agg(["mean", "std", "count"])
    header = "| method | " + " | ".join(
        f"{b} ({sizes[b]})" if b == "all" else b for b in budgets) + " |"
    lines = [f"## Label efficiency on PTB-XL superclasses (preset {preset!r})", "",
             f"Macro ROC AUC on folds 9-10 (mean +/- std over {df['repeat'].nunique()} stratified label "
             "subsets of folds 1-8); columns: labelled ECGs.", "", header, "|---" * (len(budgets) + 1) + "|"]
    for method in dict.fromkeys(df["method"]):
        cells = [score_cell(stats.loc[(method, b)]) if (method, b) in stats.index else "" for b in budgets]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += ["", "## Time", "", "Wall-clock seconds; CPU seconds of the process in brackets (on a shared "
              "machine the gap is time spent waiting for a core).", "",
              "| method | pretraining (s) | pretraining ECGs/s | transform ECGs/s | whole curve (s) |",
              "|---|---|---|---|---|"]

    def seconds(wall, cpu):
        return f"{wall:.0f}" + (f" ({cpu:.0f} CPU)" if cpu is not None else "")

    for name, entry in results.items():
        for method, curve in entry["curves"].items():
            if method == name:  # a self-supervised method: pretraining, then probes
                lines.append(f"| {method} | {entry['pretrain_time_s']:.0f} | "
                             f"{entry['pretrain_ecgs_per_s']:.1f} | {entry['transform_ecgs_per_s']:.1f} | "
                             f"{seconds(entry['total_time_s'], entry.get('total_cpu_time_s'))} |")
            elif method.endswith(" supervised"):
                lines.append(f"| {method} | - | {entry['supervised_fit_ecgs_per_s']:.1f} (training) | - | "
                             f"{seconds(entry['supervised_time_s'], entry.get('supervised_cpu_time_s'))} |")
            else:
                spent = seconds(curve["time_s"], curve.get("cpu_time_s"))
                lines.append(f"| {method} | - | - | - | {spent} |")
    notes = sorted({entry["machine"]["summary"] for entry in results.values() if "machine" in entry})
    notes += [note for entry in results.values() for note in entry.get("notes", [])]
    if notes:
        lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def machine() -> dict:
    import torch

    threads = torch.get_num_threads()
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor() or "CPU"
    return {"python": platform.python_version(), "torch": torch.__version__, "device": device,
            "cpu_count": os.cpu_count(), "torch_threads": threads,
            "summary": f"{device}, {os.cpu_count()} CPU cores, torch {torch.__version__} "
                       f"({threads} threads)"}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="PTB-XL folder")
    parser.add_argument("--methods", default=None, help="comma-separated names (default: all)")
    parser.add_argument("--preset", default="cpu", choices=method_registry.PRESETS)
    parser.add_argument("--out", type=Path, default=HERE / "results")
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

    root = args.data or default_root()
    names = None if args.methods is None else [n.strip() for n in args.methods.split(",") if n.strip()]
    modules = method_registry.load_methods(names)
    fast = args.preset == "fast"
    budgets = (10, 20, "all") if fast else BUDGETS
    repeats = 2 if fast else args.repeats
    folder = args.out / f"quality-{args.preset}"
    folder.mkdir(parents=True, exist_ok=True)
    info = machine()

    data_cache: dict[int, dict] = {}
    rates = sorted({m.SAMPLING_RATE for m in modules.values()} | {100})
    for rate in rates:
        start = time.perf_counter()
        data_cache[rate] = load_protocol_data(root, rate, fast)
        d = data_cache[rate]
        print(f"PTB-XL at {rate} Hz: pool {len(d['X_pool'])}, test {len(d['X_test'])}, unlabelled "
              f"{len(d['X_unlabelled'])} (read in {time.perf_counter() - start:.0f} s)", flush=True)
    baseline_file = folder / "baselines.json"
    if args.redo_baselines or not baseline_file.exists():
        print("baselines: raw signal + LR, MiniRocket + LR", flush=True)
        curves = run_baselines(data_cache[100], budgets, repeats, args.preset)
        entry = {"curves": curves, "machine": info, "sampling_rate": 100,
                 "notes": [f"MiniRocket: {curves['MiniRocket+LR']['n_kernels']} kernels, fitted on the pool"]}
        baseline_file.write_text(json.dumps(entry, indent=1, default=str))
    for name, module in modules.items():
        data = data_cache[module.SAMPLING_RATE]
        path = folder / f"{name}.json"
        if args.supervised_only:
            if not path.exists():
                raise SystemExit(f"--supervised-only: {path} does not exist; run {name} in full first.")
            entry = json.loads(path.read_text())
            print(f"{name}: from-scratch baseline only", flush=True)
            merge_supervised(entry, run_supervised(module, data, budgets, repeats, args.preset))
        else:
            print(f"{name}: pretraining on {len(data['X_unlabelled'])} ECGs", flush=True)
            entry = run_method(module, data, budgets, repeats, args.preset, supervised=not args.no_supervised)
        notes = [data["note"], getattr(module, "NOTE", "")]
        entry.update(machine=info, notes=[n for n in notes if n], data=str(root))
        path.write_text(json.dumps(entry, indent=1, default=str))

    return write_report(folder, args.out, args.preset)


def write_report(folder: Path, out: Path, preset: str) -> dict[str, dict]:
    """Rebuild ``OUT/quality-PRESET.md`` and the plot from every JSON in ``folder``."""
    results = load_results(folder)
    table = markdown(results, preset)
    (out / f"quality-{preset}.md").write_text(table)
    import matplotlib

    matplotlib.use("Agg")
    ax = plot_label_efficiency(all_curves(results), title=f"PTB-XL superclasses, preset {preset!r}")
    plot_path = out / f"label_efficiency-{preset}.png"
    ax.figure.savefig(plot_path, dpi=120, bbox_inches="tight")
    print(table)
    print(f"plot: {plot_path}")
    return results


if __name__ == "__main__":
    main()
