"""Patient identification: recognising held-out ECGs of known patients by their nearest embedding
(Oh et al. 2022's second task; the natural check of PCLR's patient-contrastive embedding)."""

from __future__ import annotations

from typing import Any

import numpy as np


def patient_identification(embedder: Any, X: Any, patient_id: Any, *, random_state: int = 0
                           ) -> dict[str, float]:
    """Top-1 accuracy of identifying each patient's other ECGs by their nearest enrolled embedding.

    For every patient with at least two ECGs, one ECG (drawn with ``random_state``) is
    enrolled in the gallery and the others are queries; every patient with a single ECG
    is enrolled too, as a distractor. A query is identified correctly when the gallery
    embedding closest to it (cosine similarity) belongs to its patient. Chance level is
    one over the gallery size.

    Parameters
    ----------
    embedder : fitted transformer
        Maps ECGs to embeddings with ``transform`` (any sklearn-ecg embedder).
    X : array-like of shape (n_ecgs, n_leads, n_samples)
        ECGs of the patients to identify (not those the embedder was fitted on, for an
        honest estimate).
    patient_id : array-like of shape (n_ecgs,)
        The patient of each ECG.
    random_state : int, default=0
        Picks each patient's enrolled ECG.

    Returns
    -------
    result : dict
        ``top1_accuracy``, ``chance`` (1 / gallery size), ``n_queries`` and ``n_patients``.
    """
    patient_id = np.asarray(patient_id)
    if patient_id.ndim != 1 or len(patient_id) != len(X):
        raise ValueError(f"patient_id must hold one id per ECG: expected shape ({len(X)},), got "
                         f"{patient_id.shape}.")
    if any(value is None or (isinstance(value, float) and np.isnan(value)) for value in patient_id.tolist()):
        raise ValueError("patient_id contains missing ids (None or NaN); drop those ECGs first.")
    patients, inverse, counts = np.unique(patient_id, return_inverse=True, return_counts=True)
    if not (counts >= 2).any():
        raise ValueError("No patient has two or more ECGs: there is nothing to identify.")
    rng = np.random.default_rng(random_state)
    enrolled = np.array([rng.choice(np.flatnonzero(inverse == p)) for p in range(len(patients))])
    queries = np.setdiff1d(np.arange(len(X)), enrolled)
    embeddings = np.asarray(embedder.transform(X), dtype=np.float64)
    embeddings /= np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    nearest = np.argmax(embeddings[queries] @ embeddings[enrolled].T, axis=1)
    correct = inverse[enrolled][nearest] == inverse[queries]
    return {"top1_accuracy": float(correct.mean()), "chance": 1.0 / len(enrolled),
            "n_queries": int(len(queries)), "n_patients": int(len(patients))}
