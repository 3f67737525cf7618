"""Throughput of every method: ECGs per second in fit and transform, and the fraction of peak FLOP/s.

For each method (benchmarks/methods/) and preset, on synthetic 10 s, 12-lead ECGs at the
method's sampling rate:

- fit: one epoch (``max_epochs=1``) over ``--n-fit`` ECGs after a short warm-up
  fit; ECGs/s = ECGs in the training set / seconds (a training item may hold several
  views of an ECG: PCLR pairs, contrastive views; they count as one ECG);
- transform: ``--n-transform`` ECGs, after one warm-up batch;
- FLOPs: counted with ``torch.utils.flop_counter.FlopCounterMode`` on one training
  step (forward + backward of a batch from the method's own training dataset) and on
  one ``transform`` batch, per ECG; achieved FLOP/s = FLOPs per ECG x ECGs/s;
- peak: the best of 3 timings of a float32 matmul (4096 x 4096 on CPU, 8192 x 8192
  on GPU) measured in the same run; on GPU also bfloat16, the precision transform
  and training autocast to.

Usage::

    python benchmarks/run_speed.py [--methods pclr,cpc] [--preset cpu|fast|paper] [--device auto]
                                   [--n-fit 256] [--n-transform 512] [--batch-size N]
                                   [--out benchmarks/results]

Writes ``OUT/speed-PRESET-DEVICE.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import methods as method_registry  # noqa: E402

from sklearn_ecg._net import autocast_context, resolve_device  # noqa: E402
from sklearn_ecg.datasets import make_synthetic_ecg  # noqa: E402


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def peak_flops(device: str, dtype: torch.dtype = torch.float32) -> float:
    n = 8192 if device.startswith("cuda") else 4096
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    best = np.inf
    for _ in range(4):  # the first is a warm-up
        synchronize(device)
        start = time.perf_counter()
        a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def to_device(batch, device: str):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return type(batch)(to_device(v, device) for v in batch)


def count_flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def ecgs(n: int, fs: int, seed: int) -> np.ndarray:
    n_patients = max(1, n // 2)
    data = make_synthetic_ecg(n_patients=n_patients, ecgs_per_patient=2, fs=fs, random_state=seed)
    return data.X[:n]


def measure(module, preset: str, device: str, n_fit: int, n_transform: int,
            batch_size: int | None = None) -> dict:
    rate = module.SAMPLING_RATE
    X_fit, X_transform = ecgs(n_fit, rate, 0), ecgs(n_transform, rate, 1)
    estimator = module.make_embedder(preset).set_params(device=device, max_epochs=1, verbose=0)
    if batch_size is not None:
        estimator.set_params(batch_size=batch_size)
    estimator.fit(X_fit[: 2 * estimator.batch_size])  # warm-up: allocations, kernels, caches
    synchronize(device)
    start = time.perf_counter()
    estimator.fit(X_fit)
    synchronize(device)
    fit_time = time.perf_counter() - start

    estimator.transform(X_transform[: estimator.batch_size])
    synchronize(device)
    start = time.perf_counter()
    estimator.transform(X_transform)
    synchronize(device)
    transform_time = time.perf_counter() - start

    # FLOPs of one training step and of one transform batch, through the method's own code paths.
    net_module = estimator.net_.module_
    dataset = estimator._make_train_dataset(X_fit)
    batch, _ = next(iter(DataLoader(dataset, batch_size=estimator.batch_size, shuffle=False)))
    batch = to_device(batch, device)
    n_items = len(batch) if isinstance(batch, torch.Tensor) else len(next(iter(batch)))

    def train_step():
        net_module.train()
        with autocast_context(device, True):
            loss = net_module(batch)
        loss.backward()
        net_module.zero_grad(set_to_none=True)

    # FLOPs of one epoch per ECG of the training set (an item may be a pair of ECGs, a window...).
    train_flops = count_flops(train_step) / n_items * len(dataset) / len(X_fit)
    sample = torch.from_numpy(X_transform[: estimator.batch_size]).to(device)
    net_module.eval()

    def embed():
        with torch.inference_mode(), autocast_context(device, True):
            estimator._embed_batch(sample)

    transform_flops = count_flops(embed) / len(sample)
    fit_rate, transform_rate = len(X_fit) / fit_time, len(X_transform) / transform_time
    n_params = sum(p.numel() for p in net_module.parameters())
    return {
        "method": module.NAME, "preset": preset, "sampling_rate": rate, "n_parameters": int(n_params),
        "fit_ecgs_per_s": fit_rate, "transform_ecgs_per_s": transform_rate,
        "train_gflops_per_ecg": train_flops / 1e9, "transform_gflops_per_ecg": transform_flops / 1e9,
        "fit_tflops_per_s": train_flops * fit_rate / 1e12,
        "transform_tflops_per_s": transform_flops * transform_rate / 1e12,
        "n_fit": len(X_fit), "n_transform": len(X_transform), "batch_size": estimator.batch_size,
    }


def markdown(results: list[dict], machine: dict) -> str:
    peak = machine["peak_fp32_tflops"]
    lines = [f"## Throughput on {machine['device']} (preset {results[0]['preset']!r})" if results else "",
             "", f"Peak measured in the same run: {peak:.3f} TFLOP/s float32"
             + (f", {machine['peak_bf16_tflops']:.1f} TFLOP/s bfloat16" if "peak_bf16_tflops" in machine
                else "") + f"; torch {machine['torch']}, {machine['threads']} threads.", "",
             "| method | parameters | batch | fit ECGs/s | transform ECGs/s | train GFLOP/ECG "
             "| transform GFLOP/ECG | fit % of fp32 peak | transform % of fp32 peak |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r['method']} | {r['n_parameters'] / 1e6:.2f} M | {r['batch_size']} | "
            f"{r['fit_ecgs_per_s']:.1f} | "
            f"{r['transform_ecgs_per_s']:.1f} | {r['train_gflops_per_ecg']:.3f} | "
            f"{r['transform_gflops_per_ecg']:.3f} | {100 * r['fit_tflops_per_s'] / peak:.1f} | "
            f"{100 * r['transform_tflops_per_s'] / peak:.1f} |")
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
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    names = None if args.methods is None else [n.strip() for n in args.methods.split(",") if n.strip()]
    modules = method_registry.load_methods(names)
    device = resolve_device(args.device)
    machine = {"device": torch.cuda.get_device_name(0) if device.startswith("cuda") else "CPU",
               "torch": torch.__version__, "threads": torch.get_num_threads(),
               "peak_fp32_tflops": peak_flops(device) / 1e12}
    if device.startswith("cuda"):
        machine["peak_bf16_tflops"] = peak_flops(device, torch.bfloat16) / 1e12
    print(f"peak: {machine['peak_fp32_tflops']:.3f} TFLOP/s float32 on {machine['device']}", flush=True)
    results = []
    for module in modules.values():
        results.append(measure(module, args.preset, device, args.n_fit, args.n_transform, args.batch_size))
        print({k: round(v, 4) if isinstance(v, float) else v for k, v in results[-1].items()}, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    tag = f"speed-{args.preset}-{'gpu' if device.startswith('cuda') else 'cpu'}"
    report = {"machine": machine, "results": results}
    (args.out / f"{tag}.json").write_text(json.dumps(report, indent=1))
    table = markdown(results, machine)
    (args.out / f"{tag}.md").write_text(table)
    print(table)
    return report


if __name__ == "__main__":
    main()
