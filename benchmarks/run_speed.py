"""Throughput of every method: ECGs per second in fit and transform, and the fraction of peak FLOP/s.

For each method (benchmarks/methods/) and preset, on synthetic 10 s, 12-lead ECGs at the
method's sampling rate:

- fit: one epoch (``max_epochs=1``) over ``--n-fit`` ECGs (two per synthetic patient; PCLR gets
  the patient ids and trains on pairs of one patient's ECGs, as published) after a short warm-up
  fit; ECGs/s = ECGs in the training set / seconds (a training item may hold several
  views of an ECG: PCLR pairs, contrastive views; they count as one ECG);
- transform: ``--n-transform`` ECGs, after one warm-up batch;
- FLOPs: counted with ``torch.utils.flop_counter.FlopCounterMode`` over the warm-up
  fit (one epoch over ``2 x batch_size`` ECGs: forward and backward passes of the
  method's own training items) and over one ``transform`` batch, per ECG; achieved
  FLOP/s = FLOPs per ECG x ECGs/s;
- pipeline: training items per second that the data pipeline alone delivers (the
  training DataLoader of the fitted net over ``training_dataset(X)``, no model), with X
  in memory and as a ``np.memmap`` on disk, the best of ``--repeats`` timings of at least
  ``--pipeline-seconds`` each; for PCLR also without patient ids (its ``"windows"`` fallback);
- bare-loop ratio: seconds of a bare torch loop (forward, backward, optimizer step and
  BYOL's target update, over the same module and batches, pre-loaded in memory) divided
  by the seconds of ``fit``'s epochs for the same steps (``--ratio-epochs`` epochs; skorch's
  per-epoch durations: reading batches, steps, callbacks) and, in brackets, by the whole
  public ``fit`` (plus the one-off input checks and module set-up): 1.0 means no overhead.
  Fit and bare loop alternate ``--repeats`` times and each keeps its best timing: noise on a
  shared machine only adds time, so the minima compare the two least disturbed runs;
- peak: the best of 3 timings of a float32 matmul (4096 x 4096 on CPU, 8192 x 8192
  on GPU) measured in the same run; on GPU also bfloat16, the precision transform
  and training autocast to.

Usage::

    python -m benchmarks.run_speed [--methods pclr,cpc] [--preset cpu|fast|paper] [--device auto]
                                   [--n-fit 256] [--n-transform 512] [--batch-size N]
                                   [--out benchmarks/results]

from the repository root.

Writes ``OUT/speed-PRESET-DEVICE.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import inspect
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from sklearn_ecg.datasets import make_synthetic_ecg

from . import methods as method_registry
from .protocol import RESULTS_DIR, write_results


def pick_device(name: str) -> str:
    """``"auto"``: CUDA when available, else the CPU (as the estimators' ``device="auto"``)."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(torch.device(name))


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_call(fn: Callable[[], object], device: str) -> float:
    """Wall-clock seconds of ``fn()``, queued GPU work included."""
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def peak_flops(device: str, dtype: torch.dtype = torch.float32) -> float:
    n = 8192 if device.startswith("cuda") else 4096
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    time_call(lambda: a @ b, device)  # warm-up
    best = min(time_call(lambda: a @ b, device) for _ in range(3))
    return 2 * n**3 / best


def count_flops(fn: Callable[[], object]) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def synthetic_ecgs(n: int, fs: int, seed: int) -> np.ndarray:
    return synthetic_patients(n, fs, seed)[0]


def synthetic_patients(n: int, fs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` ECGs, two per synthetic patient, and their patient ids."""
    data = make_synthetic_ecg(n_patients=max(1, n // 2), ecgs_per_patient=2, fs=fs, random_state=seed)
    return data.X[:n], data.patient_id[:n]


def fit_params_of(estimator, patient_ids: np.ndarray) -> dict:
    """Patient ids for methods that pair ECGs of one patient (PCLR, as published)."""
    return {"groups": patient_ids} if "groups" in inspect.signature(estimator.fit).parameters else {}


def pipeline_rate(estimator, X: np.ndarray, min_seconds: float, repeats: int = 1, **fit_params) -> float:
    """Training items per second from the fitted net's training DataLoader alone: the best of
    ``repeats`` timings of at least ``min_seconds`` each."""
    dataset = estimator.training_dataset(X, **fit_params)
    loader = estimator.net_.get_iterator(dataset, training=True)

    def one_timing() -> float:
        items, start = 0, time.perf_counter()
        while True:
            for inputs, _ in loader:
                items += len(inputs["ecg"] if isinstance(inputs, dict) else inputs)
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                return items / elapsed

    return max(one_timing() for _ in range(repeats))


def bare_loop(estimator, X: np.ndarray, epochs: int, device: str, **fit_params) -> Callable[[], object]:
    """A plain torch loop over the fitted module for ``epochs`` epochs of the batches ``fit``
    draws (read beforehand): forward, backward, step, BYOL's target update."""
    net = estimator.net_
    module = net.module_.train()
    dataset = estimator.training_dataset(X, **fit_params)
    batches = [inputs for inputs, _ in net.get_iterator(dataset, training=True)]
    batches = [{k: v.to(device) for k, v in b.items()} if isinstance(b, dict) else b.to(device)
               for b in batches]
    optimizer = type(net.optimizer_)(module.parameters(), lr=estimator.lr)
    update_target = getattr(module, "update_target", None)

    def run() -> None:
        for _ in range(epochs):
            for inputs in batches:
                optimizer.zero_grad(set_to_none=True)
                loss = module(**inputs) if isinstance(inputs, dict) else module(inputs)
                loss.backward()
                optimizer.step()
                if update_target is not None:
                    update_target(0.99)

    return run


def overhead_ratios(estimator, X: np.ndarray, epochs: int, repeats: int, device: str,
                    **fit_params) -> dict:
    """The same steps timed through ``fit`` and through a bare loop, interleaved ``repeats`` times.

    Each of the three timings (fit's epochs, the whole fit, the bare loop) keeps its best repeat:
    a busy machine only ever adds time, so the minimum is the least disturbed measurement (the
    convention of ``timeit``), and interleaving exposes both sides to the same spells of noise.
    """
    estimator.set_params(max_epochs=epochs)
    fits, epoch_times, bares = [], [], []
    for _ in range(repeats):
        fits.append(time_call(lambda: estimator.fit(X, **fit_params), device))
        # The epochs themselves (skorch's per-epoch "dur": batches read, steps, callbacks,
        # history), without the one-off set-up (input checks, module), which long fits amortise.
        epoch_times.append(float(sum(estimator.net_.history[:, "dur"])))
        bares.append(time_call(bare_loop(estimator, X, epochs, device, **fit_params), device))
    return {"fit_over_bare_loop": min(bares) / min(epoch_times),
            "whole_fit_over_bare_loop": min(bares) / min(fits), "ratio_epochs": epochs,
            "ratio_repeats": repeats, "fit_epochs_s": epoch_times, "whole_fit_s": fits, "bare_loop_s": bares}


def measure(module: ModuleType, preset: str, device: str, n_fit: int, n_transform: int,
            batch_size: int | None = None, pipeline_seconds: float = 2.0, ratio_epochs: int = 3,
            repeats: int = 5) -> dict:
    rate = module.SAMPLING_RATE
    (X_fit, patients), X_transform = synthetic_patients(n_fit, rate, 0), synthetic_ecgs(n_transform, rate, 1)
    estimator = module.make_embedder(preset).set_params(device=device, max_epochs=1, verbose=0)
    if batch_size is not None:
        estimator.set_params(batch_size=batch_size)
    # Warm-ups (allocations, kernels, caches) through the public fit and transform; the FLOPs are
    # counted there, as the counter slows the run it watches. An epoch's FLOPs per ECG include
    # every view of it a training item holds (PCLR pairs, contrastive views, windows).
    X_warm_fit, X_warm_transform = X_fit[: 2 * estimator.batch_size], X_transform[: estimator.batch_size]
    params = fit_params_of(estimator, patients)
    warm_params = fit_params_of(estimator, patients[: len(X_warm_fit)])
    train_flops = count_flops(lambda: estimator.fit(X_warm_fit, **warm_params)) / len(X_warm_fit)
    fit_time = time_call(lambda: estimator.fit(X_fit, **params), device)
    transform_flops = count_flops(lambda: estimator.transform(X_warm_transform)) / len(X_warm_transform)
    transform_time = time_call(lambda: estimator.transform(X_transform), device)

    fit_rate, transform_rate = len(X_fit) / fit_time, len(X_transform) / transform_time
    n_params = sum(p.numel() for p in estimator.net_.module_.parameters())

    # The library's overhead: the same steps through fit and through a bare loop.
    ratios = overhead_ratios(estimator, X_fit, ratio_epochs, repeats, device, **params)
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "X.npy", X_fit)
        on_disk = np.load(Path(tmp) / "X.npy", mmap_mode="r")
        pipeline = {f"pipeline_items_per_s_{where}": pipeline_rate(estimator, X, pipeline_seconds, repeats,
                                                                    **params)
                    for where, X in (("memory", X_fit), ("memmap", on_disk))}
        # PCLR without patient ids pairs each ECG's halves (its single_ecg="windows" fallback).
        if params:
            pipeline["pipeline_items_per_s_memory_no_groups"] = pipeline_rate(
                estimator, X_fit, pipeline_seconds, repeats)
    return {
        "method": module.NAME, "preset": preset, "sampling_rate": rate, "n_parameters": int(n_params),
        "fit_ecgs_per_s": fit_rate, "transform_ecgs_per_s": transform_rate,
        "train_gflops_per_ecg": train_flops / 1e9, "transform_gflops_per_ecg": transform_flops / 1e9,
        "fit_tflops_per_s": train_flops * fit_rate / 1e12,
        "transform_tflops_per_s": transform_flops * transform_rate / 1e12,
        "n_fit": len(X_fit), "n_transform": len(X_transform), "batch_size": estimator.batch_size,
        **pipeline, **ratios,
    }


def _pipeline_cells(r: dict) -> str:
    # Reports from before the pipeline measurements lack them.
    if "pipeline_items_per_s_memory" not in r:
        return "- | -"
    no_groups = r.get("pipeline_items_per_s_memory_no_groups")
    return (f"{r['pipeline_items_per_s_memory']:,.0f} / {r['pipeline_items_per_s_memmap']:,.0f}"
            + ("" if no_groups is None else f" (no groups: {no_groups:,.0f})") + " | "
            f"{r['fit_over_bare_loop']:.2f} ({r['whole_fit_over_bare_loop']:.2f})")


def markdown(results: list[dict], machine: dict) -> str:
    peak = machine["peak_fp32_tflops"]
    lines = [f"## Throughput on {machine['device']} (preset {results[0]['preset']!r})" if results else "",
             "", f"Peak measured in the same run: {peak:.3f} TFLOP/s float32"
             + (f", {machine['peak_bf16_tflops']:.1f} TFLOP/s bfloat16" if "peak_bf16_tflops" in machine
                else "") + f"; torch {machine['torch']}, {machine['threads']} threads.", "",
             "| method | parameters | batch | fit ECGs/s | transform ECGs/s | train GFLOP/ECG "
             "| transform GFLOP/ECG | fit % of fp32 peak | transform % of fp32 peak "
             "| pipeline items/s (memory / memmap) | bare loop / fit epochs (whole fit) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r['method']} | {r['n_parameters'] / 1e6:.2f} M | {r['batch_size']} | "
            f"{r['fit_ecgs_per_s']:.1f} | "
            f"{r['transform_ecgs_per_s']:.1f} | {r['train_gflops_per_ecg']:.3f} | "
            f"{r['transform_gflops_per_ecg']:.3f} | {100 * r['fit_tflops_per_s'] / peak:.1f} | "
            f"{100 * r['transform_tflops_per_s'] / peak:.1f} | {_pipeline_cells(r)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default=None, help="comma-separated names (default: all)")
    parser.add_argument("--preset", default="cpu", choices=method_registry.PRESETS)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--n-fit", type=int, default=256)
    parser.add_argument("--n-transform", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="override the presets' batch sizes (e.g. GPU-sized 'paper' presets on a CPU)")
    parser.add_argument("--pipeline-seconds", type=float, default=2.0,
                        help="time each pipeline-alone measurement for at least this long")
    parser.add_argument("--ratio-epochs", type=int, default=3,
                        help="epochs of the fit / bare-loop comparison")
    parser.add_argument("--repeats", type=int, default=5,
                        help="interleaved repeats of the ratio's timings and of each pipeline timing "
                             "(the best of each is kept)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    names = None if args.methods is None else [n.strip() for n in args.methods.split(",") if n.strip()]
    modules = method_registry.load_methods(names)
    device = pick_device(args.device)
    machine = {"device": torch.cuda.get_device_name(0) if device.startswith("cuda") else "CPU",
               "torch": torch.__version__, "threads": torch.get_num_threads(),
               "peak_fp32_tflops": peak_flops(device) / 1e12}
    if device.startswith("cuda"):
        machine["peak_bf16_tflops"] = peak_flops(device, torch.bfloat16) / 1e12
    print(f"peak: {machine['peak_fp32_tflops']:.3f} TFLOP/s float32 on {machine['device']}", flush=True)
    results = []
    for module in modules.values():
        results.append(measure(module, args.preset, device, args.n_fit, args.n_transform, args.batch_size,
                               args.pipeline_seconds, args.ratio_epochs, args.repeats))
        print({k: round(v, 4) if isinstance(v, float) else v for k, v in results[-1].items()}, flush=True)
    tag = f"speed-{args.preset}-{'gpu' if device.startswith('cuda') else 'cpu'}"
    report = {"machine": machine, "results": results}
    table = markdown(results, machine)
    write_results(args.out, tag, report, table)
    print(table)
    return report


if __name__ == "__main__":
    main()
