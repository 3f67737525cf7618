"""Labels of the protocols: target checks, strata, and the stratified label subsets of each budget."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit, StratifiedShuffleSplit


def _check_targets(y: Any, name: str = "y") -> np.ndarray:
    """1-D classes, or a 0/1 multi-label matrix (a single column becomes 1-D)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim == 2 and not np.isin(y, (0, 1)).all():
        raise ValueError(f"A 2-D {name} must be a 0/1 multi-label matrix, got values "
                         f"{np.unique(y)[:10].tolist()}.")
    if y.ndim not in (1, 2) or len(y) == 0:
        raise ValueError(f"{name} must be 1-D classes or a 2-D 0/1 multi-label matrix with at least "
                         f"one row, got shape {y.shape}.")
    return y


def _strata(y: np.ndarray) -> np.ndarray:
    """One stratum per row: its class, or (multi-label) its least frequent positive label.

    Rows of a multi-label ``y`` without any positive label form one more stratum.
    """
    if y.ndim == 1:
        return np.unique(y, return_inverse=True)[1]
    positives = y.astype(bool)
    frequency = positives.sum(0)
    rank = np.where(positives, frequency[None, :], np.inf)
    return np.where(positives.any(1), np.argmin(rank, axis=1), y.shape[1])


def stratified_subset(y: Any, n_labels: int, random_state: Any = None) -> np.ndarray:
    """Draw ``n_labels`` rows of ``y``: every class covered first, the rest stratified.

    1. Coverage: for each class (multi-label: each label), rarest first, one row
       having it is drawn unless an already drawn row has it; this stops when the
       budget is spent, so a budget below the number of classes covers the rarest.
    2. The rest of the budget goes to the strata short of their proportional
       share of the whole budget, in proportion to what they lack (largest
       remainders round up), drawn at random within each. The stratum of a row is
       its class, or for a multi-label ``y`` its least frequent positive label
       (rows with no positive label form one more stratum).

    Parameters
    ----------
    y : array-like of shape (n,) or (n, n_labels)
        Classes, or a 0/1 multi-label matrix.
    n_labels : int
        Number of rows to draw; at least ``n`` returns every row.
    random_state : int, Generator, RandomState or None

    Returns
    -------
    indices : ndarray of int, sorted

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.evaluation import stratified_subset
    >>> y = np.array([0] * 90 + [1] * 9 + [2])
    >>> rows = stratified_subset(y, 10, random_state=0)
    >>> np.bincount(y[rows]).tolist()
    [8, 1, 1]
    """
    y = _check_targets(y)
    rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(
        None if random_state is None else _as_seed(random_state))
    n_total = len(y)
    if n_labels >= n_total:
        return np.arange(n_total)
    if n_labels < 1:
        raise ValueError(f"n_labels must be at least 1, got {n_labels}.")
    members = (y.astype(bool).T if y.ndim == 2
               else [y == value for value in np.unique(y)])
    groups = sorted((np.flatnonzero(m) for m in members if m.any()), key=len)
    chosen = np.zeros(n_total, dtype=bool)
    for rows in groups:
        if chosen.sum() >= n_labels:
            break
        if not chosen[rows].any():
            chosen[rng.choice(rows)] = True
    remaining = n_labels - int(chosen.sum())
    if remaining > 0:
        strata = _strata(y)
        keys, counts = np.unique(strata, return_counts=True)
        # What each stratum still lacks of its proportional share of the whole budget.
        already = np.array([chosen[strata == key].sum() for key in keys])
        lack = np.maximum(n_labels * counts / n_total - already, 0)
        if lack.sum() == 0:
            lack = counts - already.astype(float)
        share = remaining * lack / lack.sum()
        take = np.floor(share).astype(int)
        short = remaining - take.sum()
        if short:
            # Largest fractional parts first, ties broken at random.
            order = np.lexsort((rng.random(len(keys)), -(share - take)))
            take[order[:short]] += 1
        for key, k in zip(keys, take):
            pool = np.flatnonzero((strata == key) & ~chosen)
            chosen[rng.choice(pool, size=min(k, len(pool)), replace=False)] = True
        left = n_labels - int(chosen.sum())
        if left > 0:  # a stratum had fewer rows than its share: fill from any row
            chosen[rng.choice(np.flatnonzero(~chosen), size=left, replace=False)] = True
    return np.flatnonzero(chosen)


def _as_seed(random_state: Any) -> int:
    """An int seed from an int or a RandomState (drawn from it)."""
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    return int(random_state)


def _split(y: np.ndarray, groups: np.ndarray | None, test_size: float, seed: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """Pool and test rows: grouped by ``groups`` if given, else stratified when every stratum
    has two rows, else at random."""
    if groups is not None:
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        return next(splitter.split(np.zeros(len(y)), y, groups))
    strata = _strata(y)
    if np.bincount(strata).min() >= 2:
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        return next(splitter.split(np.zeros(len(y)), strata))
    return next(ShuffleSplit(n_splits=1, test_size=test_size, random_state=seed).split(np.zeros(len(y))))
