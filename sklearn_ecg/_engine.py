"""The one training engine every estimator uses (see DESIGN.md, "The engine").

- :func:`seeded`: a fit's randomness, reproducible and isolated from the caller's RNG;
- :class:`ECGNet`: skorch's ``NeuralNet`` with mixed precision and fault handling;
- :func:`make_net` / :func:`train`: a module's net from an estimator's parameters, and its
  seeded fit;
- :func:`predict_batches`: batched inference with gradients off.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import ProgressBar
from skorch.dataset import unpack_data
from torch.utils.data import Dataset

# torch's default initialisers and dropout draw from the process-wide generator and take no
# generator of their own, so a fit cannot own its randomness: fits take turns on it instead.
# Re-entrant, so a fit may run another (e.g. a fine-tuning stage) inside.
_GLOBAL_RNG_LOCK = threading.RLock()


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss (too high a learning rate, bad data, ...)."""


def resolve_device(device: str | torch.device | None) -> str:
    """``"auto"`` (or None) picks CUDA when available, else CPU; anything else is checked."""
    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}.") from exc
    # Training and inference are built and tested on CPU and CUDA only (meta tensors cannot
    # train; MPS/XLA paths have never run).
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device={device!r} is not supported: use 'auto', 'cpu', 'cuda' or 'cuda:N'.")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was requested but CUDA is not available here.")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r}: this machine has {torch.cuda.device_count()} CUDA "
                             "device(s).")
    return str(resolved)


def autocast_context(device: str, enabled: bool = True) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on CUDA devices that support it; a no-op elsewhere."""
    if enabled and device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def draw_seed(random_state: Any) -> int:
    """One int seed from an estimator's ``random_state`` (None, int or RandomState)."""
    from sklearn.utils import check_random_state

    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


@contextlib.contextmanager
def seeded(seed: int, device: str) -> Iterator[None]:
    """Run the block with torch's RNGs seeded by ``seed``, restored afterwards.

    One seeded block runs at a time in a process, so fits in threads are each
    reproducible, and the caller's global RNG state is as it was before.
    """
    devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def recording_user_interrupts() -> Iterator[dict[str, bool]]:
    """Note in ``state["user"]`` whether a KeyboardInterrupt came from the user (SIGINT, i.e.
    Ctrl-C) rather than from code: skorch's callbacks (``EarlyStopping``) raise one to stop.

    Signals reach only the main thread, so elsewhere every KeyboardInterrupt comes from code.
    """
    state = {"user": False}
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = signal.getsignal(signal.SIGINT)

    def on_sigint(signum: int, frame: Any) -> None:
        state["user"] = True
        if callable(previous):
            previous(signum, frame)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)


class SelfLoss(torch.nn.Module):
    """The criterion of modules whose ``forward`` already returns the training loss."""

    def forward(self, loss: torch.Tensor, target: Any = None) -> torch.Tensor:
        return loss


class ECGNet(NeuralNet):
    """skorch's ``NeuralNet`` as every estimator trains it.

    - ``mixed_precision``: the step runs under bfloat16 autocast on CUDA.
    - A NaN or infinite loss stops the fit with :class:`NonFiniteLossError` naming
      the epoch and batch, before the weights are updated with it.
    - Ctrl-C propagates (skorch swallows it and returns a partly trained net), so an
      interrupted fit never looks like a finished one; a ``KeyboardInterrupt`` raised by a
      callback (skorch's ``EarlyStopping``) still ends training normally.
    - A module may set ``loss_parts`` (a dict of floats) in ``forward``; each part
      is recorded in the batch history.
    """

    def __init__(self, *args: Any, mixed_precision: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mixed_precision = mixed_precision

    def partial_fit(self, X: Any, y: Any = None, classes: Any = None, **fit_params: Any) -> ECGNet:
        if not self.initialized_:
            self.initialize()
        routing_method = fit_params.pop("_routing_method", "partial_fit")
        self.notify("on_train_begin", X=X, y=y)
        with recording_user_interrupts() as interrupts:
            try:
                self.fit_loop(X, y, _routing_method=routing_method, **fit_params)
            except KeyboardInterrupt:
                if interrupts["user"]:
                    raise
                # A callback ended training early (skorch's EarlyStopping raises KeyboardInterrupt).
            finally:
                self.notify("on_train_end", X=X, y=y)
        return self

    def _check_finite(self, loss: torch.Tensor) -> None:
        if not bool(torch.isfinite(loss.detach()).all()):
            epoch = len(self.history)
            batch = len(self.history[-1]["batches"]) if epoch else 0
            raise NonFiniteLossError(
                f"The training loss is {float(loss.detach().float().mean())} at epoch {epoch}, batch "
                f"{batch}: training stopped (a learning rate too high for the data, or weights that "
                "diverged). Lower lr or check the input."
            )

    def train_step_single(self, batch: Any, **fit_params: Any) -> dict[str, Any]:
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        with autocast_context(str(self.device), self.mixed_precision):
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        self._check_finite(loss)
        loss.backward()
        for name, value in getattr(self.module_, "loss_parts", {}).items():
            self.history.record_batch(name, float(value))
        return {"loss": loss, "y_pred": y_pred}

    def validation_step(self, batch: Any, **fit_params: Any) -> dict[str, Any]:
        self._set_training(False)
        Xi, yi = unpack_data(batch)
        with torch.no_grad(), autocast_context(str(self.device), self.mixed_precision):
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=False)
        return {"loss": loss, "y_pred": y_pred}


def make_net(
    estimator: Any,
    module: torch.nn.Module,
    *,
    criterion: type[torch.nn.Module] | torch.nn.Module = SelfLoss,
    optimizer: type[torch.optim.Optimizer] = torch.optim.Adam,
    optimizer_params: dict[str, Any] | None = None,
    callbacks: Iterable[Any] = (),
    drop_last: bool = False,
) -> ECGNet:
    """The net of ``module`` with the estimator's training parameters.

    ``estimator`` supplies ``max_epochs``, ``batch_size``, ``lr``, ``device``,
    ``verbose`` and ``callbacks`` (after the method's own ``callbacks``). Items of
    the training dataset are ``(input, target)`` pairs; with the default criterion
    the module's forward returns the loss and the target is ignored.
    """
    all_callbacks = list(callbacks) + list(estimator.callbacks or [])
    if estimator.verbose:
        all_callbacks.append(("progress", ProgressBar()))
    return ECGNet(
        module,
        criterion=criterion,
        optimizer=optimizer,
        lr=estimator.lr,
        max_epochs=estimator.max_epochs,
        batch_size=estimator.batch_size,
        train_split=None,
        iterator_train__shuffle=True,
        iterator_train__drop_last=drop_last,
        callbacks=all_callbacks or None,
        device=resolve_device(estimator.device),
        verbose=int(bool(estimator.verbose)),
        **{f"optimizer__{k}": v for k, v in (optimizer_params or {}).items()},
    )


def train(estimator: Any, build_module: Callable[[], torch.nn.Module], dataset: Dataset,
          **net_options: Any) -> ECGNet:
    """Build a module and fit its net (:func:`make_net`) on ``dataset``, under one seed drawn
    from the estimator's ``random_state`` (:func:`seeded`): reproducible, global RNG untouched."""
    with seeded(draw_seed(estimator.random_state), resolve_device(estimator.device)):
        net = make_net(estimator, build_module(), **net_options)
        net.fit(dataset, None)
    return net


def predict_batches(
    function: Callable[[torch.Tensor], torch.Tensor], batches: Iterable[torch.Tensor], device: str
) -> np.ndarray:
    """Apply ``function`` to each batch on ``device`` with gradients off (bfloat16 on CUDA);
    the float32 results are concatenated on the CPU."""
    chunks = []
    with torch.inference_mode(), autocast_context(device):
        for batch in batches:
            chunks.append(function(batch.to(device)).float().cpu().numpy())
    return np.concatenate(chunks).astype(np.float32, copy=False)
