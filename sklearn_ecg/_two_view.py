"""What SimCLR and BYOL share (Mehari & Strodthoff 2022): an xresnet1d encoder pretrained on
random windows, two augmented views per window, Adam with warm-up + cosine schedule, and windowed
embedding at transform time."""

from __future__ import annotations

import copy
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch.utils.data import Dataset

from ._base import BaseECGEmbedder
from ._validation import check_positive_ints, warn_if_no_negatives
from .augmentations import Compose, RandomWindow, default_ssl_augmentations
from .callbacks import WarmupCosineLR
from .nn.data import RandomCropDataset
from .nn.windows import embed_in_windows
from .nn.xresnet1d import XResNet1d


class TwoViewEmbedder(BaseECGEmbedder):
    """The base of :class:`~sklearn_ecg.SimCLRTransformer` and :class:`~sklearn_ecg.BYOLTransformer`."""

    _parameter_constraints: dict = {
        **BaseECGEmbedder._parameter_constraints,
        "augmentations": [callable, None],
        "window": [Interval(Integral, 8, None, closed="left"), None],
        "window_stride": [Interval(Integral, 1, None, closed="left")],
        "views_from": [StrOptions({"window", "record"})],
        "layers": ["array-like"],
        "widths": ["array-like"],
        "expansion": [Interval(Integral, 1, None, closed="left")],
        "stem_widths": ["array-like"],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "projection_dims": ["array-like"],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "warmup_epochs": [Interval(Integral, 0, None, closed="left")],
    }
    # Whether the loss contrasts a window with the batch's others (SimCLR; not BYOL).
    _contrastive: bool = False
    # Sequences of layer sizes, checked element by element.
    _size_sequences: tuple[str, ...] = ("layers", "widths", "stem_widths", "projection_dims")

    def _check_method_params(self) -> None:
        for name in self._size_sequences:
            check_positive_ints(getattr(self, name), name)
        if len(self.layers) != len(self.widths):
            raise ValueError(f"layers and widths need one entry per stage, got {self.layers} and "
                             f"{self.widths}.")
        if self.views_from == "record" and self.window is None:
            raise ValueError("views_from='record' cuts each view's own window from the record; "
                             "it needs a window (got window=None).")

    def _min_samples(self) -> int:
        return int(self.window) if self.window is not None else 2

    def build_encoder(self) -> XResNet1d:
        return XResNet1d(self.n_leads_in_, tuple(self.layers), tuple(self.widths), int(self.expansion),
                         tuple(self.stem_widths), int(self.kernel_size))

    def _augment_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        # A copy, so fitting neither moves nor advances (a generator in) the object passed in.
        augment = default_ssl_augmentations() if self.augmentations is None else copy.deepcopy(
            self.augmentations)
        if self.views_from == "record":
            # Batches hold whole records; each view gets its own window before the augmentations.
            return Compose([RandomWindow(int(self.window)), augment])
        return augment

    def _make_train_dataset(self, X: Any, y: Any = None, **fit_params: Any) -> Dataset:
        if fit_params:
            raise TypeError(f"Unexpected fit parameters: {sorted(fit_params)}.")
        if self._contrastive:
            warn_if_no_negatives(min(len(X), self.batch_size), "SimCLR", "window")
        return RandomCropDataset(X, self.window if self.views_from == "window" else None)

    def _embed_batch(self, x: torch.Tensor) -> torch.Tensor:
        # At most batch_size windows per forward pass: the memory footprint of training.
        return embed_in_windows(self.encoder_, x, self.window, self.window_stride,
                                chunk_size=self.batch_size)

    def _net_options(self) -> dict[str, Any]:
        # weight_decay reaches Adam through the engine (make_net), as for every method.
        return {"callbacks": [("warmup_cosine_lr", WarmupCosineLR(int(self.warmup_epochs)))]}


SHARED_PARAMETERS_DOC = """
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
    views_from : {"window", "record"}, default="window"
        Where the two views of a training item come from. ``"window"`` (the paper):
        both are augmentations of one random ``window``-sample crop. ``"record"``:
        each view is augmented from its own random window of the whole record, so
        positives are different moments of one ECG (the positive pairs of CLOCS's
        CMSC, Kiyasseh et al. 2021). Not in Mehari & Strodthoff. In SimCLR's cpu preset
        on the 1,999 shared PTB-XL records it scored higher than the paper's views on
        the validation fold (0.875 vs 0.833 after 600 epochs) and on the test folds at
        every label budget (``benchmarks/probe_cv.py``).
    layers, widths : sequences of int, default=(3, 4, 6, 3), (64, 64, 64, 64)
        Blocks and inner width per stage of the xresnet1d backbone. The defaults
        with ``expansion=4`` are the published 1-D xresnet1d50 (0.89 M parameters).
    expansion : int, default=4
        Bottleneck expansion (1: basic blocks as in xresnet1d18/34).
    stem_widths : sequence of int, default=(32, 32, 64)
        Output widths of the stem's convolutions (paper: 32, 32, 64).
    kernel_size : int, default=5
        Kernel of the stem and of the blocks' non-1x1 convolutions (paper: 5).
    projection_dims : sequence of int, default=(512, 16)
        Projector widths (hidden, output): output 16 is the published
        ``bolts_config.yaml`` (``model.out_dim: 16``), which the README commands keep.
"""

TRAINING_PARAMETERS_DOC = """
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
        1 prints skorch's epoch table with batch progress bars; 0 is silent.
    callbacks : list of skorch callbacks, optional
        skorch callbacks added to training after the method's own, e.g.
        ``EarlyStopping(monitor="train_loss")`` or ``Checkpoint``.
"""
