"""Per-epoch checkpoints of a fit, and exact resume from them (see DESIGN.md, "The engine").

A checkpoint holds what the rest of a fit depends on: the module's weights and buffers
(BatchNorm statistics, BYOL's EMA target), the optimizer's state, the history (from which
the learning-rate and EMA schedules count their steps) and torch's RNG states, and the
state of the library's callbacks that carry some across epochs (``checkpoint_state``). Resuming
from epoch k therefore continues exactly as the uninterrupted fit would have (bit for bit
on CPU). Other callbacks (e.g. skorch's ``EarlyStopping``) keep no state across a resume:
they start counting afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.history import History

CHECKPOINT_FILE = "checkpoint.pt"
FORMAT_VERSION = 1
# Parameters that change how a fit runs but not what it computes.
_IGNORED_PARAMS = frozenset({"checkpoint_dir", "verbose", "callbacks", "num_workers", "pin_memory",
                             "device"})


def fit_fingerprint(estimator: Any, X: Any, *others: Any) -> str:
    """What must match for a checkpoint to belong to a fit: the estimator's class and
    parameters (those that change the result) and the data: the ECGs' shape, dtype and a hash
    of the first, middle and last ECGs (cheap for lazy arrays, and catches another dataset),
    and a hash of each of ``others`` whole (labels, patient ids, reports)."""
    from ._persistence import _encode_params

    params, _ = _encode_params(estimator)
    unencodable = {name: _describe_value(value) for name, value in estimator.get_params(deep=False).items()
                   if name not in params}
    described = {name: value for name, value in {**params, **unencodable}.items()
                 if name not in _IGNORED_PARAMS}
    digest = hashlib.sha256()
    for row in sorted({0, len(X) // 2, len(X) - 1}):
        digest.update(np.ascontiguousarray(np.asarray(X[row], dtype=np.float32)).tobytes())
    for other in others:
        values = np.asarray(other) if other is not None else np.asarray("None")
        digest.update(np.ascontiguousarray(values).tobytes() if values.dtype.kind in "biufc"
                      else repr(values.tolist()).encode())
    data = {"shape": list(X.shape), "dtype": str(getattr(X, "dtype", "")), "sha256": digest.hexdigest()}
    return json.dumps({"estimator": type(estimator).__name__, "params": described, "data": data},
                      sort_keys=True, default=repr)


def _describe_value(value: Any) -> str:
    """A value's repr, or its type where the repr is an address (differs from run to run)."""
    text = repr(value)
    return f"<{type(value).__qualname__}>" if " at 0x" in text else text


def _differences(saved: str, current: str) -> list[str]:
    try:
        old, new = json.loads(saved), json.loads(current)
    except ValueError:
        return ["(unreadable fingerprint)"]
    names = [key for key in ("estimator", "data") if old.get(key) != new.get(key)]
    old_params, new_params = old.get("params", {}), new.get("params", {})
    names += [f"parameter {name}" for name in sorted(set(old_params) | set(new_params))
              if old_params.get(name) != new_params.get(name)]
    return names


def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class EpochCheckpoint(Callback):
    """After every epoch, write the fit's state to ``directory/checkpoint.pt`` atomically (a
    temporary file, flushed to disk, then renamed over the previous checkpoint), so a fit
    killed at any moment leaves the last complete epoch. Only the main process writes."""

    def __init__(self, directory: str | os.PathLike, fingerprint: str, write: bool = True):
        self.directory = directory
        self.fingerprint = fingerprint
        self.write = write

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        if not self.write:
            return
        state = {
            "format_version": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "epoch": len(net.history),
            "module": net.module_.state_dict(),
            "optimizer": net.optimizer_.state_dict(),
            "history": json.loads(json.dumps(net.history.to_list(), default=float)),
            "rng": _rng_state(),
            # Callbacks that keep state across epochs and can hand it over (BestValidationScore).
            "callbacks": {name: callback.checkpoint_state() for name, callback in net.callbacks_
                          if hasattr(callback, "checkpoint_state")},
        }
        directory = Path(self.directory)
        directory.mkdir(parents=True, exist_ok=True)
        final = directory / CHECKPOINT_FILE
        partial = directory / f".{CHECKPOINT_FILE}.{os.getpid()}.partial"
        with open(partial, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, final)


def load_checkpoint(directory: str | os.PathLike, fingerprint: str) -> dict[str, Any] | None:
    """The checkpoint in ``directory`` (None when there is none yet); a checkpoint of another fit
    or a damaged file raises a ValueError naming the file, never silently restarting over it."""
    path = Path(directory) / CHECKPOINT_FILE
    if Path(directory).exists() and not Path(directory).is_dir():
        raise ValueError(f"checkpoint_dir={str(directory)!r} is a file, not a directory.")
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise ValueError(f"{path} is not a readable sklearn-ecg checkpoint ({type(exc).__name__}: "
                         f"{exc}); delete it or use another checkpoint_dir.") from exc
    if not isinstance(state, dict) or state.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path} is not a sklearn-ecg checkpoint of format {FORMAT_VERSION}; delete it "
                         "or use another checkpoint_dir.")
    if state["fingerprint"] != fingerprint:
        differing = ", ".join(_differences(state["fingerprint"], fingerprint))
        raise ValueError(f"{path} is the checkpoint of another fit (it differs in: {differing}). "
                         "Resume with the same estimator parameters and data, or use another "
                         "checkpoint_dir (the existing one is left as it is).")
    return state


def restore(net: Any, state: dict[str, Any]) -> int:
    """Put a checkpoint's state into an initialised net; returns the number of epochs done."""
    net.module_.load_state_dict(state["module"])
    net.optimizer_.load_state_dict(state["optimizer"])
    net.history = History(state["history"])
    for name, callback in net.callbacks_:
        if name in state.get("callbacks", {}):
            callback.restore_checkpoint_state(state["callbacks"][name])
    _set_rng_state(state["rng"])
    return int(state["epoch"])
