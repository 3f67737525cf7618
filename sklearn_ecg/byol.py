"""BYOL on ECG windows with an xresnet1d backbone (Mehari & Strodthoff 2022)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from ._base import documents_training_options
from ._two_view import SHARED_PARAMETERS_DOC, TRAINING_PARAMETERS_DOC, TwoViewEmbedder
from .callbacks import TargetEMA
from .nn.byol import BYOLObjective


@documents_training_options
class BYOLTransformer(TwoViewEmbedder):
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
        + SHARED_PARAMETERS_DOC
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
        + TRAINING_PARAMETERS_DOC
        + """
    Attributes
    ----------
    encoder_ : sklearn_ecg.nn.xresnet1d.XResNet1d
        The pretrained online backbone, applied to each window.
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` is a :class:`sklearn_ecg.nn.byol.BYOLObjective`.
    loss_curve_ : list of float
        Mean BYOL loss per epoch, ``2 * mean(2 - 2 cos)`` over both directions
        (0 to 8; 4 means predictions orthogonal to targets). The batch history
        also records ``byol_cosine``.

    Examples
    --------
    >>> from sklearn_ecg import BYOLTransformer
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
        views_from: str = "window",
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
        optimizer: str | type | None = None,
        validation_fraction: float | None = None,
        checkpoint_dir: str | os.PathLike | None = None,
        num_workers: int | str = "auto",
        pin_memory: bool | str = "auto",
        mixed_precision: bool = True,
    ):
        self.fs = fs
        self.leads = leads
        self.augmentations = augmentations
        self.window = window
        self.window_stride = window_stride
        self.views_from = views_from
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
        self.optimizer = optimizer
        self.validation_fraction = validation_fraction
        self.checkpoint_dir = checkpoint_dir
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.mixed_precision = mixed_precision

    _parameter_constraints: dict = {
        **TwoViewEmbedder._parameter_constraints,
        "predictor_dims": ["array-like"],
        "tau": [Interval(Real, 0, 1, closed="both")],
    }
    _size_sequences = (*TwoViewEmbedder._size_sequences, "predictor_dims")

    def _check_method_params(self) -> None:
        super()._check_method_params()
        if self.predictor_dims[-1] != self.projection_dims[-1]:
            raise ValueError(f"The predictor must output the projection's width: predictor_dims ends "
                             f"with {self.predictor_dims[-1]}, projection_dims with "
                             f"{self.projection_dims[-1]}.")

    def _build_objective(self, encoder: nn.Module) -> BYOLObjective:
        return BYOLObjective(encoder, tuple(self.projection_dims), tuple(self.predictor_dims),
                             self._augment_fn())

    def _net_options(self) -> dict[str, Any]:
        options = super()._net_options()
        options["callbacks"] = [*options["callbacks"], ("target_ema", TargetEMA(float(self.tau)))]
        return options
