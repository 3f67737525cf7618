"""Time transforms: a random window, a random crop stretched back to full length, and a zeroed stretch."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ._base import BatchAugmentation, _check_range


class RandomWindow(BatchAugmentation):
    """Cut a random stretch of ``length`` samples from each ECG (all leads), without resizing.

    Before the other augmentations it makes each view of a record start anywhere in it: the
    ``views_from="record"`` option of SimCLR and BYOL, whose positive pairs then span the record
    as in CLOCS's contrastive multi-segment coding.

    Parameters
    ----------
    length : int
        Samples kept; ECGs of ``length`` samples pass unchanged, shorter ones raise a ValueError.
    generator : torch.Generator, optional

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(1000.0).repeat(4, 12, 1)
    >>> windows = RandomWindow(250)(x)
    >>> windows.shape, bool((windows.diff(dim=-1) == 1).all())
    (torch.Size([4, 12, 250]), True)
    """

    def __init__(self, length: int, generator: torch.Generator | None = None):
        super().__init__(generator)
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ValueError(f"length must be a positive int, got {length!r}.")
        self.length = length

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        batch, leads, n = x.shape
        if n < self.length:
            raise ValueError(f"RandomWindow cuts {self.length} samples, but the ECGs have {n}.")
        start = (self._uniform(x, batch) * (n - self.length + 1)).floor().long().clamp(max=n - self.length)
        index = start[:, None] + torch.arange(self.length, device=x.device)[None, :]
        return x.gather(2, index[:, None, :].expand(batch, leads, self.length))

    def extra_repr(self) -> str:
        return f"length={self.length}"


class RandomResizedCrop(BatchAugmentation):
    """Crop a random stretch of each ECG and stretch it back to full length.

    For each ECG a fraction ``r ~ U(crop_ratio)`` of the samples is kept (a random
    contiguous stretch, the same for all leads) and linearly interpolated to
    ``output_size`` samples.

    Parameters
    ----------
    crop_ratio : (float, float), default=(0.5, 1.0)
        Range of the kept fraction (the paper: 0.5 to 1.0).
    output_size : int, optional
        Length of the output; default: the input length.
    generator : torch.Generator, optional

    Examples
    --------
    >>> import torch
    >>> RandomResizedCrop()(torch.randn(4, 12, 250)).shape
    torch.Size([4, 12, 250])
    """

    def __init__(self, crop_ratio: Sequence[float] = (0.5, 1.0), output_size: int | None = None,
                 generator: torch.Generator | None = None):
        super().__init__(generator)
        self.crop_ratio = _check_range("crop_ratio", crop_ratio, 0.0, 1.0)
        if output_size is not None and (not isinstance(output_size, int) or output_size < 2):
            raise ValueError(f"output_size must be an int >= 2 or None, got {output_size!r}.")
        self.output_size = output_size

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        batch, leads, n = x.shape
        out = self.output_size or n
        ratio = self._uniform(x, batch, low=self.crop_ratio[0], high=self.crop_ratio[1])
        length = (ratio * n).floor().clamp(min=2, max=n)
        start = (self._uniform(x, batch) * (n - length + 1)).floor()
        # Fractional source positions of each output sample, then linear interpolation.
        # In float64 so that full-length crops land exactly on the input samples.
        steps = torch.linspace(0.0, 1.0, out, device=x.device, dtype=torch.float64)
        positions = start.double()[:, None] + (length.double()[:, None] - 1) * steps[None, :]
        left = positions.floor().long().clamp(max=n - 1)
        right = (left + 1).clamp(max=n - 1)
        weight = (positions - left).to(x.dtype)[:, None, :]
        gather = lambda idx: x.gather(2, idx[:, None, :].expand(batch, leads, out))
        return gather(left) * (1 - weight) + gather(right) * weight

    def extra_repr(self) -> str:
        return f"crop_ratio={self.crop_ratio}, output_size={self.output_size}"


class TimeOut(BatchAugmentation):
    """Set a random stretch of each ECG (all leads) to zero.

    Parameters
    ----------
    crop_ratio : (float, float), default=(0.2, 0.4)
        Range of the zeroed fraction of the samples (the paper: 20 to 40%).
    generator : torch.Generator, optional

    Examples
    --------
    >>> import torch
    >>> x = TimeOut()(torch.ones(2, 12, 100))
    >>> bool(((x == 0).sum(-1) >= 20).all())
    True
    """

    def __init__(self, crop_ratio: Sequence[float] = (0.2, 0.4), generator: torch.Generator | None = None):
        super().__init__(generator)
        self.crop_ratio = _check_range("crop_ratio", crop_ratio, 0.0, 1.0)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, n = x.shape
        ratio = self._uniform(x, batch, low=self.crop_ratio[0], high=self.crop_ratio[1])
        length = (ratio * n).floor()
        start = (self._uniform(x, batch) * (n - length + 1)).floor()
        t = torch.arange(n, device=x.device)[None, :]
        zeroed = (t >= start[:, None]) & (t < (start + length)[:, None])
        return x.masked_fill(zeroed[:, None, :], 0.0)

    def extra_repr(self) -> str:
        return f"crop_ratio={self.crop_ratio}"
