"""Zero-shot PTB-XL superclasses with METSZeroShotClassifier pretrained on report text only.

Protocol:

- data: PTB-XL at 100 Hz; on the shared subset, the labelled records (ecg_id 1-500). Pretraining
  pairs: every ECG of strat_fold 1-8 with its report (no labels). Test: strat_fold 9-10, ECGs
  with at least one diagnostic superclass (as in the PTB-XL benchmark);
- reports: ``english`` (written from the English descriptions of each ECG's SCP statements by
  ``ptbxl_english_reports``; the main result) and ``german`` (PTB-XL's original free text,
  mostly German, embedded by the same English MiniLM);
- zero-shot: one prompt per superclass, ``class_template`` filled with NORM "normal ECG",
  MI "myocardial infarction", STTC "ST/T change", CD "conduction disturbance", HYP
  "hypertrophy"; each class's ``decision_function`` column (cosine similarity) is its ROC
  score; macro ROC AUC over the 5 classes;
- references in the same run: the same estimator untrained (1 step at lr 1e-12: chance
  level of the prompts), and a "text oracle" that scores each test ECG's own report
  against the class prompts through the trained text projection (what the ECG side could
  reach if it matched its report perfectly; it is high because the English reports are
  made from the labels).

Usage::

    python -m benchmarks.zero_shot [--data PTBXL_ROOT] [--epochs 8] [--batch-size 32] [--lr 1e-3]
                                   [--widths 64,128,256,512] [--reports english,german]
                                   [--device cpu] [--out benchmarks/results]

from the repository root.

Writes ``OUT/zero_shot.json`` and ``OUT/zero_shot.md``. The defaults (the published ResNet18,
8 epochs, batch 32, Adam 1e-3, chosen before looking at the test folds) take about 5 min per
report language on 2 free CPU cores.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from sklearn_ecg import METSZeroShotClassifier
from sklearn_ecg.datasets import load_ptbxl, ptbxl_english_reports
from sklearn_ecg.text import get_text_encoder

from .protocol import (
    RESULTS_DIR,
    SEED,
    bootstrap_macro_aucs,
    default_data_root,
    macro_and_class_aucs,
    pool_and_test,
    write_results,
)

SUPERCLASSES = {
    "NORM": "normal ECG",
    "MI": "myocardial infarction",
    "STTC": "ST/T change",
    "CD": "conduction disturbance",
    "HYP": "hypertrophy",
}


def bootstrap_interval(Y: np.ndarray, scores: np.ndarray) -> list[float]:
    """95% percentile interval of the macro AUC over test ECGs drawn with replacement."""
    values = bootstrap_macro_aucs(Y, {"model": scores}, np.random.default_rng(SEED))["model"]
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


def scores_by_name(clf: METSZeroShotClassifier, scores: np.ndarray, names: list[str]) -> np.ndarray:
    """Reorder the columns of ``scores`` (``clf.classes_`` order) to ``names``."""
    columns = list(clf.classes_)
    return scores[:, [columns.index(name) for name in names]]


def text_oracle_scores(clf: METSZeroShotClassifier, reports: list[str]) -> np.ndarray:
    """Each report (not its ECG) scored against the class prompts through the trained text projection."""
    encoder = get_text_encoder(clf.text_model_, str(clf.net_.device))
    raw = encoder.encode([clf.report_template.format(r) for r in reports])
    with torch.inference_mode():
        projected = clf.net_.module_.embed_text(torch.from_numpy(raw).to(clf.net_.device)).cpu().numpy()
    return projected @ clf.class_embeddings().T


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    data = load_ptbxl(args.data, sampling_rate=100, task="superdiagnostic")
    meta = data.metadata
    names = [str(n) for n in data.target_names]
    train, test = pool_and_test(meta["strat_fold"])
    test &= data.y.sum(axis=1) > 0
    Y_test = data.y[test][:, [names.index(n) for n in SUPERCLASSES]]
    order = list(SUPERCLASSES)
    reports_by_kind = {
        "english": ptbxl_english_reports(data, args.data),
        "german": [str(r) for r in meta["report"]],
    }
    params = dict(classes=SUPERCLASSES, widths=tuple(args.widths), max_epochs=args.epochs,
                  batch_size=args.batch_size, lr=args.lr, random_state=args.seed, device=args.device)
    result = {
        "protocol": "pretrain on (ECG, report) pairs of strat_fold 1-8 (no labels); zero-shot macro ROC "
                    "AUC on strat_fold 9-10 (ECGs with a superclass), decision_function as scores",
        "n_train_pairs": int(train.sum()), "n_test": int(test.sum()),
        "n_distinct_train_reports": {k: len({r for r, t in zip(v, train) if t})
                                     for k, v in reports_by_kind.items()},
        "test_positives": {n: int(Y_test[:, j].sum()) for j, n in enumerate(order)},
        "class_prompts": {n: params["classes"][n] for n in order},
        "params": {k: v for k, v in params.items() if k != "classes"},
        "runs": {},
        "machine": {"platform": platform.platform(), "torch": torch.__version__,
                    "threads": args.threads, "device": args.device},
    }
    example_rows = np.flatnonzero(train)[:3]
    for kind in args.reports:
        reports = reports_by_kind[kind]
        train_reports = [r for r, t in zip(reports, train) if t]
        print(f"[{kind}] e.g. {[reports[i] for i in example_rows]}", flush=True)
        start = time.perf_counter()
        clf = METSZeroShotClassifier(**params).fit(data.X[train], train_reports)
        seconds = time.perf_counter() - start
        scores = scores_by_name(clf, clf.decision_function(data.X[test]), order)
        auc, per_class = macro_and_class_aucs(Y_test, scores, order)
        test_reports = [r for r, t in zip(reports, test) if t]
        oracle_auc, oracle_per_class = macro_and_class_aucs(
            Y_test, scores_by_name(clf, text_oracle_scores(clf, test_reports), order), order)
        result["runs"][kind] = {"macro_auc": auc, "macro_auc_95ci": bootstrap_interval(Y_test, scores),
                                "per_class_auc": per_class, "fit_seconds": seconds,
                                "loss_curve": clf.loss_curve_, "text_oracle_macro_auc": oracle_auc,
                                "text_oracle_per_class_auc": oracle_per_class,
                                "example_reports": [reports[i] for i in example_rows]}
        print(f"[{kind}] zero-shot macro AUC {auc:.3f} (text oracle {oracle_auc:.3f}), "
              f"fit {seconds:.0f} s", flush=True)
    untrained = METSZeroShotClassifier(**{**params, "max_epochs": 1, "lr": 1e-12})
    untrained.fit(data.X[train], [r for r, t in zip(reports_by_kind["english"], train) if t])
    scores = scores_by_name(untrained, untrained.decision_function(data.X[test]), order)
    auc, per_class = macro_and_class_aucs(Y_test, scores, order)
    result["untrained"] = {"macro_auc": auc, "macro_auc_95ci": bootstrap_interval(Y_test, scores),
                           "per_class_auc": per_class}
    print(f"[untrained] zero-shot macro AUC {auc:.3f}", flush=True)
    return result


def markdown(result: dict) -> str:
    order = list(SUPERCLASSES)
    lines = [
        "# Zero-shot PTB-XL superclasses (METSZeroShotClassifier)",
        "",
        f"{result['protocol']}. {result['n_train_pairs']} training pairs, {result['n_test']} test ECGs "
        f"(positives: {', '.join(f'{k} {v}' for k, v in result['test_positives'].items())}). "
        f"Parameters: {result['params']}.",
        "",
        "| model | reports | macro AUC (95% CI) | " + " | ".join(order) + " | text oracle | fit (s) |",
        "|---|---|---|" + "---|" * len(order) + "---|---|",
    ]
    for kind, run_ in result["runs"].items():
        cells = [f"{run_['per_class_auc'].get(n, float('nan')):.3f}" for n in order]
        low, high = run_["macro_auc_95ci"]
        lines.append(f"| METS | {kind} | **{run_['macro_auc']:.3f}** ({low:.2f}-{high:.2f}) | "
                     + " | ".join(cells)
                     + f" | {run_['text_oracle_macro_auc']:.3f} | {run_['fit_seconds']:.0f} |")
    untrained = result["untrained"]
    cells = [f"{untrained['per_class_auc'].get(n, float('nan')):.3f}" for n in order]
    low, high = untrained["macro_auc_95ci"]
    lines.append(f"| untrained | - | {untrained['macro_auc']:.3f} ({low:.2f}-{high:.2f}) | "
                 + " | ".join(cells) + " | - | - |")
    lines += [
        "",
        "Text oracle: each test ECG's own report (not its signal) scored against the class prompts "
        "through the trained text projection. The English reports are written from the SCP "
        "statements, i.e. from the labels, so the oracle is high by construction; the METS row "
        "is what the ECG encoder learnt from the pairs. One seed; the interval is a bootstrap over "
        "the test ECGs (1000 resamples) and does not include the training seed's variation.",
        "",
        f"Machine: {result['machine']}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_root())
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--widths", type=lambda s: [int(w) for w in s.split(",")],
                        default=[64, 128, 256, 512])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reports", type=lambda s: s.split(","), default=["english", "german"])
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if not (args.data / "ptbxl_database.csv").is_file():
        sys.exit(f"PTB-XL not found at {args.data}: pass --data or set SKLEARN_ECG_DATA.")
    result = run(args)
    table = markdown(result)
    write_results(args.out, "zero_shot", result, table, indent=2)
    print(table)


if __name__ == "__main__":
    main()
