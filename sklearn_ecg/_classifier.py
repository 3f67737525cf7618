"""What the classifiers that train a network on labels share (the supervised baseline and the
fine-tuned classifier): targets, logits in batches, probabilities and predictions."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import ClassifierMixin, clone
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d

from . import _engine
from ._persistence import PersistenceMixin
from ._validation import check_ecg_array
from .nn.finetune import WeightedTargets

#: The input description a classifier copies from its embedder (and saves).
INPUT_DESCRIPTION = ("fs_in_", "leads_in_", "n_leads_in_", "n_samples_in_")


class NetClassifierMixin(PersistenceMixin, ClassifierMixin):
    """Classes from 1-D ``y`` (softmax) or a 2-D 0/1 multi-label ``y`` (one sigmoid per column),
    and persistence.

    The estimator provides ``net_`` (whose module maps ECG batches to logits), ``batch_size``,
    ``lr``, ``device`` and ``_rebuild_module`` (see :class:`PersistenceMixin`); ``fit`` calls
    :meth:`_describe` with the embedder whose encoder it trains.
    """

    def _describe(self, embedder: Any, source: Any = None) -> Any:
        """Keep ``embedder_``, an unfitted clone of ``embedder`` describing the input (it checks and
        reads X at prediction), and copy that description (``fs_in_``, ``leads_in_``...) here.
        ``source``: the fitted estimator holding the description (default: ``embedder``)."""
        self.embedder_ = clone(embedder)
        for name in INPUT_DESCRIPTION:
            value = getattr(embedder if source is None else source, name)
            setattr(self.embedder_, name, value)
            setattr(self, name, value)
        return self.embedder_

    def _fitted_names(self) -> tuple[str, ...]:
        return ("classes_", "multilabel_", "loss_curve_", *INPUT_DESCRIPTION)

    def _attach(self, module: torch.nn.Module) -> Any:
        """Make ``module`` (weights loaded) the trained net, on this estimator's device."""
        settings = SimpleNamespace(max_epochs=1, lr=self.lr, batch_size=self.batch_size, device=self.device,
                                   verbose=0, callbacks=None)
        net = _engine.make_net(settings, module)
        net.initialize()
        net.module_.to(net.device)
        self.net_ = net
        return self

    def _encode_targets(self, y: Any) -> np.ndarray:
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        y = np.asarray(y)
        missing = np.flatnonzero(pd.isna(y).reshape(len(y), -1).any(axis=1)) if y.ndim else []
        if len(missing):
            raise ValueError(f"y holds missing labels (NaN or None) at ECG index {missing[0]}"
                             f"{f' and {len(missing) - 1} others' if len(missing) > 1 else ''}; drop those "
                             "ECGs or label them.")
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # a column vector is one target, as in scikit-learn
        if y.ndim == 2:
            if not np.isin(y, (0, 1)).all():
                raise ValueError(f"A 2-D y must be a 0/1 multi-label indicator matrix, got values "
                                 f"{np.unique(y)[:10].tolist()}.")
            self.multilabel_ = True
            self.classes_ = np.arange(y.shape[1])
            return y.astype(np.float32)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D (classes) or 2-D (multi-label 0/1), got shape {y.shape}.")
        target_type = type_of_target(y)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(f"Unknown label type: y is {target_type!r}; expected classes (1-D) "
                             "or a 0/1 multi-label matrix (2-D).")
        encoder = LabelEncoder().fit(y)
        if len(encoder.classes_) < 2:
            raise ValueError(f"y has only one class ({encoder.classes_.tolist()}); at least 2 classes "
                             "are needed.")
        self.multilabel_ = False
        self.classes_ = encoder.classes_
        return encoder.transform(y).astype(np.int64)

    def _weighted_targets(self, targets: np.ndarray, sample_weight: Any) -> WeightedTargets:
        """Training targets with one weight per ECG: ``sample_weight`` times the ``class_weight``
        of its class (of each label's 0/1 for multi-label ``y``)."""
        weights = sample_weights(sample_weight, len(targets))
        if self.class_weight is not None:
            weights = weights * compute_sample_weight(self.class_weight, targets)
        return WeightedTargets(targets, weights)

    @property
    def _n_outputs(self) -> int:
        return len(self.classes_)

    def _logits(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "net_")
        batches = self.embedder_.input_batches(X, batch_size=self.batch_size)
        self.net_.module_.eval()
        return _engine.predict_batches(self.net_.module_, batches, str(self.net_.device),
                                       getattr(self, "mixed_precision", True))

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits: (n_ecgs, n_classes), or (n_ecgs,) for binary 1-D ``y`` as scikit-learn expects."""
        logits = self._logits(X)
        if not self.multilabel_ and len(self.classes_) == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax class probabilities, or per-label sigmoid probabilities (multi-label)."""
        logits = torch.from_numpy(self._logits(X))
        if self.multilabel_:
            return torch.sigmoid(logits).numpy()
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class, or the 0/1 matrix of labels with probability above 0.5."""
        proba = self.predict_proba(X)
        if self.multilabel_:
            return (proba > 0.5).astype(np.int64)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.classifier_tags.multi_label = True
        tags.non_deterministic = False
        return tags

    def _validation_split(self, y: np.ndarray, fraction: float | None
                          ) -> tuple[np.ndarray, np.ndarray | None]:
        """Rows to train on and rows held out (None without ``fraction``): stratified for
        1-D ``y`` where every class can be on both sides, a plain shuffle otherwise."""
        rows = np.arange(len(y))
        if fraction is None:
            return rows, None
        seed = _engine.draw_seed(self.random_state)
        splitter = ShuffleSplit(1, test_size=fraction, random_state=seed)
        n_valid = int(np.ceil(fraction * len(y)))
        n_classes = len(self.classes_)
        if (not self.multilabel_ and np.bincount(y).min() >= 2
                and min(n_valid, len(y) - n_valid) >= n_classes):
            splitter = StratifiedShuffleSplit(1, test_size=fraction, random_state=seed)
        train, valid = next(splitter.split(rows, y))
        return np.sort(train), np.sort(valid)

    def _encode_validation(self, validation_data: Any) -> tuple[Any, np.ndarray]:
        """``(X_val, y_val)`` checked, with y_val encoded as y was (same classes or columns)."""
        X_val, y_val = validation_data
        classes, multilabel = self.classes_, self.multilabel_
        encoded = self._encode_targets(y_val)
        if self.multilabel_ != multilabel or (multilabel and len(self.classes_) != len(classes)):
            raise ValueError("validation_data's y must have the same form as y (1-D classes or "
                             "the same 0/1 columns).")
        if not multilabel:
            unknown = np.setdiff1d(self.classes_, classes)
            if len(unknown):
                raise ValueError(f"validation_data's y has classes not in y: {unknown.tolist()}.")
            encoded = np.searchsorted(classes, self.classes_)[encoded]
        self.classes_, self.multilabel_ = classes, multilabel
        return check_ecg_array(X_val), encoded


def sample_weights(sample_weight: Any, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n)
    weights = np.asarray(sample_weight, dtype=float)
    if weights.shape != (n,):
        raise ValueError(f"sample_weight must hold one weight per ECG: expected shape ({n},), got "
                         f"{weights.shape}.")
    if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError("sample_weight must be finite, non-negative and not all zero.")
    return weights

