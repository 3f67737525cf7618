"""PCLR: Patient Contrastive Learning of Representations (Diamant et al. 2022)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn
from torch.utils.data import Dataset

from ._base import BaseECGEmbedder, documents_training_options
from ._validation import check_positive_ints, warn_if_no_negatives
from .nn.inference import cached_inference_copy
from .nn.pclr import InterpolatingEncoder, PatientPairDataset, PCLRObjective
from .nn.resnet1d import RibeiroResNet1d, keras_unit_strides


@documents_training_options
class PCLRTransformer(BaseECGEmbedder):
    """Patient Contrastive Learning of Representations (PCLR) as a transformer.

    Pretrains the 1-D ResNet of Ribeiro et al. with an NT-Xent loss whose positive
    pairs are two different ECGs of the same patient (Diamant et al., PLOS Comput
    Biol 2022), then embeds ECGs as the 320-d global average pool of the encoder.
    The projection head is used for the loss only and dropped by ``transform``.

    The encoder is the Keras model of ml4h's release layer for layer (TensorFlow
    "same" padding of convolutions and max-pooling, BatchNorm epsilon 1e-3 and
    momentum 0.99, per-unit strides from the input length), so the released
    ``PCLR.h5`` loads with :func:`sklearn_ecg.pretrained.load_pclr_keras` and a
    model trained here has the same architecture.

    Parameters
    ----------
    fs : float, default=100
        Sampling rate of the input (Hz). Every ECG is linearly interpolated to
        ``n_samples`` before the encoder, whatever its rate, as in the paper.
    leads : list of str, optional
        Lead names of the input; default: the 12 standard leads (I ... V6) for
        12-lead input. PCLR's published variants are 12 leads, lead I, or lead II.
    n_samples : int or None, default=4096
        Length every ECG is interpolated to (the paper: 10 s -> 4096). ``None``
        keeps the input length.
    temperature : float, default=0.1
        NT-Xent temperature (paper: 0.1).
    filters : tuple of int, default=(64, 128, 196, 256, 320)
        Stem and residual-unit widths (paper's encoder, about 6.39 M parameters).
    kernel_size : int, default=16
        Kernel of every convolution (paper: 16).
    unit_samples : tuple of int or None, default=None
        Samples after each residual unit; each unit's stride is its input length
        // this, as ml4h computes it. ``None``: a stride of 4 per unit, which for
        4096 samples is ml4h's (1024, 256, 64, 16). The released lead-II model
        takes 2500 samples with (1024, 256, 64, 16), i.e. strides 2, 4, 4, 4.
    stem_batchnorm : bool, default=True
        BatchNorm after the stem convolution (every released model but lead II).
    batchnorm_momentum : float, default=0.99
        Running-average momentum of the BatchNorm layers in Keras' convention
        (ml4h's 0.99: each training batch moves the statistics ``transform`` uses
        by 1 %; torch's default is 0.9 in this convention). Short runs on small
        data may need less, e.g. 0.9, for the statistics to catch up with the weights.
    projection_dims : tuple of int, default=(320, 320)
        Projection head Dense(320, ReLU) -> Dense(320), discarded after training.
    single_ecg : {"windows", "augment", "drop"}, default="windows"
        Views used for patients with one ECG (and for every ECG when ``fit`` has no
        ``groups``): ``"windows"`` takes the two non-overlapping halves of the
        ECG; ``"augment"`` takes two noisy, scaled, shifted copies; ``"drop"``
        leaves such patients out (an error if none remain). Not in the paper,
        whose 3.2 M ECGs gave enough repeat patients.
    max_epochs : int, default=50
        Passes over the patients (one pair of ECGs per patient each time).
    batch_size : int, default=64
        Patients per batch (each gives two ECGs, so 2 x batch_size encoder inputs).
    lr : float, default=1e-3
        Adam learning rate. The published code uses 0.1, which diverged in our
        small-data runs; 1e-3 is a departure from the paper.
    device : str, default="auto"
        ``"auto"`` uses CUDA (with bfloat16 mixed precision) when available.
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, the batch order and every random draw of training,
        without touching the global torch RNG.
    verbose : int, default=0
        Print an epoch table with batch progress bars and the pairing summary.
    weight_decay : float, default=0.0
        L2 penalty of the Adam optimizer; ml4h's PCLR trains without (0).
    callbacks : list of skorch callbacks, optional
        skorch callbacks added to training after the method's own, e.g.
        ``EarlyStopping(monitor="train_loss")`` or ``Checkpoint``.

    Attributes
    ----------
    encoder_ : torch.nn.Module
        The pretrained encoder: interpolation to ``n_samples``, then the ResNet.
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` is a :class:`sklearn_ecg.nn.pclr.PCLRObjective`.
    n_patient_pairs_ : int
        Patients with two or more ECGs, i.e. real patient pairs per epoch.
    n_single_ecg_patients_ : int
        Patients trained on with the ``single_ecg`` fallback (0 when dropped).
    loss_curve_ : list of float
        Mean training loss per epoch.

    Examples
    --------
    >>> from sklearn_ecg import PCLRTransformer
    >>> from sklearn_ecg.datasets import make_synthetic_ecg
    >>> data = make_synthetic_ecg(n_patients=8, ecgs_per_patient=2, fs=100, random_state=0)
    >>> emb = PCLRTransformer(n_samples=512, max_epochs=1, batch_size=4, random_state=0)
    >>> emb.fit(data.X, groups=data.patient_id).transform(data.X).shape
    (16, 320)
    """

    def __init__(
        self,
        *,
        fs: float = 100,
        leads: Sequence[str] | None = None,
        n_samples: int | None = 4096,
        temperature: float = 0.1,
        filters: Sequence[int] = (64, 128, 196, 256, 320),
        kernel_size: int = 16,
        unit_samples: Sequence[int] | None = None,
        stem_batchnorm: bool = True,
        batchnorm_momentum: float = 0.99,
        projection_dims: Sequence[int] = (320, 320),
        single_ecg: str = "windows",
        max_epochs: int = 50,
        batch_size: int = 64,
        lr: float = 1e-3,
        device: str = "auto",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        callbacks: list | None = None,
        weight_decay: float = 0.0,
        optimizer: str | type | None = None,
        validation_fraction: float | None = None,
        checkpoint_dir: str | os.PathLike | None = None,
        num_workers: int | str = "auto",
        pin_memory: bool | str = "auto",
        mixed_precision: bool = True,
    ):
        self.fs = fs
        self.leads = leads
        self.n_samples = n_samples
        self.temperature = temperature
        self.filters = filters
        self.kernel_size = kernel_size
        self.unit_samples = unit_samples
        self.stem_batchnorm = stem_batchnorm
        self.batchnorm_momentum = batchnorm_momentum
        self.projection_dims = projection_dims
        self.single_ecg = single_ecg
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.validation_fraction = validation_fraction
        self.checkpoint_dir = checkpoint_dir
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.mixed_precision = mixed_precision

    _extra_fitted_attrs = ("n_patient_pairs_", "n_single_ecg_patients_")
    _parameter_constraints: dict = {
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        **BaseECGEmbedder._parameter_constraints,
        "n_samples": [Interval(Integral, 16, None, closed="left"), None],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "filters": ["array-like"],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "unit_samples": ["array-like", None],
        "stem_batchnorm": ["boolean"],
        "batchnorm_momentum": [Interval(Real, 0, 1, closed="both")],
        "projection_dims": ["array-like"],
        "single_ecg": [StrOptions({"windows", "augment", "drop"})],
    }

    def _check_method_params(self) -> None:
        filters = check_positive_ints(self.filters, "filters")
        if len(filters) < 2:
            raise ValueError(f"filters needs a stem width and at least one unit, got {self.filters}.")
        check_positive_ints(self.projection_dims, "projection_dims")
        if self.unit_samples is not None:
            check_positive_ints(self.unit_samples, "unit_samples", length=len(filters) - 1)
            if self.n_samples is not None:
                keras_unit_strides(self.n_samples, self.unit_samples)  # raises if a unit would grow
            elif list(self.unit_samples) != sorted(self.unit_samples, reverse=True):
                raise ValueError(f"unit_samples must not increase, got {self.unit_samples}.")

    def _min_samples(self) -> int:
        # Halving for the "windows" views needs 2 samples; without resampling the
        # residual units need enough length to downsample.
        if self.n_samples is not None:
            return 2
        if self.unit_samples is not None:
            return int(self.unit_samples[0])
        return 4 ** (len(self.filters) - 1)

    def _unit_strides(self) -> tuple[int, ...]:
        if self.unit_samples is None:
            return (4,) * (len(self.filters) - 1)
        n_in = self.n_samples if self.n_samples is not None else self.n_samples_in_
        return keras_unit_strides(n_in, self.unit_samples)

    def build_encoder(self) -> InterpolatingEncoder:
        backbone = RibeiroResNet1d(self.n_leads_in_, tuple(self.filters), self._unit_strides(),
                                   self.kernel_size, stem_batchnorm=bool(self.stem_batchnorm),
                                   bn_momentum=float(self.batchnorm_momentum))
        return InterpolatingEncoder(backbone, self.n_samples)

    def _build_objective(self, encoder: nn.Module) -> PCLRObjective:
        return PCLRObjective(encoder, tuple(self.projection_dims), self.temperature, self.single_ecg)

    def _embed_batch(self, x: torch.Tensor) -> torch.Tensor:
        # transform on the CPU runs the encoder's inference copy (BatchNorm folded, TensorFlow
        # "same" padding without copies, channels-last convolutions; sklearn_ecg.nn.inference),
        # the same outputs to float32 rounding. It is cached outside the estimator (pickling and
        # saving are unchanged) and rebuilt whenever the encoder's weights or settings change.
        encoder = self.encoder_
        if encoder.training or torch.is_grad_enabled() or x.device.type != "cpu":
            return encoder(x)
        return cached_inference_copy(encoder)(x)

    def _make_train_dataset(self, X: Any, y: Any = None, groups: Any = None) -> Dataset:
        dataset = PatientPairDataset(X, None if groups is None else _check_groups(groups, len(X)),
                                     self.single_ecg)
        warn_if_no_negatives(min(len(dataset), self.batch_size), "PCLR", "patient")
        self.n_patient_pairs_ = int(dataset.n_pairs)
        self.n_single_ecg_patients_ = 0 if self.single_ecg == "drop" else int(dataset.n_single)
        if self.verbose:
            print(f"PCLR: {self.n_patient_pairs_} patients with >= 2 ECGs give real pairs; "
                  f"{dataset.n_single} single-ECG patients "
                  f"{'dropped' if self.single_ecg == 'drop' else f'use {self.single_ecg!r} views'}.")
        return dataset

    def fit(self, X: Any, y: Any = None, groups: Any = None) -> PCLRTransformer:
        """Pretrain on unlabelled ECGs; ``groups`` (patient ids) make the positive pairs.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
            ECGs in millivolts at ``fs``; lazy array-likes are read batch by batch.
        y : None
            Ignored.
        groups : array-like of shape (n_ecgs,), optional
            Patient id of each ECG. Without it every ECG is its own patient and
            the ``single_ecg`` fallback makes the pairs.

        Returns
        -------
        self
        """
        return self._fit(X, y, groups=groups)


def _check_groups(groups: Any, n_ecgs: int) -> np.ndarray:
    """Patient ids, one per ECG, none missing: a missing id (NaN, None) would merge every ECG
    of unknown patient into one patient and pair them as positives."""
    groups = np.asarray(groups)
    if groups.shape != (n_ecgs,):
        raise ValueError(f"groups must hold one patient id per ECG: expected shape ({n_ecgs},), "
                         f"got {groups.shape}.")
    missing = np.flatnonzero(pd.isna(groups))
    if len(missing):
        raise ValueError(
            f"groups holds {len(missing)} missing patient ids (NaN or None), at ECG indices "
            f"{missing[:10].tolist()}{' ...' if len(missing) > 10 else ''}; give every ECG a patient "
            "id (a new one for each ECG of unknown patient, so it is paired only with itself)."
        )
    try:
        np.unique(groups)
    except TypeError as exc:
        kinds = sorted({type(g).__name__ for g in groups})
        raise ValueError(f"groups must hold patient ids of one kind (numbers or strings), got "
                         f"{kinds}.") from exc
    return groups
