"""BYOL's objective on ECG windows (Mehari & Strodthoff 2022, after Grill et al. 2020)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .heads import mlp


class BYOLObjective(nn.Module):
    """Online encoder + projector + predictor, and a target copy updated by EMA only
    (:meth:`update_target`, called after every optimiser step)."""

    def __init__(self, encoder: nn.Module, projection_dims: Sequence[int], predictor_dims: Sequence[int],
                 augment: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.encoder = encoder
        self.projector = mlp(encoder.out_features, projection_dims, batch_norm=True)
        self.predictor = mlp(projection_dims[-1], predictor_dims, batch_norm=True)
        self.target_encoder = copy.deepcopy(self.encoder).requires_grad_(False)
        self.target_projector = copy.deepcopy(self.projector).requires_grad_(False)
        self.augment = augment
        self.loss_parts: dict[str, float] = {}

    @torch.no_grad()
    def update_target(self, tau: float) -> None:
        for online, target in ((self.encoder, self.target_encoder),
                               (self.projector, self.target_projector)):
            for p_online, p_target in zip(online.parameters(), target.parameters()):
                p_target.mul_(tau).add_(p_online.detach(), alpha=1 - tau)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(x)
        views = torch.cat([self.augment(x), self.augment(x)])
        predictions = F.normalize(self.predictor(self.projector(self.encoder(views))).float(), dim=1)
        with torch.no_grad():
            targets = F.normalize(self.target_projector(self.target_encoder(views)).float(), dim=1)
        # Each view's prediction regresses the target projection of the other view.
        similarity = (predictions * targets.roll(n, dims=0)).sum(1)
        self.loss_parts = {"byol_cosine": float(similarity.detach().mean())}
        return 2 * (2 - 2 * similarity).mean()
