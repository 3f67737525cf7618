"""Saving a fitted estimator as safetensors weights and a JSON config, and loading it back safely.

A saved model is a directory holding ``config.json`` (save format and library versions, the
estimator's class, parameters and fitted attributes) and ``model.safetensors`` (the state dict of
``net_.module_``). No pickled code is ever written or read. Saving is atomic: the directory is
written beside its target under a temporary name and renamed into place, so a crash never leaves a
half-written model and a model saved there before is replaced only once the new one is complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

#: Version of the layout of saved directories; ``load`` refuses a newer one. Version 0 is the
#: unversioned layout of sklearn-ecg 0.1.0, read as version 1 without ``unsaved_params``.
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
_REQUIRED_KEYS = ("estimator", "params", "fitted")
# Tags of values JSON has no type for: a library estimator given as a parameter, a numpy array.
_ESTIMATOR_TAG = "__estimator__"
_ARRAY_TAG = "__ndarray__"


class PersistenceMixin:
    """``save(path)``, ``Class.load(path)`` and ``to(device)`` for an estimator whose trained
    torch module is ``net_.module_`` (an skorch net).

    The estimator implements three hooks:

    - ``_fitted_names() -> tuple[str, ...]``: the fitted attributes that describe the model
      beyond its parameters (input description, classes, loss curve...). They are kept in
      ``config.json``, so their values must be numbers, strings, booleans, None, numpy scalars
      or arrays, or lists and dicts of these. ``load`` sets exactly these, no other name.
    - ``_rebuild_module() -> torch.nn.Module``: called by ``load`` on a new estimator that has
      the saved parameters and fitted attributes; rebuilds any other fitted state (e.g. a
      classifier's ``embedder_``) and returns the module of ``net_`` freshly built, i.e. with
      the state-dict keys and shapes of the saved one. It must not train anything.
    - ``_attach(module) -> self``: makes ``module``, its weights loaded, the estimator's
      trained ``net_`` on its ``device``; returns the estimator.

    and may override ``_validate_all_params()`` (default: scikit-learn's ``_validate_params``),
    which ``load`` runs on the saved parameters.

    Parameters that are public sklearn-ecg estimators (``SupervisedECGClassifier(embedder=...)``)
    are saved as their class name and parameters, not their fitted state; parameters that
    are not JSON (skorch ``callbacks``, other estimators) are left out with a warning and
    load as their default.
    """

    def _fitted_names(self) -> tuple[str, ...]:
        raise NotImplementedError

    def _rebuild_module(self) -> torch.nn.Module:
        raise NotImplementedError

    def _attach(self, module: torch.nn.Module) -> Any:
        raise NotImplementedError

    def _validate_all_params(self) -> None:
        self._validate_params()

    def to(self, device: str) -> Any:
        """Move a fitted estimator to another device (e.g. a GPU-trained model to ``"cpu"``)."""
        from ._engine import resolve_device

        check_is_fitted(self, "net_")
        device = resolve_device(device)
        self.net_.set_params(device=device)
        self.net_.module_.to(device)
        self.device = device
        return self

    def save(self, path: str | os.PathLike) -> Path:
        """Save parameters (JSON) and weights (safetensors) into the directory ``path``.

        The directory is written under a temporary name beside ``path`` and renamed
        into place, so it is either complete or absent. A model saved at ``path``
        before is replaced; any other existing directory is refused (its files are
        not ours to delete). Parameters that are not JSON (``callbacks``) are left
        out with a warning. Load with ``type(est).load(path)``; no pickled code is
        ever written or read. Under a multi-process launcher (torchrun) only the
        main process writes; the others return ``path`` at once.

        Returns
        -------
        path : pathlib.Path
        """
        from safetensors.torch import save_file

        from . import __version__
        from ._distributed import is_main_process

        check_is_fitted(self, "net_")
        path = Path(path)
        if not is_main_process():  # every process holds the same model: one writes it
            return path
        params, unsaved = _encode_params(self)
        for name in unsaved:
            warnings.warn(f"Parameter {name} is not saved (not JSON); it loads as its default.",
                          UserWarning, stacklevel=2)
        config = {
            "format_version": FORMAT_VERSION,
            "library_version": __version__,
            "estimator": type(self).__name__,
            "params": params,
            "unsaved_params": unsaved,
            "fitted": {name: _encode_value(getattr(self, name)) for name in self._fitted_names()},
        }
        text = json.dumps(config, indent=2)  # fails before anything is written
        state = {k: v.detach().cpu().contiguous() for k, v in self.net_.module_.state_dict().items()}

        def write(folder: Path) -> None:
            (folder / CONFIG_FILE).write_text(text)
            save_file(state, str(folder / WEIGHTS_FILE))

        _write_directory_atomically(path, write)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "auto") -> Any:
        """Load an estimator written by :meth:`save`.

        The config is checked against this class and its parameters, and the
        weights against the model the config describes (names, shapes, finite
        values); any mismatch raises a ``ValueError`` naming the file. A model saved
        by a newer sklearn-ecg in a newer format is refused.

        Parameters
        ----------
        path : str or path-like
            The directory written by :meth:`save`.
        device : str, default="auto"
            Where the model runs (``"auto"``: CUDA when available).

        Returns
        -------
        estimator : a fitted instance of this class
        """
        path = Path(path)
        config_file, weights_file = path / CONFIG_FILE, path / WEIGHTS_FILE
        for file in (config_file, weights_file):
            if not file.is_file():
                raise ValueError(f"{file} not found: not a directory written by {cls.__name__}.save.")
        config = _read_config(config_file, cls.__name__)
        unsaved = config.get("unsaved_params") if config["format_version"] >= 1 else None
        estimator = cls(**_decode_params(cls, config["params"], unsaved, config_file))
        estimator.set_params(device=device)
        try:
            estimator._validate_all_params()
        except ValueError as exc:
            raise ValueError(f"{config_file} holds invalid parameters: {exc}") from exc
        for name, value in _checked_fitted(config["fitted"], estimator._fitted_names(),
                                           config_file).items():
            setattr(estimator, name, value)
        try:
            module = estimator._rebuild_module()
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(f"{config_file} describes a model that cannot be built: "
                             f"{type(exc).__name__}: {exc}") from exc
        module.load_state_dict(_checked_weights(weights_file, module))
        return estimator._attach(module)


# -- the config ------------------------------------------------------------------------------
def _encode_value(value: Any) -> Any:
    """``value`` as JSON can hold it: numpy scalars as numbers, arrays tagged with their dtype,
    paths as strings."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, dict):
        return {k: _encode_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode_value(v) for v in value]
    if isinstance(value, np.ndarray):
        return {_ARRAY_TAG: _encode_value(value.tolist()), "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode_value(value: Any) -> Any:
    """The inverse of :func:`_encode_value` (tuples come back as lists)."""
    if isinstance(value, dict):
        if set(value) == {_ARRAY_TAG, "dtype"}:
            return np.asarray(value[_ARRAY_TAG], dtype=np.dtype(value["dtype"]))
        return {k: _decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_value(v) for v in value]
    return value


def _is_library_estimator(value: Any) -> bool:
    """A public sklearn-ecg estimator (what :func:`_library_class` rebuilds at load)."""
    import sklearn_ecg

    cls = type(value)
    return isinstance(value, BaseEstimator) and getattr(sklearn_ecg, cls.__name__, None) is cls


def _encode_params(estimator: BaseEstimator, prefix: str = "") -> tuple[dict[str, Any], list[str]]:
    """The JSON parameters of ``estimator`` and the names of those left out (nested ones as
    ``embedder__callbacks``)."""
    params: dict[str, Any] = {}
    unsaved: list[str] = []
    for name, value in estimator.get_params(deep=False).items():
        if _is_library_estimator(value):
            nested, nested_unsaved = _encode_params(value, f"{prefix}{name}__")
            params[name] = {_ESTIMATOR_TAG: type(value).__name__, "params": nested}
            unsaved += nested_unsaved
            continue
        encoded = _encode_value(value)
        try:
            json.dumps(encoded)
        except (TypeError, ValueError):
            unsaved.append(prefix + name)
        else:
            params[name] = encoded
    return params, unsaved


def _decode_params(cls: type, params: Any, unsaved: list[str] | None, config_file: Path,
                   prefix: str = "") -> dict[str, Any]:
    """Keyword arguments of ``cls`` from the saved ``params``: every saved name must be one of its
    parameters, and each of its parameters saved or listed as unsaved (None: any may be absent)."""
    if not isinstance(params, dict):
        raise ValueError(f"{config_file}: 'params' must be a JSON object, got {params!r}.")
    expected = set(cls._get_param_names())
    unknown = sorted(set(params) - expected)
    if unknown:
        raise ValueError(f"{config_file} has parameters {unknown} that {cls.__name__} does not have "
                         f"(it has {sorted(expected)}); was it saved by another version?")
    if unsaved is not None:
        left_out = {name[len(prefix):] for name in unsaved if name.startswith(prefix)}
        missing = sorted(expected - set(params) - left_out)
        if missing:
            raise ValueError(f"{config_file} lacks the parameters {missing} of {cls.__name__}.")
    decoded = {}
    for name, value in params.items():
        if isinstance(value, dict) and _ESTIMATOR_TAG in value:
            nested_cls = _library_class(value[_ESTIMATOR_TAG], config_file)
            nested = _decode_params(nested_cls, value.get("params"), unsaved, config_file,
                                    f"{prefix}{name}__")
            decoded[name] = nested_cls(**nested)
        else:
            decoded[name] = _decode_value(value)
    return decoded


def _library_class(name: Any, config_file: Path) -> type:
    """The public sklearn-ecg estimator class called ``name`` (nothing else is ever built)."""
    import sklearn_ecg

    cls = getattr(sklearn_ecg, name, None) if isinstance(name, str) else None
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
        raise ValueError(f"{config_file} names an unknown estimator {name!r}; expected one of "
                         f"sklearn_ecg's estimators.")
    return cls


def _read_config(config_file: Path, class_name: str) -> dict[str, Any]:
    """The parsed config of a saved model: JSON, the required keys, this class, a format we read."""
    from . import __version__

    try:
        config = json.loads(config_file.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{config_file} is not valid JSON ({exc}); the saved model is damaged.") from exc
    if not isinstance(config, dict):
        raise ValueError(f"{config_file} must hold a JSON object, got {type(config).__name__}.")
    missing = [key for key in _REQUIRED_KEYS if key not in config]
    if missing:
        raise ValueError(f"{config_file} lacks the keys {missing}; the saved model is damaged.")
    version = config.setdefault("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValueError(f"{config_file}: format_version must be a non-negative int, got {version!r}.")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{config_file} was written by sklearn-ecg {config.get('library_version', '?')} in save "
            f"format {version}; this sklearn-ecg ({__version__}) reads formats up to {FORMAT_VERSION}. "
            "Upgrade sklearn-ecg to load it."
        )
    if config["estimator"] != class_name:
        raise ValueError(f"{config_file.parent} holds a {config['estimator']}, not a {class_name}.")
    return config


def _checked_fitted(fitted: Any, names: tuple[str, ...], config_file: Path) -> dict[str, Any]:
    """The saved fitted attributes, exactly the expected ones (an unknown key is never set: it
    could replace a method)."""
    if not isinstance(fitted, dict):
        raise ValueError(f"{config_file}: 'fitted' must be a JSON object, got {fitted!r}.")
    unknown = sorted(set(fitted) - set(names))
    if unknown:
        raise ValueError(f"{config_file} has unknown fitted attributes {unknown}; expected "
                         f"{sorted(names)}.")
    missing = sorted(set(names) - set(fitted))
    if missing:
        raise ValueError(f"{config_file} lacks the fitted attributes {missing}.")
    return {name: _decode_value(value) for name, value in fitted.items()}


# -- the weights -----------------------------------------------------------------------------
def _checked_weights(weights_file: Path, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The saved state dict, checked against ``module``: the same tensor names and shapes, finite."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(weights_file), device="cpu")
    except (SafetensorError, OSError) as exc:
        raise ValueError(f"{weights_file} is not a readable safetensors file (truncated or damaged): "
                         f"{exc}") from exc
    expected = module.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{weights_file} does not hold the tensors of the model its config.json "
                         f"describes: missing {missing[:5]}, unexpected {unexpected[:5]}.")
    for name, tensor in state.items():
        if tensor.shape != expected[name].shape:
            raise ValueError(f"{weights_file}: tensor {name!r} has shape {tuple(tensor.shape)} but the "
                             f"model its config.json describes needs {tuple(expected[name].shape)}.")
    non_finite = [name for name, tensor in state.items()
                  if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]
    if non_finite:
        raise ValueError(f"{weights_file}: tensors {non_finite[:5]} hold NaN or infinite values; "
                         "the model would only output NaN (was it saved after training diverged?).")
    return state


# -- atomic directories ----------------------------------------------------------------------
def _write_directory_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Have ``write`` fill a new directory, then put it at ``path`` by renames only."""
    if path.exists() and not _is_saved_model(path):
        raise ValueError(f"{path} exists and is not a saved model (it holds other files); "
                         "choose another path or remove it first.")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Beside the target, so that the renames stay on one file system.
    new = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        write(new)
        _sync(new)
        if path.exists():
            old = path.parent / f".{path.name}.{uuid.uuid4().hex}.old"
            os.replace(path, old)
            try:
                os.replace(new, path)
            except BaseException:
                os.replace(old, path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(new, path)
        _sync_directory(path.parent)
    finally:
        shutil.rmtree(new, ignore_errors=True)


def _is_saved_model(path: Path) -> bool:
    """An existing directory that holds nothing but a saved model (or nothing)."""
    return path.is_dir() and {entry.name for entry in path.iterdir()} <= {CONFIG_FILE, WEIGHTS_FILE}


def _sync(folder: Path) -> None:
    """Flush the files of ``folder`` and the folder itself to disk (a crash after the rename
    must not find empty files)."""
    for file in folder.iterdir():
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())
    _sync_directory(folder)


def _sync_directory(folder: Path) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync elsewhere
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
