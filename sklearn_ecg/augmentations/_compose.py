"""Chaining augmentations, and the default pair of the two-view methods."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ._time import RandomResizedCrop, TimeOut


class Compose(nn.Module):
    """Apply transforms one after the other.

    Parameters
    ----------
    transforms : sequence of callables
        Each maps a tensor (batch, leads, samples) to a tensor.

    Examples
    --------
    >>> import torch
    >>> Compose([RandomResizedCrop(), TimeOut()])(torch.randn(3, 12, 250)).shape
    torch.Size([3, 12, 250])
    """

    def __init__(self, transforms: Sequence[Callable[[torch.Tensor], torch.Tensor]]):
        super().__init__()
        transforms = list(transforms)
        for transform in transforms:
            if not callable(transform):
                raise ValueError(f"Compose takes callables, got {transform!r}.")
        # A ModuleList shows the steps in repr and moves them with .to(); plain callables also work.
        if all(isinstance(t, nn.Module) for t in transforms):
            self.transforms = nn.ModuleList(transforms)
        else:
            self.transforms = transforms

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for transform in self.transforms:
            x = transform(x)
        return x


def default_ssl_augmentations(generator: torch.Generator | None = None) -> Compose:
    """RandomResizedCrop (0.5-1.0) then TimeOut (20-40%): the pair Mehari & Strodthoff
    found best for SimCLR and BYOL, and the default of those estimators here.

    Examples
    --------
    >>> default_ssl_augmentations()
    Compose(
      (transforms): ModuleList(
        (0): RandomResizedCrop(crop_ratio=(0.5, 1.0), output_size=None)
        (1): TimeOut(crop_ratio=(0.2, 0.4))
      )
    )
    """
    return Compose([RandomResizedCrop((0.5, 1.0), generator=generator),
                    TimeOut((0.2, 0.4), generator=generator)])
