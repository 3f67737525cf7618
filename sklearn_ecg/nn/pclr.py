"""PCLR's torch side: the interpolating encoder, the NT-Xent objective over patient pairs, and
the dataset that draws two ECGs of one patient per item (Diamant et al. 2022)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from .data import ECGDataset
from .heads import mlp
from .losses import nt_xent


def interpolate_to_length(x: torch.Tensor, n_samples: int | None) -> torch.Tensor:
    """Linearly interpolate the last axis to ``n_samples`` (PCLR's input preparation).

    Endpoints are kept (``align_corners=True``), as ``np.interp`` on a grid spanning the
    record; no antialiasing, unlike :func:`sklearn_ecg.nn.w2v_cmsc.resample_length`.
    """
    if n_samples is None or x.shape[-1] == n_samples:
        return x
    return F.interpolate(x, size=n_samples, mode="linear", align_corners=True)


class InterpolatingEncoder(nn.Module):
    """Every ECG interpolated to ``n_samples`` (None: kept), then ``backbone``: (n, leads, any) -> (n, d)."""

    def __init__(self, backbone: nn.Module, n_samples: int | None):
        super().__init__()
        self.backbone = backbone
        self.n_samples = n_samples
        self.out_features = int(backbone.out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(interpolate_to_length(x, self.n_samples))


class PCLRObjective(nn.Module):
    """Encoder + projection head; ``forward`` takes pairs (batch, 2, leads, samples), returns NT-Xent."""

    def __init__(self, encoder: nn.Module, projection_dims: Sequence[int], temperature: float):
        super().__init__()
        self.encoder = encoder
        self.projection = mlp(encoder.out_features, projection_dims)
        self.temperature = temperature

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        batch = pairs.shape[0]
        views = torch.cat([pairs[:, 0], pairs[:, 1]])  # [ECG A of each patient; ECG B of each]
        z = self.projection(self.encoder(views))
        return nt_xent(z[:batch], z[batch:], self.temperature)


class PatientPairDataset(Dataset):
    """One item per patient: two different ECGs of that patient, drawn afresh each epoch.

    Patients with a single ECG give two views of it instead, as ``single_ecg`` says:
    ``"windows"`` (its two non-overlapping halves, each stretched back to the full
    length) or ``"augment"`` (two noisy, amplitude-scaled, time-shifted copies);
    ``"drop"`` leaves them out. Since every item is one patient, a shuffled batch
    never holds a patient twice.
    """

    def __init__(self, X: Any, groups: np.ndarray | None, single_ecg: str):
        self.ecgs = ECGDataset(X)
        if groups is None:
            rows_by_patient = [np.array([i]) for i in range(len(X))]
        else:
            _, inverse = np.unique(groups, return_inverse=True)
            order = np.argsort(inverse, kind="stable")
            splits = np.cumsum(np.bincount(inverse))[:-1]
            rows_by_patient = np.split(order, splits)
        self.n_pairs = sum(len(rows) >= 2 for rows in rows_by_patient)
        self.n_single = len(rows_by_patient) - self.n_pairs
        if single_ecg == "drop":
            rows_by_patient = [rows for rows in rows_by_patient if len(rows) >= 2]
            if not rows_by_patient:
                raise ValueError(
                    "No patient has two or more ECGs, and single_ecg='drop' discards single-ECG "
                    "patients: pass `groups` with repeated patient ids or another single_ecg."
                )
        self.rows_by_patient = rows_by_patient
        self.single_ecg = single_ecg

    def __len__(self) -> int:
        return len(self.rows_by_patient)

    def _single_views(self, ecg: torch.Tensor) -> torch.Tensor:
        n = ecg.shape[-1]
        if self.single_ecg == "windows":
            halves = torch.stack([ecg[:, : n // 2], ecg[:, n // 2 : 2 * (n // 2)]])
            return F.interpolate(halves, size=n, mode="linear", align_corners=True)
        views = ecg.expand(2, -1, -1)
        scale = torch.empty(2, ecg.shape[0], 1).uniform_(0.8, 1.25)
        noise = 0.02 * torch.randn_like(views)
        shifts = torch.randint(-n // 10, n // 10 + 1, (2,))
        views = torch.stack([torch.roll(v, int(s), dims=-1) for v, s in zip(views, shifts)])
        return views * scale + noise

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        rows = self.rows_by_patient[i]
        if len(rows) == 1:
            return self._single_views(self.ecgs.read(rows[0])), 0
        first, second = torch.randperm(len(rows))[:2].tolist()
        return torch.stack([self.ecgs.read(rows[first]), self.ecgs.read(rows[second])]), 0
