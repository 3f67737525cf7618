"""Pool size: does pretraining SimCLR on more (generated) ECGs give better frozen embeddings?

One method, SimCLR with its ``cpu`` preset (the best frozen method of run_quality), pretrained on

- ``real``: all 1,999 PTB-XL records of the shared subset at 100 Hz (``records100``, ecg_id
  1-1999; the labelled ones too, but never their labels: labels only train the probe; the test
  folds' ECGs are among the pretraining ECGs, unlabelled, as in transductive pretraining);
- ``real+N``: the same plus N ECGs of :func:`sklearn_ecg.datasets.make_deepfake_ecg` at 100 Hz
  (seed ``SEED``; the N ECGs of a smaller pool are the first N of the largest, which is exactly
  ``make_deepfake_ecg(N, random_state=SEED)``), cached under ``--pools`` (outside the repository),

then probed as in run_quality (``benchmarks/protocol.py``: macro ROC AUC over the 5 superclasses on
folds 9-10, StandardScaler + LogisticRegression on frozen embeddings, budgets 25/50/100/200/all
with the same 5 stratified label subsets of folds 1-8), each with two probes: the protocol's C=1
and C chosen by cross-validation on the subset's labels (``sklearn_ecg.evaluation.cv_probe``, the
probe that narrowed the gap to MiniRocket in ``benchmarks/probe_cv.py``).

Training length (``--policy``):

- ``steps`` (default): one budget of optimizer steps for every pool, that of the preset's 100
  epochs over the 1,999 real records (about 200,000 ECG passes, 1,600 batches of 128): a pool of
  N ECGs trains ``round(100 * 1999 / N)`` epochs. A larger pool then brings more *different*
  ECGs for the same compute, not more compute. Warm-up: the preset's 1 epoch where a pool trains
  50 epochs or more (the real pool: 1% of the steps; real+10000 at 3x the budget: 2%), none
  where one epoch would be 6-25% of the steps.
- ``epochs``: the preset's 100 epochs on every pool (compute grows with the pool).

``--scale K`` trains K times the policy's budget (rows named ``real+N xK steps``), e.g. to ask
whether a larger pool needs more steps to pay off. ``--views-from record`` cuts SimCLR's two views
of an ECG from two windows of it (``views_from="record"``, the views that made SimCLR x6 the choice
of ``benchmarks/probe_cv.py``; rows named ``..., record views``) instead of one window.

Usage::

    python -m benchmarks.pool_size [--preset cpu|fast] [--sizes 0,10000,50000] [--policy steps]
                                   [--scale 1] [--views-from window|record]
                                   [--pool-size 50000] [--pools /work/pools]
                                   [--data PTBXL_ROOT] [--repeats 5] [--out benchmarks/results]
                                   [--report-only]

Writes ``OUT/pool_size-PRESET.json`` (updated after each pool, so a run can be resumed: pools
already there with the same settings are skipped; ``--redo`` reruns them), the table
``OUT/pool_size-PRESET.md`` and the figure ``OUT/pool_size-PRESET.png`` (with matplotlib). Torch
runs on one thread (the benchmark machine is shared); pools are pretrained one after the other.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sklearn_ecg.datasets import load_ptbxl, make_deepfake_ecg
from sklearn_ecg.evaluation import cv_probe, label_efficiency_curve

from .methods import simclr
from .protocol import (
    N_REPEATS,
    PROBE,
    RESULTS_DIR,
    SEED,
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

SIZES = {"cpu": (0, 10_000, 50_000), "fast": (0, 64, 128)}
POLICIES = ("steps", "epochs")
DEFAULT_POOLS = Path("/work/pools")
POLICY_NOTES = {
    "steps": "Training length: one budget of optimizer steps for every pool, that of the preset's E epochs "
             "(cpu: 100) over the real records; a pool of N ECGs trains round(E * n_real / N) epochs "
             "(warm-up: the preset's 1 epoch where a pool trains 50 epochs or more, at most 2% of the steps; "
             "none where one epoch would be more); a row 'xK steps' "
             "trains K times that budget.",
    "epochs": "Training length: the preset's epochs (cpu: 100) on every pool.",
}
#: Earlier results on the same subsets shown as references (not recomputed): run_quality's rows.
REFERENCES = {"SimCLR.json": {"SimCLR": "SimCLR, 1,499 unlabelled (run_quality)",
                              "SimCLR supervised": "from scratch (run_quality)"},
              "baselines.json": {"MiniRocket+LR": "MiniRocket+LR (run_quality)"}}


#: The probes of each pool's embeddings: the entry's key -> (method-name suffix, probe). The protocol's
#: C=1, and C chosen by cross-validation on each subset's labels (probe_cv's, the stronger probe).
PROBES = {"curve": ("", PROBE), "curve_cv": (", CV probe", cv_probe(random_state=SEED))}


def pool_name(n_generated: int, scale: float = 1.0, views_from: str = "window") -> str:
    name = "real" if n_generated == 0 else f"real+{n_generated}"
    name = name if scale == 1 else f"{name} x{scale:g} steps"
    return name if views_from == "window" else f"{name}, record views"


def pool_setting(entry: dict) -> tuple[bool, float]:
    """(record views?, step budget scale) of a pool entry: the pools of one setting differ in size only."""
    return entry.get("views_from", "window") == "record", entry.get("budget_scale", 1.0)


def training_length(policy: str, preset_epochs: int, preset_warmup: int, n_real: int,
                    n_pool: int, scale: float = 1.0) -> tuple[int, int]:
    """(epochs, warm-up epochs) of a pool of ``n_pool`` ECGs under ``policy``, with ``scale``
    times the policy's budget."""
    if policy == "epochs":
        return max(1, round(scale * preset_epochs)), preset_warmup
    epochs = max(1, round(scale * preset_epochs * n_real / n_pool))
    if n_pool == n_real:
        return epochs, preset_warmup
    # Warm-up stays at most 2% of the steps: one epoch if the pool trains 50 or more, else none.
    return epochs, preset_warmup if epochs >= 50 else 0


def generated_pool(n: int, pools: Path) -> tuple[np.ndarray, dict]:
    """The first ``n`` ECGs of the cached generated pool (made if missing), and how long it took."""
    # The file name make_deepfake_ecg documents for its cache: was the pool made before?
    cached = (pools / f"deepfake_ecg-n{n}-fs{simclr.SAMPLING_RATE:g}-seed{SEED}.json").exists()
    clock = Stopwatch()
    X = make_deepfake_ecg(n, fs=simclr.SAMPLING_RATE, random_state=SEED, batch_size=256, cache=pools,
                          verbose=True)
    return X, {"n": n, "wall_s": clock.wall, "cpu_s": clock.cpu, "from_cache": cached,
               "file": str(pools)}


def generation_rate(n: int = 256) -> dict:
    """ECGs/s of make_deepfake_ecg at 100 Hz on this machine, measured afresh (no cache)."""
    make_deepfake_ecg(1, fs=simclr.SAMPLING_RATE, random_state=SEED + 1)  # loads the generator
    clock = Stopwatch()
    make_deepfake_ecg(n, fs=simclr.SAMPLING_RATE, random_state=SEED + 1, batch_size=256)
    return {"n": n, "wall_s": clock.wall, "cpu_s": clock.cpu, "ecgs_per_s": n / clock.wall}


def run_pool(data: ProtocolData, X_real: np.ndarray, generated: np.ndarray | None, preset: str,
             policy: str, budgets, repeats: int, scale: float = 1.0, views_from: str = "window") -> dict:
    X_pretrain = X_real if generated is None else np.concatenate([X_real, np.asarray(generated)])
    embedder = simclr.make_embedder(preset)
    params = embedder.get_params()
    epochs, warmup = training_length(policy, params["max_epochs"], params["warmup_epochs"],
                                     len(X_real), len(X_pretrain), scale)
    embedder.set_params(max_epochs=epochs, warmup_epochs=warmup, views_from=views_from)
    name = pool_name(0 if generated is None else len(generated), scale, views_from)
    print(f"{name}: pretraining SimCLR on {len(X_pretrain)} ECGs, {epochs} epochs "
          f"({epochs * len(X_pretrain)} ECG passes)", flush=True)
    clock = Stopwatch()
    embedder.fit(X_pretrain)
    pretrain_time, pretrain_cpu = clock.wall, clock.cpu
    curves = {key: label_efficiency_curve(
        embedder, data.X_pool, data.y_pool, X_test=data.X_test, y_test=data.y_test, prefit=True,
        n_labels=budgets, n_repeats=repeats, random_state=SEED, method=name + suffix, probe=probe, verbose=1)
        for key, (suffix, probe) in PROBES.items()}
    attrs = curves["curve"].attrs
    losses = [float(v) for v in getattr(embedder, "loss_curve_", [])]
    return {
        "pool": name, "budget_scale": scale, "views_from": views_from, "n_real": len(X_real),
        "n_generated": 0 if generated is None else len(generated),
        "n_pretrain": len(X_pretrain), "epochs": epochs, "warmup_epochs": warmup,
        "ecg_passes": epochs * len(X_pretrain),
        "batches": epochs * -(-len(X_pretrain) // params["batch_size"]),
        "pretrain_time_s": pretrain_time, "pretrain_cpu_time_s": pretrain_cpu,
        "pretrain_ecgs_per_s": epochs * len(X_pretrain) / pretrain_time,
        "transform_ecgs_per_s": attrs["n_transformed"] / attrs["transform_time"],
        "total_time_s": clock.wall, "total_cpu_time_s": clock.cpu,
        "first_last_loss": [losses[0], losses[-1]] if losses else None,
        "params": {k: repr(v) for k, v in embedder.get_params().items()},
        **{key: curve_summary(curve) for key, curve in curves.items()},
    }


def reference_curves(out: Path, preset: str) -> list[pd.DataFrame]:
    """run_quality's SimCLR, from-scratch and MiniRocket rows on the same subsets, where present."""
    frames = []
    for file, names in REFERENCES.items():
        path = out / f"quality-{preset}" / file
        if not path.exists():
            continue
        curves = json.loads(path.read_text())["curves"]
        for method, label in names.items():
            if method in curves:
                frame = pd.DataFrame(curves[method]["rows"])
                frames.append(frame.assign(method=label))
    return frames


def paired_differences(pools: dict[str, dict]) -> list[str]:
    """Markdown lines: each pool's score minus the real pool's (same step budget, same probe) on the
    same label subset, mean +/- std over the subsets: the spread of the table above is mostly the
    subsets'."""
    lines = []
    for key, (suffix, _) in PROBES.items():
        for name, entry in pools.items():
            base = pool_name(0, entry.get("budget_scale", 1.0), entry.get("views_from", "window"))
            if entry["n_generated"] == 0 or base not in pools or key not in entry or key not in pools[base]:
                continue
            mine, theirs = (pd.DataFrame(pools[pool][key]["rows"]).astype({"budget": str})
                            .set_index(["budget", "repeat"])["score"] for pool in (name, base))
            stats = (mine - theirs).groupby(level="budget", sort=False).agg(["mean", "std", "count"])
            if not lines:
                lines = ["", "Difference to the real pool trained with the same step budget and probed "
                         "alike, on the same label subsets (mean +/- std over the subsets; positive: the "
                         "larger pool is better):", "", "| pools | " + " | ".join(stats.index) + " |",
                         "|---" * (len(stats) + 1) + "|"]
            cells = [f"{row['mean']:+.3f}" + (f" +/- {row['std']:.3f}" if row["count"] > 1 else "")
                     for _, row in stats.iterrows()]
            lines.append(f"| {name} - {base}{suffix} | " + " | ".join(cells) + " |")
    return lines


def markdown(result: dict, references: list[pd.DataFrame]) -> str:
    pools = result["pools"]
    curves = pd.concat([pd.DataFrame(entry[key]["rows"]) for key in PROBES for entry in pools.values()
                        if key in entry] + references, ignore_index=True)
    headers, rows = score_table(curves, ["method"])
    repeats = curves["repeat"].nunique()
    lines = [f"## SimCLR pretrained on pools of growing size (preset {result['preset']!r}, "
             f"policy {result['policy']!r})", "",
             f"Macro ROC AUC on PTB-XL folds 9-10, 5 superclasses, linear probe on frozen embeddings (mean "
             f"+/- std over {repeats} stratified label subsets of folds 1-8); columns: labelled ECGs. "
             "Probe: StandardScaler + LogisticRegression with C=1, or (rows ', CV probe') with C chosen "
             "per class by cross-validation on the subset's own labels (sklearn_ecg.evaluation.cv_probe). "
             f"Pools: the {next(iter(pools.values()))['n_real']:,} shared PTB-XL records at 100 Hz (no "
             "labels) plus N ECGs of make_deepfake_ecg at 100 Hz.", "",
             "| pool | " + " | ".join(headers) + " |", "|---" * (len(headers) + 1) + "|"]
    lines += [f"| {method} | " + " | ".join(cells) + " |" for (method,), cells in rows.items()]
    lines += paired_differences(pools)
    lines += ["", "## Pretraining", "",
              "| pool | ECGs | epochs | ECG passes | batches | pretraining (s) | ECGs/s | NT-Xent first/last "
              "epoch | whole curve (s) |", "|---|---|---|---|---|---|---|---|---|"]
    for name, entry in pools.items():
        loss = entry.get("first_last_loss")
        loss_cell = f"{loss[0]:.3f} / {loss[1]:.3f}" if loss else "-"
        lines.append(f"| {name} | {entry['n_pretrain']} | {entry['epochs']} | {entry['ecg_passes']} | "
                     f"{entry['batches']} | {entry['pretrain_time_s']:.0f} | "
                     f"{entry['pretrain_ecgs_per_s']:.1f} | {loss_cell} | "
                     f"{entry['total_time_s']:.0f} ({entry['total_cpu_time_s']:.0f} CPU) |")
    notes = [result["machine"]["summary"], POLICY_NOTES[result["policy"]]]
    if "generation" in result:
        g = result["generation"]
        notes.append(f"make_deepfake_ecg at 100 Hz: {g['ecgs_per_s']:.1f} ECGs/s on this machine "
                     f"({g['n']} ECGs in {g['wall_s']:.1f} s, torch on one thread).")
    for made in result.get("generated", {}).values():
        notes.append(f"generated pool of {made['n']} ECGs: read from the cache in {made['file']}"
                     if made.get("from_cache") else
                     f"generated pool of {made['n']} ECGs: made in {made['wall_s']:.0f} s "
                     f"({made['n'] / made['wall_s']:.1f} ECGs/s), cached in {made['file']}")
    if references:
        notes.append("Rows marked (run_quality) come from benchmarks/results/quality-"
                     f"{result['preset']}/ (same subsets), not from this run.")
    lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def plot(result: dict, references: list[pd.DataFrame], path: Path) -> bool:
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    from sklearn_ecg.evaluation import plot_label_efficiency

    # One pool-size curve: the pools of the last setting in the table's order (record views over one
    # window, then the longest budget), each with its best probe: the cross-validated one where it has it.
    setting = max(pool_setting(entry) for entry in result["pools"].values())
    curves = {}
    for entry in result["pools"].values():
        if pool_setting(entry) != setting:
            continue
        frame = pd.DataFrame(entry.get("curve_cv", entry["curve"])["rows"])
        curves[frame["method"].iloc[0]] = frame
    for frame in references:
        curves[frame["method"].iloc[0]] = frame
    baselines = [name for name in curves if "MiniRocket" in name or "from scratch" in name]
    ax = plot_label_efficiency(curves, baselines=baselines,
                               title=f"SimCLR pretrained on larger pools (preset {result['preset']!r}, "
                                     f"x{setting[1]:g} steps{', record views' if setting[0] else ''})")
    ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    return True


def write_outputs(result: dict, out: Path) -> None:
    # Rows by step budget, then pool size, whatever order the runs came in.
    result["pools"] = dict(sorted(result.get("pools", {}).items(),
                                  key=lambda item: (*pool_setting(item[1]), item[1]["n_generated"])))
    stem = f"pool_size-{result['preset']}"
    write_json(out / f"{stem}.json", result)
    references = reference_curves(out, result["preset"])
    table = markdown(result, references)
    (out / f"{stem}.md").write_text(table)
    if plot(result, references, out / f"{stem}.png"):
        print(f"figure: {out / f'{stem}.png'}")
    print(table, flush=True)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="cpu", choices=tuple(SIZES))
    parser.add_argument("--sizes", default=None, help="generated ECGs per pool, comma-separated "
                        "(0: the real records only); default 0,10000,50000 (cpu)")
    parser.add_argument("--policy", default="steps", choices=POLICIES)
    parser.add_argument("--pool-size", type=int, default=None,
                        help="the generated pool the sizes take their first N ECGs from (default: the "
                             "largest of the preset's sizes and --sizes)")
    parser.add_argument("--pools", type=Path, default=DEFAULT_POOLS, help="cache of generated ECGs")
    parser.add_argument("--data", type=Path, default=None, help="PTB-XL folder")
    parser.add_argument("--repeats", type=int, default=N_REPEATS)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: shared machine)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="train SCALE times the policy's budget (rows named 'xSCALE steps')")
    parser.add_argument("--views-from", default="window", choices=("window", "record"),
                        help="SimCLR's two views: from one window (the paper) or each from its own window "
                             "of the record (rows named ', record views')")
    parser.add_argument("--redo", action="store_true", help="rerun pools already in the JSON")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    path = args.out / f"pool_size-{args.preset}.json"
    sizes = SIZES[args.preset] if args.sizes is None else tuple(int(s) for s in args.sizes.split(","))
    args.pool_size = max(args.pool_size or 0, *sizes, *SIZES[args.preset])
    result = json.loads(path.read_text()) if path.exists() else {}
    if args.report_only:
        write_outputs(result, args.out)
        return result
    settings = {"preset": args.preset, "policy": args.policy, "seed": SEED, "repeats": args.repeats}
    if any(result.get(key) != value for key, value in settings.items()):
        result = {}  # another experiment: start afresh
    result.update(settings, machine=machine_info(), pools=result.get("pools", {}))

    root = args.data or default_data_root()
    fast = args.preset == "fast"
    budgets, repeats = budgets_and_repeats(args.preset, args.repeats)
    data = load_protocol_data(root, simclr.SAMPLING_RATE, fast)
    X_real = load_ptbxl(root, sampling_rate=simclr.SAMPLING_RATE, subset="all").X
    if fast:
        X_real = X_real[np.random.default_rng(SEED).choice(len(X_real), 96, replace=False)]
    print(f"PTB-XL at {simclr.SAMPLING_RATE} Hz: {len(X_real)} records for pretraining, pool "
          f"{len(data.X_pool)}, test {len(data.X_test)}", flush=True)
    result["generation"] = generation_rate(32 if fast else 256)
    print(f"make_deepfake_ecg: {result['generation']['ecgs_per_s']:.1f} ECGs/s", flush=True)

    # Every pool draws from one generated pool (its first N ECGs), that of the preset's largest size.
    largest = args.pool_size if max(sizes) > 0 else 0
    generated = None
    if largest:
        start = time.perf_counter()
        generated, made = generated_pool(largest, args.pools)
        known = result.setdefault("generated", {})
        if not (made["from_cache"] and str(largest) in known):  # keep the time of the run that made it
            known[str(largest)] = made
        print(f"generated pool of {largest} ECGs ready in {time.perf_counter() - start:.0f} s", flush=True)
    for n in sorted(sizes):
        name = pool_name(n, args.scale, args.views_from)
        if name in result["pools"] and not args.redo:
            print(f"{name}: already in {path}, skipped", flush=True)
            continue
        entry = run_pool(data, X_real, None if n == 0 else generated[:n], args.preset, args.policy,
                         budgets, repeats, args.scale, args.views_from)
        result["pools"][name] = entry
        write_outputs(result, args.out)
    write_outputs(result, args.out)
    return result


if __name__ == "__main__":
    main()
