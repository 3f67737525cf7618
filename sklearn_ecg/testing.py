"""Tiny instances of every estimator: fits of a second or two on a CPU.

The one source of small models for the test suite, the examples' fast mode and the
benchmarks' ``fast`` presets, so that a new method is added to all of them by one
entry in :data:`TINY_PARAMS`. The sizes are far below the papers' and only meant to
exercise the code, never to measure quality.

Examples
--------
>>> from sklearn_ecg.datasets import make_synthetic_ecg
>>> from sklearn_ecg.testing import fit_arguments, tiny_estimator
>>> data = make_synthetic_ecg(n_patients=8, ecgs_per_patient=2, fs=100, random_state=0)
>>> args, kwargs = fit_arguments("pclr", data)
>>> tiny_estimator("pclr").fit(*args, **kwargs).transform(data.X).shape
(16, 8)
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from .byol import BYOLTransformer
from .cpc import CPCTransformer
from .finetune import FineTunedECGClassifier
from .mets import METSZeroShotClassifier
from .pclr import PCLRTransformer
from .simclr import SimCLRTransformer
from .supervised import SupervisedECGClassifier
from .w2v_cmsc import W2VCMSCTransformer

#: Every estimator of the library by short name.
ESTIMATORS: dict[str, type[BaseEstimator]] = {
    "pclr": PCLRTransformer,
    "cpc": CPCTransformer,
    "simclr": SimCLRTransformer,
    "byol": BYOLTransformer,
    "w2v_cmsc": W2VCMSCTransformer,
    "mets": METSZeroShotClassifier,
    "supervised": SupervisedECGClassifier,
    "finetune": FineTunedECGClassifier,
}

_XRESNET = dict(layers=(1, 1), widths=(8, 8), stem_widths=(8, 8, 16), projection_dims=(32, 16),
                warmup_epochs=0)

#: Small-model parameters of each estimator, for 10 s ECGs at 100 Hz (1,000 samples).
TINY_PARAMS: dict[str, dict[str, Any]] = {
    "pclr": dict(n_samples=64, filters=(4, 8), kernel_size=3, projection_dims=(8, 8)),
    "cpc": dict(encoder="strided", n_features=8, n_hidden=8, n_negatives=4),
    "simclr": dict(_XRESNET),
    "byol": dict(_XRESNET, predictor_dims=(32, 16)),
    "w2v_cmsc": dict(preset="small", model_fs=100, conv_layers=((16, 2, 2),) * 2, embed_dim=16,
                     encoder_layers=1, ffn_dim=32, attention_heads=2, pos_conv_kernel=16,
                     pos_conv_groups=4, final_dim=16, codebook_size=16, n_negatives=20, lr=2e-3),
    "mets": dict(widths=(8, 16, 16, 32), projection_dim=16),
    "supervised": dict(),
    "finetune": dict(head_epochs=1, finetune_epochs=1),
}

#: What every tiny instance shares: one epoch, small batches, CPU, seeded.
TINY_TRAINING = dict(max_epochs=1, batch_size=8, device="cpu", random_state=0)


#: Overrides that make scikit-learn's generic checks valid input: they feed 2-D arrays of a few
#: "features", i.e. one-lead ECGs of a few samples, so windows, crops and long kernels must go.
GENERIC_CHECK_PARAMS: dict[str, dict[str, Any]] = {
    "pclr": dict(),
    "cpc": dict(encoder="fc", n_features=4, n_hidden=4, n_layers=1, n_steps=1, n_negatives=2,
                crop_length=None, window=None),
    "simclr": dict(window=None, layers=(1,), widths=(4,)),
    "byol": dict(window=None, layers=(1,), widths=(4,)),
    # A one-sample segment, kernel-1 convolutions and CMSC alone (span masking needs more frames).
    "w2v_cmsc": dict(fs=1, model_fs=1, segment_seconds=1, conv_layers=((4, 1, 1),), embed_dim=8,
                     ffn_dim=8, pos_conv_kernel=3, pos_conv_groups=2, final_dim=8, codebook_size=4,
                     w2v_loss=False),
    "mets": dict(),
    # Enough epochs for the accuracy part of check_classifiers_train.
    "supervised": dict(max_epochs=5, batch_size=16, lr=5e-2),
    "finetune": dict(head="linear", head_epochs=5, finetune_epochs=0, batch_size=16, lr=1e-1),
}


def tiny_estimator(name: str, **params: Any) -> BaseEstimator:
    """A small, seeded, unfitted instance of the estimator called ``name`` (see :data:`ESTIMATORS`);
    ``params`` override the tiny ones. The supervised baseline gets a tiny PCLR encoder."""
    if name not in ESTIMATORS:
        raise ValueError(f"Unknown estimator {name!r}; expected one of {sorted(ESTIMATORS)}.")
    defaults = {**TINY_TRAINING, **TINY_PARAMS[name]}
    if name == "finetune":
        del defaults["max_epochs"]
        defaults["embedder"] = pretrained_tiny_pclr(12)
    if "fs" in ESTIMATORS[name]._get_param_names():
        defaults["fs"] = 100
    if name == "supervised":
        defaults["embedder"] = tiny_estimator("pclr")
    return ESTIMATORS[name](**{**defaults, **params})


def epochs_params(name: str, n_epochs: int) -> dict[str, int]:
    """The parameters that make the estimator ``name`` train ``n_epochs`` epochs in all."""
    if name == "finetune":
        return {"head_epochs": n_epochs, "finetune_epochs": 0}
    return {"max_epochs": n_epochs}


def generic_check_instance(name: str) -> BaseEstimator:
    """The tiny instance of ``name`` with :data:`GENERIC_CHECK_PARAMS`, for scikit-learn's
    ``parametrize_with_checks``."""
    params = dict(GENERIC_CHECK_PARAMS[name])
    if name == "supervised":
        params["embedder"] = tiny_estimator("pclr", n_samples=16, filters=(4, 4), projection_dims=(4,))
    if name == "finetune":  # the checks feed one-lead ECGs of any length
        params["embedder"] = pretrained_tiny_pclr(1)
    return tiny_estimator(name, **params)


@functools.cache
def pretrained_tiny_pclr(n_leads: int) -> PCLRTransformer:
    """A tiny PCLR fitted (one epoch) on ``n_leads`` leads of synthetic ECGs at 100 Hz: the
    pretrained embedder of the tiny fine-tuned classifiers, shared as fine-tuning never changes it.
    Its encoder interpolates any record to 16 samples, so it embeds ECGs of any length."""
    from .datasets import make_synthetic_ecg

    data = make_synthetic_ecg(n_patients=8, ecgs_per_patient=2, fs=100, random_state=0)
    X = np.ascontiguousarray(data.X[:, :n_leads])
    return tiny_estimator("pclr", n_samples=16, filters=(4, 4), projection_dims=(4,)).fit(
        X, groups=data.patient_id)


def fit_arguments(name: str, data: Any) -> tuple[tuple, dict[str, Any]]:
    """``(args, kwargs)`` that fit the estimator ``name`` on a dataset of
    :func:`~sklearn_ecg.datasets.make_synthetic_ecg` (or any object with ``X``, ``y``,
    ``patient_id`` and ``reports``): patient ids for PCLR, reports for METS, labels for
    the classifiers trained on labels, ECGs alone otherwise."""
    if name == "pclr":
        return (data.X,), {"groups": data.patient_id}
    if name == "mets":
        return (data.X, data.reports), {}
    if name in ("supervised", "finetune"):
        return (data.X, data.y), {}
    return (data.X,), {}
