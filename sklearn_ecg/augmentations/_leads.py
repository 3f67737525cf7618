"""Lead transforms: a random gain per lead, and random lead masking."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ._base import BatchAugmentation, _check_range


class ChannelResize(BatchAugmentation):
    """Scale each lead of each ECG by its own factor, log-uniform in ``magnitude_range``.

    Parameters
    ----------
    magnitude_range : (float, float), default=(0.5, 2.0)
    generator : torch.Generator, optional

    Examples
    --------
    >>> import torch
    >>> ChannelResize()(torch.ones(2, 12, 10)).shape
    torch.Size([2, 12, 10])
    """

    def __init__(self, magnitude_range: Sequence[float] = (0.5, 2.0),
                 generator: torch.Generator | None = None):
        super().__init__(generator)
        low, high = _check_range("magnitude_range", magnitude_range, 0.0, math.inf)
        if low <= 0:
            raise ValueError(f"magnitude_range must be positive, got {magnitude_range!r}.")
        self.magnitude_range = (low, high)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        low, high = math.log(self.magnitude_range[0]), math.log(self.magnitude_range[1])
        factor = self._uniform(x, x.shape[0], x.shape[1], 1, low=low, high=high).exp()
        return x * factor.to(x.dtype)

    def extra_repr(self) -> str:
        return f"magnitude_range={self.magnitude_range}"


class RandomLeadMasking(BatchAugmentation):
    """Zero each lead of each ECG independently with probability ``p``.

    The random lead masking (RLM) of Oh et al. (CHIL 2022), which used ``p=0.5``;
    an ECG may lose all its leads, as there.

    Parameters
    ----------
    p : float, default=0.5
    generator : torch.Generator, optional

    Examples
    --------
    >>> import torch
    >>> x = RandomLeadMasking(p=1.0)(torch.ones(2, 12, 10))
    >>> float(x.abs().sum())
    0.0
    """

    def __init__(self, p: float = 0.5, generator: torch.Generator | None = None):
        super().__init__(generator)
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}.")
        self.p = float(p)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        masked = self._uniform(x, x.shape[0], x.shape[1], 1) < self.p
        return x.masked_fill(masked, 0.0)

    def extra_repr(self) -> str:
        return f"p={self.p}"
