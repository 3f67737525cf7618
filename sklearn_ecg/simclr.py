"""SimCLR on ECG windows with an xresnet1d backbone (Mehari & Strodthoff 2022)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from numbers import Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from ._base import documents_training_options
from ._two_view import SHARED_PARAMETERS_DOC, TRAINING_PARAMETERS_DOC, TwoViewEmbedder
from .nn.simclr import SimCLRObjective


@documents_training_options
class SimCLRTransformer(TwoViewEmbedder):
    __doc__ = (
        """SimCLR on ECG windows (Mehari & Strodthoff 2022), as a transformer.

    Pretrains an xresnet1d50 backbone on random 250-sample windows: two augmented
    views of each window are pulled together and pushed from the other windows'
    views by the NT-Xent loss on a projection head. ``transform`` embeds
    ``window``-sample windows ``window_stride`` apart with the backbone
    (concatenated global max- and average-pooling, 512 values for xresnet1d50)
    and averages them per record; the projector is used for the loss only.
"""
        + SHARED_PARAMETERS_DOC
        + """    temperature : float, default=0.5
        NT-Xent temperature (paper: 0.5).
    weight_decay : float, default=1e-6
        Adam L2 penalty (published SimCLR code; it also spares biases and
        BatchNorm, which this one does not).
    warmup_epochs : int, default=1
        Epochs of linear learning-rate warm-up (published SimCLR command: 1).
"""
        + TRAINING_PARAMETERS_DOC
        + """
    Attributes
    ----------
    encoder_ : sklearn_ecg.nn.xresnet1d.XResNet1d
        The pretrained backbone, applied to each window.
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` is a :class:`sklearn_ecg.nn.simclr.SimCLRObjective`.
    loss_curve_ : list of float
        Mean NT-Xent loss per epoch.

    Examples
    --------
    >>> from sklearn_ecg import SimCLRTransformer
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
        views_from: str = "window",
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
        self.optimizer = optimizer
        self.validation_fraction = validation_fraction
        self.checkpoint_dir = checkpoint_dir
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.mixed_precision = mixed_precision

    _contrastive = True
    _parameter_constraints: dict = {
        **TwoViewEmbedder._parameter_constraints,
        "temperature": [Interval(Real, 0, None, closed="neither")],
    }

    def _build_objective(self, encoder: nn.Module) -> SimCLRObjective:
        return SimCLRObjective(encoder, tuple(self.projection_dims), float(self.temperature),
                               self._augment_fn())
