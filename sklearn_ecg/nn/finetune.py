"""Classifiers on top of an encoder: heads, the encoder+head module, the weighted classification
loss, and the encoder's layer groups for discriminative learning rates (Mehari & Strodthoff 2022)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .cpc import CPCContextNetwork
from .xresnet1d import XResNet1d

HEADS = ("linear", "published")


def classifier_head(in_features: int, n_outputs: int, kind: str = "linear") -> nn.Module:
    """``"linear"``: one linear layer (linear evaluation). ``"published"``: the fine-tuning head of
    Mehari & Strodthoff's code (fastai's): BatchNorm, Dropout 0.25, Linear 512, ReLU, BatchNorm,
    Dropout 0.5, Linear to the outputs, on the encoder's pooled features."""
    if kind == "linear":
        return nn.Linear(in_features, n_outputs)
    if kind == "published":
        return nn.Sequential(
            nn.BatchNorm1d(in_features), nn.Dropout(0.25), nn.Linear(in_features, 512), nn.ReLU(inplace=True),
            nn.BatchNorm1d(512), nn.Dropout(0.5), nn.Linear(512, n_outputs),
        )
    raise ValueError(f"head must be one of {HEADS}, got {kind!r}.")


class EncoderWithHead(nn.Module):
    """``head(encoder(x))``. With ``freeze_encoder`` the encoder stays in eval mode (BatchNorm
    statistics and dropout frozen) even while the module trains: linear evaluation."""

    def __init__(self, encoder: nn.Module, head: nn.Module, freeze_encoder: bool = False):
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.freeze_encoder = freeze_encoder
        self.encoder.requires_grad_(not freeze_encoder)

    def train(self, mode: bool = True) -> EncoderWithHead:
        super().train(mode)
        if self.freeze_encoder:
            self.encoder.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


class WeightedClassificationLoss(nn.Module):
    """Cross entropy (single-label) or binary cross entropy per label (multi-label), weighted per
    sample; targets are ``{"y": labels, "w": sample weights}``."""

    def __init__(self, multilabel: bool):
        super().__init__()
        self.multilabel = multilabel

    def forward(self, logits: torch.Tensor, target: dict[str, torch.Tensor]) -> torch.Tensor:
        y, w = target["y"], target["w"].float()
        logits = logits.float()
        if self.multilabel:
            per_sample = F.binary_cross_entropy_with_logits(logits, y.float(), reduction="none").mean(1)
        else:
            per_sample = F.cross_entropy(logits, y.long(), reduction="none")
        return (per_sample * w).sum() / w.sum().clamp_min(1e-12)


class WeightedTargets:
    """Row ``i`` -> ``{"y": y[i], "w": w[i]}``: the targets of an ECG dataset with sample weights."""

    def __init__(self, y: np.ndarray, w: np.ndarray):
        self.y, self.w = y, w.astype(np.float32)

    def __getitem__(self, row: Any) -> dict[str, Any]:
        return {"y": self.y[row], "w": self.w[row]}


def _parameters(*modules: nn.Module) -> list[nn.Parameter]:
    return [p for module in modules for p in module.parameters()]


def layer_groups(encoder: nn.Module) -> tuple[list[list[nn.Parameter]], float]:
    """The encoder's parameters in groups from the input to the output, and the factor by which
    each group's learning rate shrinks relative to the group above it (the head being the top).

    The published rules: CPC, the convolutional encoder at 0.01 and the LSTM at 0.1 of the head's
    rate (factor 0.1); xresnet1d, the stem then each pair of residual blocks, each at 1/4 of the rate
    above. Other encoders (and wrappers with a ``backbone``) go by their top-level children with
    factor 1/4, a choice of ours that the papers do not make.
    """
    if isinstance(encoder, CPCContextNetwork):
        return [_parameters(encoder.steps), _parameters(encoder.lstm)], 0.1
    if isinstance(encoder, XResNet1d):
        blocks = [block for stage in encoder.stages for block in stage]
        pairs = [_parameters(*blocks[i:i + 2]) for i in range(0, len(blocks), 2)]
        return [_parameters(encoder.stem), *pairs], 0.25
    backbone = getattr(encoder, "backbone", None)
    if isinstance(backbone, nn.Module):
        groups, factor = layer_groups(backbone)
        inside = {id(p) for group in groups for p in group}
        rest = [p for p in encoder.parameters() if id(p) not in inside]
        return ([*groups, rest] if rest else groups), factor
    groups = [_parameters(child) for child in encoder.children()]
    return [group for group in groups if group] or [list(encoder.parameters())], 0.25


def discriminative_param_groups(module: EncoderWithHead, lr: float, factor: float | None = None
                                ) -> list[tuple[str, dict[str, float]]]:
    """skorch ``optimizer__param_groups`` for ``module``: the encoder's groups from the top down at
    ``lr * factor``, ``lr * factor**2``, ... by exact parameter name; the head keeps the net's
    ``lr``. ``factor=None``: the encoder's published factor (see :func:`layer_groups`)."""
    groups, default_factor = layer_groups(module.encoder)
    factor = default_factor if factor is None else factor
    names = {id(p): f"encoder.{name}" for name, p in module.encoder.named_parameters()}
    return [(names[id(p)], {"lr": lr * factor ** depth})
            for depth, group in enumerate(reversed(groups), start=1) for p in group]
