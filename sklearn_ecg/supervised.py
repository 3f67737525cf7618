"""A method's encoder trained from scratch on labels: the supervised baseline of every method."""

from __future__ import annotations

import os
from numbers import Real
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from torch import nn

from . import _engine
from ._base import (
    SHARED_PARAMETER_CONSTRAINTS,
    TRAINING_OPTION_CONSTRAINTS,
    BaseECGEmbedder,
    documents_training_options,
    fit_transaction,
)
from ._classifier import NetClassifierMixin
from .nn.data import ECGDataset
from .nn.finetune import EncoderWithHead, WeightedClassificationLoss, classifier_head


@documents_training_options
class SupervisedECGClassifier(NetClassifierMixin, BaseEstimator):
    """Train a method's encoder from scratch, with a linear head, on labelled ECGs.

    The baseline every self-supervised method is compared with: the same
    architecture, randomly initialised, trained end to end on the labels only.
    The encoder is the one ``embedder`` would pretrain (its ``build_encoder()``;
    projection heads and pretext losses are not built), applied to whole records;
    one ``nn.Linear`` maps the embedding to the classes.

    - 1-D ``y`` (binary or multiclass): cross-entropy, softmax probabilities.
    - 2-D ``y`` of 0/1 (multi-label, e.g. PTB-XL superclasses): one logit per
      column, binary cross-entropy, independent sigmoid probabilities.

    Parameters
    ----------
    embedder : BaseECGEmbedder
        An (unfitted) sklearn-ecg embedder, e.g. ``PCLRTransformer(...)``. Its
        architecture parameters, ``fs`` and ``leads`` are used; its training
        parameters (epochs, lr...) are not: those below apply.
    max_epochs : int, default=20
        Passes over the labelled ECGs.
    batch_size : int, default=64
        Labelled ECGs per batch.
    lr : float, default=1e-3
        AdamW learning rate.
    weight_decay : float, default=1e-2
        AdamW weight decay.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes (of each label's 0/1 for multi-label ``y``), as in
        scikit-learn; multiplied with ``fit``'s ``sample_weight``.
    device : str, default="auto"
        ``"auto"`` uses CUDA (with bfloat16 autocast at prediction) when available.
    random_state : int, RandomState or None, default=None
        Seeds the initialisation and the batch order.
    verbose : int, default=0
        Print skorch's epoch table with a progress bar.
    callbacks : list of skorch callbacks, optional
        skorch callbacks added to training after the method's own, e.g.
        ``EarlyStopping(monitor="train_loss")`` or ``Checkpoint``.

    Attributes
    ----------
    classes_ : ndarray
        Class labels (1-D ``y``) or column indices (multi-label ``y``).
    multilabel_ : bool
        Whether ``y`` was a 2-D 0/1 indicator matrix.
    embedder_ : BaseECGEmbedder
        The clone of ``embedder`` that describes the input (``n_leads_in_``...).
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_.encoder`` is the encoder, ``net_.module_.head`` the
        linear layer.
    loss_curve_ : list of float
        Mean training loss per epoch.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg import PCLRTransformer
    >>> from sklearn_ecg.supervised import SupervisedECGClassifier
    >>> from sklearn_ecg.datasets import make_synthetic_ecg
    >>> data = make_synthetic_ecg(n_patients=8, ecgs_per_patient=2, random_state=0)
    >>> clf = SupervisedECGClassifier(
    ...     PCLRTransformer(n_samples=256, filters=(8, 8, 8)), max_epochs=1, random_state=0)
    >>> proba = clf.fit(data.X, data.y).predict_proba(data.X)  # one column per class in y
    >>> proba.shape == (16, len(clf.classes_)) and bool(np.allclose(proba.sum(1), 1))
    True
    """

    def __init__(
        self,
        embedder: BaseECGEmbedder,
        *,
        max_epochs: int = 20,
        batch_size: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        class_weight: dict | str | None = None,
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
        self.embedder = embedder
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.class_weight = class_weight
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
        **{name: SHARED_PARAMETER_CONSTRAINTS[name] for name in (
            "max_epochs", "batch_size", "lr", "device", "random_state", "verbose", "callbacks")},
        **TRAINING_OPTION_CONSTRAINTS,
        "embedder": [HasMethods(["describe_input", "build_encoder", "input_batches"])],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    @fit_transaction
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> SupervisedECGClassifier:
        """Train encoder and head from a random initialisation on (X, y).

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
            ECGs in millivolts at the embedder's ``fs``.
        y : array-like of shape (n_ecgs,) or (n_ecgs, n_labels)
            Classes, or a 0/1 multi-label indicator matrix.
        sample_weight : array-like of shape (n_ecgs,), optional
            Weight of each ECG's loss.

        Returns
        -------
        self
        """
        self._validate_params()
        embedder = clone(self.embedder)
        X = embedder.describe_input(X)
        self._describe(embedder)
        targets = self._encode_targets(y)
        if len(targets) != len(X):
            raise ValueError(f"X has {len(X)} ECGs but y has {len(targets)} rows.")
        if len(X) < 2:
            raise ValueError(f"At least 2 labelled ECGs are needed, got {len(X)}.")
        n_outputs = len(self.classes_)
        self.net_ = _engine.train(
            self, lambda: _linear_classifier(embedder.build_encoder(), n_outputs),
            ECGDataset(X, targets=self._weighted_targets(targets, sample_weight)),
            fingerprint_data=(X, targets, sample_weight),
            criterion=WeightedClassificationLoss(self.multilabel_),
            optimizer=torch.optim.AdamW,  # weight_decay: applied by make_net
            # A last batch of one ECG breaks BatchNorm in training mode.
            drop_last=len(X) % self.batch_size == 1,
        )
        self.loss_curve_ = [float(v) for v in self.net_.history[:, "train_loss"]]
        return self

    def _rebuild_module(self) -> nn.Module:
        embedder = self._describe(self.embedder, source=self)
        return _linear_classifier(embedder.build_encoder(), self._n_outputs)


def _linear_classifier(encoder: nn.Module, n_outputs: int) -> EncoderWithHead:
    return EncoderWithHead(encoder, classifier_head(encoder.out_features, n_outputs, "linear"))
