"""The torch side shared by every estimator: datasets over (lazy) arrays, the skorch net, devices."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import torch
from skorch import NeuralNet
from skorch.dataset import unpack_data
from torch.utils.data import Dataset

from ._validation import check_batch


def resolve_device(device: str | torch.device | None) -> str:
    """``"auto"`` (or None) picks CUDA when available, else CPU; anything else is checked."""
    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}.") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available here.")
    return str(resolved)


def autocast_context(device: str, enabled: bool) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on CUDA devices that support it; a no-op elsewhere."""
    if enabled and device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class ECGDataset(Dataset):
    """One ECG per item, read lazily from any array-like of shape (n, leads, samples).

    Items are ``(ecg, 0)``: skorch wants (X, y) pairs and self-supervised
    training has no target. ``indices`` restricts the dataset to some rows.
    """

    def __init__(self, X: Any, indices: np.ndarray | None = None, name: str = "X") -> None:
        self.X = X
        self.indices = np.arange(len(X)) if indices is None else np.asarray(indices)
        self.name = name

    def __len__(self) -> int:
        return len(self.indices)

    def read(self, row: int) -> torch.Tensor:
        ecg = check_batch(np.asarray(self.X[int(row)])[None], name=self.name, offset=int(row))[0]
        return torch.from_numpy(ecg)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.read(self.indices[i]), 0


class ReturnedLoss(torch.nn.Module):
    """The criterion of self-supervised nets: the module's forward already returns the loss."""

    def forward(self, loss: torch.Tensor, target: Any = None) -> torch.Tensor:
        return loss


class SelfSupervisedNet(NeuralNet):
    """A skorch ``NeuralNet`` whose module computes its own loss.

    The module's ``forward(batch)`` returns a scalar loss; a module may also set
    ``loss_parts`` (a dict of floats) which is recorded in the batch history, so
    each part of a composite loss can be followed. With ``mixed_precision`` the
    step runs under bfloat16 autocast on CUDA.
    """

    def __init__(self, *args: Any, mixed_precision: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mixed_precision = mixed_precision

    def train_step_single(self, batch: Any, **fit_params: Any) -> dict[str, Any]:
        self._set_training(True)
        Xi, _ = unpack_data(batch)
        with autocast_context(str(self.device), self.mixed_precision):
            loss = self.infer(Xi, **fit_params)
        loss.backward()
        for name, value in getattr(self.module_, "loss_parts", {}).items():
            self.history.record_batch(name, float(value))
        return {"loss": loss, "y_pred": loss}

    def validation_step(self, batch: Any, **fit_params: Any) -> dict[str, Any]:
        self._set_training(False)
        Xi, _ = unpack_data(batch)
        with torch.no_grad(), autocast_context(str(self.device), self.mixed_precision):
            loss = self.infer(Xi, **fit_params)
        return {"loss": loss, "y_pred": loss}
