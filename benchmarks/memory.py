"""Training memory of every method at its paper preset: what a batch size costs.

For each method (benchmarks/methods/) the paper preset's objective runs one training forward
pass on a few of its own training items (synthetic 10 s, 12-lead ECGs at the method's rate), and
the tensors autograd saves for the backward pass are counted (each storage once), per training
item. With the weights, their gradients and Adam's two moments (4 x the parameters), memory for
a batch of B items is about ``4 x parameters + B x activations``, float32; bfloat16 autocast on
CUDA stores most activations at half the size. Runs on CPU in a minute or two.

Usage::

    python -m benchmarks.memory [--methods pclr,simclr] [--items 2] [--out benchmarks/results]

Writes ``OUT/memory-paper.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from . import methods as method_registry
from .protocol import RESULTS_DIR, write_results
from .run_speed import synthetic_ecgs

MB = 2**20


def saved_bytes(step) -> int:
    """Bytes of the distinct storages autograd saves for backward while ``step()`` runs."""
    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        step()
    return sum(storages.values())


def measure(module, n_items: int) -> dict:
    estimator = module.make_embedder("paper").set_params(device="cpu", max_epochs=1, batch_size=n_items)
    X = synthetic_ecgs(4 * n_items, module.SAMPLING_RATE, 0)
    estimator.fit(X[: 2 * n_items])  # builds the objective for this input
    objective = estimator.net_.module_.train()
    inputs, _ = next(iter(estimator.net_.get_iterator(estimator.training_dataset(X), training=True)))
    inputs = {k: v[:n_items] for k, v in inputs.items()} if isinstance(inputs, dict) else inputs[:n_items]

    def step() -> None:
        objective(**inputs) if isinstance(inputs, dict) else objective(inputs)

    per_item = saved_bytes(step) / n_items
    n_params = sum(p.numel() for p in objective.parameters() if p.requires_grad)
    paper_batch = module.make_embedder("paper").batch_size
    fixed = 4 * 4 * n_params  # weights, gradients, Adam's two moments; float32
    return {"method": module.NAME, "parameters": n_params, "weights_and_adam_mb": fixed / MB,
            "activations_mb_per_item": per_item / MB, "paper_batch": paper_batch,
            "paper_batch_gb": (fixed + paper_batch * per_item) / 2**30}


def markdown(results: list[dict]) -> str:
    lines = ["## Training memory at the paper presets (float32, counted on CPU)", "",
             "| method | trainable parameters | weights + grads + Adam (MB) | activations per item (MB) "
             "| paper batch | at the paper batch (GB) |", "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['method']} | {r['parameters'] / 1e6:.2f} M | {r['weights_and_adam_mb']:.0f} | "
                     f"{r['activations_mb_per_item']:.2f} | {r['paper_batch']} | {r['paper_batch_gb']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default=None, help="comma-separated names (default: all)")
    parser.add_argument("--items", type=int, default=2, help="training items of the measured forward pass")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    names = None if args.methods is None else [n.strip() for n in args.methods.split(",") if n.strip()]
    results = []
    for module in method_registry.load_methods(names).values():
        results.append(measure(module, args.items))
        print(results[-1], flush=True)
    table = markdown(results)
    write_results(args.out, "memory-paper", {"results": results}, table)
    print(table)
    return {"results": results}


if __name__ == "__main__":
    main()
