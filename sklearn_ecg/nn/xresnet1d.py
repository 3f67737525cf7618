"""xresnet1d: fastai's XResNet ("bag of tricks" ResNet) in one dimension.

As used by Mehari & Strodthoff (2022) for SimCLR, BYOL and SwAV on ECGs: a stem of
three convolutions (the first with stride 2), max-pooling, then stages of residual
blocks whose first block halves the length (stages 2 onwards); the shortcut of a
down-sampling block is average-pooling then a 1x1 convolution. All convolutions of
the 1-D version have kernel 5. Their xresnet1d50 keeps 64 filters in every stage
(bottleneck expansion 4, so 256 output channels), and the representation is the
concatenation of global max- and average-pooling: 512 values.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def conv_bn(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
            relu: bool = True, zero_init: bool = False) -> nn.Sequential:
    """Conv1d (no bias, "same" padding) + BatchNorm (+ ReLU).

    ``zero_init`` starts the BatchNorm scale at 0, so a residual branch ending in it
    begins as the identity (fastai's ``NormType.BatchZero``).
    """
    conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride,
                     padding=(kernel_size - 1) // 2, bias=False)
    nn.init.kaiming_normal_(conv.weight)
    bn = nn.BatchNorm1d(out_channels)
    nn.init.constant_(bn.weight, 0.0 if zero_init else 1.0)
    nn.init.constant_(bn.bias, 1e-3)
    layers: list[nn.Module] = [conv, bn]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class XResBlock(nn.Module):
    """Residual block: basic (two k-convs) or bottleneck (1x1, k, 1x1 with ``expansion``)."""

    def __init__(self, in_channels: int, width: int, expansion: int, stride: int, kernel_size: int):
        super().__init__()
        out_channels = width * expansion
        if expansion == 1:
            branch = [conv_bn(in_channels, width, kernel_size, stride),
                      conv_bn(width, out_channels, kernel_size, relu=False, zero_init=True)]
        else:
            branch = [conv_bn(in_channels, width, 1),
                      conv_bn(width, width, kernel_size, stride),
                      conv_bn(width, out_channels, 1, relu=False, zero_init=True)]
        self.branch = nn.Sequential(*branch)
        shortcut: list[nn.Module] = []
        if stride != 1:
            shortcut.append(nn.AvgPool1d(2, ceil_mode=True))
        if in_channels != out_channels:
            shortcut.append(conv_bn(in_channels, out_channels, 1, relu=False))
        self.shortcut = nn.Sequential(*shortcut)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.branch(x) + self.shortcut(x))


class XResNet1d(nn.Module):
    """xresnet1d backbone: (n, in_channels, samples) -> (n, out_features).

    Parameters
    ----------
    in_channels : int
        Number of leads.
    layers : sequence of int, default=(3, 4, 6, 3)
        Blocks per stage ((3, 4, 6, 3) with expansion 4 is xresnet1d50).
    widths : sequence of int, default=(64, 64, 64, 64)
        Inner width of each stage's blocks (the published 1-D version keeps 64).
    expansion : int, default=4
        1: basic blocks (xresnet1d18/34); 4: bottleneck blocks (xresnet1d50/101).
    stem_widths : sequence of int, default=(32, 32, 64)
    kernel_size : int, default=5
        Kernel of the stem and of the blocks' non-1x1 convolutions.

    Examples
    --------
    >>> import torch
    >>> net = XResNet1d(12)
    >>> net(torch.randn(2, 12, 250)).shape
    torch.Size([2, 512])
    """

    def __init__(self, in_channels: int, layers: Sequence[int] = (3, 4, 6, 3),
                 widths: Sequence[int] = (64, 64, 64, 64), expansion: int = 4,
                 stem_widths: Sequence[int] = (32, 32, 64), kernel_size: int = 5):
        super().__init__()
        if len(layers) != len(widths) or not layers:
            raise ValueError(f"layers and widths need one entry per stage, got {layers} and {widths}.")
        stem_channels = [in_channels, *stem_widths]
        self.stem = nn.Sequential(
            *[conv_bn(stem_channels[i], stem_channels[i + 1], kernel_size, stride=2 if i == 0 else 1)
              for i in range(len(stem_widths))],
            nn.MaxPool1d(kernel_size=3, stride=2, padding=1),
        )
        stages = []
        channels = stem_channels[-1]
        for i, (n_blocks, width) in enumerate(zip(layers, widths)):
            blocks = []
            for j in range(n_blocks):
                stride = 2 if i > 0 and j == 0 else 1
                blocks.append(XResBlock(channels, width, expansion, stride, kernel_size))
                channels = width * expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.out_channels = channels
        self.out_features = 2 * channels

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        """Output of the last stage, (n, out_channels, samples / 32)."""
        return self.stages(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.feature_maps(x)
        # fastai's AdaptiveConcatPool1d: max first, then mean.
        return torch.cat([maps.amax(-1), maps.mean(-1)], dim=1)
