"""The estimator base every method shares (see DESIGN.md, "The estimator contract")."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import ProgressBar
from torch.utils.data import Dataset

from ._net import ECGDataset, ReturnedLoss, SelfSupervisedNet, autocast_context, resolve_device
from ._validation import (
    check_batch,
    check_ecg_array,
    check_fs,
    lead_indices,
    normalize_leads,
)

# Estimator parameters every method has, with the checks fit applies to them.
_POSITIVE_INT_PARAMS = ("max_epochs", "batch_size")


class BaseECGEmbedder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared machinery of the self-supervised ECG embedders.

    A subclass implements:

    - ``_build_module()``: the torch module to pretrain, built from the fitted
      input description (``n_leads_in_``, ``n_samples_in_``, ``fs_in_``). Its
      ``forward(batch)`` returns the training loss and its ``embed(x)`` maps a
      float tensor (n, n_leads_in_, samples) to embeddings (n, dim).
    - ``_embedding_dim()``: the width of ``transform``'s output.

    and may override ``_make_train_dataset`` (how training items are drawn),
    ``_embed_batch`` (windowing, resampling at transform time), ``_min_samples``
    and ``_extra_callbacks``. Everything else (input checks, seeding, devices,
    progress bars, batched inference, lead handling, persistence) lives here.

    Parameters shared by all methods are documented in each subclass.
    """

    # Whether a model fitted on some leads can embed a subset (missing leads zero-filled).
    _allows_missing_leads: bool = False
    # Fitted attributes (beyond the shared ones) that ``save``/``load`` must keep.
    _extra_fitted_attrs: tuple[str, ...] = ()

    # -- hooks for subclasses ------------------------------------------------------------------
    def _build_module(self) -> torch.nn.Module:
        raise NotImplementedError

    def _embedding_dim(self) -> int:
        raise NotImplementedError

    def _min_samples(self) -> int:
        return 1

    def _check_method_params(self) -> None:
        """Raise ValueError for invalid method-specific parameters."""

    def _make_train_dataset(self, X: Any, y: Any = None, **fit_params: Any) -> Dataset:
        if fit_params:
            raise TypeError(f"Unexpected fit parameters: {sorted(fit_params)}.")
        return ECGDataset(X)

    def _extra_callbacks(self) -> list:
        return []

    def _embed_batch(self, x: torch.Tensor) -> torch.Tensor:
        return self.net_.module_.embed(x)

    def _optimizer(self) -> type[torch.optim.Optimizer]:
        return torch.optim.Adam

    def _optimizer_params(self) -> dict[str, Any]:
        return {}

    # -- fitting -------------------------------------------------------------------------------
    def _check_params(self) -> None:
        for name in _POSITIVE_INT_PARAMS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if not (isinstance(self.lr, (float, int)) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}.")
        self._check_method_params()

    def _describe_input(self, X: Any) -> Any:
        X = check_ecg_array(X, min_samples=self._min_samples())
        self.fs_in_ = check_fs(self.fs)
        self.leads_in_ = list(normalize_leads(self.leads, X.shape[1]))
        self.n_leads_in_ = int(X.shape[1])
        self.n_samples_in_ = int(X.shape[2])
        return X

    def _seed(self) -> int:
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _make_net(self, module: torch.nn.Module, device: str, n_items: int = 0
                  ) -> SelfSupervisedNet:
        callbacks = list(self._extra_callbacks()) + list(self.callbacks or [])
        if self.verbose:
            callbacks.append(("progress", ProgressBar()))
        return SelfSupervisedNet(
            module,
            criterion=ReturnedLoss,
            optimizer=self._optimizer(),
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=None,
            iterator_train__shuffle=True,
            # A last batch of one or two items has no negatives and breaks BatchNorm.
            iterator_train__drop_last=n_items > self.batch_size,
            callbacks=callbacks or None,
            device=device,
            verbose=int(bool(self.verbose)),
            mixed_precision=True,
            **{f"optimizer__{k}": v for k, v in self._optimizer_params().items()},
        )

    def _fit(self, X: Any, y: Any = None, **fit_params: Any) -> BaseECGEmbedder:
        self._check_params()
        X = self._describe_input(X)
        device = resolve_device(self.device)
        devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self._seed())
            dataset = self._make_train_dataset(X, y, **fit_params)
            self.net_ = self._make_net(self._build_module(), device, len(dataset))
            self.net_.fit(dataset, None)
        self.loss_curve_ = [float(v) for v in self.net_.history[:, "train_loss"]]
        self._n_features_out = self._embedding_dim()
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

    # -- transforming --------------------------------------------------------------------------
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

    def _iter_batches(self, X: Any, mapping: list[int | None], batch_size: int):
        """Yield float32 tensors (batch, n_leads_in_, samples) with missing leads zero-filled."""
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
        check_is_fitted(self, "net_")
        X = check_ecg_array(X, min_samples=self._min_samples(), check_finite=False)
        if fs is not None and check_fs(fs) != self.fs_in_:
            raise ValueError(
                f"X is sampled at {fs} Hz but the model was fitted at {self.fs_in_} Hz; "
                "resample it first (sklearn_ecg.preprocessing.Resample)."
            )
        mapping = self._lead_map(X.shape[1], leads)
        net = self.net_
        net.module_.eval()
        device = str(net.device)
        chunks = []
        with torch.inference_mode(), autocast_context(device, True):
            for batch in self._iter_batches(X, mapping, self.batch_size):
                chunks.append(self._embed_batch(batch.to(device)).float().cpu().numpy())
        return np.concatenate(chunks).astype(np.float32, copy=False)

    # -- persistence ---------------------------------------------------------------------------
    def to(self, device: str) -> BaseECGEmbedder:
        """Move a fitted estimator to another device (e.g. a GPU-trained model to ``"cpu"``)."""
        check_is_fitted(self, "net_")
        device = resolve_device(device)
        self.net_.set_params(device=device)
        self.net_.module_.to(device)
        self.device = device
        return self

    def _fitted_state(self) -> dict[str, Any]:
        names = ("fs_in_", "leads_in_", "n_leads_in_", "n_samples_in_", "loss_curve_")
        return {name: getattr(self, name) for name in names + self._extra_fitted_attrs}

    def save(self, path: str | Path) -> Path:
        """Save parameters (JSON) and weights (safetensors) into the directory ``path``.

        Only JSON-serialisable parameters are kept (``callbacks`` are not).
        Load with ``type(est).load(path)``; no pickled code is ever read.
        """
        from safetensors.torch import save_file

        check_is_fitted(self, "net_")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        params = {}
        for name, value in self.get_params(deep=False).items():
            try:
                json.dumps(value)
                params[name] = value
            except TypeError:
                warnings.warn(f"Parameter {name}={value!r} is not saved (not JSON).", stacklevel=2)
        config = {"estimator": type(self).__name__, "params": params,
                  "fitted": _jsonable(self._fitted_state())}
        (path / "config.json").write_text(json.dumps(config, indent=2))
        state = {k: v.detach().cpu().contiguous() for k, v in self.net_.module_.state_dict().items()}
        save_file(state, str(path / "model.safetensors"))
        return path

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> BaseECGEmbedder:
        """Load an estimator written by :meth:`save` (weights via safetensors)."""
        from safetensors.torch import load_file

        path = Path(path)
        config_file, weights_file = path / "config.json", path / "model.safetensors"
        for file in (config_file, weights_file):
            if not file.is_file():
                raise ValueError(f"{file} not found: not a directory written by {cls.__name__}.save.")
        config = json.loads(config_file.read_text())
        if config.get("estimator") != cls.__name__:
            raise ValueError(
                f"{path} holds a {config.get('estimator')}, not a {cls.__name__}."
            )
        estimator = cls(**config["params"])
        estimator.set_params(device=device)
        for name, value in config["fitted"].items():
            setattr(estimator, name, value)
        net = estimator._make_net(estimator._build_module(), resolve_device(device))
        net.initialize()
        net.module_.load_state_dict(load_file(str(weights_file), device="cpu"))
        net.module_.to(net.device)
        estimator.net_ = net
        estimator._n_features_out = estimator._embedding_dim()
        return estimator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.non_deterministic = False
        return tags


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
