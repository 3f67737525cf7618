"""The methods of the benchmarks, one module each.

Every module here defines

- ``NAME``: the method's short name (used in tables, file names and ``--methods``),
- ``SAMPLING_RATE``: 100 or 500 (Hz), the rate its PTB-XL records are read at,
- ``make_embedder(preset)``: an unfitted estimator for ``preset`` in
  ``"paper"`` (the published settings, for a GPU), ``"cpu"`` (small enough for the
  shared protocol on a laptop CPU) and ``"fast"`` (seconds; for smoke tests),

and may define ``make_supervised(preset, n_labels)`` returning the classifier of
its from-scratch baseline (default: :func:`default_supervised`), and ``NOTE``, a
sentence printed under the results table (e.g. a departure from the paper).
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import warnings
from types import ModuleType

PRESETS = ("paper", "cpu", "fast")


def load_methods(names: list[str] | None = None) -> dict[str, ModuleType]:
    """Import every method module (or the ``names`` asked for), keyed by ``NAME``.

    A module that fails to import is skipped with a warning unless it was asked
    for by name, in which case the error is raised.
    """
    methods: dict[str, ModuleType] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if names is not None and info.name not in names:
            continue
        try:
            module = importlib.import_module(f"{__name__}.{info.name}")
        except ImportError as exc:
            if names is not None:
                raise
            warnings.warn(f"benchmark method {info.name!r} skipped: {exc}", stacklevel=2)
            continue
        missing = [a for a in ("NAME", "SAMPLING_RATE", "make_embedder") if not hasattr(module, a)]
        if missing:
            raise ValueError(f"benchmarks/methods/{info.name}.py lacks {missing}.")
        if module.SAMPLING_RATE not in (100, 500):
            raise ValueError(f"{info.name}: SAMPLING_RATE must be 100 or 500, got {module.SAMPLING_RATE}.")
        methods[module.NAME] = module
    if names is not None:
        unknown = sorted(set(names) - {m.__name__.rsplit(".", 1)[-1] for m in methods.values()}
                         - set(methods))
        if unknown:
            raise ValueError(f"Unknown methods {unknown}; available: {available()}.")
    return methods


def available() -> list[str]:
    return sorted(info.name for info in pkgutil.iter_modules(__path__))


def supervised_epochs(preset: str, n_labels: int) -> int:
    """Epochs of the from-scratch baseline: about the same number of ECG passes for every budget.

    Small label sets get more epochs (else a few gradient steps would be all the
    baseline ever sees); "cpu" targets ~4,000 ECG passes per fit (10 to 160 epochs),
    "paper" ~20,000 (50 to 400 epochs), "fast" one epoch. (An earlier "cpu" target of
    600 passes left the xresnet1d baseline at macro AUC 0.54 on all 352 labels, where
    12 epochs give 0.83: an undertrained baseline flatters pretraining.)
    """
    if preset == "fast":
        return 1
    target, low, high = (4_000, 10, 160) if preset == "cpu" else (20_000, 50, 400)
    return int(min(high, max(low, math.ceil(target / n_labels))))


def default_supervised(module: ModuleType, preset: str, n_labels: int):
    """The method's encoder with a linear head, trained on the labels only."""
    from sklearn_ecg import SupervisedECGClassifier

    return SupervisedECGClassifier(
        module.make_embedder(preset), max_epochs=supervised_epochs(preset, n_labels),
        batch_size=32, lr=1e-3, random_state=0,
    )


def make_supervised(module: ModuleType, preset: str, n_labels: int):
    if hasattr(module, "make_supervised"):
        return module.make_supervised(preset, n_labels)
    return default_supervised(module, preset, n_labels)
