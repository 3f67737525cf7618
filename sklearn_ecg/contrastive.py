"""SimCLR and BYOL on ECG windows with an xresnet1d backbone (Mehari & Strodthoff 2022)."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from skorch.callbacks import Callback
from torch import nn
from torch.utils.data import Dataset

from ._base import BaseECGEmbedder
from ._windows import RandomCropDataset, embed_in_windows
from .augmentations import default_ssl_augmentations
from .cpc import _is_positive_int
from .nn.losses import nt_xent
from .nn.xresnet1d import XResNet1d


def _steps_per_epoch(net: Any, dataset: Any) -> int:
    return max(1, len(net.get_iterator(dataset, training=True)))


class WarmupCosineLR(Callback):
    """Per-batch learning rate: linear warm-up over ``warmup_epochs``, then cosine decay to 0.

    The schedule of the published SimCLR and BYOL runs (pl_bolts'
    LinearWarmupCosineAnnealingLR), stepped every batch.
    """

    def __init__(self, warmup_epochs: int):
        self.warmup_epochs = warmup_epochs

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        per_epoch = _steps_per_epoch(net, X)
        self.total_steps_ = per_epoch * net.max_epochs
        self.warmup_steps_ = per_epoch * self.warmup_epochs
        self.step_ = 0

    def factor(self, step: int) -> float:
        if step < self.warmup_steps_:
            return (step + 1) / self.warmup_steps_
        progress = (step - self.warmup_steps_) / max(1, self.total_steps_ - self.warmup_steps_)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if training:
            for group in net.optimizer_.param_groups:
                group["lr"] = net.lr * self.factor(self.step_)

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training:
            self.step_ += 1


class TargetEMA(Callback):
    """BYOL's target update after every step: ``target = tau * target + (1 - tau) * online``,
    with tau cosine-annealed from ``base_tau`` to 1 over the whole training."""

    def __init__(self, base_tau: float):
        self.base_tau = base_tau

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.total_steps_ = _steps_per_epoch(net, X) * net.max_epochs
        self.step_ = 0

    def tau(self, step: int) -> float:
        return 1 - (1 - self.base_tau) * (math.cos(math.pi * step / self.total_steps_) + 1) / 2

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training:
            net.module_.update_target(self.tau(self.step_))
            self.step_ += 1


def mlp(in_features: int, dims: Sequence[int], batch_norm: bool) -> nn.Sequential:
    """Linear layers of widths ``dims`` with ReLU between them (and BatchNorm before each ReLU)."""
    layers: list[nn.Module] = []
    for i, width in enumerate(dims):
        last = i == len(dims) - 1
        layers.append(nn.Linear(in_features, width, bias=last or not batch_norm))
        if not last:
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.ReLU(inplace=True))
        in_features = width
    return nn.Sequential(*layers)


class SimCLRModule(nn.Module):
    """Backbone + projector; ``forward`` augments each window twice and returns NT-Xent."""

    def __init__(self, encoder: XResNet1d, projection_dims: Sequence[int], temperature: float,
                 augment: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.encoder = encoder
        self.projector = mlp(encoder.out_features, projection_dims, batch_norm=False)
        self.temperature = temperature
        self.augment = augment

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.projector(self.encoder(torch.cat([self.augment(x), self.augment(x)])))
        return nt_xent(z[: len(x)], z[len(x):], self.temperature)


class BYOLModule(nn.Module):
    """Online backbone + projector + predictor, and a target copy updated by EMA only."""

    def __init__(self, encoder: XResNet1d, projection_dims: Sequence[int], predictor_dims: Sequence[int],
                 augment: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.encoder = encoder
        self.projector = mlp(encoder.out_features, projection_dims, batch_norm=True)
        self.predictor = mlp(projection_dims[-1], predictor_dims, batch_norm=True)
        self.target_encoder = copy.deepcopy(self.encoder).requires_grad_(False)
        self.target_projector = copy.deepcopy(self.projector).requires_grad_(False)
        self.augment = augment
        self.loss_parts: dict[str, float] = {}

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    @torch.no_grad()
    def update_target(self, tau: float) -> None:
        for online, target in ((self.encoder, self.target_encoder),
                               (self.projector, self.target_projector)):
            for p_online, p_target in zip(online.parameters(), target.parameters()):
                p_target.mul_(tau).add_(p_online.detach(), alpha=1 - tau)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(x)
        views = torch.cat([self.augment(x), self.augment(x)])
        predictions = F.normalize(self.predictor(self.projector(self.encoder(views))).float(), dim=1)
        with torch.no_grad():
            targets = F.normalize(self.target_projector(self.target_encoder(views)).float(), dim=1)
        # Each view's prediction regresses the target projection of the other view.
        similarity = (predictions * targets.roll(n, dims=0)).sum(1)
        self.loss_parts = {"byol_cosine": float(similarity.detach().mean())}
        return 2 * (2 - 2 * similarity).mean()


class _TwoViewEmbedder(BaseECGEmbedder):
    """What SimCLR and BYOL share: xresnet1d on random windows, two augmented views per
    window, Adam with warm-up + cosine schedule, windowed embedding at transform time."""

    def _check_method_params(self) -> None:
        if self.augmentations is not None and not callable(self.augmentations):
            raise ValueError(f"augmentations must be a callable on tensors (batch, leads, samples) or "
                             f"None, got {self.augmentations!r}.")
        for name in ("layers", "widths", "stem_widths", "projection_dims",
                     *(("predictor_dims",) if hasattr(self, "predictor_dims") else ())):
            value = getattr(self, name)
            if (isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or not len(value)
                    or not all(_is_positive_int(v) for v in value)):
                raise ValueError(f"{name} must be a non-empty sequence of positive ints, got {value!r}.")
        if len(self.layers) != len(self.widths):
            raise ValueError(f"layers and widths need one entry per stage, got {self.layers} and "
                             f"{self.widths}.")
        for name in ("expansion", "kernel_size", "window_stride"):
            if not _is_positive_int(getattr(self, name)):
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}.")
        if self.window is not None and not (_is_positive_int(self.window) and self.window >= 8):
            raise ValueError(f"window must be an int >= 8 or None, got {self.window!r}.")
        if not (_is_positive_int(self.warmup_epochs) or self.warmup_epochs == 0):
            raise ValueError(f"warmup_epochs must be a non-negative int, got {self.warmup_epochs!r}.")
        if not (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be a non-negative number, got {self.weight_decay!r}.")

    def _min_samples(self) -> int:
        return int(self.window) if self.window is not None else 2

    def _build_encoder(self) -> XResNet1d:
        return XResNet1d(self.n_leads_in_, tuple(self.layers), tuple(self.widths), int(self.expansion),
                         tuple(self.stem_widths), int(self.kernel_size))

    def _augment_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        # A copy, so fitting neither moves nor advances (a generator in) the object passed in.
        if self.augmentations is None:
            return default_ssl_augmentations()
        return copy.deepcopy(self.augmentations)

    def _embedding_dim(self) -> int:
        return 2 * int(self.widths[-1]) * int(self.expansion)

    def _make_train_dataset(self, X: Any, y: Any = None, **fit_params: Any) -> Dataset:
        if fit_params:
            raise TypeError(f"Unexpected fit parameters: {sorted(fit_params)}.")
        return RandomCropDataset(X, self.window)

    def _embed_batch(self, x: torch.Tensor) -> torch.Tensor:
        # At most batch_size windows per forward pass: the memory footprint of training.
        return embed_in_windows(self.net_.module_.embed, x, self.window, self.window_stride,
                                chunk_size=self.batch_size)

    def _extra_callbacks(self) -> list:
        return [("warmup_cosine_lr", WarmupCosineLR(int(self.warmup_epochs)))]

    def _optimizer_params(self) -> dict[str, Any]:
        return {"weight_decay": float(self.weight_decay)}


_SHARED_DOC = """
    Parameters
    ----------
    fs : float, default=100
        Sampling rate of the input (Hz). The paper works at 100 Hz; windows are
        counted in samples, so resample other rates first.
    leads : list of str, optional
        Lead names of the input; default: the standard leads in PTB-XL order.
    augmentations : callable or None, default=None
        Batch-wise transform applied independently to make each of the two views,
        on the training device (see :mod:`sklearn_ecg.augmentations`). ``None``:
        RandomResizedCrop (0.5-1.0) + TimeOut (20-40%), the paper's best pair.
    window : int or None, default=250
        Length of the random training crops and of the transform windows (paper:
        250 samples, 2.5 s at 100 Hz). Shorter records raise a ValueError.
        ``None`` trains on and embeds whole records.
    window_stride : int, default=125
        Step between transform windows; window vectors are averaged per record.
    layers, widths : sequences of int, default=(3, 4, 6, 3), (64, 64, 64, 64)
        Blocks and inner width per stage of the xresnet1d backbone. The defaults
        with ``expansion=4`` are the published 1-D xresnet1d50 (0.89 M parameters).
    expansion : int, default=4
        Bottleneck expansion (1: basic blocks as in xresnet1d18/34).
    stem_widths : sequence of int, default=(32, 32, 64)
    kernel_size : int, default=5
    projection_dims : sequence of int, default=(512, 16)
        Projector widths (hidden, output): output 16 is the published
        ``bolts_config.yaml`` (``model.out_dim: 16``), which the README commands keep.
"""

_TRAINING_DOC = """
    max_epochs : int, default=2000
        The published runs: 2000 epochs of batches of 4096 windows on a GPU.
    batch_size : int, default=4096
        Windows per batch (each gives two views). Use far smaller batches on a CPU.
    lr : float, default=2.29e-3
        Adam learning rate (published config), warmed up linearly then cosine-decayed
        to 0 over all steps.
    device : str, default="auto"
        ``"auto"`` uses CUDA (with bfloat16 mixed precision) when available.
    random_state : int, RandomState or None, default=None
        Seeds initialisation, crops and augmentations.
    verbose : int, default=0
    callbacks : list of skorch callbacks, optional
"""


class SimCLRTransformer(_TwoViewEmbedder):
    __doc__ = (
        """SimCLR on ECG windows (Mehari & Strodthoff 2022), as a transformer.

    Pretrains an xresnet1d50 backbone on random 250-sample windows: two augmented
    views of each window are pulled together and pushed from the other windows'
    views by the NT-Xent loss on a projection head. ``transform`` embeds
    ``window``-sample windows ``window_stride`` apart with the backbone
    (concatenated global max- and average-pooling, 512 values for xresnet1d50)
    and averages them per record; the projector is used for the loss only.
"""
        + _SHARED_DOC
        + """    temperature : float, default=0.5
        NT-Xent temperature (paper: 0.5).
    weight_decay : float, default=1e-6
        Adam L2 penalty (published SimCLR code; it also spares biases and
        BatchNorm, which this one does not).
    warmup_epochs : int, default=1
        Epochs of linear learning-rate warm-up (published SimCLR command: 1).
"""
        + _TRAINING_DOC
        + """
    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_.encoder`` is the backbone.
    loss_curve_ : list of float
        Mean NT-Xent loss per epoch.

    Examples
    --------
    >>> from sklearn_ecg.contrastive import SimCLRTransformer
    >>> from sklearn_ecg.datasets import make_synthetic_ecg
    >>> data = make_synthetic_ecg(n_patients=8, ecgs_per_patient=1, fs=100, random_state=0)
    >>> simclr = SimCLRTransformer(layers=(1, 1), widths=(8, 8), stem_widths=(8, 8, 16),
    ...                            max_epochs=1, batch_size=4, random_state=0)
    >>> simclr.fit(data.X).transform(data.X).shape
    (8, 64)
    """
    )

    def __init__(
        self,
        *,
        fs: float = 100,
        leads: Sequence[str] | None = None,
        augmentations: Callable[[torch.Tensor], torch.Tensor] | None = None,
        window: int | None = 250,
        window_stride: int = 125,
        layers: Sequence[int] = (3, 4, 6, 3),
        widths: Sequence[int] = (64, 64, 64, 64),
        expansion: int = 4,
        stem_widths: Sequence[int] = (32, 32, 64),
        kernel_size: int = 5,
        projection_dims: Sequence[int] = (512, 16),
        temperature: float = 0.5,
        weight_decay: float = 1e-6,
        warmup_epochs: int = 1,
        max_epochs: int = 2000,
        batch_size: int = 4096,
        lr: float = 2.29e-3,
        device: str = "auto",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        callbacks: list | None = None,
    ):
        self.fs = fs
        self.leads = leads
        self.augmentations = augmentations
        self.window = window
        self.window_stride = window_stride
        self.layers = layers
        self.widths = widths
        self.expansion = expansion
        self.stem_widths = stem_widths
        self.kernel_size = kernel_size
        self.projection_dims = projection_dims
        self.temperature = temperature
        self.weight_decay = weight_decay
        self.warmup_epochs = warmup_epochs
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def _check_method_params(self) -> None:
        super()._check_method_params()
        if not (isinstance(self.temperature, (int, float)) and self.temperature > 0):
            raise ValueError(f"temperature must be positive, got {self.temperature!r}.")

    def _build_module(self) -> SimCLRModule:
        return SimCLRModule(self._build_encoder(), tuple(self.projection_dims), float(self.temperature),
                            self._augment_fn())


class BYOLTransformer(_TwoViewEmbedder):
    __doc__ = (
        """BYOL on ECG windows (Mehari & Strodthoff 2022), as a transformer.

    Pretrains an xresnet1d50 backbone on random 250-sample windows: an online
    network (backbone, projector, predictor) predicts the target network's
    projection of another augmented view of the same window; the target is an
    exponential moving average of the online backbone and projector, with tau
    cosine-annealed from ``tau`` to 1 over training. ``transform`` embeds
    ``window``-sample windows ``window_stride`` apart with the online backbone and
    averages them per record.
"""
        + _SHARED_DOC
        + """    predictor_dims : sequence of int, default=(512, 16)
        Predictor widths (hidden, output); projector and predictor have BatchNorm
        after their hidden layer, as published.
    tau : float, default=0.996
        Initial EMA rate of the target network (paper: 0.996).
    weight_decay : float, default=1e-5
        Adam L2 penalty (published BYOL config).
    warmup_epochs : int, default=10
        Epochs of linear learning-rate warm-up (published BYOL module: 10).
"""
        + _TRAINING_DOC
        + """
    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_.encoder`` is the online backbone.
    loss_curve_ : list of float
        Mean BYOL loss per epoch, ``2 * mean(2 - 2 cos)`` over both directions
        (0 to 8; 4 means predictions orthogonal to targets). The batch history
        also records ``byol_cosine``.

    Examples
    --------
    >>> from sklearn_ecg.contrastive import BYOLTransformer
    >>> from sklearn_ecg.datasets import make_synthetic_ecg
    >>> data = make_synthetic_ecg(n_patients=8, ecgs_per_patient=1, fs=100, random_state=0)
    >>> byol = BYOLTransformer(layers=(1, 1), widths=(8, 8), stem_widths=(8, 8, 16),
    ...                        warmup_epochs=0, max_epochs=1, batch_size=4, random_state=0)
    >>> byol.fit(data.X).transform(data.X).shape
    (8, 64)
    """
    )

    def __init__(
        self,
        *,
        fs: float = 100,
        leads: Sequence[str] | None = None,
        augmentations: Callable[[torch.Tensor], torch.Tensor] | None = None,
        window: int | None = 250,
        window_stride: int = 125,
        layers: Sequence[int] = (3, 4, 6, 3),
        widths: Sequence[int] = (64, 64, 64, 64),
        expansion: int = 4,
        stem_widths: Sequence[int] = (32, 32, 64),
        kernel_size: int = 5,
        projection_dims: Sequence[int] = (512, 16),
        predictor_dims: Sequence[int] = (512, 16),
        tau: float = 0.996,
        weight_decay: float = 1e-5,
        warmup_epochs: int = 10,
        max_epochs: int = 2000,
        batch_size: int = 4096,
        lr: float = 2.29e-3,
        device: str = "auto",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        callbacks: list | None = None,
    ):
        self.fs = fs
        self.leads = leads
        self.augmentations = augmentations
        self.window = window
        self.window_stride = window_stride
        self.layers = layers
        self.widths = widths
        self.expansion = expansion
        self.stem_widths = stem_widths
        self.kernel_size = kernel_size
        self.projection_dims = projection_dims
        self.predictor_dims = predictor_dims
        self.tau = tau
        self.weight_decay = weight_decay
        self.warmup_epochs = warmup_epochs
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def _check_method_params(self) -> None:
        super()._check_method_params()
        if not (isinstance(self.tau, (int, float)) and 0 <= self.tau <= 1):
            raise ValueError(f"tau must be in [0, 1], got {self.tau!r}.")
        if self.predictor_dims[-1] != self.projection_dims[-1]:
            raise ValueError(f"The predictor must output the projection's width: predictor_dims ends "
                             f"with {self.predictor_dims[-1]}, projection_dims with "
                             f"{self.projection_dims[-1]}.")

    def _build_module(self) -> BYOLModule:
        return BYOLModule(self._build_encoder(), tuple(self.projection_dims), tuple(self.predictor_dims),
                          self._augment_fn())

    def _extra_callbacks(self) -> list:
        return [*super()._extra_callbacks(), ("target_ema", TargetEMA(float(self.tau)))]
