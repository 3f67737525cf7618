"""Batch-wise ECG augmentations in torch, run on the training device.

Every transform takes a float tensor of shape (batch, leads, samples) and returns a
new tensor of the same shape (``RandomResizedCrop`` may change the length on
request), dtype and device. Random parameters are drawn per ECG of the batch, so
one call gives every ECG its own crop, noise and scaling.

Randomness comes from the global torch RNG of the data's device (which the
estimators seed through ``random_state``), or from ``generator`` when one is given;
numbers drawn from a generator are made on the generator's device and then moved
to the data's, so a CPU generator gives the same result whatever the data's device.

The transforms and their defaults follow the code of Mehari & Strodthoff (2022),
hhi-aml/ecg-selfsupervised; amplitudes are in the units of the input (mV here,
where the published code worked on standardised leads). :func:`default_ssl_augmentations`
is the pair they found best for SimCLR and BYOL.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

__all__ = [
    "BaselineShift",
    "BaselineWander",
    "ChannelResize",
    "Compose",
    "GaussianNoise",
    "PowerlineNoise",
    "RandomLeadMasking",
    "RandomResizedCrop",
    "TimeOut",
    "default_ssl_augmentations",
]


def _check_range(name: str, value: Sequence[float], low: float, high: float) -> tuple[float, float]:
    try:
        first, second = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a pair (min, max), got {value!r}.") from exc
    if not low <= first <= second <= high:
        raise ValueError(f"{name} must satisfy {low} <= min <= max <= {high}, got {value!r}.")
    return first, second


def _check_positive(name: str, value: float, allow_zero: bool = True) -> float:
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


class GaussianNoise(BatchAugmentation):
    """Add white Gaussian noise of standard deviation ``scale`` to every sample.

    Parameters
    ----------
    scale : float, default=0.005
        Standard deviation, in the units of the input (the published default).
    generator : torch.Generator, optional

    Examples
    --------
    >>> import torch
    >>> GaussianNoise(0.1)(torch.zeros(2, 1, 5)).shape
    torch.Size([2, 1, 5])
    """

    def __init__(self, scale: float = 0.005, generator: torch.Generator | None = None):
        super().__init__(generator)
        self.scale = _check_positive("scale", scale)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        return x + (self.scale * self._normal(x, *x.shape)).to(x.dtype)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


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


class BaselineWander(BatchAugmentation):
    """Add a slow baseline drift, the same on every lead of an ECG.

    The drift is ``C * sum_k a_k cos(2 pi k df t + phi_k)`` over the frequencies
    ``k df`` up to ``cutoff`` Hz, with ``a_k ~ U(0, 1)``, ``phi_k ~ U(0, 2 pi)`` and
    ``C ~ U(0, max_scale)`` drawn per ECG (after the published torch version).

    Parameters
    ----------
    fs : float, default=100
        Sampling rate of the input (Hz).
    max_scale : float, default=0.1
        Upper bound of ``C`` (published default).
    cutoff : float, default=0.5
        Highest drift frequency (Hz).
    frequency_step : float, default=0.01
        Spacing ``df`` of the drift frequencies (Hz).
    generator : torch.Generator, optional

    Examples
    --------
    >>> import torch
    >>> BaselineWander()(torch.zeros(2, 12, 250)).shape
    torch.Size([2, 12, 250])
    """

    def __init__(self, fs: float = 100, max_scale: float = 0.1, cutoff: float = 0.5,
                 frequency_step: float = 0.01, generator: torch.Generator | None = None):
        super().__init__(generator)
        self.fs = _check_positive("fs", fs, allow_zero=False)
        self.max_scale = _check_positive("max_scale", max_scale)
        self.cutoff = _check_positive("cutoff", cutoff, allow_zero=False)
        self.frequency_step = _check_positive("frequency_step", frequency_step, allow_zero=False)
        self.n_components = max(1, round(self.cutoff / self.frequency_step))

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, n = x.shape
        k = self.n_components
        t = torch.arange(n, device=x.device, dtype=torch.float32) / self.fs
        freqs = self.frequency_step * torch.arange(1, k + 1, device=x.device, dtype=torch.float32)
        phase = self._uniform(x, batch, k, 1, high=2 * math.pi)
        amplitude = self._uniform(x, batch, k, 1)
        scale = self._uniform(x, batch, 1, high=self.max_scale)
        drift = (amplitude * torch.cos(2 * math.pi * freqs[None, :, None] * t + phase)).sum(1)
        return x + (scale * drift)[:, None, :].to(x.dtype)

    def extra_repr(self) -> str:
        return f"fs={self.fs}, max_scale={self.max_scale}, cutoff={self.cutoff}"


class PowerlineNoise(BatchAugmentation):
    """Add mains hum: a sinusoid at ``frequency`` and its harmonics, scaled per lead.

    Per ECG: ``C ~ U(0, max_scale)``, one phase, harmonic amplitudes ``a_k ~ U(0, 1)``;
    per lead: a gain ``~ U(-1, 1)``. Frequencies above the Nyquist rate alias, as
    they would in a sampled recording (at 100 Hz, 50 Hz hum is an alternating sign).

    Parameters
    ----------
    fs : float, default=100
    max_scale : float, default=0.2
        Upper bound of ``C`` (published default).
    frequency : float, default=50.0
        Mains frequency (Hz); 60 in the Americas.
    n_harmonics : int, default=3
    generator : torch.Generator, optional

    Examples
    --------
    >>> import torch
    >>> PowerlineNoise()(torch.zeros(2, 12, 250)).shape
    torch.Size([2, 12, 250])
    """

    def __init__(self, fs: float = 100, max_scale: float = 0.2, frequency: float = 50.0,
                 n_harmonics: int = 3, generator: torch.Generator | None = None):
        super().__init__(generator)
        self.fs = _check_positive("fs", fs, allow_zero=False)
        self.max_scale = _check_positive("max_scale", max_scale)
        self.frequency = _check_positive("frequency", frequency, allow_zero=False)
        if not isinstance(n_harmonics, int) or n_harmonics < 1:
            raise ValueError(f"n_harmonics must be a positive int, got {n_harmonics!r}.")
        self.n_harmonics = n_harmonics

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        batch, leads, n = x.shape
        t = torch.arange(n, device=x.device, dtype=torch.float32) / self.fs
        harmonics = torch.arange(1, self.n_harmonics + 1, device=x.device, dtype=torch.float32)
        phase = self._uniform(x, batch, 1, 1, high=2 * math.pi)
        amplitude = self._uniform(x, batch, self.n_harmonics, 1)
        hum = (amplitude * torch.cos(2 * math.pi * self.frequency * harmonics[None, :, None] * t
                                     + phase)).sum(1)
        scale = self._uniform(x, batch, 1, 1, high=self.max_scale)
        gain = self._uniform(x, batch, leads, 1, low=-1.0, high=1.0)
        return x + (scale * gain * hum[:, None, :]).to(x.dtype)

    def extra_repr(self) -> str:
        return f"fs={self.fs}, max_scale={self.max_scale}, frequency={self.frequency}"


class BaselineShift(BatchAugmentation):
    """Add abrupt baseline steps: flat segments of random level, scaled per lead.

    Per ECG, ``0`` to ``ceil(max_segments_per_second * duration)`` segments are
    drawn, each centred at a random sample, lasting ``~ N(mean, 0.2 mean)`` seconds,
    at a level ``~ U(-1, 1)`` (a later segment overwrites an earlier one); the
    step signal is scaled by ``C ~ U(0, max_scale)`` and, per lead, by a random
    sign times ``N(1, 1)``.

    Parameters
    ----------
    fs : float, default=100
    max_scale : float, default=1.0
        Upper bound of ``C`` (published default).
    mean_segment_seconds : float, default=3.0
    max_segments_per_second : float, default=0.3
    generator : torch.Generator, optional

    Examples
    --------
    >>> import torch
    >>> BaselineShift()(torch.zeros(2, 12, 250)).shape
    torch.Size([2, 12, 250])
    """

    def __init__(self, fs: float = 100, max_scale: float = 1.0, mean_segment_seconds: float = 3.0,
                 max_segments_per_second: float = 0.3, generator: torch.Generator | None = None):
        super().__init__(generator)
        self.fs = _check_positive("fs", fs, allow_zero=False)
        self.max_scale = _check_positive("max_scale", max_scale)
        self.mean_segment_seconds = _check_positive("mean_segment_seconds", mean_segment_seconds,
                                                    allow_zero=False)
        self.max_segments_per_second = _check_positive("max_segments_per_second",
                                                       max_segments_per_second)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        batch, leads, n = x.shape
        max_segments = math.ceil(self.max_segments_per_second * n / self.fs)
        if max_segments == 0:
            return x.clone()
        n_segments = (self._uniform(x, batch, 1) * (max_segments + 1)).floor()
        active = torch.arange(max_segments, device=x.device)[None, :] < n_segments
        mid = (self._uniform(x, batch, max_segments) * n).floor()
        seconds = self.mean_segment_seconds * (1 + 0.2 * self._normal(x, batch, max_segments))
        half = 0.5 * self.fs * seconds
        left, right = (mid - half).floor().clamp(min=0), (mid + half).floor().clamp(max=n - 1)
        level = self._uniform(x, batch, max_segments, low=-1.0, high=1.0)
        t = torch.arange(n, device=x.device)[None, None, :]
        inside = active[..., None] & (t >= left[..., None]) & (t <= right[..., None])
        # Index (1-based) of the last segment covering each sample; 0 where none does.
        order = torch.arange(1, max_segments + 1, device=x.device)[None, :, None]
        last = (inside * order).amax(1)
        levels = torch.cat([torch.zeros(batch, 1, device=x.device), level], dim=1)
        steps = levels.gather(1, last)
        scale = self._uniform(x, batch, 1, 1, high=self.max_scale)
        sign = torch.where(self._uniform(x, batch, leads, 1) < 0.5, -1.0, 1.0)
        gain = sign * (1 + self._normal(x, batch, leads, 1))
        return x + (scale * gain * steps[:, None, :]).to(x.dtype)

    def extra_repr(self) -> str:
        return f"fs={self.fs}, max_scale={self.max_scale}"


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
