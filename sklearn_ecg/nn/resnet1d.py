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

For inference, :meth:`RibeiroResNet1d.inference_module` gives an eval-only twin
(:class:`FastRibeiroResNet1d`: BatchNorm folded, "same" padding without copies,
channels-last convolutions with fused ReLU and residual sum) with the same outputs to
float32 rounding; ``PCLRTransformer.transform`` runs it on the CPU through
:func:`sklearn_ecg.nn.inference.cached_inference_copy`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .inference import fold_conv_bn

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

    def inference_module(self) -> FastRibeiroResNet1d:
        """An eval-only twin of this encoder for fast inference (see :class:`FastRibeiroResNet1d`)."""
        return FastRibeiroResNet1d(self)


def _channels_last_2d(weight: torch.Tensor) -> torch.Tensor:
    """A Conv1d weight (out, in, k) as a Conv2d weight (out, in, 1, k) in channels-last memory."""
    return weight.detach().unsqueeze(2).clone(memory_format=torch.channels_last)


@functools.cache
def _onednn_ops_available() -> bool:
    """Whether torch's oneDNN convolution with fused post-ops and pre-packed weights (the
    operators ``torch.compile`` uses on the CPU: ``mkldnn::_convolution_pointwise``,
    ``mkldnn::_reorder_convolution_weight``) exists here and computes what ``F.conv2d`` does,
    checked once per process on a small case; if not, the fast twin uses ``F.conv2d``."""
    try:
        ops = torch.ops.mkldnn
        with torch.no_grad():
            generator = torch.Generator().manual_seed(0)
            x = torch.randn(2, 5, 1, 23, generator=generator).contiguous(memory_format=torch.channels_last)
            w = torch.randn(6, 5, 1, 4, generator=generator).contiguous(memory_format=torch.channels_last)
            b, other = torch.randn(6, generator=generator), torch.randn(2, 6, 1, 12, generator=generator)
            packed = ops._reorder_convolution_weight(w, [0, 2], [1, 2], [1, 1], 1, None)
            fused = ops._convolution_pointwise(x, packed, b, [0, 2], [1, 2], [1, 1], 1, "relu", [], "")
            summed = ops._convolution_pointwise.binary(x, other.contiguous(memory_format=torch.channels_last),
                                                       packed, None, [0, 2], [1, 2], [1, 1], 1, "add", None,
                                                       None, [], None)
            reference = F.conv2d(x, w, None, (1, 2), (0, 2))
            return (torch.allclose(fused, (reference + b.reshape(1, -1, 1, 1)).relu(), atol=1e-5)
                    and torch.allclose(summed, reference + other, atol=1e-5))
    except Exception:  # an older or newer torch without these operators, or without oneDNN
        return False


def _dispatch_mode_active() -> bool:
    """A Python dispatch mode (``FlopCounterMode``, fake tensors, tracing) is watching: it sees
    ``F.conv2d``'s standard operators, not the oneDNN ones."""
    try:
        from torch.utils._python_dispatch import _get_current_dispatch_mode
    except ImportError:  # pragma: no cover
        return False
    return _get_current_dispatch_mode() is not None


def _use_onednn(x: torch.Tensor, weight: torch.Tensor) -> bool:
    return (x.device.type == "cpu" and x.dtype == weight.dtype == torch.float32
            and not (torch.is_grad_enabled() and x.requires_grad) and torch.backends.mkldnn.enabled
            and torch.backends.mkldnn.is_available() and _onednn_ops_available()
            and not _dispatch_mode_active())


class _FastSameConv(nn.Module):
    """A :class:`SameConv1d` (with a BatchNorm folded in, if any) on (n, c, 1, length) activations
    in channels-last memory, TensorFlow's "same" padding done by the convolution itself.

    TensorFlow puts the odd sample of padding on the right (7 and 8 for kernel 16); torch pads
    both sides alike. Padding both sides with the larger amount and putting a zero tap in front
    of the kernel gives TensorFlow's windows without a padded copy of the input (one more
    multiply-add per output and channel pair than the kernel, and no slicing either).

    On the CPU in float32 (see ``_use_onednn``), the convolution runs as oneDNN's with the ReLU
    or the residual sum fused in and the weight reordered once to oneDNN's blocked layout
    (kept in ``_packed``, not in the state dict); elsewhere as ``F.conv2d``.
    """

    def __init__(self, conv: nn.Conv1d, bn: nn.BatchNorm1d | None = None):
        super().__init__()
        weight, bias = fold_conv_bn(conv, bn) if bn is not None else (conv.weight.detach(), None)
        self.stride = int(conv.stride[0])
        self.kernel_size = int(conv.kernel_size[0])
        # With stride 1 the padding is kernel - 1 for every length: odd for even kernels.
        self.shifted = self.stride == 1 and self.kernel_size % 2 == 0
        self.register_buffer("weight", _channels_last_2d(F.pad(weight, (1, 0)) if self.shifted else weight))
        self.register_buffer("bias", bias)
        self._packed: dict[bool, torch.Tensor] = {}

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_packed"] = {}  # oneDNN tensors neither pickle nor copy: packed again on use
        return state

    def _weight(self, shift: bool) -> torch.Tensor:
        if not shift:
            return self.weight
        return F.pad(self.weight, (1, 0)).contiguous(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor, relu: bool = False, add: torch.Tensor | None = None) -> torch.Tensor:
        """The convolution of ``x``, then ``+ add`` or a ReLU (not both)."""
        left, right = _same_padding(x.shape[-1], self.kernel_size, self.stride)
        shift = right > left and not self.shifted  # strided: depends on the length
        padding, stride = (0, right), (1, self.stride)
        if _use_onednn(x, self.weight):
            packed = self._packed.get(shift)
            if packed is None or packed.device != x.device:
                packed = self._packed[shift] = torch.ops.mkldnn._reorder_convolution_weight(
                    self._weight(shift), padding, stride, (1, 1), 1, None)
            if add is not None:
                return torch.ops.mkldnn._convolution_pointwise.binary(
                    x, add.contiguous(memory_format=torch.channels_last), packed, self.bias, padding, stride,
                    (1, 1), 1, "add", None, None, [], None)
            return torch.ops.mkldnn._convolution_pointwise(x, packed, self.bias, padding, stride, (1, 1), 1,
                                                           "relu" if relu else "none", [], "")
        out = F.conv2d(x, self._weight(shift), self.bias, stride, padding)
        if add is not None:
            return out.add_(add)
        return out.relu_() if relu else out


def _same_max_pool2d(x: torch.Tensor, pool: int) -> torch.Tensor:
    """TensorFlow "same" max-pooling of (n, c, 1, length) in channels-last memory."""
    n, channels, _, length = x.shape
    left, right = _same_padding(length, pool, pool)
    if left == right == 0 and x.is_contiguous(memory_format=torch.channels_last):
        # Memory is (n, length, channels): a max over groups of `pool` rows, no indices kept.
        pooled = x.permute(0, 2, 3, 1).reshape(n, length // pool, pool, channels).amax(dim=2)
        return pooled.unsqueeze(1).permute(0, 3, 1, 2)
    if left == right:  # max_pool2d's own padding is -inf: padded samples never win
        return F.max_pool2d(x, (1, pool), (1, pool), (0, left))
    return F.max_pool2d(F.pad(x, (left, right), value=float("-inf")), (1, pool), (1, pool))


class _FastResidualUnit(nn.Module):
    def __init__(self, unit: ResidualUnit):
        super().__init__()
        self.pool = unit.pool.pool if isinstance(unit.pool, SameMaxPool1d) else 1
        self.skip_conv = _FastSameConv(unit.skip_conv) if isinstance(unit.skip_conv, nn.Conv1d) else None
        self.conv1 = _FastSameConv(unit.conv1, unit.bn1)
        self.conv2 = _FastSameConv(unit.conv2)
        # bn_out cannot be folded (its input is the next unit's skip): one affine map instead.
        scale, shift = _batch_norm_affine(unit.bn_out)
        self.register_buffer("scale", scale.reshape(1, -1, 1, 1))
        self.register_buffer("shift", shift.reshape(1, -1, 1, 1))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.pool > 1:
            skip = _same_max_pool2d(skip, self.pool)
        if self.skip_conv is not None:
            skip = self.skip_conv(skip)
        summed = self.conv2(self.conv1(x, relu=True), add=skip)
        return torch.addcmul(self.shift, summed, self.scale).relu_(), summed


def _batch_norm_affine(bn: nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval BatchNorm as ``x * scale + shift`` per channel (float64 arithmetic, detached)."""
    with torch.no_grad():
        scale = torch.rsqrt(bn.running_var.double() + bn.eps) * bn.weight.double()
        shift = bn.bias.double() - bn.running_mean.double() * scale
        return scale.to(bn.weight.dtype), shift.to(bn.weight.dtype)


class FastRibeiroResNet1d(nn.Module):
    """Eval-only twin of a :class:`RibeiroResNet1d`: the same outputs, faster on the CPU.

    Built from a copy of the encoder's current weights (later training of the encoder does
    not reach it; :func:`sklearn_ecg.nn.inference.cached_inference_copy` rebuilds it):

    - every BatchNorm that directly follows a convolution is folded into it (the stem's and
      each unit's first); the units' last BatchNorm, whose input is also the next skip, is one
      multiply-add;
    - TensorFlow's "same" padding is the convolutions' own (no padded copy of the input,
      see ``_FastSameConv``), and max-pooling without padding keeps no indices;
    - activations are (n, channels, 1, samples) in channels-last memory, which oneDNN's
      convolutions (as TensorFlow's) run without reordering each activation to and from a
      blocked layout, as they do for torch's (n, channels, samples) Conv1d;
    - ReLUs and the residual sum are fused into the convolutions (oneDNN post-ops, with
      weights reordered once, on the CPU) or computed in place.

    No gradients, no dropout, running statistics only; any input length, as the encoder.
    """

    def __init__(self, encoder: RibeiroResNet1d):
        super().__init__()
        stem_conv, *rest = list(encoder.stem)
        self.stem = _FastSameConv(stem_conv, rest[0] if isinstance(rest[0], nn.BatchNorm1d) else None)
        self.units = nn.ModuleList(_FastResidualUnit(unit) for unit in encoder.units)
        self.strides = encoder.strides
        self.out_features = encoder.out_features
        self.eval()
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x.unsqueeze(2).contiguous(memory_format=torch.channels_last), relu=True)
        skip = x
        for unit in self.units:
            x, skip = unit(x, skip)
        return x.mean(dim=(-2, -1))
