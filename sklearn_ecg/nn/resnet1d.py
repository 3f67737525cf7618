"""The 1-D ResNet of Ribeiro et al. (2020) as used by PCLR (Diamant et al. 2022), Keras-exact.

Pre-activation residual units with kernel 16, each downsampling by a strided
convolution; the skip path is max-pool + 1x1 convolution. Everything follows the
Keras model of ml4h's ``model_zoo/PCLR`` (TensorFlow 2.4), so its released weights
give the same outputs here:

- TensorFlow's ``padding="same"`` for convolutions and max-pooling: output length
  ceil(n / stride), padding split between both sides (the extra sample on the right);
- BatchNormalization with Keras' epsilon 1e-3 and momentum 0.99 (in Keras' convention:
  the weight of the old running average; torch's momentum 0.01);
- per-unit strides computed from the input length as ml4h does (``n_in // n_out``,
  see :func:`keras_unit_strides`): 4096 input samples give strides 4, 4, 4, 4 and
  1024, 256, 64, 16 samples after the four units; the 2,500-sample lead-II model
  uses 2, 4, 4, 4;
- optionally no BatchNorm after the stem convolution (the released lead-II model).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

#: Keras' BatchNormalization defaults (ml4h keeps them): epsilon, and the running-average
#: momentum in Keras' convention (the weight of the old value; torch's momentum is 1 minus it).
KERAS_BN_EPS = 1e-3
KERAS_BN_MOMENTUM = 0.99

#: Samples after each residual unit in ml4h's ``get_model`` (for any input length).
ML4H_UNIT_SAMPLES = (1024, 256, 64, 16)


def keras_unit_strides(n_samples: int, unit_samples: Sequence[int]) -> tuple[int, ...]:
    """The stride of each residual unit as ml4h computes it: ``n_in // n_out`` per unit.

    ``n_in`` is the unit's input length (the previous unit's output, ceil(n / stride)
    under "same" padding); ``unit_samples`` are the requested output lengths.
    ``keras_unit_strides(2500, (1024, 256, 64, 16))`` is (2, 4, 4, 4).
    """
    strides = []
    n_in = int(n_samples)
    for n_out in unit_samples:
        stride = n_in // int(n_out)
        if stride < 1:
            raise ValueError(f"A residual unit cannot go from {n_in} to {n_out} samples: the number of "
                             f"samples must not increase (input {n_samples}, unit_samples "
                             f"{tuple(unit_samples)}).")
        strides.append(stride)
        n_in = -(-n_in // stride)
    return tuple(strides)


def _same_padding(n: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same" padding (left, right) for length n: output ceil(n / stride)."""
    total = max((-(-n // stride) - 1) * stride + kernel - n, 0)
    return total // 2, total - total // 2


def keras_batch_norm(channels: int, momentum: float = KERAS_BN_MOMENTUM) -> nn.BatchNorm1d:
    """BatchNorm1d with Keras' epsilon 1e-3 and a Keras-convention ``momentum`` (default 0.99)."""
    return nn.BatchNorm1d(channels, eps=KERAS_BN_EPS, momentum=1.0 - momentum)


class SameConv1d(nn.Conv1d):
    """Conv1d with TensorFlow's "same" padding (asymmetric when needed), no bias."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right = _same_padding(x.shape[-1], self.kernel_size[0], self.stride[0])
        return super().forward(F.pad(x, (left, right)) if left or right else x)


class SameMaxPool1d(nn.Module):
    """MaxPool1d(pool, stride=pool) with TensorFlow's "same" padding: padded samples never win,
    and the padding is split between both sides (torch's ``ceil_mode`` pads the right only)."""

    def __init__(self, pool: int):
        super().__init__()
        self.pool = int(pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right = _same_padding(x.shape[-1], self.pool, self.pool)
        if left or right:
            x = F.pad(x, (left, right), value=float("-inf"))
        return F.max_pool1d(x, self.pool)


class ResidualUnit(nn.Module):
    """One pre-activation residual unit.

    Takes ``(x, skip)``: ``x`` is the activated output of the previous unit and
    ``skip`` its pre-activation sum; returns both for the next unit.
    """

    def __init__(self, in_filters: int, out_filters: int, downsample: int, kernel_size: int = 16,
                 dropout: float = 0.0, bn_momentum: float = KERAS_BN_MOMENTUM):
        super().__init__()
        self.pool = SameMaxPool1d(downsample) if downsample > 1 else nn.Identity()
        self.skip_conv = (
            SameConv1d(in_filters, out_filters, 1) if in_filters != out_filters else nn.Identity()
        )
        self.conv1 = SameConv1d(in_filters, out_filters, kernel_size)
        self.bn1 = keras_batch_norm(out_filters, bn_momentum)
        self.conv2 = SameConv1d(out_filters, out_filters, kernel_size, stride=downsample)
        self.bn_out = keras_batch_norm(out_filters, bn_momentum)
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
    downsample : int or sequence of int
        Stride of every residual unit, or of each (see :func:`keras_unit_strides`
        for ml4h's rule from the input length).
    kernel_size : int
        Kernel of every convolution (16 in PCLR).
    dropout : float
        Dropout after activations (PCLR uses 0).
    stem_batchnorm : bool
        BatchNorm between the stem convolution and its ReLU (all released PCLR models
        but the lead-II one).
    bn_momentum : float
        Running-average momentum of every BatchNorm in Keras' convention (0.99: each
        batch moves the statistics by 1 %).
    """

    def __init__(self, in_channels: int = 12, filters: Sequence[int] = (64, 128, 196, 256, 320),
                 downsample: int | Sequence[int] = 4, kernel_size: int = 16, dropout: float = 0.0,
                 stem_batchnorm: bool = True, bn_momentum: float = KERAS_BN_MOMENTUM):
        super().__init__()
        n_units = len(filters) - 1
        strides = (downsample,) * n_units if isinstance(downsample, int) else tuple(downsample)
        if len(strides) != n_units:
            raise ValueError(f"downsample needs one stride per residual unit ({n_units}), got {strides}.")
        stem_norm = [keras_batch_norm(filters[0], bn_momentum)] if stem_batchnorm else []
        self.stem = nn.Sequential(SameConv1d(in_channels, filters[0], kernel_size), *stem_norm, nn.ReLU())
        self.units = nn.Sequential(*[
            ResidualUnit(f_in, f_out, stride, kernel_size, dropout, bn_momentum)
            for f_in, f_out, stride in zip(filters[:-1], filters[1:], strides)
        ])
        self.strides = tuple(int(s) for s in strides)
        self.out_features = filters[-1]

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """(n, leads, samples) -> (n, filters[-1], samples / prod(strides)) (ceil per unit)."""
        x = self.stem(x)
        x, _ = self.units((x, x))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_map(x).mean(dim=-1)
