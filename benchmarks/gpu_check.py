"""One command that checks every estimator on a GPU at the papers' sizes.

Each estimator (PCLR, CPC, SimCLR, BYOL, W2V+CMSC+RLM, METS, SupervisedECGClassifier on SimCLR's
xresnet1d50, FineTunedECGClassifier on a CPC pretrained for one short epoch) at the ``paper`` preset
of ``benchmarks/methods`` (published model and batch size, halved on a CUDA out-of-memory error, as
the table then says), on seeded synthetic 10 s 12-lead ECGs at 100 Hz, generated once:

- fit: ``--n-batches`` batches, one epoch (both stages of the fine-tuned classifier), bfloat16
  autocast; items/s of the training steps, CUDA synchronised, the first batch of each stage
  (warm-up) left out; ECGs/s = items/s x ECGs per item (PCLR's item is a patient's two ECGs);
- loader: items/s of the training DataLoader alone (one ``net_.get_iterator`` over the fit's own
  dataset, passed over repeatedly as fit does, its first pass left out) against the model's: the
  slower one is the bottleneck;
- workers: the fit again with the other loader choice (worker processes where ``"auto"`` chose
  none, else none): items/s of the steps and with loading (wall clock between batches) for both;
- FLOPs (``FlopCounterMode``, plus the LSTM's matmuls, which it does not count) of a forward of one
  training batch, x3 for a training step, and of a transform batch; achieved rates as % of the
  bfloat16 dense peak (:data:`PEAK_BF16_TFLOPS` by device name, or ``--peak-tflops``; "unknown"
  otherwise; under the counter, PCLR's CPU inference copy runs plain convolutions, so they count);
  transform ECGs/s after a warm-up batch, at the training batch size and at
  ``--transform-batch-size`` (1024, set after fit as a user would) over 4 such batches;
- bfloat16 vs float32: one fitted model embeds the same ECGs with ``mixed_precision`` True and
  False: mean and min cosine similarity. A float32 reference independent of that flag patches
  ``torch.cuda.is_bf16_supported`` (which every library path asks before autocasting) to False;
- GPU -> CPU: ``to("cpu")`` (save, then load on the CPU for estimators without ``to``), the CPU
  output against the CUDA float32 one, and a save/load round trip (max abs differences);
- checkpoint/resume: 2 epochs at batch min(published, 64) in one fit, and in a fit interrupted at
  epoch 2's first batch then refitted with the same parameters and ``checkpoint_dir`` (it resumes
  after epoch 1): max abs weight difference (exactly 0 on CPU, and it was 0 on an H200, though
  CUDA kernels are not promised to be bit-exact).

The classifiers' "transform" is ``decision_function``. Any exception is recorded per estimator and
step (its traceback in the JSON) and the run goes on; after ``--time-budget`` seconds (400) the
remaining steps are skipped and recorded so: the command ends within 8 minutes on one H200
(measured: 103 s with 16 CPU cores, torch 2.11, CUDA 13.0; ``benchmarks/results/gpu-check.md``).
``--text-model`` gives METS another local copy of its frozen text model.

Usage, from the repository root::

    python -m benchmarks.gpu_check [--methods pclr,cpc] [--n-batches 6] [--peak-tflops 989]
    python -m benchmarks.gpu_check --device cpu --fast --out /tmp/gpu-check   # tiny models, < 1 min

writes ``gpu-check.json`` and ``gpu-check.md`` (the environment first) into ``--out``: by default
``benchmarks/results``, or a new temporary directory with ``--fast``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import math
import os
import platform
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import numpy as np
import skorch
import torch
from skorch.callbacks import Callback
from torch.utils.flop_counter import FlopCounterMode

import sklearn_ecg
from sklearn_ecg import FineTunedECGClassifier, METSZeroShotClassifier
from sklearn_ecg.datasets import make_synthetic_ecg
from sklearn_ecg.testing import fit_arguments, tiny_estimator
from sklearn_ecg.text import DEFAULT_TEXT_MODEL

from . import methods
from .methods import byol, cpc, pclr, simclr, w2v_cmsc
from .protocol import RESULTS_DIR, write_results

#: bfloat16 dense peak (TFLOP/s) by a part of ``torch.cuda.get_device_name()``.
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100 SXM": 989.0, "H100 80GB HBM3": 989.0, "H100 PCIe": 756.0,
                    "A100": 312.0}
NAMES = {"pclr": "PCLR", "cpc": "CPC", "simclr": "SimCLR", "byol": "BYOL", "w2v_cmsc": "W2V+CMSC+RLM",
         "mets": "METS", "supervised": "SupervisedECGClassifier", "finetune": "FineTunedECGClassifier"}
FS = 100  # every paper preset here reads 10 s records at 100 Hz (W2V upsamples to 500 Hz inside)
ECGS_PER_ITEM = {"pclr": 2}  # PCLR's training item is a patient: two ECGs (2 per synthetic patient)


class SimulatedInterruption(Exception):
    """What :class:`StepTimer` raises at ``stop_at_epoch`` to cut a fit short, as a crash would."""


class StepTimer(Callback):
    """Times the training steps (CUDA synchronised) and keeps the fit's dataset. The first batch of
    each training run is warm-up, left out; ``wall_s`` also holds the time spent reading batches."""

    def __init__(self, device: str, stop_at_epoch: int | None = None):
        self.device, self.stop_at_epoch, self.dataset = device, stop_at_epoch, None
        self.batches = self.timed_batches = self.items = 0
        self.step_s = self.wall_s = 0.0

    def on_train_begin(self, net: Any, X: Any = None, **kwargs: Any) -> None:
        self.dataset, self.last_end = X, None

    def on_batch_begin(self, net: Any, training: bool = False, **kwargs: Any) -> None:
        if training and self.stop_at_epoch is not None and len(net.history) >= self.stop_at_epoch:
            raise SimulatedInterruption(f"stopped at the first batch of epoch {self.stop_at_epoch}")
        if training:
            synchronize(self.device)
            self.start = time.perf_counter()

    def on_batch_end(self, net: Any, batch: Any = None, training: bool = False, **kwargs: Any) -> None:
        if not training:
            return
        synchronize(self.device)
        end, self.batches = time.perf_counter(), self.batches + 1
        if self.last_end is not None:
            self.timed_batches += 1
            self.items += batch_len(batch)
            self.step_s += end - self.start
            self.wall_s += end - self.last_end
        self.last_end = end


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], device: str) -> tuple[Any, float]:
    synchronize(device)
    start = time.perf_counter()
    out = fn()
    synchronize(device)
    return out, time.perf_counter() - start


def batch_len(batch: Any) -> int:
    """Items in a batch: the length of its first tensor (batches are tensors, tuples or dicts)."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() else 0
    if isinstance(batch, Mapping):
        batch = list(batch.values())
    return next((n for n in map(batch_len, batch) if n), 0) if isinstance(batch, list | tuple) else 0


def recurrent_flops(module: torch.nn.RNNBase, x: torch.Tensor) -> int:
    """Matmul FLOPs of an LSTM/GRU/RNN forward over ``x``, which FlopCounterMode misses (one op)."""
    if not isinstance(x, torch.Tensor):  # a PackedSequence: not used by the library
        return 0
    steps, batch = (x.shape[0], 1) if x.dim() == 2 else x.shape[1::-1] if module.batch_first else x.shape[:2]
    gates, directions = {"LSTM": 4, "GRU": 3}.get(module.mode, 1), 2 if module.bidirectional else 1
    inputs = [module.input_size] + [module.hidden_size * directions] * (module.num_layers - 1)
    per_step = sum(2 * gates * module.hidden_size * (n + module.hidden_size) for n in inputs)
    return per_step * directions * steps * batch


def count_flops(fn: Callable[[], Any], module: torch.nn.Module) -> int:
    """FLOPs of ``fn()``: torch's FlopCounterMode, plus the recurrent layers of ``module``."""
    extra = []
    hooks = [m.register_forward_hook(lambda m, args, out: extra.append(recurrent_flops(m, args[0])))
             for m in module.modules() if isinstance(m, torch.nn.RNNBase)]
    try:
        with FlopCounterMode(display=False) as counter:
            fn()
    finally:
        for hook in hooks:
            hook.remove()
    return int(counter.get_total_flops()) + sum(extra)


@contextlib.contextmanager
def bfloat16_unavailable():
    """Float32 everywhere: every library path asks ``torch.cuda.is_bf16_supported()`` first."""
    with mock.patch.object(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False):
        yield


def embed(estimator: Any, X: np.ndarray) -> np.ndarray:
    """Embeddings, or the classifiers' decision function, as (n, d) float32."""
    out = estimator.transform(X) if hasattr(estimator, "transform") else estimator.decision_function(X)
    return np.asarray(out, dtype=np.float32).reshape(len(X), -1)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-30)


def max_abs(a: Any, b: Any) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)), initial=0.0))


def weight_difference(a: torch.nn.Module, b: torch.nn.Module) -> float:
    other = b.state_dict()
    return max((max_abs(v.detach().float().cpu(), other[k].detach().float().cpu())
                for k, v in a.state_dict().items() if v.is_floating_point()), default=0.0)


# -- the estimators ----------------------------------------------------------------------------------
def paper_estimator(name: str, text_model: str = DEFAULT_TEXT_MODEL) -> Any:
    """The published configuration of ``name`` (benchmarks/methods' ``paper`` presets), unfitted;
    METS with the frozen ``text_model``."""
    modules = {"pclr": pclr, "cpc": cpc, "simclr": simclr, "byol": byol, "w2v_cmsc": w2v_cmsc}
    if name in modules:
        return modules[name].make_embedder("paper")
    if name == "mets":
        return METSZeroShotClassifier(fs=FS, text_model=text_model, random_state=0)
    if name == "supervised":  # the from-scratch baseline of SimCLR/BYOL: xresnet1d50 + linear head
        return methods.default_supervised(simclr, "paper", n_labels=100)
    # Fine-tuning starts from CPC (the paper's fine-tuning protocol), pretrained in make_estimator.
    return FineTunedECGClassifier(cpc.make_embedder("paper"), random_state=0)


def make_estimator(name: str, fast: bool, data: SimpleNamespace, device: str,
                   text_model: str = DEFAULT_TEXT_MODEL, **params: Any) -> Any:
    estimator = tiny_estimator(name) if fast else paper_estimator(name, text_model)
    if name == "finetune" and not fast:  # one short epoch of CPC pretraining
        embedder = estimator.embedder.set_params(max_epochs=1, device=device)
        embedder.fit(data.X[: 2 * embedder.batch_size])
    epochs = {"head_epochs": 1, "finetune_epochs": 1} if name == "finetune" else {"max_epochs": 1}
    return estimator.set_params(**{**epochs, "device": device, "random_state": 0, "verbose": 0, **params})


def subset(data: SimpleNamespace, n: int) -> SimpleNamespace:
    return SimpleNamespace(X=data.X[:n], y=data.y[:n], patient_id=data.patient_id[:n],
                           reports=list(data.reports[:n]))


def fit_size(name: str, batch_size: int, n_batches: int) -> int:
    return n_batches * batch_size * ECGS_PER_ITEM.get(name, 1)


# -- the steps (each returns its results, stored under its name) ------------------------------------
def halving_on_oom(attempt: Callable[[int], Any], batch_size: int) -> Any:
    """``attempt(batch_size)``, the batch halved after each CUDA out-of-memory error (down to 1)."""
    while True:
        try:
            return attempt(batch_size)
        except torch.cuda.OutOfMemoryError:
            if batch_size < 2:
                raise
        gc.collect()
        torch.cuda.empty_cache()
        batch_size //= 2


def fit_step(run: SimpleNamespace) -> dict:
    published = run.estimator.batch_size

    def attempt(batch_size: int) -> float:
        run.estimator.set_params(batch_size=batch_size)
        run.data_fit = subset(run.data, fit_size(run.name, batch_size, run.n_batches))
        args, kwargs = fit_arguments(run.name, run.data_fit)
        run.timer = StepTimer(run.device)
        run.estimator.set_params(callbacks=[("gpu_check_timer", run.timer)])
        return timed(lambda: run.estimator.fit(*args, **kwargs), run.device)[1]

    seconds = halving_on_oom(attempt, published)
    run.estimator.set_params(callbacks=None)
    timer = run.timer
    run.ecgs_per_item = len(run.data_fit.X) / len(timer.dataset)
    run.fit_items_per_s = timer.items / timer.step_s if timer.step_s else float("nan")
    return {"published_batch_size": published, "batch_size": run.estimator.batch_size,
            "n_ecgs": len(run.data_fit.X), "n_items": len(timer.dataset), "batches": timer.batches,
            "timed_batches": timer.timed_batches, "seconds": seconds, "ecgs_per_item": run.ecgs_per_item,
            "n_parameters": int(sum(p.numel() for p in run.estimator.net_.module_.parameters())),
            "items_per_s": run.fit_items_per_s, "ecgs_per_s": run.fit_items_per_s * run.ecgs_per_item,
            "items_per_s_with_loading": timer.items / timer.wall_s if timer.wall_s else float("nan")}


def loader_step(run: SimpleNamespace) -> dict:
    """Items/s of whole passes over one training DataLoader, as fit makes one per fit and passes
    over it every epoch; the first pass (which starts any workers) is left out."""
    net, items = run.estimator.net_, 0
    loader = net.get_iterator(run.timer.dataset, training=True)
    for _ in loader:
        pass
    start = time.perf_counter()
    while time.perf_counter() - start < run.loader_seconds:  # whole passes, at least this long
        items += sum(batch_len(batch) for batch in loader)
    rate = items / (time.perf_counter() - start)
    del loader  # stops persistent workers
    return {"items_per_s": rate, "num_workers": net.num_workers, "pin_memory": net.pin_memory,
            "model_items_per_s": run.fit_items_per_s,
            "bottleneck": "data loading" if rate < run.fit_items_per_s else "model"}


def flops_step(run: SimpleNamespace) -> dict:
    net = run.estimator.net_
    Xi, _ = next(iter(net.get_iterator(run.timer.dataset, training=True)))
    saved = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
    net.module_.train()
    with torch.no_grad():
        forward = count_flops(lambda: net.infer(Xi), net.module_)
    net.module_.load_state_dict(saved)  # BatchNorm statistics as they were
    X = run.data.X[: run.estimator.batch_size]
    run.train_flops = 3 * forward / batch_len(Xi) / run.ecgs_per_item  # per ECG
    # FLOPs do not depend on the dtype. Under bfloat16 autocast the counter decomposes cuDNN's
    # LSTM into matmuls of mixed dtypes and fails (seen on an H200, torch 2.11): count in float32.
    with bfloat16_unavailable():
        run.transform_flops = count_flops(lambda: embed(run.estimator, X), net.module_) / len(X)
    return {"train_gflops_per_ecg": run.train_flops / 1e9,
            "transform_gflops_per_ecg": run.transform_flops / 1e9,
            "fit_tflops_per_s": run.train_flops * run.fit_items_per_s * run.ecgs_per_item / 1e12}


def transform_rate(run: SimpleNamespace, X: np.ndarray) -> float:
    """ECGs/s of embedding X at the estimator's batch size, after a warm-up batch."""
    embed(run.estimator, X[: run.estimator.batch_size])
    _, seconds = timed(lambda: embed(run.estimator, X), run.device)
    return len(X) / seconds


def transform_step(run: SimpleNamespace) -> dict:
    """Transform at the training batch size, then at ``--transform-batch-size`` (set after fit, as
    a user would; halved on a CUDA out-of-memory error) over up to 4 such batches."""
    flops, rate = getattr(run, "transform_flops", float("nan")), transform_rate(run, run.data_fit.X)
    result = {"n_ecgs": len(run.data_fit.X), "ecgs_per_s": rate, "tflops_per_s": flops * rate / 1e12}
    trained_batch = run.estimator.batch_size

    def attempt(batch_size: int) -> tuple[int, int, float]:
        run.estimator.set_params(batch_size=batch_size)
        X = run.data.X[: 4 * batch_size]
        return batch_size, len(X), transform_rate(run, X)

    try:
        batch, n_ecgs, big = halving_on_oom(attempt, run.transform_batch_size)
    finally:
        run.estimator.set_params(batch_size=trained_batch)
    return {**result, "large_batch_size": batch, "large_batch_n_ecgs": n_ecgs, "large_batch_ecgs_per_s": big,
            "large_batch_tflops_per_s": flops * big / 1e12}


def workers_step(run: SimpleNamespace) -> dict:
    """The fit again with the other loader choice (worker processes if ``"auto"`` chose none, else
    none): items/s of the steps alone and with loading (wall clock between batches) for both."""
    chosen = run.estimator.net_.num_workers
    other = 0 if chosen else max(1, min(4, (os.cpu_count() or 2) - 1))
    args, kwargs = fit_arguments(run.name, run.data_fit)
    timer = StepTimer(run.device)
    estimator = make_estimator(run.name, run.fast, run.data, run.device, run.text_model,
                               batch_size=run.estimator.batch_size, num_workers=other,
                               callbacks=[("gpu_check_timer", timer)])
    estimator.fit(*args, **kwargs)
    first = run.timer
    return {"auto_workers": chosen, "auto_items_per_s": first.items / first.step_s,
            "auto_items_per_s_with_loading": first.items / first.wall_s, "other_workers": other,
            "other_items_per_s": timer.items / timer.step_s,
            "other_items_per_s_with_loading": timer.items / timer.wall_s}


def precision_step(run: SimpleNamespace) -> dict:
    X = run.data_fit.X[: run.n_compare]
    bf16 = embed(run.estimator, X)
    with bfloat16_unavailable():
        run.float32 = embed(run.estimator, X)
    result = {"n_ecgs": len(X), "max_abs_diff": max_abs(bf16, run.float32)}
    if "mixed_precision" in run.estimator.get_params():
        run.estimator.set_params(mixed_precision=False)
        flag = embed(run.estimator, X)
        run.estimator.set_params(mixed_precision=True)
        result["flag_vs_reference_max_abs_diff"] = max_abs(flag, run.float32)
    else:
        flag = run.float32
        result["note"] = "no mixed_precision parameter: compared with the patched float32 reference"
    sims, reference = cosine(bf16, flag), cosine(bf16, run.float32)
    return {**result, "cosine_mean": float(sims.mean()), "cosine_min": float(sims.min()),
            "reference_cosine_mean": float(reference.mean()), "reference_cosine_min": float(reference.min())}


def move_step(run: SimpleNamespace) -> dict:
    X, reference = run.data_fit.X[: run.n_cpu], run.float32[: run.n_cpu]
    with tempfile.TemporaryDirectory() as tmp:
        if hasattr(run.estimator, "to"):
            moved, how = run.estimator.to("cpu"), "to('cpu')"
        else:
            run.estimator.save(Path(tmp) / "device")
            moved, how = type(run.estimator).load(Path(tmp) / "device", device="cpu"), "save, load (no to())"
        on_cpu = embed(moved, X)
        moved.save(Path(tmp) / "cpu")
        loaded = embed(type(moved).load(Path(tmp) / "cpu", device="cpu"), X)
    diff = max_abs(on_cpu, reference)
    return {"how": how, "n_ecgs": len(X), "cpu_vs_device_float32_max_abs_diff": diff,
            "relative": diff / (float(np.abs(reference).max()) or 1.0),
            "save_load_max_abs_diff": max_abs(loaded, on_cpu)}


def checkpoint_step(run: SimpleNamespace) -> dict:
    if "checkpoint_dir" not in run.estimator.get_params():
        return {"unsupported": f"{type(run.estimator).__name__} has no checkpoint_dir parameter"}
    batch_size = min(run.estimator.batch_size, 64)
    args, kwargs = fit_arguments(run.name, subset(run.data, fit_size(run.name, batch_size, 2)))
    with tempfile.TemporaryDirectory() as tmp:
        # The fine-tuned classifier: its second stage alone, so one net trains 2 epochs.
        epochs = {"head_epochs": 0, "finetune_epochs": 2} if run.name == "finetune" else {"max_epochs": 2}

        def fresh(directory: str, callbacks: list) -> Any:
            return make_estimator(run.name, run.fast, run.data, run.device, run.text_model, **epochs,
                                  batch_size=batch_size, checkpoint_dir=os.path.join(tmp, directory),
                                  callbacks=callbacks)

        whole = fresh("whole", None).fit(*args, **kwargs)
        interrupted = fresh("resumed", [("stop", StepTimer("cpu", stop_at_epoch=2))])
        try:
            interrupted.fit(*args, **kwargs)
            raise AssertionError("the interrupting callback did not stop the fit")
        except SimulatedInterruption:
            pass  # the estimator is as before the fit; the checkpoint of epoch 1 is on disk
        counter = StepTimer("cpu")
        resumed = interrupted.set_params(callbacks=[("count", counter)]).fit(*args, **kwargs)
    per_epoch = len(whole.net_.history[-1]["batches"])
    return {"batch_size": batch_size, "epochs": len(resumed.net_.history), "batches_per_epoch": per_epoch,
            "batches_after_resume": counter.batches, "resumed_after_epoch_1": counter.batches == per_epoch,
            "max_abs_weight_diff": weight_difference(whole.net_.module_, resumed.net_.module_)}


STEPS = {"fit": fit_step, "loader": loader_step, "workers": workers_step, "flops": flops_step,
         "transform": transform_step, "precision": precision_step, "move": move_step,
         "checkpoint": checkpoint_step}
NEEDS = {"loader": "fit", "workers": "fit", "flops": "fit", "transform": "fit", "precision": "fit",
         "move": "precision"}


def check_estimator(name: str, args: argparse.Namespace, data: SimpleNamespace, deadline: float) -> dict:
    """Every step of one estimator: its results, errors (tracebacks), skipped steps and seconds."""
    record: dict[str, Any] = {"name": NAMES[name], "errors": {}, "skipped": {}, "seconds": {}}
    cuda = args.device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    run = SimpleNamespace(name=name, device=args.device, fast=args.fast, data=data, n_batches=args.n_batches,
                          n_compare=args.n_compare, n_cpu=args.n_cpu, fit_items_per_s=float("nan"),
                          loader_seconds=0.1 if args.fast else 0.5, text_model=args.text_model,
                          transform_batch_size=args.transform_batch_size)
    for step, function in STEPS.items():
        if time.monotonic() > deadline:
            record["skipped"][step] = "time budget spent"
            continue
        if NEEDS.get(step) and NEEDS[step] not in record:
            record["skipped"][step] = f"needs the {NEEDS[step]} step"
            continue
        start = time.monotonic()
        try:
            if step == "fit":
                run.estimator = make_estimator(name, args.fast, data, args.device, args.text_model)
            record[step] = function(run)
            print(f"{name}/{step}: {record[step]}", flush=True)
        except Exception:
            record["errors"][step] = traceback.format_exc()
            print(f"{name}/{step} FAILED:\n{record['errors'][step]}", flush=True)
        record["seconds"][step] = time.monotonic() - start
    if cuda:
        record["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    del run
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return record


# -- the report --------------------------------------------------------------------------------------
def environment(device: str) -> dict:
    env = {"device": "CPU", "torch": torch.__version__, "cuda": torch.version.cuda,
           "cudnn": torch.backends.cudnn.version(), "skorch": skorch.__version__,
           "sklearn_ecg": sklearn_ecg.__version__, "python": platform.python_version(),
           "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
           "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
           "tf32_cudnn": torch.backends.cudnn.allow_tf32}
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(torch.device(device))
        env.update(device=torch.cuda.get_device_name(torch.device(device)),
                   memory_gib=props.total_memory / 2**30, capability=f"{props.major}.{props.minor}",
                   bf16_supported=torch.cuda.is_bf16_supported())
    return env


def peak_tflops(device_name: str, override: float | None) -> float | str:
    if override is not None:
        return override
    return next((peak for key, peak in PEAK_BF16_TFLOPS.items() if key in device_name), "unknown")


def fmt(value: Any, digits: int = 3) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.{digits}g}"
    return "-" if value is None else str(value)


def percent(tflops: Any, peak: Any) -> str:
    return fmt(100 * tflops / peak) if isinstance(peak, float) and isinstance(tflops, float) else "unknown"


def loading_row(result: dict, peak: Any) -> str:
    workers, transform = result.get("workers", {}), result.get("transform", {})

    def rates(choice: str) -> str:
        return (f"{fmt(workers.get(choice + '_items_per_s'))} / "
                f"{fmt(workers.get(choice + '_items_per_s_with_loading'))}")

    cells = [result["name"], fmt(workers.get("auto_workers")), rates("auto"),
             fmt(workers.get("other_workers")), rates("other"), fmt(transform.get("large_batch_size")),
             fmt(transform.get("large_batch_ecgs_per_s")),
             percent(transform.get("large_batch_tflops_per_s"), peak)]
    return "| " + " | ".join(cells) + " |"


def markdown(report: dict) -> str:
    env, peak = report["environment"], report["peak_bf16_tflops"]
    lines = [f"## GPU check on {env['device']} ({report['mode']})", "",
             "Environment: " + ", ".join(f"{k} {fmt(v)}" for k, v in env.items()) + ".",
             f"bfloat16 dense peak: {fmt(peak)} TFLOP/s; {report['elapsed_s']:.0f} s in all.", "",
             "| estimator | params | batch | fit ECGs/s | fit items/s | loader items/s | bottleneck "
             "| fit % peak | transform ECGs/s | transform % peak | bf16 cosine mean / min | CPU vs CUDA fp32 "
             "| save/load | resume weight diff |", "|---" * 14 + "|"]
    for r in report["methods"].values():
        fit, loader, prec = r.get("fit", {}), r.get("loader", {}), r.get("precision", {})
        transform, move, ckpt = r.get("transform", {}), r.get("move", {}), r.get("checkpoint", {})
        batch = fmt(fit.get("batch_size"))
        if fit and fit["batch_size"] != fit["published_batch_size"]:
            batch += f" (of {fit['published_batch_size']})"
        cells = [r["name"], f"{fit['n_parameters'] / 1e6:.2f} M" if fit else "-", batch,
                 fmt(fit.get("ecgs_per_s")), fmt(fit.get("items_per_s")), fmt(loader.get("items_per_s")),
                 fmt(loader.get("bottleneck")), percent(r.get("flops", {}).get("fit_tflops_per_s"), peak),
                 fmt(transform.get("ecgs_per_s")), percent(transform.get("tflops_per_s"), peak),
                 f"{fmt(prec['cosine_mean'], 6)} / {fmt(prec['cosine_min'], 6)}" if prec else "-",
                 fmt(move.get("cpu_vs_device_float32_max_abs_diff")), fmt(move.get("save_load_max_abs_diff")),
                 ckpt.get("unsupported", fmt(ckpt.get("max_abs_weight_diff")))]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Loading and the inference batch: fit items/s of the steps alone and with loading (wall "
              "clock between batches), with the loader `\"auto\"` chose and with the other choice; transform "
              "at a large batch_size set after fit.", "",
              "| estimator | auto: workers | items/s, steps / with loading | other: workers "
              "| items/s, steps / with loading | transform batch | transform ECGs/s | transform % peak |",
              "|---" * 8 + "|"]
    lines += [loading_row(r, peak) for r in report["methods"].values()]
    problems = [f"- {r['name']}, {step}: {kind[:-1] if kind == 'errors' else kind} "
                f"({text.strip().splitlines()[-1]})" for r in report["methods"].values()
                for kind in ("errors", "skipped") for step, text in r[kind].items()]
    return "\n".join([*lines, "", "Errors and skipped steps:" if problems else "No errors, nothing skipped.",
                      *problems]) + "\n"


def main(argv: list[str] | None = None) -> dict:
    started = time.monotonic()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--fast", action="store_true", help="tiny models (sklearn_ecg.testing)")
    parser.add_argument("--methods", default=None, help=f"comma-separated, of {','.join(NAMES)}")
    parser.add_argument("--n-batches", type=int, default=6, help="batches per fit (the first: warm-up)")
    parser.add_argument("--transform-batch-size", type=int, default=1024,
                        help="the large batch that transform is also timed at")
    parser.add_argument("--n-compare", type=int, default=256, help="ECGs of the bfloat16/float32 check")
    parser.add_argument("--n-cpu", type=int, default=8, help="ECGs embedded on the CPU after the move")
    parser.add_argument("--time-budget", type=float, default=400.0, help="seconds; then steps are skipped")
    parser.add_argument("--peak-tflops", type=float, default=None, help="bfloat16 dense peak (TFLOP/s)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--text-model", default=DEFAULT_TEXT_MODEL,
                        help="METS's frozen text model: the bundled MiniLM's name, or a local directory")
    args = parser.parse_args(argv)
    args.device = str(torch.device(args.device))
    names = list(NAMES) if args.methods is None else [n.strip() for n in args.methods.split(",") if n.strip()]
    if set(names) - set(NAMES):
        parser.error(f"unknown estimators {sorted(set(names) - set(NAMES))}; expected some of {list(NAMES)}")
    if args.n_batches < 2:
        parser.error("--n-batches must be at least 2 (the first batch is warm-up)")
    out = args.out or (Path(tempfile.mkdtemp(prefix="gpu-check-")) if args.fast else RESULTS_DIR)
    threads = torch.get_num_threads()
    if args.fast and args.device == "cpu":
        torch.set_num_threads(1)  # tiny models gain nothing from threads, and lose much on a busy CPU
    try:
        env = environment(args.device)
        print(env, flush=True)
        make = tiny_estimator if args.fast else paper_estimator
        n_pool = max(fit_size(name, make(name).batch_size, args.n_batches) for name in names)
        pool = make_synthetic_ecg(n_patients=max(2, n_pool // 2), ecgs_per_patient=2, fs=FS, random_state=0)
        data = SimpleNamespace(X=pool.X, y=pool.y, patient_id=pool.patient_id, reports=pool.reports)
        deadline = started + args.time_budget
        results = {name: check_estimator(name, args, data, deadline) for name in names}
    finally:
        torch.set_num_threads(threads)
    report = {"environment": env, "mode": "fast: tiny models" if args.fast else "paper presets",
              "device": args.device, "n_batches": args.n_batches, "text_model": str(args.text_model),
              "time_budget_s": args.time_budget,
              "peak_bf16_tflops": peak_tflops(env["device"], args.peak_tflops), "methods": results,
              "elapsed_s": time.monotonic() - started}
    table = markdown(report)
    write_results(out, "gpu-check", report, table)
    print(table, f"\nwritten to {out}", flush=True)
    return report


if __name__ == "__main__":
    main()
