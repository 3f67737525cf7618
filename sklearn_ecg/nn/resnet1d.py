"""The 1-D ResNet of Ribeiro et al. (2020) as used by PCLR (Diamant et al. 2022).

Pre-activation residual units with kernel 16, each downsampling by a strided
convolution; the skip path is max-pool + 1x1 convolution. Keras' ``padding="same"``
is reproduced exactly (output length ceil(n / stride)), so 4096 input samples
give 1024, 256, 64 and 16 samples after the four units.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class SameConv1d(nn.Conv1d):
    """Conv1d with TensorFlow's "same" padding (asymmetric when needed), no bias."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, k, s = x.shape[-1], self.kernel_size[0], self.stride[0]
        total = max((-(-n // s) - 1) * s + k - n, 0)
        return super().forward(F.pad(x, (total // 2, total - total // 2)))


class ResidualUnit(nn.Module):
    """One pre-activation residual unit.

    Takes ``(x, skip)``: ``x`` is the activated output of the previous unit and
    ``skip`` its pre-activation sum; returns both for the next unit.
    """

    def __init__(self, in_filters: int, out_filters: int, downsample: int, kernel_size: int = 16,
                 dropout: float = 0.0):
        super().__init__()
        self.pool = nn.MaxPool1d(downsample, ceil_mode=True) if downsample > 1 else nn.Identity()
        self.skip_conv = (
            SameConv1d(in_filters, out_filters, 1) if in_filters != out_filters else nn.Identity()
        )
        self.conv1 = SameConv1d(in_filters, out_filters, kernel_size)
        self.bn1 = nn.BatchNorm1d(out_filters)
        self.conv2 = SameConv1d(out_filters, out_filters, kernel_size, stride=downsample)
        self.bn_out = nn.BatchNorm1d(out_filters)
        self.dropout = nn.Dropout(dropout)

    def forward(self, inputs: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        x, skip = inputs
        skip = self.skip_conv(self.pool(skip))
        x = self.dropout(F.relu(self.bn1(self.conv1(x))))
        summed = self.conv2(x) + skip
        return self.dropout(F.relu(self.bn_out(summed))), summed


class RibeiroResNet1d(nn.Module):
    """PCLR's encoder: stem + residual units + global average pooling.

    Parameters
    ----------
    in_channels : int
        Number of leads.
    filters : sequence of int
        Filters of the stem followed by those of each residual unit.
    downsample : int
        Stride of each residual unit.
    kernel_size : int
        Kernel of every convolution (16 in PCLR).
    dropout : float
        Dropout after activations (PCLR uses 0).
    """

    def __init__(self, in_channels: int = 12, filters: Sequence[int] = (64, 128, 196, 256, 320),
                 downsample: int = 4, kernel_size: int = 16, dropout: float = 0.0):
        super().__init__()
        self.stem = nn.Sequential(
            SameConv1d(in_channels, filters[0], kernel_size), nn.BatchNorm1d(filters[0]), nn.ReLU()
        )
        self.units = nn.Sequential(*[
            ResidualUnit(f_in, f_out, downsample, kernel_size, dropout)
            for f_in, f_out in zip(filters[:-1], filters[1:])
        ])
        self.out_features = filters[-1]

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """(n, leads, samples) -> (n, filters[-1], samples / downsample**units)."""
        x = self.stem(x)
        x, _ = self.units((x, x))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_map(x).mean(dim=-1)
