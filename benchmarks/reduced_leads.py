"""W2V+CMSC on the shared protocol, on 12, 6, 2 and 1 leads: does random lead masking (RLM) help?

Protocol: that of ``run_quality.py`` (PTB-XL shared subset; pretraining on the
unlabelled records, ecg_id 501-1999; labelled pool strat_fold 1-8, test folds
9-10; the 5 diagnostic superclasses, multi-label; budgets of 25, 50, 100, 200 and
all labelled ECGs, 5 stratified subsets each, the same subsets as every other
method; the same linear probe; macro ROC AUC), repeated for each lead set:

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

    python benchmarks/reduced_leads.py [--preset cpu|fast|paper] [--data PTBXL_ROOT]
                                       [--epochs N] [--supervised] [--out benchmarks/results]

Writes ``OUT/reduced_leads-PRESET.json`` and ``OUT/reduced_leads-PRESET.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.multiclass import OneVsRestClassifier

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run_quality as protocol  # noqa: E402
from methods import w2v_cmsc as method  # noqa: E402

from sklearn_ecg.evaluation import label_efficiency_curve, macro_roc_auc  # noqa: E402

LEAD_SETS = {
    "12 leads": ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"],
    "6 limb leads": ["I", "II", "III", "aVR", "aVL", "aVF"],
    "I + II": ["I", "II"],
    "I": ["I"],
}
VARIANTS = ("untrained", "W2V+CMSC", "W2V+CMSC+RLM")
N_BOOTSTRAP = 1000


def pretrain(name: str, preset: str, X: np.ndarray, epochs: int | None) -> tuple[object, dict]:
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


def lead_subset(data: dict, leads: list[str]) -> dict:
    idx = [data["leads"].index(lead) for lead in leads]
    return {**data, "X_pool": data["X_pool"][:, idx], "X_test": data["X_test"][:, idx], "leads": leads}


def fast_macro_auc(y: np.ndarray, scores: np.ndarray) -> float:
    """Macro ROC AUC from ranks (Mann-Whitney; ties get average ranks, as roc_auc_score);
    classes without both outcomes are left out. About 100 x faster than roc_auc_score."""
    aucs = []
    for j in range(y.shape[1]):
        positive = y[:, j].astype(bool)
        n_pos = int(positive.sum())
        n_neg = len(positive) - n_pos
        if n_pos and n_neg:
            ranks = rankdata(scores[:, j])
            aucs.append((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    return float(np.mean(aucs)) if aucs else np.nan


def bootstrap_aucs(y: np.ndarray, scores: dict[str, np.ndarray], rng) -> dict[str, np.ndarray]:
    """Macro AUC of each variant on the same N_BOOTSTRAP resamples of the test records."""
    out = {name: [] for name in scores}
    for _ in range(N_BOOTSTRAP):
        rows = rng.integers(0, len(y), len(y))
        for name, s in scores.items():
            out[name].append(fast_macro_auc(y[rows], s[rows]))
    return {name: np.asarray(v) for name, v in out.items()}


def per_class_auc(y: np.ndarray, scores: np.ndarray, classes: list[str]) -> dict[str, float]:
    return {c: round(float(roc_auc_score(y[:, j], scores[:, j])), 4)
            for j, c in enumerate(classes) if 0 < y[:, j].sum() < len(y)}


def probe_variant(est, data: dict, budgets, repeats: int,
                  name: str) -> tuple[pd.DataFrame, np.ndarray, float]:
    """The label-efficiency curve of one encoder on one lead set, the all-label probe's test
    scores (for the bootstrap) and the transform throughput (ECGs/s)."""
    start = time.perf_counter()
    Z_pool = est.transform(data["X_pool"], leads=data["leads"])
    Z_test = est.transform(data["X_test"], leads=data["leads"])
    per_s = (len(Z_pool) + len(Z_test)) / (time.perf_counter() - start)
    curve = label_efficiency_curve(None, Z_pool, data["y_pool"], X_test=Z_test, y_test=data["y_test"],
                                   precomputed=True, n_labels=budgets, n_repeats=repeats,
                                   random_state=protocol.SEED, method=name, probe=protocol.PROBE)
    probe = OneVsRestClassifier(clone(protocol.PROBE)).fit(Z_pool, data["y_pool"])
    return curve, probe.predict_proba(Z_test), per_s


def curve_table(curves: pd.DataFrame) -> list[str]:
    curves = curves.assign(budget=curves["budget"].astype(str))
    budgets = list(dict.fromkeys(curves["budget"]))
    sizes = curves.groupby("budget")["n_labels"].first()
    stats = curves.groupby(["lead_set", "method", "budget"], sort=False)["score"].agg(
        ["mean", "std", "count"])
    lines = ["| leads | encoder | " + " | ".join(f"{b} ({sizes[b]})" if b == "all" else b for b in budgets)
             + " |", "|---|---|" + "---|" * len(budgets)]
    pairs = dict.fromkeys(zip(curves["lead_set"], curves["method"]))
    for lead_set, method_name in sorted(pairs, key=lambda pair: list(LEAD_SETS).index(pair[0])):
        cells = [protocol.score_cell(stats.loc[(lead_set, method_name, b)]) for b in budgets]
        lines.append(f"| {lead_set} | {method_name} | " + " | ".join(cells) + " |")
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


def baseline_curves(data: dict, lead_set: str, budgets, repeats: int, preset: str, folder: Path) -> list:
    saved = folder / "baselines.json"
    if lead_set == "12 leads" and saved.exists():
        curves = json.loads(saved.read_text())["curves"]
    else:
        curves = protocol.run_baselines(lead_subset(data, LEAD_SETS[lead_set]), budgets, repeats, preset)
    return [pd.DataFrame(curve["rows"]).assign(lead_set=lead_set) for curve in curves.values()]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--preset", choices=("paper", "cpu", "fast"), default="cpu")
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's max_epochs")
    parser.add_argument("--supervised", action="store_true",
                        help="also train the W2V encoder from scratch on each 12-lead label subset")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    root = args.data or protocol.default_root()
    fast = args.preset == "fast"
    budgets = (10, 20, "all") if fast else protocol.BUDGETS
    repeats = 2 if fast else protocol.N_REPEATS
    folder = args.out / f"quality-{args.preset}"
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    data = protocol.load_protocol_data(root, method.SAMPLING_RATE, fast)
    print(f"data: {len(data['X_unlabelled'])} unlabelled, {len(data['X_pool'])} pool, "
          f"{len(data['X_test'])} test ({time.perf_counter() - start:.0f} s)", flush=True)

    frames, scores, pretraining, quality = [], {lead_set: {} for lead_set in LEAD_SETS}, {}, {}
    for name in VARIANTS:
        est, info = pretrain(name, args.preset, data["X_unlabelled"], args.epochs)
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
                quality = {"curves": {method.NAME: protocol.curve_summary(curve.assign(method=method.NAME))},
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
        protocol.merge_supervised(quality, protocol.run_supervised(method, data, budgets, repeats,
                                                                   args.preset))
        rows = quality["curves"][f"{method.NAME} supervised"]["rows"]
        frames.append(pd.DataFrame(rows).assign(lead_set="12 leads"))

    rng = np.random.default_rng(protocol.SEED)
    all_labels = {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*left out of the macro ROC AUC.*")
        for lead_set, by_variant in scores.items():
            boot = bootstrap_aucs(data["y_test"], by_variant, rng)
            for s in by_variant.values():  # the rank formula is the AUC of scikit-learn
                assert np.isclose(fast_macro_auc(data["y_test"], s), macro_roc_auc(data["y_test"], s))
            all_labels[lead_set] = {
                name: {"macro_auc": round(macro_roc_auc(data["y_test"], s), 4),
                       "bootstrap_std": round(float(np.nanstd(boot[name])), 4),
                       "per_class_auc": per_class_auc(data["y_test"], s, data["classes"])}
                for name, s in by_variant.items()}
            all_labels[lead_set]["p_rlm_better"] = round(float(np.nanmean(boot["W2V+CMSC+RLM"]
                                                                          > boot["W2V+CMSC"])), 3)
    curves = pd.concat(frames, ignore_index=True)
    info = protocol.machine()
    result = {
        "benchmark": "reduced_leads", "preset": args.preset, "repeats": repeats,
        "curves": curves.to_dict(orient="records"), "all_labels": all_labels, "pretraining": pretraining,
        "max_epochs": pretraining["W2V+CMSC+RLM"]["max_epochs"],
        "n_pretrain": len(data["X_unlabelled"]), "n_pool": len(data["X_pool"]),
        "n_test": len(data["X_test"]), "classes": data["classes"], "lead_sets": LEAD_SETS,
        "total_time_s": round(time.perf_counter() - start, 1),
        "command": " ".join(["python benchmarks/reduced_leads.py",
                             *(sys.argv[1:] if argv is None else argv)]),
        "machine": info,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"reduced_leads-{args.preset}.json").write_text(json.dumps(result, indent=1, default=str))
    (args.out / f"reduced_leads-{args.preset}.md").write_text(markdown(result))
    quality.update(machine=info, data=str(root), sampling_rate=100,
                   notes=[n for n in (data["note"], getattr(method, "NOTE", ""),
                                      f"{method.NAME}: curve from `{result['command']}`") if n])
    (folder / f"{method.NAME}.json").write_text(json.dumps(quality, indent=1, default=str))
    protocol.write_report(folder, args.out, args.preset)
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
