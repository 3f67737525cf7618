"""A 1-D ResNet18 ECG encoder (torch only), the ECG encoder of METS and MERL."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class BasicBlock1d(nn.Module):
    """Two ``kernel_size`` convolutions with BatchNorm, ReLU and a residual connection.

    The first convolution carries the stride; when the stride or the width
    changes, the shortcut is a strided 1x1 convolution with BatchNorm.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, kernel_size: int = 3):
        super().__init__()
        padding = kernel_size // 2
        self.conv1 = nn.Conv1d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
        self.bn1 = nn.BatchNorm1d(out_channels)
        self.conv2 = nn.Conv1d(out_channels, out_channels, kernel_size, 1, padding, bias=False)
        self.bn2 = nn.BatchNorm1d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv1d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm1d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet18_1d(nn.Module):  # noqa: N801 (the name of the architecture)
    """1-D ResNet18: a stem convolution, then four stages of BasicBlocks, then global average pooling.

    Layout of the 1-D ResNet18 used by MERL (Liu et al., ICML 2024) and METS (Li et al.,
    MIDL 2023): stem Conv1d(kernel 7, stride 2) + BatchNorm + ReLU (no max-pool), then
    stages of ``blocks`` BasicBlocks (kernel 3) with widths 64, 128, 256, 512; every stage
    after the first halves the length with its first block. The output is the global
    average over time of the last stage, shape (n, ``widths[-1]``). The total stride is
    16, so a 10 s ECG at 100 Hz (1000 samples) ends as 63 steps of 512 channels.

    Parameters
    ----------
    in_channels : int
        Number of leads.
    widths : sequence of int, default=(64, 128, 256, 512)
        Channels of each stage (the stem has ``widths[0]``). Smaller widths make a
        cheap model for tests.
    blocks : sequence of int, default=(2, 2, 2, 2)
        BasicBlocks per stage; (2, 2, 2, 2) is ResNet18, (3, 4, 6, 3) ResNet34.
    stem_kernel_size : int, default=7
    kernel_size : int, default=3
        Kernel of the convolutions inside the blocks.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ecg.nn.resnet18_1d import ResNet18_1d
    >>> ResNet18_1d(12)(torch.zeros(2, 12, 1000)).shape
    torch.Size([2, 512])
    """

    def __init__(
        self,
        in_channels: int,
        widths: Sequence[int] = (64, 128, 256, 512),
        blocks: Sequence[int] = (2, 2, 2, 2),
        stem_kernel_size: int = 7,
        kernel_size: int = 3,
    ):
        super().__init__()
        if len(widths) != len(blocks) or not widths:
            raise ValueError(
                f"widths and blocks need one entry per stage; got {len(widths)} widths and "
                f"{len(blocks)} block counts."
            )
        self.stem = nn.Sequential(
            nn.Conv1d(in_channels, widths[0], stem_kernel_size, 2, stem_kernel_size // 2, bias=False),
            nn.BatchNorm1d(widths[0]),
            nn.ReLU(),
        )
        stages: list[nn.Module] = []
        width = widths[0]
        for i, (out_width, n_blocks) in enumerate(zip(widths, blocks)):
            stride = 1 if i == 0 else 2
            stage = [BasicBlock1d(width, out_width, stride, kernel_size)]
            stage += [BasicBlock1d(out_width, out_width, 1, kernel_size) for _ in range(n_blocks - 1)]
            stages.append(nn.Sequential(*stage))
            width = out_width
        self.stages = nn.Sequential(*stages)
        self.out_features = int(widths[-1])

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's feature map, (n, widths[-1], steps)."""
        return self.stages(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x).mean(dim=-1)
