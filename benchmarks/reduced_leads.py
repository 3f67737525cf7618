"""Reduced-lead benchmark: does random lead masking (RLM) make W2V+CMSC embeddings of fewer leads better?

Protocol (PTB-XL, shared subset):

- pretraining: the unlabelled records (ecg_id 501-1999, 10 s, records100 at 100 Hz; the
  estimator upsamples them to 500 Hz inside, as the published encoder expects), no labels;
  three encoders of one architecture: W2V+CMSC (``rlm=False``), W2V+CMSC+RLM (``rlm=True``)
  and the same network untrained (its random initialisation: fitted for one step at
  lr 1e-12, which only creates the fitted state);
- probing: the labelled records (ecg_id 1-500), strat_fold 1-8 train, 9-10 test; the 5
  diagnostic superclasses (NORM, MI, STTC, CD, HYP), multi-label, ECGs without one left
  out; StandardScaler + one-vs-rest LogisticRegression (C=1) on frozen embeddings; macro
  ROC AUC on the test folds;
- lead sets: the probe is trained and tested on embeddings of 12 leads, the 6 limb leads
  (I, II, III, aVR, aVL, aVF), I + II, and lead I alone; the missing leads are
  zero-filled by the estimator (``transform(X_subset, leads=names)``);
- uncertainty: 1,000 bootstrap resamples of the test records give a standard deviation
  per AUC and, per lead set, the share of resamples in which RLM beats no RLM.

Usage::

    python benchmarks/reduced_leads.py [--preset cpu|fast|paper] [--data PTBXL_ROOT]
                                       [--epochs N] [--out benchmarks/results]

Writes ``OUT/reduced_leads-PRESET.json`` and ``OUT/reduced_leads-PRESET.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.stats import rankdata
from sklearn.multiclass import OneVsRestClassifier

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from methods import w2v_cmsc as method  # noqa: E402

from sklearn_ecg.datasets import load_ptbxl  # noqa: E402
from sklearn_ecg.evaluation import default_probe, macro_roc_auc  # noqa: E402

LEAD_SETS = {
    "12 leads": ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"],
    "6 limb leads": ["I", "II", "III", "aVR", "aVL", "aVF"],
    "I + II": ["I", "II"],
    "I": ["I"],
}
N_BOOTSTRAP = 1000
SEED = 0


def default_root() -> Path:
    base = os.environ.get("SKLEARN_ECG_DATA")
    base = Path(base) if base else HERE.parent.parent / "shared" / "data"
    return base / "ptbxl" if (base / "ptbxl").is_dir() else base


def load_data(root: Path, fast: bool) -> dict:
    labelled = load_ptbxl(root, sampling_rate=method.SAMPLING_RATE, task="superdiagnostic",
                          drop_empty=True)
    folds = labelled.metadata["strat_fold"].to_numpy()
    unlabelled = load_ptbxl(root, sampling_rate=method.SAMPLING_RATE, subset="unlabelled").X
    if fast:
        unlabelled = unlabelled[:64]
    return {"X_train": labelled.X[folds <= 8], "y_train": labelled.y[folds <= 8],
            "X_test": labelled.X[folds >= 9], "y_test": labelled.y[folds >= 9],
            "X_unlabelled": unlabelled, "classes": [str(c) for c in labelled.target_names],
            "leads": list(labelled.leads)}


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
            "params": {k: v for k, v in est.get_params().items() if k != "callbacks"}}
    if name != "untrained":
        last = est.net_.history[-1]["batches"]
        first = est.net_.history[0]["batches"]
        info["loss_curve"] = [round(v, 4) for v in est.loss_curve_]
        info["first_epoch_mean"] = {k: round(float(np.mean([b[k] for b in first])), 4)
                                    for k in first[0] if k != "train_batch_size"}
        info["last_epoch_mean"] = {k: round(float(np.mean([b[k] for b in last])), 4)
                                   for k in last[0] if k != "train_batch_size"}
    return est, info


def probe_scores(est, data: dict, leads: list[str]) -> np.ndarray:
    idx = [data["leads"].index(lead) for lead in leads]
    Z_train = est.transform(data["X_train"][:, idx], leads=leads)
    Z_test = est.transform(data["X_test"][:, idx], leads=leads)
    probe = OneVsRestClassifier(default_probe(C=1.0)).fit(Z_train, data["y_train"])
    return probe.predict_proba(Z_test)


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
    from sklearn.metrics import roc_auc_score

    return {c: round(float(roc_auc_score(y[:, j], scores[:, j])), 4)
            for j, c in enumerate(classes) if 0 < y[:, j].sum() < len(y)}


def markdown(result: dict) -> str:
    variants = list(result["pretraining"])
    lines = [f"# Reduced-lead linear probe: W2V+CMSC with and without RLM ({result['preset']} preset)", "",
             f"PTB-XL superdiagnostic (5 classes), macro ROC AUC on folds 9-10 "
             f"(n={result['n_test']}), probe trained on folds 1-8 (n={result['n_train']}); encoders "
             f"pretrained on {result['n_pretrain']} unlabelled records (ecg_id 501-1999, 100 Hz "
             "upsampled to 500 Hz). +- is the bootstrap standard deviation over test records; "
             "P(RLM > no RLM) is the share of bootstrap resamples in which RLM scores higher.", "",
             "| leads | " + " | ".join(variants) + " | P(RLM > no RLM) |",
             "|---|" + "---|" * (len(variants) + 1)]
    for lead_set, row in result["auc"].items():
        cells = [f"{row[v]['macro_auc']:.3f} +- {row[v]['bootstrap_std']:.3f}" for v in variants]
        lines.append(f"| {lead_set} | " + " | ".join(cells) + f" | {row['p_rlm_better']:.2f} |")
    lines += ["", "| encoder | pretraining time (s) | W2V InfoNCE first -> last epoch | CMSC | "
              "codebook perplexity (soft) |", "|---|---|---|---|---|"]
    for name, info in result["pretraining"].items():
        if "last_epoch_mean" not in info:
            lines.append(f"| {name} | {info['fit_time_s']} | - | - | - |")
            continue
        f, last = info["first_epoch_mean"], info["last_epoch_mean"]
        lines.append(f"| {name} | {info['fit_time_s']} | {f['w2v']:.3f} -> {last['w2v']:.3f} | "
                     f"{f['cmsc']:.3f} -> {last['cmsc']:.3f} | "
                     f"{f['prob_perplexity']:.1f} -> {last['prob_perplexity']:.1f} |")
    lines += ["", f"Command: `{result['command']}`; total {result['total_time_s']:.0f} s on "
              f"{result['machine']}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--preset", choices=("paper", "cpu", "fast"), default="cpu")
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's max_epochs")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    root = args.data or default_root()
    start = time.perf_counter()
    data = load_data(root, fast=args.preset == "fast")
    print(f"data: {len(data['X_unlabelled'])} unlabelled, {len(data['X_train'])} train, "
          f"{len(data['X_test'])} test ({time.perf_counter() - start:.0f} s)", flush=True)
    variants = ["untrained", "W2V+CMSC", "W2V+CMSC+RLM"]
    pretraining, scores = {}, {lead_set: {} for lead_set in LEAD_SETS}
    for name in variants:
        est, info = pretrain(name, args.preset, data["X_unlabelled"], args.epochs)
        pretraining[name] = info
        print(f"{name}: pretrained in {info['fit_time_s']} s; {info.get('last_epoch_mean', '')}",
              flush=True)
        for lead_set, leads in LEAD_SETS.items():
            scores[lead_set][name] = probe_scores(est, data, leads)
    rng = np.random.default_rng(SEED)
    auc = {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*left out of the macro ROC AUC.*")
        for lead_set, by_variant in scores.items():
            boot = bootstrap_aucs(data["y_test"], by_variant, rng)
            for s in by_variant.values():  # the rank formula is the AUC of scikit-learn
                assert np.isclose(fast_macro_auc(data["y_test"], s), macro_roc_auc(data["y_test"], s))
            auc[lead_set] = {
                name: {"macro_auc": round(macro_roc_auc(data["y_test"], s), 4),
                       "bootstrap_std": round(float(np.nanstd(boot[name])), 4),
                       "per_class_auc": per_class_auc(data["y_test"], s, data["classes"])}
                for name, s in by_variant.items()}
            auc[lead_set]["p_rlm_better"] = round(float(np.nanmean(boot["W2V+CMSC+RLM"]
                                                                   > boot["W2V+CMSC"])), 3)
            print(lead_set, {n: auc[lead_set][n]["macro_auc"] for n in variants}, flush=True)
    result = {
        "benchmark": "reduced_leads", "preset": args.preset, "auc": auc, "pretraining": pretraining,
        "n_pretrain": len(data["X_unlabelled"]), "n_train": len(data["X_train"]),
        "n_test": len(data["X_test"]), "classes": data["classes"], "lead_sets": LEAD_SETS,
        "total_time_s": round(time.perf_counter() - start, 1),
        "command": " ".join(["python benchmarks/reduced_leads.py",
                             *(sys.argv[1:] if argv is None else argv)]),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
                   f"{torch.get_num_threads()} threads",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"reduced_leads-{args.preset}.json").write_text(json.dumps(result, indent=2, default=str))
    (args.out / f"reduced_leads-{args.preset}.md").write_text(markdown(result))
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
