"""Linear evaluation on PTB-XL's recommended folds (Strodthoff et al. 2021), as macro ROC AUC."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.multiclass import OneVsRestClassifier

from ._metrics import macro_roc_auc, per_class_roc_auc
from ._probe import _fit_quietly, _pretrain, default_probe


def linear_evaluation(
    estimator: Any,
    data: str | os.PathLike | Mapping,
    *,
    task: str = "superdiagnostic",
    sampling_rate: int = 100,
    train_folds: Sequence[int] = tuple(range(1, 9)),
    val_folds: Sequence[int] = (9,),
    test_folds: Sequence[int] = (10,),
    Cs: Sequence[float] = (0.001, 0.01, 0.1, 1.0, 10.0),
    prefit: bool = False,
    X_pretrain: Any = None,
    pretrain_params: Mapping[str, Any] | None = None,
    drop_empty: bool = True,
) -> dict[str, Any]:
    """Linear evaluation on PTB-XL's recommended folds, reported as macro ROC AUC.

    The protocol of the PTB-XL benchmark (Strodthoff et al. 2021) and of the
    self-supervised papers built on it (Mehari & Strodthoff 2022): folds 1-8
    train, fold 9 validation, fold 10 test, the task's multi-label targets, ECGs
    without a label of the task left out, macro ROC AUC. The representation is
    frozen; a linear probe (StandardScaler + one-vs-rest LogisticRegression) is
    trained on the train folds, its ``C`` chosen from ``Cs`` on the validation
    folds, and scored on the test folds. Window-based methods already average
    their windows inside ``transform``, so every embedding is one record.

    Departure from the papers: they train a linear layer with Adam for 50
    epochs; a regularised logistic regression is the same model class, fitted
    to convergence, with the regularisation chosen on fold 9.

    Parameters
    ----------
    estimator : transformer
        An embedder; fitted on ``X_pretrain`` (default: the train folds' ECGs,
        labels unused) unless ``prefit=True``.
    data : path or Bunch
        The PTB-XL folder (read with :func:`~sklearn_ecg.datasets.load_ptbxl`)
        or a Bunch from it (``X``, ``y``, ``target_names``, ``metadata`` with
        ``strat_fold``).
    task : str, default="superdiagnostic"
        Any task of ``load_ptbxl`` ("all", "diagnostic", "subdiagnostic",
        "superdiagnostic", "form", "rhythm"); ignored when ``data`` is a Bunch.
    sampling_rate : {100, 500}, default=100
        Ignored when ``data`` is a Bunch.
    train_folds, val_folds, test_folds : lists of int
        Folds absent from the data are ignored (e.g. on a subset); an empty
        train or test set is an error; without validation ECGs, ``C=1``.
    Cs : list of float
        Inverse regularisation strengths tried on the validation folds.
    prefit : bool, default=False
    X_pretrain : array-like, optional
    pretrain_params : dict, optional
        Extra ``fit`` arguments for the embedder (e.g. ``groups``).
    drop_empty : bool, default=True
        Leave out ECGs with no label of the task (as the benchmark does).

    Returns
    -------
    result : dict
        ``test_macro_auc``, ``val_macro_auc`` (of the chosen C, or None),
        ``C``, ``per_class_auc`` ({class: test AUC}), ``n_train``, ``n_val``,
        ``n_test``, ``task`` and ``pretrain_time`` (s, or None).

    Examples
    --------
    >>> from sklearn_ecg import PCLRTransformer
    >>> from sklearn_ecg.evaluation import linear_evaluation
    >>> result = linear_evaluation(PCLRTransformer(), "ptbxl", task="all")  # doctest: +SKIP
    >>> round(result["test_macro_auc"], 3)  # doctest: +SKIP
    """
    if isinstance(data, Mapping):
        bunch = data
    else:
        from ..datasets import load_ptbxl

        bunch = load_ptbxl(data, task=task, sampling_rate=sampling_rate, drop_empty=drop_empty)
    X, Y = bunch["X"], np.asarray(bunch["y"])
    folds = np.asarray(bunch["metadata"]["strat_fold"])
    keep = Y.sum(1) > 0 if drop_empty else np.ones(len(Y), dtype=bool)
    fold_lists = {"train": list(train_folds), "val": list(val_folds), "test": list(test_folds)}
    parts = {name: np.flatnonzero(np.isin(folds, f) & keep) for name, f in fold_lists.items()}
    for name in ("train", "test"):
        if not len(parts[name]):
            raise ValueError(f"No labelled ECG in the {name} folds {fold_lists[name]} (folds present: "
                             f"{sorted(set(folds[~pd.isna(folds)].astype(int).tolist()))}).")
    pretrain_time = None
    if not prefit:
        source = X[parts["train"]] if X_pretrain is None else X_pretrain
        estimator, pretrain_time = _pretrain(estimator, source, pretrain_params)
    Z = {name: estimator.transform(X[rows]) for name, rows in parts.items() if len(rows)}
    Y_parts = {name: Y[rows] for name, rows in parts.items()}

    def fit_probe(C: float) -> OneVsRestClassifier:
        return _fit_quietly(OneVsRestClassifier(default_probe(C)), Z["train"], Y_parts["train"])

    best_C, val_auc = 1.0, None
    if "val" in Z:
        val_scores = {C: macro_roc_auc(Y_parts["val"], fit_probe(C).predict_proba(Z["val"])) for C in Cs}
        best_C = max(val_scores, key=lambda C: -np.inf if np.isnan(val_scores[C]) else val_scores[C])
        val_auc = val_scores[best_C]
    probe = fit_probe(best_C)
    scores = probe.predict_proba(Z["test"])
    names = [str(n) for n in bunch["target_names"]]
    per_class = {name: None if np.isnan(auc) else float(auc)
                 for name, auc in zip(names, per_class_roc_auc(Y_parts["test"], scores))}
    return {
        "task": bunch.get("task", task),
        "test_macro_auc": macro_roc_auc(Y_parts["test"], scores),
        "val_macro_auc": val_auc,
        "C": best_C,
        "per_class_auc": per_class,
        "n_train": len(parts["train"]),
        "n_val": len(parts["val"]),
        "n_test": len(parts["test"]),
        "pretrain_time": pretrain_time,
    }
