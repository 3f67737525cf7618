"""Noise robustness: a fitted classifier scored on test ECGs with physiological noise added at the
published levels (Mehari & Strodthoff 2022)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from .._validation import check_ecg_array, check_fs
from ..augmentations import BaselineShift, BaselineWander, Compose, EMNoise, PowerlineNoise
from ._labels import _check_targets
from ._metrics import _make_scorer

#: Upper bounds of the four noises per level, as in the published code (``t_params_by_level``):
#: baseline wander, electromyographic (EM) noise, powerline noise, baseline shift.
NOISE_LEVELS: dict[int, dict[str, float]] = {
    1: {"baseline_wander": 0.05, "em": 0.25, "powerline": 0.1, "baseline_shift": 0.5},
    2: {"baseline_wander": 0.1, "em": 0.5, "powerline": 0.2, "baseline_shift": 1.0},
    3: {"baseline_wander": 0.1, "em": 1.0, "powerline": 0.2, "baseline_shift": 2.0},
    4: {"baseline_wander": 0.2, "em": 1.0, "powerline": 0.4, "baseline_shift": 2.0},
    5: {"baseline_wander": 0.2, "em": 1.5, "powerline": 0.4, "baseline_shift": 2.5},
    6: {"baseline_wander": 0.3, "em": 2.0, "powerline": 0.5, "baseline_shift": 3.0},
}


def noise_transform(level: int, fs: float, amplitude: float = 1.0,
                    generator: torch.Generator | None = None) -> Compose:
    """The four noises of ``level`` (:data:`NOISE_LEVELS`) one after the other, each bound
    multiplied by ``amplitude``."""
    if level not in NOISE_LEVELS:
        raise ValueError(f"Unknown noise level {level!r}; the published levels are {sorted(NOISE_LEVELS)}.")
    bounds = {name: amplitude * value for name, value in NOISE_LEVELS[level].items()}
    return Compose([
        BaselineWander(fs=fs, max_scale=bounds["baseline_wander"], generator=generator),
        EMNoise(max_scale=bounds["em"], generator=generator),
        PowerlineNoise(fs=fs, max_scale=bounds["powerline"], generator=generator),
        BaselineShift(fs=fs, max_scale=bounds["baseline_shift"], generator=generator),
    ])


def add_noise(X: Any, level: int, fs: float, amplitude: float = 1.0, random_state: int = 0,
              batch_size: int = 256) -> np.ndarray:
    """A noisy float32 copy of the ECGs ``X`` at ``level`` (level 0: an unchanged copy)."""
    X = check_ecg_array(X)
    if level == 0:
        return np.array(X, dtype=np.float32)
    generator = torch.Generator().manual_seed(int(random_state))
    transform = noise_transform(level, check_fs(fs), amplitude, generator)
    noisy = np.empty(X.shape, dtype=np.float32)
    for start in range(0, len(X), batch_size):
        batch = torch.from_numpy(np.ascontiguousarray(X[start:start + batch_size], dtype=np.float32))
        noisy[start:start + batch_size] = transform(batch).numpy()
    return noisy


def noise_robustness(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    fs: float = 100,
    levels: Sequence[int] = (0, 1, 2, 3, 4, 5, 6),
    amplitude: float = 1.0,
    scoring: str | Callable = "roc_auc_macro",
    random_state: int = 0,
) -> pd.DataFrame:
    """Score a fitted classifier on test ECGs with physiological noise at each level.

    Mehari & Strodthoff's protocol: baseline wander, electromyographic noise, powerline
    noise and baseline shifts, each with an amplitude drawn per ECG up to the level's bound
    (:data:`NOISE_LEVELS`, the published ``t_params_by_level``), are added together to the
    evaluation ECGs; the classifier is not retrained. Level 0 is the clean score.

    Parameters
    ----------
    estimator : fitted classifier
        Anything with ``predict_proba`` (or ``decision_function``) on ECG arrays: a
        :class:`~sklearn_ecg.FineTunedECGClassifier`, a
        :class:`~sklearn_ecg.SupervisedECGClassifier`, an embedder + probe pipeline.
    X : array-like of shape (n_ecgs, n_leads, n_samples)
        Test ECGs.
    y : array-like of shape (n_ecgs,) or (n_ecgs, n_labels)
        Their classes, or a 0/1 multi-label matrix.
    fs : float, default=100
        Sampling rate of X (the noises' frequencies are in Hz).
    levels : sequence of int, default=(0, 1, 2, 3, 4, 5, 6)
    amplitude : float, default=1.0
        Factor on every bound. The published bounds apply to the code's per-lead
        standardised ECGs; with 1.0 they are taken in the units of X, so standardise X
        (``LeadStandardScaler``) to reproduce the paper, or scale them here.
    scoring : str or callable, default="roc_auc_macro"
        As in :func:`label_efficiency_curve`.
    random_state : int, default=0
        Seeds the noise (each level draws its own, reproducibly).

    Returns
    -------
    results : pandas.DataFrame
        One row per level: ``level``, ``score`` and the four bounds used.
    """
    X = check_ecg_array(X)
    y = _check_targets(y)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} ECGs but y has {len(y)} rows.")
    classes = None if y.ndim == 2 else np.unique(y)
    scorer = _make_scorer(scoring, classes)
    rows = []
    for level in levels:
        noisy = add_noise(X, level, fs, amplitude, random_state=int(random_state) + 1000 * int(level))
        bounds: Mapping[str, float] = NOISE_LEVELS.get(level, dict.fromkeys(NOISE_LEVELS[1], 0.0))
        rows.append({"level": int(level), "score": float(scorer(estimator, noisy, y)),
                     **{f"{name}_max": amplitude * value for name, value in bounds.items()}})
    return pd.DataFrame(rows)
