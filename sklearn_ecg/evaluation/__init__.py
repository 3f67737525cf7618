"""Evaluating embeddings: label-efficiency curves and the published linear-evaluation protocols.

- :func:`label_efficiency_curve` (``_label_efficiency``): score against the number of labelled
  ECGs, on :func:`stratified_subset` draws (``_labels``) shared by every method;
- :func:`linear_evaluation` (``_linear_evaluation``): a linear probe on PTB-XL's recommended folds;
- :func:`macro_roc_auc` and :func:`per_class_roc_auc` (``_metrics``): the one ROC AUC of the
  library, for multi-label targets and for classes absent from a split;
- :func:`noise_robustness` (``_robustness``): a classifier scored under the published
  physiological-noise levels; :func:`patient_identification` (``_identification``): nearest-
  neighbour identification of known patients from their embeddings;
- ``_probe``: the default linear probe, :func:`cv_probe` (its C chosen by cross-validation on the
  training labels, with :class:`PooledCVLogisticRegression` of ``_cv_probe``) and the fitting the
  protocols share.

The plots live in :mod:`sklearn_ecg.plotting`, their documented home; :func:`plot_label_efficiency`,
:func:`plot_ecg_12lead` and :func:`plot_embedding_2d` are importable from here as well.
"""

from ..plotting import plot_ecg_12lead, plot_embedding_2d, plot_label_efficiency
from ._cv_probe import PooledCVLogisticRegression
from ._identification import patient_identification
from ._label_efficiency import label_efficiency_curve
from ._labels import stratified_subset
from ._linear_evaluation import linear_evaluation
from ._metrics import macro_roc_auc, per_class_roc_auc
from ._probe import cv_probe, default_probe
from ._robustness import NOISE_LEVELS, add_noise, noise_robustness

__all__ = [
    "NOISE_LEVELS",
    "PooledCVLogisticRegression",
    "add_noise",
    "cv_probe",
    "default_probe",
    "label_efficiency_curve",
    "linear_evaluation",
    "macro_roc_auc",
    "noise_robustness",
    "patient_identification",
    "per_class_roc_auc",
    "plot_ecg_12lead",
    "plot_embedding_2d",
    "plot_label_efficiency",
    "stratified_subset",
]
