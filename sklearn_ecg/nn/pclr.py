"""PCLR's torch side: the interpolating encoder, the NT-Xent objective over patient pairs, and
the dataset that draws two ECGs of one patient per item (Diamant et al. 2022)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data import BatchDataset, ECGDataset, item_uniforms
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


def stretched_halves(ecgs: torch.Tensor) -> torch.Tensor:
    """The ``"windows"`` views of single ECGs (n, leads, samples): their two non-overlapping
    halves, each linearly stretched back to ``samples``, as pairs (n, 2, leads, samples)."""
    n_ecgs, n_leads, n = ecgs.shape
    half = n // 2
    # Each lead's two halves as the channels of one row: no copy before the stretch, and the
    # result is a view of the interpolation's output.
    halves = ecgs[:, :, : 2 * half].reshape(n_ecgs * n_leads, 2, half)
    stretched = F.interpolate(halves, size=n, mode="linear", align_corners=True)
    return stretched.reshape(n_ecgs, n_leads, 2, n).transpose(1, 2)


def augmented_copies(ecgs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The ``"augment"`` views of single ECGs (n, leads, samples): two copies of each, each
    circularly shifted by up to a tenth of its length, scaled per lead by 0.8-1.25 and with
    Gaussian noise of 0.02, drawn on the ECGs' device: (n, 2, leads, samples)."""
    n_ecgs, n_leads, n = ecgs.shape
    options = dict(device=ecgs.device, generator=generator)
    shifts = torch.randint(-(n // 10), n // 10 + 1, (n_ecgs, 2, 1, 1), **options)
    # np.roll's convention, out[t] = x[t - shift], as one gather over both copies.
    source = (torch.arange(n, device=ecgs.device) - shifts) % n
    copies = ecgs.unsqueeze(1).expand(n_ecgs, 2, n_leads, n).gather(-1, source.expand(-1, -1, n_leads, -1))
    scale = 0.8 + 0.45 * torch.rand((n_ecgs, 2, n_leads, 1), dtype=ecgs.dtype, **options)
    return copies * scale + 0.02 * torch.randn(copies.shape, dtype=ecgs.dtype, **options)


#: The views of single ECGs of each ``single_ecg`` fallback, made on the training device.
SINGLE_ECG_VIEWS = {"windows": stretched_halves, "augment": augmented_copies}


class PCLRObjective(nn.Module):
    """Encoder + projection head; ``forward`` takes pairs (batch, 2, leads, samples), returns NT-Xent."""

    def __init__(self, encoder: nn.Module, projection_dims: Sequence[int], temperature: float,
                 single_ecg: str = "windows"):
        super().__init__()
        self.encoder = encoder
        self.projection = mlp(encoder.out_features, projection_dims)
        self.temperature = temperature
        self.single_ecg = single_ecg

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        """NT-Xent of ``pairs`` (batch, 2, leads, samples); single ECGs (batch, leads, samples)
        are paired with themselves (``SINGLE_ECG_VIEWS[single_ecg]``) here, on the training device."""
        if pairs.ndim == 3:
            pairs = SINGLE_ECG_VIEWS[self.single_ecg](pairs)
        batch = pairs.shape[0]
        views = torch.cat([pairs[:, 0], pairs[:, 1]])  # [ECG A of each patient; ECG B of each]
        z = self.projection(self.encoder(views))
        return nt_xent(z[:batch], z[batch:], self.temperature)


class PatientPairDataset(BatchDataset):
    """One item per patient: two different ECGs of that patient, drawn afresh each epoch.

    Patients with a single ECG give two views of it instead, as ``single_ecg`` says:
    ``"windows"`` (its two non-overlapping halves, each stretched back to the full
    length) or ``"augment"`` (two noisy, amplitude-scaled, time-shifted copies);
    ``"drop"`` leaves them out. Since every item is one patient, a shuffled batch
    never holds a patient twice. A batch reads all its ECGs with one access to ``X``.
    Where no patient has two ECGs, a batch is the ECGs themselves (n, leads, samples):
    :class:`PCLRObjective` makes their two views on the training device. A batch mixing both
    kinds of patient makes the single ECGs' views here, from the items' seeds.
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
        # Each patient's one ECG, where none has two: the rows of a batch in one index.
        self.only_rows = np.concatenate(rows_by_patient) if self.n_pairs == 0 else None

    def __len__(self) -> int:
        return len(self.rows_by_patient)

    def _single_views(self, ecgs: torch.Tensor, seeds: np.ndarray) -> torch.Tensor:
        """Two views of each ECG in ``ecgs`` (n, leads, samples): (n, 2, leads, samples)."""
        if self.single_ecg == "windows":
            return stretched_halves(ecgs)
        # Each item's copies from its own seed: the same whatever else is in its batch.
        return torch.cat([augmented_copies(ecg[None], torch.Generator().manual_seed(int(seed)))
                          for ecg, seed in zip(ecgs, seeds)])

    def read_batch(self, items: np.ndarray, seeds: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        if self.n_pairs == 0:
            # No patient has two ECGs (e.g. no groups): the batch is its ECGs, and PCLRObjective
            # makes their views on the training device, which keeps the pipeline a plain read.
            return torch.from_numpy(self.ecgs.read(self.only_rows[items])), torch.zeros(len(items))
        patients = [self.rows_by_patient[i] for i in items]
        sizes = np.array([len(rows) for rows in patients])
        # Two distinct ECGs per patient from the item's seed: the first uniformly, the second
        # uniformly among the others; a single-ECG patient's one ECG is read once.
        u = item_uniforms(seeds, 2)
        first = np.minimum((u[:, 0] * sizes).astype(np.int64), sizes - 1)
        second = np.minimum((u[:, 1] * np.maximum(sizes - 1, 1)).astype(np.int64), np.maximum(sizes - 2, 0))
        second = np.where(second >= first, second + 1, second)
        paired = sizes >= 2
        rows = np.array([rows[i] for rows, i in zip(patients, first)], dtype=np.int64)
        other = np.array([rows[j] for rows, j, ok in zip(patients, second, paired) if ok], dtype=np.int64)
        if paired.all():  # read as first0, second0, first1, ...: the pairs without a copy
            ecgs = torch.from_numpy(self.ecgs.read(np.stack([rows, other], axis=1).ravel()))
            return ecgs.reshape(len(items), 2, *ecgs.shape[1:]), torch.zeros(len(items))
        ecgs = torch.from_numpy(self.ecgs.read(np.concatenate([rows, other])))
        if not paired.any():
            return self._single_views(ecgs, seeds), torch.zeros(len(items))
        pairs = torch.empty((len(items), 2, *ecgs.shape[1:]), dtype=ecgs.dtype)
        pairs[:, 0] = ecgs[: len(items)]
        pairs[paired, 1] = ecgs[len(items):]
        pairs[~paired] = self._single_views(ecgs[: len(items)][~paired], seeds[~paired])
        return pairs, torch.zeros(len(items))
