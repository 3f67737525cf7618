"""Inference-time copies of encoders: BatchNorm folded into convolutions, faster layouts.

Everything here makes an **eval-only copy** of a module; the module itself (its weights, its
training, its pickling and saving) is never touched.

- :func:`fold_batchnorm`: a generic pass for any module: every BatchNorm whose input is the
  output of a convolution used nowhere else is folded into that convolution (its weight scaled,
  a bias added) and replaced by ``nn.Identity``. The pairs are found by tracing each module's
  ``forward`` with ``torch.fx``; a module that cannot be traced (data-dependent control flow)
  is looked into child by child instead. The copy keeps the modules' own ``forward`` code.
- :func:`inference_copy`: :func:`fold_batchnorm`, except that a submodule offering
  ``inference_module()`` is replaced by what that returns (for
  :class:`~sklearn_ecg.nn.resnet1d.RibeiroResNet1d`, PCLR's encoder: BatchNorm folded,
  TensorFlow "same" padding without copies, channels-last 2-D convolutions for oneDNN).
- :func:`cached_inference_copy`: the copy of a module built once and reused for as long as
  the module's weights, buffers, modes and settings stay the same (a version fingerprint is
  checked on every call, so the copy is rebuilt after training, ``load_state_dict``, ``to``,
  or a changed attribute). The cache holds the module weakly and lives in this module, not on
  the module or the estimator, so neither pickles differently.

Outputs equal the plain eval forward to float32 rounding (tests/test_inference_speedups.py).
"""

from __future__ import annotations

import copy
import threading
import warnings
import weakref
from collections.abc import Hashable
from typing import Any

import torch
from torch import fx, nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def fold_conv_bn(conv: nn.Module, bn: _BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of ``conv`` followed by ``bn`` in eval mode, as one convolution.

    ``bn(conv(x)) == conv'(x)`` with ``conv'.weight = conv.weight * s`` (s per output channel)
    and ``conv'.bias = (conv.bias - running_mean) * s + bn.bias``, ``s = bn.weight /
    sqrt(running_var + eps)``. Computed in float64, returned in the weight's dtype, detached.
    """
    with torch.no_grad():
        weight = conv.weight.detach()
        var = bn.running_var.detach().double()
        scale = torch.rsqrt(var + bn.eps)
        if bn.weight is not None:
            scale = scale * bn.weight.detach().double()
        bias = -bn.running_mean.detach().double()
        if conv.bias is not None:
            bias = bias + conv.bias.detach().double()
        bias = bias * scale
        if bn.bias is not None:
            bias = bias + bn.bias.detach().double()
        shape = (-1,) + (1,) * (weight.dim() - 1)
        folded = (weight.double() * scale.reshape(shape)).to(weight.dtype)
        return folded, bias.to(weight.dtype)


def _foldable_bn(module: nn.Module) -> bool:
    return (isinstance(module, _BatchNorm) and not module.training and module.track_running_stats
            and module.running_mean is not None and module.running_var is not None)


class _Tracer(fx.Tracer):
    """Keeps convolutions, BatchNorms, modules without both, torch's own modules and the given
    modules as leaves."""

    def __init__(self, leaves: set[int]):
        super().__init__()
        self.leaves = leaves

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return (isinstance(m, (_ConvNd, _BatchNorm)) or id(m) in self.leaves
                or not _has_conv_and_bn(m)  # holds no pair: never traced into
                or super().is_leaf_module(m, module_qualified_name))


def _trace(module: nn.Module, leaves: set[int]) -> fx.Graph | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _Tracer(leaves).trace(module)
    except Exception:  # data-dependent control flow, unsupported Python: look inside instead
        return None


def _conv_bn_pairs(module: nn.Module, untraceable: set[int]) -> list[tuple[nn.Module, nn.Module]]:
    """(conv, bn) pairs of ``module`` where the BatchNorm's only input is the convolution's
    output, that output is used nowhere else, and both modules are called exactly once."""
    pairs: list[tuple[nn.Module, nn.Module]] = []
    for child in module.children():
        if not isinstance(child, (_ConvNd, _BatchNorm)) and _has_conv_and_bn(child):
            pairs += _conv_bn_pairs(child, untraceable)
    if isinstance(module, (_ConvNd, _BatchNorm)) or not _has_conv_and_bn(module):
        return pairs
    graph = _trace(module, untraceable)
    if graph is None:
        untraceable.add(id(module))
        return pairs
    calls: dict[str, int] = {}
    for node in graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    for node in graph.nodes:
        if node.op != "call_module" or len(node.args) != 1 or node.kwargs:
            continue
        source = node.args[0]
        if not isinstance(source, fx.Node) or source.op != "call_module" or len(source.users) != 1:
            continue
        if calls[node.target] != 1 or calls[source.target] != 1:
            continue
        bn, conv = module.get_submodule(node.target), module.get_submodule(source.target)
        if isinstance(conv, _CONVS) and _foldable_bn(bn) and conv.out_channels == bn.num_features:
            pairs.append((conv, bn))
    return pairs


def _has_conv_and_bn(module: nn.Module) -> bool:
    modules = list(module.modules())
    return any(isinstance(m, _CONVS) for m in modules) and any(_foldable_bn(m) for m in modules)


def _fold_in_place(module: nn.Module) -> nn.Module:
    if not _has_conv_and_bn(module):  # nothing to fold: no tracing (see fold_batchnorm)
        return module
    # A pair inside a traceable child is found again when its parent is traced: once each.
    pairs = {id(bn): (conv, bn) for conv, bn in _conv_bn_pairs(module, set())}
    folded_bns = set(pairs)
    for conv, bn in pairs.values():
        weight, bias = fold_conv_bn(conv, bn)
        conv.weight = nn.Parameter(weight, requires_grad=False)
        conv.bias = nn.Parameter(bias, requires_grad=False)
    if not folded_bns:
        return module

    def replace(parent: nn.Module) -> None:
        for name, child in parent.named_children():
            if id(child) in folded_bns:
                setattr(parent, name, nn.Identity())
            else:
                replace(child)
    if id(module) in folded_bns:
        return nn.Identity()
    replace(module)
    return module


def _frozen(module: nn.Module) -> nn.Module:
    module.eval()
    module.requires_grad_(False)
    return module


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """An eval-mode copy of ``module`` with BatchNorms folded into the convolutions before them.

    A BatchNorm (in eval mode, with running statistics) is folded when its input is the
    output of an ``nn.Conv1d/2d/3d`` (or a subclass) that nothing else uses, and each is called
    once per forward. The copy gives the module's eval outputs to float32 rounding; it is for
    inference only (eval mode, no gradients). ``module`` is not changed.

    The pairs are found with ``torch.fx`` symbolic tracing (of the submodules holding both a
    convolution and a BatchNorm only), which patches ``torch.nn.Module.__call__`` for the whole
    process while it runs: do not call this while other threads run modules.
    """
    return _frozen(_fold_in_place(copy.deepcopy(module).eval()))


def _with_inference_modules(module: nn.Module) -> nn.Module:
    make = getattr(module, "inference_module", None)
    if callable(make):
        return make()
    for name, child in list(module.named_children()):
        replacement = _with_inference_modules(child)
        if replacement is not child:
            setattr(module, name, replacement)
    return module


def inference_copy(module: nn.Module) -> nn.Module:
    """An eval-only copy of ``module`` for fast inference; ``module`` is not changed.

    Submodules with an ``inference_module()`` method are replaced by what it returns (their
    own fast twin, e.g. :meth:`sklearn_ecg.nn.resnet1d.RibeiroResNet1d.inference_module`);
    in the rest, BatchNorms are folded into convolutions (:func:`fold_batchnorm`; no tracing
    when no BatchNorm is left, as for PCLR's encoder, so that its copy is safe to build while
    other threads fit or embed).
    """
    with torch.no_grad():
        return _frozen(_fold_in_place(_with_inference_modules(copy.deepcopy(module).eval())))


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, torch.dtype, torch.device))


def _attribute_key(value: Any) -> Hashable:
    if _plain(value):
        return value
    if isinstance(value, (tuple, list)) and all(_plain(v) for v in value):
        return tuple(value)
    return type(value).__name__  # other objects: their type only


def module_fingerprint(module: nn.Module) -> tuple:
    """What an inference copy of ``module`` depends on: every submodule (identity, type, mode,
    plain attributes) and every parameter and buffer (identity, storage, shape, dtype, device and
    in-place version counter, which every optimizer step and ``load_state_dict`` advances)."""
    parts: list[Hashable] = []
    for name, sub in module.named_modules():
        attributes = tuple(sorted((k, _attribute_key(v)) for k, v in vars(sub).items()
                                  if not k.startswith("_") and k != "training"))
        parts.append((name, id(sub), type(sub), sub.training, attributes))
        for kind in (sub._parameters, sub._buffers):
            for key, tensor in kind.items():
                if tensor is None:
                    parts.append((key, None))
                else:
                    parts.append((key, id(tensor), tensor.data_ptr(), tuple(tensor.shape), tensor.dtype,
                                  tensor.device, tensor._version))
    return tuple(parts)


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def cached_inference_copy(module: nn.Module) -> nn.Module:
    """:func:`inference_copy` of ``module``, built once per state of the module.

    Rebuilt whenever :func:`module_fingerprint` changes (new weights, statistics, device, dtype,
    mode or settings). Built outside inference mode, so the copy's tensors are ordinary tensors.
    The cache keeps only a weak reference to ``module``.
    """
    key = module_fingerprint(module)
    with _CACHE_LOCK:
        entry = _CACHE.get(module)
        if entry is not None and entry[0] == key:
            return entry[1]
    with torch.inference_mode(False):
        fast = inference_copy(module)
    with _CACHE_LOCK:
        _CACHE[module] = (key, fast)
    return fast


def clear_inference_cache() -> None:
    """Drop every cached inference copy (they are rebuilt on demand)."""
    with _CACHE_LOCK:
        _CACHE.clear()
