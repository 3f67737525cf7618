"""The base class of the augmentations (input check, per-ECG random numbers) and their parameter checks."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def _check_range(name: str, value: Sequence[float], low: float, high: float) -> tuple[float, float]:
    """A (min, max) pair within [low, high], as floats."""
    try:
        first, second = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a pair (min, max), got {value!r}.") from exc
    if not low <= first <= second <= high:
        raise ValueError(f"{name} must satisfy {low} <= min <= max <= {high}, got {value!r}.")
    return first, second


def _check_positive(name: str, value: float, allow_zero: bool = True) -> float:
    """A non-negative (or, without ``allow_zero``, positive) number, as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (
            value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} number, "
                         f"got {value!r}.")
    return float(value)


class BatchAugmentation(nn.Module):
    """Base class: input checks and per-ECG random numbers.

    Parameters
    ----------
    generator : torch.Generator, optional
        Source of randomness; default: the global torch RNG of the data's device.
    """

    def __init__(self, generator: torch.Generator | None = None):
        super().__init__()
        self.generator = generator

    def _uniform(self, x: torch.Tensor, *shape: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
        """Float32 uniform numbers in [low, high) on x's device."""
        device = self.generator.device if self.generator is not None else x.device
        u = torch.rand(shape, generator=self.generator, device=device)
        return (low + (high - low) * u).to(x.device)

    def _normal(self, x: torch.Tensor, *shape: int) -> torch.Tensor:
        device = self.generator.device if self.generator is not None else x.device
        return torch.randn(shape, generator=self.generator, device=device).to(x.device)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 3 or not x.is_floating_point():
            got = (f"a {x.dtype} tensor of shape {tuple(x.shape)}" if isinstance(x, torch.Tensor)
                   else type(x).__name__)
            raise ValueError(f"{type(self).__name__} expects a float tensor (batch, leads, samples), "
                             f"got {got}.")
        return self._augment(x)
