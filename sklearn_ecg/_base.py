"""The estimator base every method shares (see DESIGN.md, "The estimator contract")."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch.utils.data import Dataset

from . import _engine
from ._persistence import PersistenceMixin
from ._validation import check_batch, check_ecg_array, check_fs, lead_indices, normalize_leads
from .nn.data import ECGDataset

#: Constraints of the parameters every estimator has (scikit-learn's declarative validation).
SHARED_PARAMETER_CONSTRAINTS: dict[str, list] = {
    "fs": [Interval(Real, 0, None, closed="neither")],
    "leads": ["array-like", str, None],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "device": [str, torch.device],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "callbacks": [list, None],
}

#: Constraints of the training-at-scale parameters (documented by :func:`documents_training_options`).
TRAINING_OPTION_CONSTRAINTS: dict[str, list] = {
    "optimizer": [StrOptions({"adam", "adamw", "sgd", "rmsprop"}), type, None],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    "checkpoint_dir": [str, os.PathLike, None],
    "num_workers": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
    "pin_memory": ["boolean", StrOptions({"auto"})],
    "mixed_precision": ["boolean"],
}

TRAINING_OPTIONS_DOC = """    optimizer : str, torch.optim.Optimizer subclass or None, default=None
        The optimizer: None keeps the method's own (as published); "adam", "adamw",
        "sgd", "rmsprop" or a class gets ``lr`` and ``weight_decay`` and torch's
        defaults for its other settings.
    validation_fraction : float in (0, 1) or None, default=None
        Share of the training items held out (seeded by ``random_state``) to measure the
        training loss on after every epoch: ``net_.history[:, "valid_loss"]``, which
        skorch's ``EarlyStopping(monitor="valid_loss")`` and ``Checkpoint`` use. None: every
        item trains.
    checkpoint_dir : str, path or None, default=None
        Directory where every epoch's state is written atomically (weights, optimizer,
        schedules, BYOL's EMA target, RNG states, history). A fit that finds there a
        checkpoint of the same parameters and data resumes after its last complete epoch
        and ends with the weights an uninterrupted fit has (exactly, on CPU); one of another
        fit raises a ValueError and is left untouched. User callbacks restart their own
        counters on resume.
    num_workers : int or "auto", default="auto"
        DataLoader worker processes reading training batches. "auto": none on CPU; up to 4
        on CUDA, and on other accelerators (mps) for lazy arrays (memmap, h5py, zarr) only.
        Workers do not change the result.
    pin_memory : bool or "auto", default="auto"
        Page-locked batches for faster copies to the GPU; "auto": on CUDA.
    mixed_precision : bool, default=True
        bfloat16 autocast on CUDA in fit and transform (weights stay float32); False
        runs float32 throughout. No effect on CPU.
"""


def _option_entries() -> dict[str, str]:
    """:data:`TRAINING_OPTIONS_DOC` split into its parameters' entries, by name."""
    starts = list(re.finditer(r"^    (\w+) : ", TRAINING_OPTIONS_DOC, flags=re.MULTILINE))
    ends = [m.start() for m in starts[1:]] + [len(TRAINING_OPTIONS_DOC)]
    return {m.group(1): TRAINING_OPTIONS_DOC[m.start():end] for m, end in zip(starts, ends)}


def documents_training_options(cls: type | None = None, *, names: Sequence[str] | None = None) -> Any:
    """Class decorator: add the entries of :data:`TRAINING_OPTIONS_DOC` (all, or those in
    ``names``) to the end of the Parameters section (before "Attributes") of an estimator
    with the training-at-scale parameters."""

    def decorate(cls: type) -> type:
        entries = _option_entries()
        text = "".join(entries[name] for name in (names or entries))
        doc = cls.__doc__ or ""
        marker = "\n    Attributes\n    ----------"
        if marker not in doc:
            raise TypeError(f"{cls.__name__}'s docstring has no Attributes section to insert before.")
        head, tail = doc.split(marker, 1)
        cls.__doc__ = head.rstrip("\n") + "\n" + text + marker + tail
        return cls

    return decorate if cls is None else decorate(cls)


def fit_transaction(fit: Callable) -> Callable:
    """Make a fit method all-or-nothing: if it raises (bad input, a NaN loss, Ctrl-C), the
    estimator is restored exactly as it was, so a failed refit keeps the previous model and a
    failed first fit leaves the estimator unfitted. The exception propagates."""

    @functools.wraps(fit)
    def transactional_fit(self, *args: Any, **kwargs: Any) -> Any:
        before = dict(vars(self))
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise

    return transactional_fit


class BaseECGEmbedder(PersistenceMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared machinery of the self-supervised ECG embedders.

    A method subclass declares ``_parameter_constraints`` (merged with
    :data:`SHARED_PARAMETER_CONSTRAINTS`) and implements:

    - :meth:`build_encoder`: a freshly initialised encoder for the described input,
      an ``nn.Module`` mapping (n, n_leads_in_, samples) to (n, out_features);
    - ``_build_objective(encoder)``: the torch module pretrained in ``fit`` (from
      :mod:`sklearn_ecg.nn`), holding ``encoder`` as its attribute ``encoder`` and
      returning the loss from ``forward``. It may use what ``_make_train_dataset``
      learnt about the data (fit-time only).

    and may override ``_make_train_dataset`` (how training items are drawn),
    ``_net_options`` (optimizer, its parameters, callbacks), ``_embed_batch``
    (windowing at transform time), ``_min_samples`` and ``_check_method_params``
    (rules across parameters). Input checks, seeding, devices, fault handling,
    batched inference and lead handling live here and in the engine; ``save``/``load``
    in :class:`~sklearn_ecg._persistence.PersistenceMixin`.
    """

    _parameter_constraints: dict = {**SHARED_PARAMETER_CONSTRAINTS, **TRAINING_OPTION_CONSTRAINTS}
    # Whether a model fitted on some leads can embed a subset (missing leads zero-filled).
    _allows_missing_leads: bool = False
    # Fitted attributes (beyond the shared ones) that ``save``/``load`` must keep.
    _extra_fitted_attrs: tuple[str, ...] = ()

    # -- hooks for subclasses ------------------------------------------------------------------
    def build_encoder(self) -> torch.nn.Module:
        """A freshly initialised encoder for the input described by :meth:`describe_input`.

        Its ``forward`` maps float32 tensors (n, n_leads_in_, samples) in mV to
        embeddings (n, out_features), and ``out_features`` gives their width. This
        is the network ``fit`` pretrains (available afterwards as ``encoder_``);
        other estimators (:class:`~sklearn_ecg.SupervisedECGClassifier`) train it
        from scratch. Draws its initial weights from torch's global RNG.
        """
        raise NotImplementedError

    def _build_objective(self, encoder: torch.nn.Module) -> torch.nn.Module:
        raise NotImplementedError

    def _min_samples(self) -> int:
        return 1

    def _check_method_params(self) -> None:
        """Raise ValueError for invalid combinations of parameters (constraints check each alone)."""

    def _make_train_dataset(self, X: Any, y: Any = None, **fit_params: Any) -> Dataset:
        if fit_params:
            raise TypeError(f"Unexpected fit parameters: {sorted(fit_params)}.")
        return ECGDataset(X)

    def _net_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`sklearn_ecg._engine.make_net`: optimizer, its parameters,
        the method's own callbacks."""
        return {}

    def _embed_batch(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder_(x)

    # -- input ---------------------------------------------------------------------------------
    def describe_input(self, X: Any) -> Any:
        """Check ``X`` and record what the encoder is built for; returns the checked ``X``.

        The first step of ``fit``, public so that other estimators can build this
        method's encoder for their input (``describe_input(X)``, then
        :meth:`build_encoder`). Sets ``fs_in_``, ``leads_in_``, ``n_leads_in_`` and
        ``n_samples_in_``; in-memory X comes back as float32, lazy array-likes as
        they are (read batch by batch later).
        """
        X = check_ecg_array(X, min_samples=self._min_samples())
        self.fs_in_ = check_fs(self.fs)
        self.leads_in_ = list(normalize_leads(self.leads, X.shape[1]))
        self.n_leads_in_ = int(X.shape[1])
        self.n_samples_in_ = int(X.shape[2])
        return X

    def _lead_map(self, n_leads: int, leads: Sequence[str] | None) -> list[int | None]:
        """For each fitted lead, its index in the new input (None: zero-filled)."""
        if leads is None:
            if n_leads != self.n_leads_in_:
                raise ValueError(
                    f"X has {n_leads} leads but the model was fitted on {self.n_leads_in_} "
                    f"({self.leads_in_}); pass `leads=` to name the leads of X."
                )
            return list(range(n_leads))
        given = normalize_leads(leads, n_leads)
        unknown = [name for name in given if name not in self.leads_in_]
        if unknown:
            raise ValueError(
                f"Leads {unknown} were not seen during fit; the model knows {self.leads_in_}."
            )
        mapping = lead_indices(given, self.leads_in_)
        missing = [lead for lead, idx in zip(self.leads_in_, mapping) if idx is None]
        if missing and not self._allows_missing_leads:
            raise ValueError(
                f"{type(self).__name__} needs every lead it was fitted on; missing {missing}. "
                "Only lead-agnostic methods (W2VCMSCTransformer) accept a subset of leads."
            )
        return mapping

    def input_batches(self, X: Any, leads: Sequence[str] | None = None, fs: float | None = None,
                      batch_size: int | None = None) -> Iterator[torch.Tensor]:
        """Check ``X`` against the described input and yield it as float32 tensors
        (batch, n_leads_in_, samples) in the fitted lead order, missing leads zero-filled.

        What ``transform`` feeds the encoder; public for estimators built on this
        one. ``leads`` names the leads of X when they differ from the fitted ones;
        ``fs`` is only checked. Shape, lead and rate errors are raised here, at
        once; NaN/inf as each batch is read.
        """
        check_is_fitted(self, "n_leads_in_")
        X = check_ecg_array(X, min_samples=self._min_samples(), check_finite=False)
        if fs is not None and check_fs(fs) != self.fs_in_:
            raise ValueError(
                f"X is sampled at {fs} Hz but the model was fitted at {self.fs_in_} Hz; "
                "resample it first (sklearn_ecg.preprocessing.Resample)."
            )
        mapping = self._lead_map(X.shape[1], leads)
        return self._read_batches(X, mapping, batch_size or self.batch_size)

    def _read_batches(self, X: Any, mapping: list[int | None], batch_size: int) -> Iterator[torch.Tensor]:
        identity = mapping == list(range(len(mapping)))
        for start in range(0, len(X), batch_size):
            batch = check_batch(np.asarray(X[start : start + batch_size]), offset=start)
            if not identity:
                full = np.zeros((len(batch), self.n_leads_in_, batch.shape[2]), dtype=np.float32)
                for target, source in enumerate(mapping):
                    if source is not None:
                        full[:, target] = batch[:, source]
                batch = full
            yield torch.from_numpy(batch)

    # -- fitting -------------------------------------------------------------------------------
    def _validate_all_params(self) -> None:
        self._validate_params()
        self._check_method_params()

    @fit_transaction
    def _fit(self, X: Any, y: Any = None, **fit_params: Any) -> BaseECGEmbedder:
        self._validate_all_params()
        X = self.describe_input(X)
        dataset = self._make_train_dataset(X, y, **fit_params)
        self.net_ = _engine.train(
            self, lambda: self._build_objective(self.build_encoder()), dataset,
            fingerprint_data=(X, y, *fit_params.values()),
            # A last batch of one or two items has no negatives and breaks BatchNorm.
            drop_last=len(dataset) > self.batch_size, **self._net_options(),
        )
        self.loss_curve_ = [float(v) for v in self.net_.history[:, "train_loss"]]
        self._n_features_out = int(self.encoder_.out_features)
        return self

    def fit(self, X: Any, y: Any = None) -> BaseECGEmbedder:
        """Pretrain the encoder on unlabelled ECGs.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
            ECGs in millivolts, sampled at ``fs``; a 2-D array is one lead.
            Lazy array-likes (np.memmap, h5py, zarr) are read batch by batch.
        y : None
            Ignored; present for Pipeline compatibility.

        Returns
        -------
        self
        """
        return self._fit(X, y)

    def training_dataset(self, X: Any, y: Any = None, **fit_params: Any) -> Dataset:
        """The torch dataset of training items ``fit(X, y, **fit_params)`` draws from: for
        inspecting or timing the data pipeline (``net_.get_iterator(dataset, training=True)``
        on a fitted estimator reads it as ``fit`` does). Describes the input first."""
        self._validate_all_params()
        return self._make_train_dataset(self.describe_input(X), y, **fit_params)

    @property
    def encoder_(self) -> torch.nn.Module:
        """The pretrained encoder (an ``nn.Module``, see :meth:`build_encoder`) of a fitted embedder."""
        check_is_fitted(self, "net_")
        return self.net_.module_.encoder

    # -- transforming --------------------------------------------------------------------------
    def transform(
        self, X: Any, leads: Sequence[str] | None = None, fs: float | None = None
    ) -> np.ndarray:
        """Embed ECGs with the pretrained encoder (batched, gradients off).

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
            ECGs in millivolts at the sampling rate seen in ``fit``.
        leads : list of str, optional
            Names of the leads of X when they differ from those seen in fit.
        fs : float, optional
            Sampling rate of X; only checked against the one seen in fit.

        Returns
        -------
        embeddings : ndarray of shape (n_ecgs, n_features_out), float32
        """
        return self._apply_encoder(self._embed_batch, X, leads, fs)

    def _apply_encoder(self, function: Callable[[torch.Tensor], torch.Tensor], X: Any,
                       leads: Sequence[str] | None, fs: float | None) -> np.ndarray:
        """``function`` (the encoder, or part of it) over the checked batches of X, in eval mode."""
        check_is_fitted(self, "net_")
        batches = self.input_batches(X, leads=leads, fs=fs)
        self.net_.module_.eval()
        return _engine.predict_batches(function, batches, str(self.net_.device),
                                       getattr(self, "mixed_precision", True))

    # -- persistence ---------------------------------------------------------------------------
    def _fitted_names(self) -> tuple[str, ...]:
        return ("fs_in_", "leads_in_", "n_leads_in_", "n_samples_in_", "loss_curve_",
                *self._extra_fitted_attrs)

    @classmethod
    def from_encoder(cls, encoder_state: Mapping[str, torch.Tensor], *, record_length: int,
                     fitted: Mapping[str, Any] | None = None, device: str = "auto",
                     **params: Any) -> BaseECGEmbedder:
        """A fitted embedder whose encoder holds ``encoder_state``, e.g. published weights
        converted to this library's layout (``encoder_.state_dict()`` keys).

        ``transform`` works at once, fine-tuning starts from these weights and ``save``
        writes them. ``params`` are the estimator's parameters (architecture, ``fs``,
        ``leads``); the input is described as ECGs of ``len(leads)`` leads and
        ``record_length`` samples at ``fs``. The pretraining heads, which published
        encoders lack, are freshly initialised (seeded by ``random_state``);
        ``loss_curve_`` is empty. ``fitted`` sets the method's other fitted attributes
        (those its objective needs, e.g. W2V's ``gumbel_decay_``). A key or shape that
        does not match raises torch's error naming them.
        """
        estimator = cls(**params).set_params(device=device)
        estimator._validate_all_params()
        n_leads = len(normalize_leads(estimator.leads, None)) if estimator.leads is not None else 12
        estimator.describe_input(np.zeros((1, n_leads, record_length), dtype=np.float32))
        estimator.loss_curve_ = []
        for name, value in (fitted or {}).items():
            if name not in estimator._fitted_names():
                raise ValueError(f"{name!r} is not a fitted attribute of {cls.__name__}; expected one of "
                                 f"{list(estimator._fitted_names())}.")
            setattr(estimator, name, value)
        with _engine.seeded(_engine.draw_seed(estimator.random_state), "cpu"):
            module = estimator._rebuild_module()
        module.encoder.load_state_dict(dict(encoder_state))
        return estimator._attach(module)

    def _rebuild_module(self) -> torch.nn.Module:
        """A fresh objective (encoder inside) for the described input: what ``load`` and
        ``from_encoder`` put the weights into."""
        return self._build_objective(self.build_encoder())

    def _attach(self, module: torch.nn.Module) -> BaseECGEmbedder:
        """Make ``module`` (weights loaded) this estimator's trained net, on its device."""
        net = _engine.make_net(self, module, **self._net_options())
        net.initialize()
        net.module_.to(net.device)
        self.net_ = net
        self._n_features_out = int(self.encoder_.out_features)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.non_deterministic = False
        return tags

