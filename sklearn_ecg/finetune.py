"""Fine-tuning a pretrained encoder on labels, in the two published stages (Mehari & Strodthoff 2022)."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import warnings
from numbers import Integral, Real
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _engine
from ._base import (
    SHARED_PARAMETER_CONSTRAINTS,
    TRAINING_OPTION_CONSTRAINTS,
    BaseECGEmbedder,
    documents_training_options,
    fit_transaction,
)
from ._checkpoint import fit_fingerprint
from ._classifier import NetClassifierMixin
from ._persistence import CONFIG_FILE, _encode_params, _library_class
from ._validation import check_ecg_array
from .callbacks import BestValidationScore
from .evaluation import macro_roc_auc
from .nn.data import RandomCropDataset
from .nn.finetune import (
    HEADS,
    EncoderWithHead,
    WeightedClassificationLoss,
    classifier_head,
    discriminative_param_groups,
)
from .nn.windows import average_windows, sliding_windows


@documents_training_options(names=("num_workers", "pin_memory", "mixed_precision"))
class FineTunedECGClassifier(NetClassifierMixin, BaseEstimator):
    """A pretrained encoder and a head trained on labels: linear evaluation, then fine-tuning.

    The published protocol of Mehari & Strodthoff (2022; also Oh et al. 2022):

    1. **head** (``head_epochs``): the pretrained encoder is frozen (weights, BatchNorm
       statistics and dropout), only the head learns: linear evaluation;
    2. **fine-tuning** (``finetune_epochs``): encoder and head learn together, with
       discriminative learning rates: the head at ``finetune_lr``, each group of encoder
       layers lower by ``lr_factor`` per group from the top (CPC: LSTM at 0.1, convolutions
       at 0.01 of the head's rate; xresnet1d: each pair of residual blocks at 1/4 of the
       rate above; see :func:`sklearn_ecg.nn.finetune.layer_groups`).

    Either stage can be switched off (0 epochs): ``finetune_epochs=0`` is linear
    evaluation, ``head_epochs=0`` fine-tunes from a random head. With validation data
    (``validation_fraction`` or ``fit(..., validation_data=...)``) each stage keeps its
    epoch of best validation macro ROC AUC (the paper picks epochs on fold 9), and stops
    after ``patience`` epochs without improvement; fine-tuning starts from the best head.

    Window-based methods (CPC, SimCLR, BYOL: an embedder with a ``window`` parameter) train
    on a random ``window``-sample crop of each record per epoch and predict a record by
    averaging the probabilities of its windows, ``window_stride`` apart (250 and 125 in the
    paper); the others see whole records.

    Parameters
    ----------
    embedder : fitted sklearn-ecg embedder, or str / path
        The pretrained embedder (e.g. ``SimCLRTransformer().fit(X)``, one loaded with
        ``.load()`` or from :mod:`sklearn_ecg.pretrained`), or the directory one was saved
        to. It is never modified: fitting copies its encoder. Clones of this classifier
        share it (see Notes), so the pretrained weights survive ``clone``, ``GridSearchCV``
        and ``cross_val_score``.
    head : {"published", "linear"}, default="published"
        ``"published"``: BatchNorm, Dropout 0.25, Linear 512, ReLU, BatchNorm, Dropout 0.5,
        Linear (the fine-tuning head of the published code, on the encoder's pooled
        features, e.g. CPC's concatenated mean, max and last LSTM outputs); ``"linear"``:
        one linear layer (the paper's linear evaluation).
    head_epochs : int, default=50
        Epochs of the head-only stage (paper: 50).
    finetune_epochs : int, default=20
        Epochs of the whole network (paper, CPC: 20).
    lr : float, default=1e-3
        AdamW learning rate of the head-only stage (paper, CPC: 1e-3).
    finetune_lr : float, default=1e-4
        AdamW learning rate of the head in the fine-tuning stage (paper, CPC: 1e-4; its
        SimCLR/BYOL evaluation used 1e-2 with weight decay 0.1).
    lr_factor : float or None, default=None
        Learning-rate factor between consecutive encoder layer groups in fine-tuning;
        None: the method's published factor (0.1 for CPC, 0.25 otherwise; for encoders
        the papers do not fine-tune this way, 0.25 is our choice). 1 gives one rate.
    weight_decay : float, default=1e-3
        AdamW weight decay (paper, CPC: 1e-3).
    batch_size : int, default=128
        Records (or windows) per batch (paper: 128).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes (of each label's 0/1 for multi-label ``y``), as in
        scikit-learn; multiplied with ``sample_weight``.
    validation_fraction : float or None, default=None
        Share of the labelled ECGs held out (stratified for 1-D ``y``) to pick the best
        epoch of each stage; None uses ``validation_data`` if given, else the last epoch.
    patience : int or None, default=None
        Stop a stage after this many epochs without a better validation score.
    device : str, default="auto"
        ``"auto"`` uses CUDA (with bfloat16 mixed precision) when available, else the CPU.
    random_state : int, RandomState or None, default=None
        Seeds the head, the crops, the batch order and the validation split.
    verbose : int, default=0
        1 prints skorch's epoch table with batch progress bars; 0 is silent.
    callbacks : list of skorch callbacks, optional
        Added to both stages.
    checkpoint_dir : str, path or None, default=None
        Directory where each stage writes every epoch's state atomically (its subfolders
        ``head`` and ``finetune``). A fit that finds there the checkpoints of the same
        parameters, pretrained weights and data resumes after the last complete epoch, with
        the weights of an uninterrupted fit (exactly, on CPU); another fit's raise a ValueError.

    Attributes
    ----------
    classes_ : ndarray
        Class labels (1-D ``y``) or column indices (multi-label ``y``).
    multilabel_ : bool
    net_ : skorch.NeuralNet
        The net of the last stage that ran; ``net_.module_`` holds ``encoder`` and ``head``.
    embedder_ : BaseECGEmbedder
        An unfitted clone of the embedder that describes the input (leads, rate), used to
        check X at prediction.
    fs_in_, leads_in_, n_leads_in_, n_samples_in_ : float, list, int, int
        The input the embedder was fitted on, which X must match.
    embedder_config_ : dict
        The embedder's class and (JSON) parameters, from which ``load`` rebuilds the
        architecture.
    loss_curve_ : list of float
        Mean training loss per epoch, both stages one after the other.
    validation_scores_ : list of float
        Validation macro ROC AUC per epoch, both stages (empty without validation data).
    best_epochs_ : dict
        The epoch (1-based) kept in each stage that ran.

    Notes
    -----
    ``clone`` keeps the ``embedder`` object itself (not an unfitted copy, as scikit-learn
    would), so that model selection refits from the same pretrained weights. Setting
    ``embedder__...`` parameters therefore changes the shared embedder's parameters
    (never its weights); tune this classifier's own parameters instead.

    A fitted classifier saves and loads like the embedders (``save(dir)``,
    ``FineTunedECGClassifier.load(dir)``: safetensors + JSON). The loaded classifier
    predicts as saved; its ``embedder`` parameter comes back unfitted (the weights it
    started from are not saved), so refitting it needs the pretrained embedder again.

    Examples
    --------
    >>> from sklearn_ecg import FineTunedECGClassifier, SimCLRTransformer
    >>> from sklearn_ecg.datasets import make_synthetic_ecg
    >>> data = make_synthetic_ecg(n_patients=12, ecgs_per_patient=1, fs=100, random_state=0)
    >>> emb = SimCLRTransformer(layers=(1, 1), widths=(8, 8), stem_widths=(8, 8, 16), max_epochs=1,
    ...                         batch_size=8, random_state=0).fit(data.X)
    >>> clf = FineTunedECGClassifier(emb, head_epochs=2, finetune_epochs=2, batch_size=8,
    ...                              random_state=0).fit(data.X, data.y)
    >>> clf.predict_proba(data.X).shape == (12, len(clf.classes_))
    True
    """

    _parameter_constraints: dict = {
        **{name: SHARED_PARAMETER_CONSTRAINTS[name] for name in (
            "batch_size", "lr", "device", "random_state", "verbose", "callbacks")},
        "embedder": [HasMethods(["input_batches", "build_encoder"]), str, os.PathLike],
        "head": [StrOptions(set(HEADS))],
        "head_epochs": [Interval(Integral, 0, None, closed="left")],
        "finetune_epochs": [Interval(Integral, 0, None, closed="left")],
        "finetune_lr": [Interval(Real, 0, None, closed="neither")],
        "lr_factor": [Interval(Real, 0, 1, closed="right"), None],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        **{name: TRAINING_OPTION_CONSTRAINTS[name] for name in ("checkpoint_dir", "num_workers",
                                                                 "pin_memory", "mixed_precision")},
    }

    def __init__(
        self,
        embedder: BaseECGEmbedder | str | os.PathLike,
        *,
        head: str = "published",
        head_epochs: int = 50,
        finetune_epochs: int = 20,
        lr: float = 1e-3,
        finetune_lr: float = 1e-4,
        lr_factor: float | None = None,
        weight_decay: float = 1e-3,
        batch_size: int = 128,
        class_weight: dict | str | None = None,
        validation_fraction: float | None = None,
        patience: int | None = None,
        device: str = "auto",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        callbacks: list | None = None,
        checkpoint_dir: str | os.PathLike | None = None,
        num_workers: int | str = "auto",
        pin_memory: bool | str = "auto",
        mixed_precision: bool = True,
    ):
        self.embedder = embedder
        self.head = head
        self.head_epochs = head_epochs
        self.finetune_epochs = finetune_epochs
        self.lr = lr
        self.finetune_lr = finetune_lr
        self.lr_factor = lr_factor
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.class_weight = class_weight
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.checkpoint_dir = checkpoint_dir
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.mixed_precision = mixed_precision

    def __sklearn_clone__(self) -> FineTunedECGClassifier:
        # The pretrained embedder is shared, not cloned: a clone must start from its weights.
        params = self.get_params(deep=False)
        embedder = params.pop("embedder")
        return type(self)(embedder, **{name: clone(value, safe=False) for name, value in params.items()})

    # -- the pretrained embedder ---------------------------------------------------------------
    def _pretrained(self) -> BaseECGEmbedder:
        if not isinstance(self.embedder, (str, os.PathLike)):
            check_is_fitted(self.embedder, "net_", msg="embedder must be a fitted (pretrained) embedder: "
                            "fit it first, load it, or pass the directory it was saved to.")
            return self.embedder
        config_file = Path(self.embedder) / CONFIG_FILE
        if not config_file.is_file():
            raise ValueError(f"embedder={str(self.embedder)!r}: {config_file} not found; pass a fitted "
                             "embedder or a directory written by its save().")
        cls = _embedder_class(json.loads(config_file.read_text()).get("estimator"), config_file)
        return cls.load(self.embedder, device=self.device)

    def _windows(self, embedder: BaseECGEmbedder) -> tuple[int | None, int | None]:
        params = embedder.get_params()
        return params.get("window"), params.get("window_stride")

    # -- fitting -------------------------------------------------------------------------------
    @fit_transaction
    def fit(self, X: Any, y: Any, sample_weight: Any = None, validation_data: Any = None
            ) -> FineTunedECGClassifier:
        """Train the head, then the whole network, from the pretrained encoder.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
            ECGs in millivolts, with the leads and rate the embedder was fitted on.
        y : array-like of shape (n_ecgs,) or (n_ecgs, n_labels)
            Classes, or a 0/1 multi-label indicator matrix.
        sample_weight : array-like of shape (n_ecgs,), optional
        validation_data : (X_val, y_val), optional
            Held-out ECGs to pick each stage's best epoch (instead of ``validation_fraction``).

        Returns
        -------
        self
        """
        self._validate_params()
        if self.head_epochs == 0 and self.finetune_epochs == 0:
            raise ValueError("head_epochs and finetune_epochs are both 0: nothing to train.")
        embedder = self._pretrained()
        self._describe(embedder)
        self.embedder_config_ = {"estimator": type(embedder).__name__,
                                 "params": _encode_params(self.embedder_)[0]}
        X = check_ecg_array(X)
        self.embedder_.input_batches(X[:1])  # leads, rate and length as the embedder needs
        targets = self._encode_targets(y)
        if len(targets) != len(X):
            raise ValueError(f"X has {len(X)} ECGs but y has {len(targets)} rows.")
        weighted = self._weighted_targets(targets, sample_weight)
        if validation_data is not None and self.validation_fraction is not None:
            raise ValueError("Pass validation_data or validation_fraction, not both.")
        train_rows, valid_rows = self._validation_split(targets, self.validation_fraction)
        if validation_data is not None:
            X_valid, y_valid = self._encode_validation(validation_data)
        elif valid_rows is not None:
            X_valid, y_valid = X[valid_rows], targets[valid_rows]
        else:
            X_valid = y_valid = None
        window, stride = self._windows(embedder)
        dataset = RandomCropDataset(X, window, indices=train_rows, targets=weighted)
        stage_seeds = check_random_state(self.random_state).randint(np.iinfo(np.int32).max, size=2)
        encoder = copy.deepcopy(embedder.encoder_).cpu()
        fingerprint = (None if self.checkpoint_dir is None else
                       self._checkpoint_fingerprint(encoder, X, targets, sample_weight, X_valid, y_valid))
        module: EncoderWithHead | None = None
        self.loss_curve_, self.validation_scores_, self.best_epochs_ = [], [], {}
        for stage, epochs, lr, seed in (("head", self.head_epochs, self.lr, stage_seeds[0]),
                                        ("finetune", self.finetune_epochs, self.finetune_lr, stage_seeds[1])):
            if epochs == 0:
                continue
            settings = SimpleNamespace(max_epochs=epochs, lr=lr, batch_size=self.batch_size,
                                       device=self.device, random_state=int(seed), verbose=self.verbose,
                                       callbacks=self.callbacks, num_workers=self.num_workers,
                                       pin_memory=self.pin_memory, mixed_precision=self.mixed_precision,
                                       checkpoint_dir=None if self.checkpoint_dir is None else
                                       Path(self.checkpoint_dir) / stage)
            if module is None:
                module = self._new_module(encoder, settings, len(self.classes_))
            module.freeze_encoder = stage == "head"
            module.encoder.requires_grad_(stage != "head")
            callbacks = []
            if X_valid is not None:
                selection = BestValidationScore(self._validation_score(X_valid, y_valid, window, stride),
                                                self.patience)
                callbacks.append((f"best_{stage}_epoch", selection))
            optimizer_params: dict[str, Any] = {"weight_decay": self.weight_decay}
            if stage == "finetune":
                optimizer_params["param_groups"] = discriminative_param_groups(module, lr, self.lr_factor)
            net = _engine.train(settings, lambda m=module: m, dataset,
                                criterion=WeightedClassificationLoss(self.multilabel_),
                                optimizer=torch.optim.AdamW, optimizer_params=optimizer_params,
                                callbacks=callbacks, drop_last=len(dataset) % self.batch_size == 1,
                                checkpoint_fingerprint=fingerprint and f"{fingerprint} stage={stage}")
            self.loss_curve_ += [float(v) for v in net.history[:, "train_loss"]]
            if X_valid is not None:
                self.validation_scores_ += [float(v) for v in net.history[:, "valid_score"]]
                self.best_epochs_[stage] = selection.best_epoch_
            else:
                self.best_epochs_[stage] = len(net.history)
            module.freeze_encoder = False
            self.net_ = net
        return self

    def _checkpoint_fingerprint(self, encoder: torch.nn.Module, *data: Any) -> str:
        """The parameters and data (:func:`~sklearn_ecg._checkpoint.fit_fingerprint`) and the
        pretrained weights fine-tuning starts from."""
        digest = hashlib.sha256()
        for name, tensor in sorted(encoder.state_dict().items()):
            digest.update(name.encode() + tensor.detach().cpu().contiguous().numpy().tobytes())
        return f"{fit_fingerprint(self, *data)} encoder={digest.hexdigest()}"

    def _new_module(self, encoder: torch.nn.Module, settings: SimpleNamespace, n_outputs: int
                    ) -> EncoderWithHead:
        device = _engine.resolve_device(self.device)
        with _engine.seeded(settings.random_state, device):
            head = classifier_head(encoder.out_features, n_outputs, self.head)
        return EncoderWithHead(encoder, head)

    # -- persistence ---------------------------------------------------------------------------
    def _fitted_names(self) -> tuple[str, ...]:
        return (*super()._fitted_names(), "validation_scores_", "best_epochs_", "embedder_config_")

    def _rebuild_module(self) -> torch.nn.Module:
        cls = _embedder_class(self.embedder_config_["estimator"], "embedder_config_")
        embedder = self._describe(cls(**self.embedder_config_["params"]), source=self)
        encoder = embedder.build_encoder()
        return EncoderWithHead(encoder, classifier_head(encoder.out_features, self._n_outputs, self.head))

    # -- prediction ----------------------------------------------------------------------------
    def _validation_score(self, X_valid: Any, y_valid: np.ndarray, window: int | None,
                          stride: int | None):
        def score(net: Any) -> float:
            batches = self.embedder_.input_batches(X_valid, batch_size=self.batch_size)
            proba = self._record_probabilities(net, batches, window, stride)
            with warnings.catch_warnings():  # a small validation set may miss a class
                warnings.filterwarnings("ignore", message=".*left out of the macro ROC AUC")
                return macro_roc_auc(y_valid, proba)
        return score

    def _record_probabilities(self, net: Any, batches: Any, window: int | None, stride: int | None
                              ) -> np.ndarray:
        """Class probabilities per record: of the record itself, or the mean over its windows."""
        module = net.module_
        was_training = module.training
        module.eval()
        to_probabilities = torch.sigmoid if self.multilabel_ else (lambda z: torch.softmax(z, dim=1))

        def per_batch(x: torch.Tensor) -> torch.Tensor:
            if window is None or x.shape[-1] == window:
                return to_probabilities(module(x).float())
            windows, n_windows = sliding_windows(x, window, stride or window)
            chunks = [to_probabilities(module(windows[i:i + self.batch_size]).float())
                      for i in range(0, len(windows), self.batch_size)]
            return average_windows(torch.cat(chunks), n_windows)

        try:
            return _engine.predict_batches(per_batch, batches, str(net.device), self.mixed_precision)
        finally:
            module.train(was_training)

    def _logits(self, X: Any) -> np.ndarray:
        # Log-probabilities (log-odds per label when multi-label) of the record-level
        # probabilities, so that predict_proba's softmax/sigmoid gives those probabilities back.
        check_is_fitted(self, "net_")
        window, stride = self._windows(self.embedder_)
        batches = self.embedder_.input_batches(X, batch_size=self.batch_size)
        proba = np.clip(self._record_probabilities(self.net_, batches, window, stride).astype(np.float64),
                        1e-12, 1 - 1e-12)
        logits = np.log(proba) - np.log1p(-proba) if self.multilabel_ else np.log(proba)
        return logits.astype(np.float32)



def _embedder_class(name: Any, source: Any) -> type[BaseECGEmbedder]:
    """The sklearn-ecg embedder class called ``name`` (read from ``source``, named in errors)."""
    cls = _library_class(name, source)
    if not issubclass(cls, BaseECGEmbedder):
        raise ValueError(f"{source} names {name!r}, not a sklearn-ecg embedder.")
    return cls
