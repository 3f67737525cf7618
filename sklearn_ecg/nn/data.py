"""Training items read from (lazy) ECG arrays: whole records and random crops.

Items are ``(input, target)`` pairs, as skorch wants; self-supervised items have
target 0. Random draws use torch's global RNG, which the engine seeds per fit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from .._validation import check_batch


class ECGDataset(Dataset):
    """One ECG per item, read lazily from any array-like of shape (n, leads, samples).

    ``indices`` restricts the dataset to some rows; ``targets`` (indexable by row of
    ``X``) makes the items ``(ecg, targets[row])`` instead of ``(ecg, 0)``.
    """

    def __init__(self, X: Any, indices: np.ndarray | None = None, name: str = "X",
                 targets: np.ndarray | None = None) -> None:
        self.X = X
        self.indices = np.arange(len(X)) if indices is None else np.asarray(indices)
        self.name = name
        self.targets = targets

    def __len__(self) -> int:
        return len(self.indices)

    def read(self, row: int) -> torch.Tensor:
        ecg = check_batch(np.asarray(self.X[int(row)])[None], name=self.name, offset=int(row))[0]
        return torch.from_numpy(ecg)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, Any]:
        row = self.indices[i]
        return self.read(row), (0 if self.targets is None else self.targets[row])


class RandomCropDataset(ECGDataset):
    """One ECG per item, cut to a random stretch of ``length`` samples, drawn afresh each time.

    ``length=None`` returns whole records.
    """

    def __init__(self, X: Any, length: int | None, indices: np.ndarray | None = None, name: str = "X",
                 targets: Any = None):
        super().__init__(X, indices=indices, name=name, targets=targets)
        n_samples = X.shape[-1]
        if length is not None and n_samples < length:
            raise ValueError(
                f"{name} has records of {n_samples} samples but training crops are {length} samples; "
                f"pass longer records or lower the crop length."
            )
        self.length = length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, Any]:
        ecg, target = super().__getitem__(i)
        if self.length is None or ecg.shape[-1] == self.length:
            return ecg, target
        start = int(torch.randint(0, ecg.shape[-1] - self.length + 1, ()))
        return ecg[:, start:start + self.length], target
