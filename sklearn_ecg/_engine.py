"""The one training engine every estimator uses (see DESIGN.md, "The engine").

- :func:`seeded`: a fit's randomness, reproducible and isolated from the caller's RNG;
- :class:`ECGNet`: skorch's ``NeuralNet`` with mixed precision and fault handling;
- :func:`make_net` / :func:`train`: a module's net from an estimator's parameters, and its
  seeded fit;
- :func:`predict_batches`: batched inference with gradients off.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import ProgressBar
from skorch.dataset import unpack_data
from skorch.utils import to_tensor
from torch.utils.data import DataLoader, Dataset

from . import _checkpoint, _distributed
from .nn.data import BatchDataset, SeededBatchSampler

# torch's default initialisers and dropout draw from the process-wide generator and take no
# generator of their own, so a fit cannot own its randomness: fits take turns on it instead.
# Re-entrant, so a fit may run another (e.g. a fine-tuning stage) inside.
_GLOBAL_RNG_LOCK = threading.RLock()


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss (too high a learning rate, bad data, ...)."""


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def resolve_device(device: str | torch.device | None) -> str:
    """``"auto"`` (or None) picks CUDA when available (under a multi-process launcher, this
    process's GPU), else Apple's MPS, else CPU; anything else is checked."""
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return _distributed.local_cuda_device() if _distributed.launched_world_size() > 1 else "cuda"
        return "mps" if _mps_available() else "cpu"
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}.") from exc
    # Training and inference are built for CPU, CUDA and MPS (meta tensors cannot train; XLA
    # and other backends have never run).
    if resolved.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device={device!r} is not supported: use 'auto', 'cpu', 'cuda', 'cuda:N' or "
                         "'mps'.")
    if resolved.type == "mps" and not _mps_available():
        raise ValueError(f"device={device!r} was requested but Apple's MPS is not available here.")
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
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=_cuda_devices(device)):
        torch.manual_seed(seed)
        yield


def _cuda_devices(device: str) -> list[int]:
    return [torch.device(device).index or 0] if device.startswith("cuda") else []


def resolve_num_workers(num_workers: int | str, device: str, dataset: Any) -> int:
    """``"auto"``: no worker processes on CPU (they would compete with training for the same
    cores); up to 4 (never more than the cores but one) on CUDA, and on other accelerators for
    lazy arrays (memmap, h5py, zarr) only.

    On CUDA, in-memory arrays get workers too: the loss is read back after every step, so a
    batch read in the main process does not overlap the GPU's work. On an H200 workers raised
    fit throughput with loading by 12-28% (benchmarks/results/gpu-check.md)."""
    if num_workers != "auto":
        return int(num_workers)
    if device == "cpu" or not (device.startswith("cuda") or getattr(dataset, "lazy", False)):
        return 0
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def resolve_pin_memory(pin_memory: bool | str, device: str) -> bool:
    """``"auto"``: pinned (page-locked) batches when training on CUDA."""
    return device.startswith("cuda") if pin_memory == "auto" else bool(pin_memory)


def _identity(batch: Any) -> Any:
    # Datasets return whole batches (__getitems__); nothing is left to collate.
    return batch


class ItemSplit:
    """skorch ``train_split``: a fixed share of the dataset's items held out for validation,
    drawn with ``seed`` (numpy, so the training RNG stream is unchanged)."""

    def __init__(self, fraction: float, seed: int):
        self.fraction = fraction
        self.seed = seed

    def __call__(self, dataset: Dataset, y: Any = None, **kwargs: Any) -> tuple[Dataset, Dataset]:
        n = len(dataset)
        n_valid = int(round(self.fraction * n))
        if n_valid < 1 or n_valid >= n:
            raise ValueError(f"validation_fraction={self.fraction} of {n} training items leaves "
                             f"{n_valid} for validation and {n - n_valid} for training; both need at "
                             "least 1.")
        order = np.random.RandomState(self.seed).permutation(n)
        return ItemSubset(dataset, np.sort(order[n_valid:])), ItemSubset(dataset, np.sort(order[:n_valid]))


class ItemSubset(BatchDataset):
    """Some items of a batch-read dataset, still read a batch at a time."""

    def __init__(self, dataset: BatchDataset, items: np.ndarray):
        self.dataset = dataset
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    @property
    def lazy(self) -> bool:
        return self.dataset.lazy

    def read_batch(self, items: np.ndarray, seeds: np.ndarray) -> tuple[Any, Any]:
        return self.dataset.read_batch(self.items[items], seeds)


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

    - Batches are read whole by the dataset (``__getitems__``) in ``num_workers`` DataLoader
      workers (0: the main process), ``pin_memory`` for fast copies to CUDA; batch keys come
      from :class:`~sklearn_ecg.nn.data.SeededBatchSampler`, so the items read are the same
      with or without workers.
    - ``mixed_precision``: the step runs under bfloat16 autocast on CUDA.
    - A NaN or infinite loss stops the fit with :class:`NonFiniteLossError` naming
      the epoch and batch, before the weights are updated with it.
    - Ctrl-C propagates (skorch swallows it and returns a partly trained net), so an
      interrupted fit never looks like a finished one; a ``KeyboardInterrupt`` raised by a
      callback (skorch's ``EarlyStopping``) still ends training normally.
    - Validation batches (``valid_loss``) run with torch's RNG forked and fixed, so the
      validation loss of every epoch is measured alike and training draws the same numbers
      with or without validation.
    - Under a multi-process launcher the module trains wrapped in DDP on the process's
      share of each global batch of ``batch_size`` items.
    - A module may set ``loss_parts`` (a dict of floats) in ``forward``; each part
      is recorded in the batch history.
    """

    def __init__(self, *args: Any, mixed_precision: bool = True, num_workers: int = 0,
                 pin_memory: bool = False, drop_last: bool = False, data_seed: int = 0,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.data_seed = data_seed
        self.mixed_precision = mixed_precision
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.drop_last = drop_last

    def get_iterator(self, dataset: Any, training: bool = False) -> Any:
        if not isinstance(dataset, BatchDataset):
            return super().get_iterator(dataset, training=training)
        rank, world_size = _distributed.rank_and_world_size()
        sampler = SeededBatchSampler(len(dataset), self.batch_size, shuffle=training,
                                     drop_last=training and self.drop_last, seed=self.data_seed, rank=rank,
                                     world_size=world_size)
        workers = self.num_workers
        # The loader's own generator: the worker seed it draws per pass (single-process loaders
        # pass more often than persistent workers) must not advance the global RNG.
        generator = torch.Generator().manual_seed(self.data_seed)
        return DataLoader(dataset, batch_sampler=sampler, collate_fn=_identity, num_workers=workers,
                          generator=generator,
                          pin_memory=self.pin_memory, persistent_workers=workers > 0,
                          multiprocessing_context="fork" if workers and os.name == "posix" else None)

    def run_single_epoch(self, iterator: Any, training: bool, prefix: str, step_fn: Callable,
                         **fit_params: Any) -> None:
        if training and isinstance(getattr(iterator, "batch_sampler", None), SeededBatchSampler):
            iterator.batch_sampler.set_epoch(len(self.history))  # 1, 2, ... also after a resume
        if training or iterator is None:
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        with torch.random.fork_rng(devices=_cuda_devices(str(self.device))):
            torch.manual_seed(0)
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)

    def partial_fit(self, X: Any, y: Any = None, classes: Any = None, **fit_params: Any) -> ECGNet:
        if not self.initialized_:
            self.initialize()
        routing_method = fit_params.pop("_routing_method", "partial_fit")
        world_size = _distributed.rank_and_world_size()[1]
        # Stored past skorch's __setattr__, which admits torch modules only from initialize_*:
        # the wrapper lives for this call only and is never pickled.
        vars(self)["_ddp_module"] = (_distributed.data_parallel(self.module_, str(self.device))
                                     if world_size > 1 else None)
        self.notify("on_train_begin", X=X, y=y)
        with recording_user_interrupts() as interrupts:
            try:
                self.fit_loop(X, y, _routing_method=routing_method, **fit_params)
            except KeyboardInterrupt:
                if interrupts["user"]:
                    raise
                # A callback ended training early (skorch's EarlyStopping raises KeyboardInterrupt).
            finally:
                if vars(self).pop("_ddp_module", None) is not None:
                    _distributed.plain_batchnorm(self.module_)
                self.notify("on_train_end", X=X, y=y)
        return self

    def infer(self, x: Any, **fit_params: Any) -> Any:
        module = vars(self).get("_ddp_module")
        if module is None or not self.module_.training:
            module = self.module_
        x = to_tensor(x, device=self.device)
        if isinstance(x, Mapping):
            return module(**{**x, **fit_params})
        return module(x, **fit_params)

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

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_ddp_module", None)
        return state


OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD,
              "rmsprop": torch.optim.RMSprop}


def resolve_optimizer(optimizer: Any, default: type[torch.optim.Optimizer]) -> type[torch.optim.Optimizer]:
    """An estimator's ``optimizer``: None (the method's own), a name or a torch optimizer class."""
    if optimizer is None:
        return default
    if isinstance(optimizer, str):
        if optimizer.lower() not in OPTIMIZERS:
            raise ValueError(f"optimizer={optimizer!r} is not known; use one of {sorted(OPTIMIZERS)} or a "
                             "torch.optim.Optimizer subclass.")
        return OPTIMIZERS[optimizer.lower()]
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        return optimizer
    raise ValueError(f"optimizer must be None, a name ({sorted(OPTIMIZERS)}) or a torch.optim.Optimizer "
                     f"subclass, got {optimizer!r}.")


def make_net(
    estimator: Any,
    module: torch.nn.Module,
    *,
    criterion: type[torch.nn.Module] | torch.nn.Module = SelfLoss,
    optimizer: type[torch.optim.Optimizer] = torch.optim.Adam,
    optimizer_params: dict[str, Any] | None = None,
    callbacks: Iterable[Any] = (),
    drop_last: bool = False,
    dataset: Dataset | None = None,
    data_seed: int = 0,
) -> ECGNet:
    """The net of ``module`` with the estimator's training parameters.

    ``estimator`` supplies ``max_epochs``, ``batch_size``, ``lr``, ``device``, ``verbose``
    and ``callbacks`` (after the method's own ``callbacks``), and where it has them
    ``optimizer`` (replacing the method's ``optimizer``), ``weight_decay``,
    ``validation_fraction``, ``num_workers``, ``pin_memory`` and ``mixed_precision``.
    Items of the training dataset are ``(input, target)`` pairs; with the default
    criterion the module's forward returns the loss and the target is ignored.
    ``data_seed`` seeds the batches' order, the items' random choices and the validation split.
    """
    device = resolve_device(estimator.device)
    all_callbacks = list(callbacks) + list(estimator.callbacks or [])
    if estimator.verbose:
        all_callbacks.append(("progress", ProgressBar()))
    optimizer_params = dict(optimizer_params or {})
    if getattr(estimator, "optimizer", None) is not None:
        # The method's settings (betas, eps...) belong to its own optimizer.
        optimizer_params = {k: v for k, v in optimizer_params.items() if k == "param_groups"}
    if getattr(estimator, "weight_decay", None) is not None:
        optimizer_params["weight_decay"] = float(estimator.weight_decay)
    fraction = getattr(estimator, "validation_fraction", None)
    return ECGNet(
        module,
        criterion=criterion,
        optimizer=resolve_optimizer(getattr(estimator, "optimizer", None), optimizer),
        lr=estimator.lr,
        max_epochs=estimator.max_epochs,
        batch_size=estimator.batch_size,
        train_split=ItemSplit(float(fraction), data_seed) if fraction else None,
        callbacks=all_callbacks or None,
        device=device,
        verbose=int(bool(estimator.verbose)),
        mixed_precision=bool(getattr(estimator, "mixed_precision", True)),
        num_workers=resolve_num_workers(getattr(estimator, "num_workers", 0), device, dataset),
        pin_memory=resolve_pin_memory(getattr(estimator, "pin_memory", False), device),
        drop_last=drop_last,
        data_seed=data_seed,
        **{f"optimizer__{k}": v for k, v in optimizer_params.items()},
    )


def train(estimator: Any, build_module: Callable[[], torch.nn.Module], dataset: Dataset,
          **net_options: Any) -> ECGNet:
    """Build a module and fit its net (:func:`make_net`) on ``dataset``, under one seed drawn
    from the estimator's ``random_state`` (:func:`seeded`): reproducible, global RNG untouched.

    With a ``checkpoint_dir``, every epoch is checkpointed there and a fit that finds a
    checkpoint of the same estimator and data resumes after its last complete epoch
    (:mod:`sklearn_ecg._checkpoint`); ``fingerprint_data`` is what identifies the data: the ECGs
    then any labels, groups or reports (or ``checkpoint_fingerprint`` gives the whole fingerprint).
    """
    fingerprint_data = net_options.pop("fingerprint_data", None)
    fingerprint = net_options.pop("checkpoint_fingerprint", None)
    device = resolve_device(estimator.device)
    _distributed.ensure_process_group(device)
    directory = getattr(estimator, "checkpoint_dir", None)
    seed = draw_seed(estimator.random_state)
    with seeded(seed, device):
        checkpoint = None
        if directory is not None:
            fingerprint = fingerprint or _checkpoint.fit_fingerprint(estimator, *fingerprint_data)
            checkpoint = _checkpoint.load_checkpoint(directory, fingerprint)
            writer = _checkpoint.EpochCheckpoint(directory, fingerprint, _distributed.is_main_process())
            # Last, so that it saves what every other callback has done in the epoch.
            net_options["callbacks"] = [*net_options.get("callbacks", ()), ("checkpoint", writer)]
        net = make_net(estimator, build_module(), dataset=dataset, data_seed=seed, **net_options)
        net.initialize()
        done = _checkpoint.restore(net, checkpoint) if checkpoint is not None else 0
        # Also with no epoch left, so that callbacks end training as they would have (e.g.
        # BestValidationScore putting back its best epoch's weights).
        net.partial_fit(dataset, None, epochs=net.max_epochs - done)
    return net


def predict_batches(
    function: Callable[[torch.Tensor], torch.Tensor], batches: Iterable[torch.Tensor], device: str,
    mixed_precision: bool = True,
) -> np.ndarray:
    """Apply ``function`` to each batch on ``device`` with gradients off (bfloat16 on CUDA
    unless ``mixed_precision`` is False); the float32 results are concatenated on the CPU."""
    chunks = []
    with torch.inference_mode(), autocast_context(device, mixed_precision):
        for batch in batches:
            chunks.append(function(batch.to(device)).float().cpu().numpy())
    return np.concatenate(chunks).astype(np.float32, copy=False)
