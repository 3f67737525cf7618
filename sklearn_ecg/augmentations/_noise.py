"""Additive noise: white noise, muscle (EM) noise, baseline wander, mains hum and baseline steps."""

from __future__ import annotations

import math

import torch

from ._base import BatchAugmentation, _check_positive


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


class EMNoise(BatchAugmentation):
    """Add electromyographic (high-frequency) noise: white Gaussian noise of standard deviation
    ``C ~ U(0, max_scale)`` drawn per ECG, independent on every lead and sample.

    The published code's ``EMNoise`` (used for the noise-robustness levels, where the paper
    calls it electrode-motion noise).

    Parameters
    ----------
    max_scale : float, default=0.5
        Upper bound of ``C``, in the units of the input (published default).
    generator : torch.Generator, optional

    Examples
    --------
    >>> import torch
    >>> EMNoise(0.1)(torch.zeros(2, 12, 250)).shape
    torch.Size([2, 12, 250])
    """

    def __init__(self, max_scale: float = 0.5, generator: torch.Generator | None = None):
        super().__init__(generator)
        self.max_scale = _check_positive("max_scale", max_scale)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        scale = self._uniform(x, x.shape[0], 1, 1, high=self.max_scale)
        return x + (scale * self._normal(x, *x.shape)).to(x.dtype)

    def extra_repr(self) -> str:
        return f"max_scale={self.max_scale}"


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
