"""W2V+CMSC on the shared protocol, on 12, 6, 2 and 1 leads: does random lead masking (RLM) help?

Protocol: the shared one of ``protocol.py`` (PTB-XL shared subset; pretraining on the
unlabelled records, ecg_id 501-1999; labelled pool strat_fold 1-8, test folds 9-10;
the 5 diagnostic superclasses, multi-label; budgets of 25, 50, 100, 200 and all
labelled ECGs, 5 stratified subsets each, the same subsets as every other method;
the same linear probe; macro ROC AUC), repeated for each lead set:

- lead sets: 12 leads, the 6 limb leads (I, II, III, aVR, aVL, aVF), I + II, and
  lead I alone; the probe is trained and tested on embeddings of those leads only,
  the missing ones zero-filled by the estimator (``transform(X_subset, leads=names)``);
- encoders of one architecture: W2V+CMSC (``rlm=False``), W2V+CMSC+RLM
  (``rlm=True``, the published method) and the same network untrained (its random
  initialisation: fitted for one step at lr 1e-12, which only creates the fitted
  state); records100 are read at 100 Hz and upsampled to 500 Hz inside the
  estimator, as the published encoder expects;
- baselines on the same leads: raw signal + LR and MiniRocket + LR (12-lead ones
  are taken from ``quality-PRESET/baselines.json`` when run_quality.py made it:
  the same computation); ``--supervised`` adds the from-scratch W2V encoder on 12
  leads (slow on a CPU);
- all labels: 1,000 bootstrap resamples of the test records give a standard
  deviation per AUC and, per lead set, the share of resamples in which RLM beats no
  RLM.

The 12-lead curve of W2V+CMSC+RLM also goes into ``quality-PRESET/w2v_cmsc.json``,
so that run_quality.py's table and plot show it beside the other methods.

Usage::

    python -m benchmarks.reduced_leads [--preset cpu|fast|paper] [--data PTBXL_ROOT]
                                       [--epochs N] [--supervised] [--out benchmarks/results]

from the repository root.

Writes ``OUT/reduced_leads-PRESET.json`` and ``OUT/reduced_leads-PRESET.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.multiclass import OneVsRestClassifier

from sklearn_ecg import W2VCMSCTransformer
from sklearn_ecg.evaluation import label_efficiency_curve

from .baselines import merge_supervised, run_baselines, run_supervised
from .methods import w2v_cmsc as method
from .protocol import (
    N_BOOTSTRAP,
    PROBE,
    RESULTS_DIR,
    SEED,
    Budgets,
    ProtocolData,
    bootstrap_macro_aucs,
    budgets_and_repeats,
    curve_summary,
    default_data_root,
    load_protocol_data,
    machine_info,
    macro_and_class_aucs,
    score_table,
    write_json,
    write_results,
)
from .quality_report import write_report

LEAD_SETS = {
    "12 leads": ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"],
    "6 limb leads": ["I", "II", "III", "aVR", "aVL", "aVF"],
    "I + II": ["I", "II"],
    "I": ["I"],
}
VARIANTS = ("untrained", "W2V+CMSC", "W2V+CMSC+RLM")


def pretrain(name: str, preset: str, X: np.ndarray, epochs: int | None) -> tuple[W2VCMSCTransformer, dict]:
    overrides = {} if epochs is None else {"max_epochs": epochs}
    if name == "untrained":
        est = method.make_embedder(preset, lr=1e-12, max_epochs=1)
        X = X[: est.batch_size]
    else:
        est = method.make_embedder(preset, rlm=name.endswith("RLM"), **overrides)
    start = time.perf_counter()
    est.fit(X)
    info = {"fit_time_s": round(time.perf_counter() - start, 1), "n_pretrain": len(X),
            "max_epochs": est.max_epochs,
            "params": {k: v for k, v in est.get_params().items() if k != "callbacks"}}
    if name != "untrained":
        info["loss_curve"] = [round(v, 4) for v in est.loss_curve_]
        info["first_epoch_mean"] = epoch_mean(est.net_.history[0]["batches"])
        info["last_epoch_mean"] = epoch_mean(est.net_.history[-1]["batches"])
    return est, info


def epoch_mean(batches: list[dict]) -> dict[str, float]:
    """Mean over one epoch's batches of each recorded loss part (w2v, cmsc, perplexity...)."""
    return {k: round(float(np.mean([b[k] for b in batches])), 4)
            for k in batches[0] if k != "train_batch_size"}


def lead_subset(data: ProtocolData, leads: list[str]) -> ProtocolData:
    idx = [data.leads.index(lead) for lead in leads]
    return replace(data, X_pool=data.X_pool[:, idx], X_test=data.X_test[:, idx], leads=leads)


def probe_variant(est: W2VCMSCTransformer, data: ProtocolData, budgets: Budgets, repeats: int,
                  name: str) -> tuple[pd.DataFrame, np.ndarray, float]:
    """The label-efficiency curve of one encoder on one lead set, the all-label probe's test
    scores (for the bootstrap) and the transform throughput (ECGs/s)."""
    start = time.perf_counter()
    Z_pool = est.transform(data.X_pool, leads=data.leads)
    Z_test = est.transform(data.X_test, leads=data.leads)
    per_s = (len(Z_pool) + len(Z_test)) / (time.perf_counter() - start)
    curve = label_efficiency_curve(None, Z_pool, data.y_pool, X_test=Z_test, y_test=data.y_test,
                                   precomputed=True, n_labels=budgets, n_repeats=repeats,
                                   random_state=SEED, method=name, probe=PROBE)
    probe = OneVsRestClassifier(clone(PROBE)).fit(Z_pool, data.y_pool)
    return curve, probe.predict_proba(Z_test), per_s


def curve_table(curves: pd.DataFrame) -> list[str]:
    headers, rows = score_table(curves, ["lead_set", "method"])
    lines = ["| leads | encoder | " + " | ".join(headers) + " |", "|---|---|" + "---|" * len(headers)]
    for lead_set, method_name in sorted(rows, key=lambda pair: list(LEAD_SETS).index(pair[0])):
        lines.append(f"| {lead_set} | {method_name} | " + " | ".join(rows[(lead_set, method_name)]) + " |")
    return lines


def markdown(result: dict) -> str:
    curves = pd.DataFrame(result["curves"])
    lines = [f"# W2V+CMSC on 12, 6, 2 and 1 leads, with and without RLM ({result['preset']} preset)", "",
             f"PTB-XL superdiagnostic (5 classes), macro ROC AUC on folds 9-10 (n={result['n_test']}); "
             f"probes trained on stratified subsets of folds 1-8 (mean +/- std over {result['repeats']} "
             f"subsets, the same subsets for every row; columns: labelled ECGs). Encoders pretrained on "
             f"{result['n_pretrain']} unlabelled records (ecg_id 501-1999, 100 Hz upsampled to 500 Hz), "
             f"{result['max_epochs']} epochs.", ""]
    lines += curve_table(curves)
    variants = list(result["all_labels"][next(iter(LEAD_SETS))])[:-1]
    lines += ["", "## All labels, with bootstrap uncertainty", "",
              "+- is the bootstrap standard deviation over test records; P(RLM > no RLM) is the share of "
              f"{N_BOOTSTRAP} bootstrap resamples in which RLM scores higher.", "",
              "| leads | " + " | ".join(variants) + " | P(RLM > no RLM) |",
              "|---|" + "---|" * (len(variants) + 1)]
    for lead_set, row in result["all_labels"].items():
        cells = [f"{row[v]['macro_auc']:.3f} +- {row[v]['bootstrap_std']:.3f}" for v in variants]
        lines.append(f"| {lead_set} | " + " | ".join(cells) + f" | {row['p_rlm_better']:.2f} |")
    lines += ["", "## Pretraining", "", "| encoder | pretraining time (s) | W2V InfoNCE first -> last epoch "
              "(chance ln 101 = 4.615) | CMSC | codebook perplexity (soft) |", "|---|---|---|---|---|"]
    for name, info in result["pretraining"].items():
        if "last_epoch_mean" not in info:
            lines.append(f"| {name} | {info['fit_time_s']} | - | - | - |")
            continue
        f, last = info["first_epoch_mean"], info["last_epoch_mean"]
        lines.append(f"| {name} | {info['fit_time_s']} | {f['w2v']:.3f} -> {last['w2v']:.3f} | "
                     f"{f['cmsc']:.3f} -> {last['cmsc']:.3f} | "
                     f"{f['prob_perplexity']:.1f} -> {last['prob_perplexity']:.1f} |")
    lines += ["", f"Command: `{result['command']}`; total {result['total_time_s']:.0f} s on "
              f"{result['machine']['summary']}.", ""]
    return "\n".join(lines)


def baseline_curves(data: ProtocolData, lead_set: str, budgets: Budgets, repeats: int, preset: str,
                    folder: Path) -> list[pd.DataFrame]:
    saved = folder / "baselines.json"
    if lead_set == "12 leads" and saved.exists():
        curves = json.loads(saved.read_text())["curves"]
    else:
        curves = run_baselines(lead_subset(data, LEAD_SETS[lead_set]), budgets, repeats, preset)
    return [pd.DataFrame(curve["rows"]).assign(lead_set=lead_set) for curve in curves.values()]


def all_label_scores(y: np.ndarray, scores: dict[str, np.ndarray], classes: list[str],
                     rng: np.random.Generator) -> dict:
    """Each variant's all-label macro and per-class AUC with its bootstrap std, and the share of
    bootstrap resamples in which RLM beats no RLM."""
    boot = bootstrap_macro_aucs(y, scores, rng)
    row = {}
    for name, s in scores.items():
        macro, per_class = macro_and_class_aucs(y, s, classes)
        row[name] = {"macro_auc": round(macro, 4), "bootstrap_std": round(float(np.nanstd(boot[name])), 4),
                     "per_class_auc": {c: round(auc, 4) for c, auc in per_class.items()}}
    row["p_rlm_better"] = round(float(np.nanmean(boot["W2V+CMSC+RLM"] > boot["W2V+CMSC"])), 3)
    return row


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--preset", choices=("paper", "cpu", "fast"), default="cpu")
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's max_epochs")
    parser.add_argument("--supervised", action="store_true",
                        help="also train the W2V encoder from scratch on each 12-lead label subset")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    root = args.data or default_data_root()
    budgets, repeats = budgets_and_repeats(args.preset)
    folder = args.out / f"quality-{args.preset}"
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    data = load_protocol_data(root, method.SAMPLING_RATE, args.preset == "fast")
    print(f"data: {len(data.X_unlabelled)} unlabelled, {len(data.X_pool)} pool, "
          f"{len(data.X_test)} test ({time.perf_counter() - start:.0f} s)", flush=True)

    frames, scores, pretraining, quality = [], {lead_set: {} for lead_set in LEAD_SETS}, {}, {}
    for name in VARIANTS:
        est, info = pretrain(name, args.preset, data.X_unlabelled, args.epochs)
        pretraining[name] = info
        print(f"{name}: pretrained in {info['fit_time_s']} s; {info.get('last_epoch_mean', '')}", flush=True)
        for lead_set, leads in LEAD_SETS.items():
            probe_start = time.perf_counter()
            curve, scores[lead_set][name], per_s = probe_variant(est, lead_subset(data, leads), budgets,
                                                                 repeats, name)
            frames.append(curve.assign(lead_set=lead_set))
            print(f"  {lead_set}: " + ", ".join(f"{b}: {s:.3f}" for b, s in
                                               curve.groupby("n_labels")["score"].mean().items()), flush=True)
            if name == "W2V+CMSC+RLM" and lead_set == "12 leads":
                quality = {"curves": {method.NAME: curve_summary(curve.assign(method=method.NAME))},
                           "pretrain_time_s": info["fit_time_s"], "n_pretrain": info["n_pretrain"],
                           "pretrain_ecgs_per_s":
                               info["n_pretrain"] * info["max_epochs"] / info["fit_time_s"],
                           "transform_ecgs_per_s": per_s,
                           # pretraining, embedding and probing of this curve alone
                           "total_time_s": info["fit_time_s"] + time.perf_counter() - probe_start,
                           "params": {k: repr(v) for k, v in info["params"].items()}}
    for lead_set in LEAD_SETS:
        print(f"baselines on {lead_set}", flush=True)
        frames += baseline_curves(data, lead_set, budgets, repeats, args.preset, folder)
    if args.supervised:
        merge_supervised(quality, run_supervised(method, data, budgets, repeats, args.preset))
        rows = quality["curves"][f"{method.NAME} supervised"]["rows"]
        frames.append(pd.DataFrame(rows).assign(lead_set="12 leads"))

    rng = np.random.default_rng(SEED)
    all_labels = {lead_set: all_label_scores(data.y_test, by_variant, data.classes, rng)
                  for lead_set, by_variant in scores.items()}
    curves = pd.concat(frames, ignore_index=True)
    machine = machine_info()
    command = " ".join(["python -m benchmarks.reduced_leads", *(sys.argv[1:] if argv is None else argv)])
    result = {
        "benchmark": "reduced_leads", "preset": args.preset, "repeats": repeats,
        "curves": curves.to_dict(orient="records"), "all_labels": all_labels, "pretraining": pretraining,
        "max_epochs": pretraining["W2V+CMSC+RLM"]["max_epochs"],
        "n_pretrain": len(data.X_unlabelled), "n_pool": len(data.X_pool),
        "n_test": len(data.X_test), "classes": data.classes, "lead_sets": LEAD_SETS,
        "total_time_s": round(time.perf_counter() - start, 1), "command": command, "machine": machine,
    }
    table = markdown(result)
    write_results(args.out, f"reduced_leads-{args.preset}", result, table)
    quality.update(machine=machine, data=str(root), sampling_rate=100,
                   notes=[n for n in (data.note, getattr(method, "NOTE", ""),
                                      f"{method.NAME}: curve from `{command}`") if n])
    write_json(folder / f"{method.NAME}.json", quality)
    write_report(folder, args.out, args.preset)
    print(table)
    return result


if __name__ == "__main__":
    main()
