"""METS's torch side (Li et al. 2023; architecture details after MERL, Liu et al. 2024): the ECG
encoder into the shared ECG-text space, the CLIP objective and the ECG-report dataset."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data import BatchDataset, ECGDataset
from .losses import symmetric_info_nce

# CLIP's bound on the learnt logit scale 1 / temperature.
MAX_LOGIT_SCALE = 100.0


class ProjectedEncoder(nn.Module):
    """``backbone`` then a linear projection, L2-normalised: ECGs -> points of the shared space."""

    def __init__(self, backbone: nn.Module, projection_dim: int):
        super().__init__()
        self.backbone = backbone
        self.projection = nn.Linear(backbone.out_features, projection_dim)
        self.out_features = int(projection_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.projection(self.backbone(x)).float(), dim=1)


class METSObjective(nn.Module):
    """ECG encoder + text projection into one space; ``forward`` returns CLIP's loss.

    Text arrives already embedded by the frozen language model, so only the
    projections and the ECG encoder are trained.
    """

    def __init__(self, encoder: ProjectedEncoder, text_dim: int, temperature: float,
                 learn_temperature: bool):
        super().__init__()
        self.encoder = encoder
        width = encoder.out_features
        # MERL's text projector: Linear -> GELU -> Linear.
        self.text_projection = nn.Sequential(nn.Linear(text_dim, width), nn.GELU(), nn.Linear(width, width))
        log_scale = torch.tensor(math.log(1.0 / temperature), dtype=torch.float32)
        if learn_temperature:
            self.log_logit_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_logit_scale", log_scale)

    def temperature(self) -> torch.Tensor:
        return 1.0 / self.log_logit_scale.clamp(max=math.log(MAX_LOGIT_SCALE)).exp()

    def embed_text(self, text: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text_projection(text).float(), dim=1)

    def forward(self, ecg: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        # A batch may hold the same report several times (e.g. "sinus rhythm, normal ECG"). Their
        # frozen embeddings are identical, so the hard-target loss summed over the duplicates
        # equals the loss with soft targets spread over them, plus a constant: no special case.
        temperature = self.temperature()
        self.loss_parts = {"temperature": float(temperature.detach())}
        return symmetric_info_nce(self.encoder(ecg), self.text_projection(text), temperature)


class ReportPairDataset(BatchDataset):
    """Items ``{"ecg": (leads, samples), "text": (text_dim,)}``: an ECG and its embedded report."""

    def __init__(self, X: Any, text_embeddings: np.ndarray):
        self.ecgs = ECGDataset(X)
        self.text = torch.from_numpy(np.ascontiguousarray(text_embeddings, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.ecgs)

    def read_batch(self, items: np.ndarray, seeds: np.ndarray
                   ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        ecgs = torch.from_numpy(self.ecgs.read(self.ecgs.indices[items]))
        return {"ecg": ecgs, "text": self.text[torch.from_numpy(items)]}, torch.zeros(len(items))
