"""SimCLR's objective on ECG windows (Mehari & Strodthoff 2022, after Chen et al. 2020)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from .heads import mlp
from .losses import nt_xent


class SimCLRObjective(nn.Module):
    """Encoder + projector; ``forward`` augments each window twice and returns NT-Xent."""

    def __init__(self, encoder: nn.Module, projection_dims: Sequence[int], temperature: float,
                 augment: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.encoder = encoder
        self.projector = mlp(encoder.out_features, projection_dims, batch_norm=False)
        self.temperature = temperature
        self.augment = augment

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.projector(self.encoder(torch.cat([self.augment(x), self.augment(x)])))
        return nt_xent(z[: len(x)], z[len(x):], self.temperature)
