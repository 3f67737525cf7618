"""Projection and prediction heads of the contrastive objectives."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn


def mlp(in_features: int, dims: Sequence[int], batch_norm: bool = False) -> nn.Sequential:
    """Linear layers of widths ``dims`` with ReLU between them (and BatchNorm before each ReLU,
    in which case the hidden layers have no bias: BatchNorm's shift replaces it)."""
    layers: list[nn.Module] = []
    for i, width in enumerate(dims):
        last = i == len(dims) - 1
        layers.append(nn.Linear(in_features, width, bias=last or not batch_norm))
        if not last:
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.ReLU(inplace=True))
        in_features = width
    return nn.Sequential(*layers)
