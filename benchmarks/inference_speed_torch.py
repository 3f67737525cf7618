"""SimCLR/BYOL and CPC inference side by side: our transform against Mehari & Strodthoff's torch models.

The references are the PyTorch models of tmehari/ecg-selfsupervised (commit
956c6c17c9496b2ba459638c613c6efc148b95df; the four files below last changed in fad69ad88d9e),
read at run time from ``--reference-dir`` (a throwaway copy outside this repository, never
committed: ``models/xresnet1d.py``, ``models/basic_conv1d.py``, ``clinical_ts/cpc.py``,
``clinical_ts/basic_conv1d.py``; they need only torch):

- ``xresnet1d50``: the backbone of their SimCLR/BYOL, built as their ``ResNetSimCLR``
  (``models/resnet_simclr.py``) builds it: ``xresnet1d50(widen=1.0)`` with its first convolution
  replaced by ``nn.Conv1d(12, 32, 5, stride=2, padding=2)`` (with a bias, which ours lacks: set
  to 0 here), the representation ``features`` = every layer but the head, then the head's
  ``AdaptiveConcatPool1d`` (max, mean), squeezed: 512 values per window. Ours:
  :class:`sklearn_ecg.nn.xresnet1d.XResNet1d` as ``SimCLRTransformer()`` builds it (BYOL's
  ``BYOLTransformer()`` builds the same encoder and embeds with the same windowed transform and
  the same default batch size, 4096, so one measurement covers both).
- ``CPCModel`` (``clinical_ts/cpc.py``) as their ``eval.py`` builds it for the "4FC+2LSTM" model
  (12 leads, kernels and strides 1, 4 x 512 features, BatchNorm encoder, 2-layer LSTM of 512,
  linear-evaluation head); its features are the head's first layer, ``AdaptiveConcatPoolRNN``
  (mean, max, last LSTM output: 1536 values) on the LSTM outputs. Ours:
  :class:`sklearn_ecg.nn.cpc.CPCContextNetwork` as ``CPCTransformer()`` builds it.

Both sides hold the same weights: our encoder is built with random weights and random
BatchNorm statistics (so every BatchNorm matters), given to the estimator with
``from_encoder`` (no training), and copied into the reference entry by entry with an explicit
mapping (names and shapes checked; any mismatch raises). The inputs are ``--n-ecgs`` (CPC:
``--n-ecgs-cpc``; its 4FC encoder feeds the LSTM one step per sample, which is slow on a CPU)
synthetic 10 s 12-lead ECGs at 100 Hz (1000 samples). Timed, interleaved, after one warm-up
each, ``--repeats`` times:

- ``reference``: the reference module in eval mode under ``torch.inference_mode()``, doing the
  work ``transform`` does: ECGs in batches of the estimator's ``batch_size`` (SimCLR 4096,
  CPC 32), each cut into the 7 windows of 250 samples, stride 125 (``Tensor.unfold``), the
  windows fed in chunks of at most ``batch_size``, the window features averaged per ECG;
- ``ours``: the estimator's public ``transform`` (input checks, the same batches, windows and
  averaging: :func:`sklearn_ecg.nn.windows.embed_in_windows`);
- ``ours, plain eval``: our encoder's own eval forward in place of the reference module, the
  reference path otherwise unchanged.

Rates are ECGs / median wall-clock seconds; ECGs per CPU-second (user + system time of this
process, all threads, ``resource.getrusage``) too. ``--threads`` sets ``torch.set_num_threads``
(default 1: the machine's other core ran another job). The features of every path are compared
with the reference's (max abs difference, and relative to the largest reference value).

Usage::

    python -m benchmarks.inference_speed_torch --reference-dir /tmp/ref_mehari
        [--methods simclr cpc] [--n-ecgs 256] [--n-ecgs-cpc 256] [--repeats 5] [--threads 1]
        [--seed 0] [--out benchmarks/results]

Writes ``OUT/inference_speed_torch-cpu.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import nn

from sklearn_ecg import CPCTransformer, SimCLRTransformer
from sklearn_ecg.datasets import make_synthetic_ecg

from .inference_speed import machine_record, timed
from .protocol import RESULTS_DIR, write_results

REFERENCE_COMMIT = "956c6c17c9496b2ba459638c613c6efc148b95df"
FS, N_SAMPLES, N_LEADS = 100, 1000, 12
WINDOW, STRIDE = 250, 125
STATE_SUFFIXES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


# -- the reference models ----------------------------------------------------------------------
def import_reference(reference_dir: Path, name: str) -> ModuleType:
    """``name`` (e.g. ``models.xresnet1d``) imported from the reference checkout."""
    if not (reference_dir / (name.replace(".", "/") + ".py")).exists():
        raise SystemExit(f"{reference_dir} has no {name}: copy models/ and clinical_ts/ of "
                         f"tmehari/ecg-selfsupervised@{REFERENCE_COMMIT[:12]} there.")
    # The reference's folders (models, clinical_ts) as packages of their own names, which their
    # modules import (relatively and absolutely), registered without touching the import path.
    folder = name.split(".")[0]
    if folder not in sys.modules:
        namespace = ModuleType(folder)
        namespace.__path__ = [str(reference_dir / folder)]
        sys.modules[folder] = namespace
    return importlib.import_module(name)


def reference_xresnet(reference_dir: Path) -> nn.Module:
    """Their SimCLR/BYOL backbone, as ``ResNetSimCLR("xresnet1d50", ...).features``."""
    xresnet1d = import_reference(reference_dir, "models.xresnet1d")
    resnet = xresnet1d.xresnet1d50(widen=1.0)
    children = list(resnet.children())
    features = nn.Sequential(*children[:-1], children[-1][0])  # head[0]: AdaptiveConcatPool1d
    resnet[0][0] = nn.Conv1d(12, 32, kernel_size=5, stride=2, padding=2)  # as ResNetSimCLR
    return features


class ReferenceCPCFeatures(nn.Module):
    """Their ``CPCModel.forward`` up to the head's first layer (``AdaptiveConcatPoolRNN``)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        encoded = self.model.encoder.encode(x)
        output_rnn, _ = self.model.rnn(encoded)
        return self.model.head[0](output_rnn.transpose(1, 2))


def reference_cpc(reference_dir: Path) -> nn.Module:
    """Their 4FC+2LSTM model as ``eval.py`` builds it (linear evaluation head)."""
    cpc = import_reference(reference_dir, "clinical_ts.cpc")
    model = cpc.CPCModel(input_channels=12, strides=[1] * 4, kss=[1] * 4, features=[512] * 4,
                         n_hidden=512, n_layers=2, mlp=False, lstm=True, bias_proj=False,
                         num_classes=5, skip_encoder=False, bn_encoder=True, lin_ftrs_head=[],
                         ps_head=0.0, bn_head=False)
    return ReferenceCPCFeatures(model)


# -- weights -----------------------------------------------------------------------------------
def randomize_batchnorm(module: nn.Module, seed: int) -> None:
    """Random scale, shift and running statistics in every BatchNorm, so that each matters."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in (m for m in module.modules() if isinstance(m, nn.BatchNorm1d)):
            shape = bn.weight.shape
            bn.weight.copy_(torch.rand(shape, generator=generator) + 0.5)
            bn.bias.copy_(torch.randn(shape, generator=generator) * 0.2)
            bn.running_mean.copy_(torch.randn(shape, generator=generator) * 0.2)
            bn.running_var.copy_(torch.rand(shape, generator=generator) * 1.5 + 0.5)


def unique_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """``state_dict`` without the second names of shared tensors (their ResBlock holds ``convs``
    both as itself and as ``convpath[0]``)."""
    seen: set[int] = set()
    state = {}
    for name, tensor in module.state_dict(keep_vars=True).items():
        if id(tensor) not in seen:
            seen.add(id(tensor))
            state[name] = tensor
    return state


def copy_weights(ours: nn.Module, reference: nn.Module, zeroed: tuple[str, ...] = (),
                 unused: str | None = None) -> list[tuple[str, str, list[int]]]:
    """Copy our state into the reference, entry by entry in registration order.

    ``zeroed``: reference entries ours lacks (set to 0, left out of the mapping); ``unused``: the
    prefix of reference entries the compared features do not use (CPC's classifier Linear).
    Raises on a different number of entries, a different kind (weight, bias, running_mean, ...)
    or shape. Returns the mapping (our name, reference name, shape).
    """
    mine = ours.state_dict()
    theirs = {k: v for k, v in unique_state(reference).items()
              if k not in zeroed and not (unused and k.startswith(unused))}
    if len(mine) != len(theirs):
        raise RuntimeError(f"{len(mine)} entries in ours, {len(theirs)} in the reference: "
                           f"ours {list(mine)}, reference {list(theirs)}")
    mapping = []
    with torch.no_grad():
        for name in zeroed:
            reference.get_parameter(name).zero_()
        for (our_name, value), (ref_name, target) in zip(mine.items(), theirs.items()):
            kind, ref_kind = our_name.rsplit(".", 1)[-1], ref_name.rsplit(".", 1)[-1]
            if kind != ref_kind or value.shape != target.shape:
                raise RuntimeError(f"mapping mismatch: ours {our_name} {tuple(value.shape)} vs "
                                   f"reference {ref_name} {tuple(target.shape)}")
            target.copy_(value)
            mapping.append((our_name, ref_name, list(value.shape)))
    return mapping


# -- inputs and the timed paths ----------------------------------------------------------------
def synthetic_inputs(n: int, seed: int) -> np.ndarray:
    """``n`` synthetic 10 s 12-lead ECGs at 100 Hz, float32 (n, 12, 1000)."""
    data = make_synthetic_ecg(n_patients=(n + 1) // 2, ecgs_per_patient=2, fs=FS, random_state=seed)
    return np.ascontiguousarray(data.X[:n], dtype=np.float32)


def windowed_forward(module: nn.Module, X: np.ndarray, batch_size: int) -> np.ndarray:
    """What transform does, with ``module`` as the encoder: batches of ``batch_size`` ECGs, the
    250-sample windows of each (stride 125), at most ``batch_size`` windows per forward, the
    window features averaged per ECG."""
    module.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(X), batch_size):
            x = torch.from_numpy(X[start:start + batch_size])
            windows = x.unfold(-1, WINDOW, STRIDE)  # (n, leads, n_windows, window)
            n, leads, n_windows, _ = windows.shape
            windows = windows.permute(0, 2, 1, 3).reshape(n * n_windows, leads, WINDOW)
            # flatten: their xresnet's pooled features are (windows, 512, 1)
            features = torch.cat([module(windows[i:i + batch_size]).flatten(1)
                                  for i in range(0, len(windows), batch_size)])
            out.append(features.reshape(n, n_windows, -1).mean(1).numpy())
    return np.concatenate(out)


def build_pair(method: str, reference_dir: Path, seed: int):
    """Our fitted estimator (random weights, random BatchNorm) and the reference with its weights."""
    torch.manual_seed(seed)
    if method == "simclr":  # the default (paper) parameters of each estimator
        estimator_cls, reference, zeroed = SimCLRTransformer, reference_xresnet(reference_dir), ("0.0.bias",)
        unused = None
    else:
        estimator_cls, reference, zeroed = CPCTransformer, reference_cpc(reference_dir), ()
        unused = "model.head.1."
    blank = estimator_cls()
    blank.describe_input(np.zeros((1, N_LEADS, N_SAMPLES), dtype=np.float32))
    module = blank.build_encoder()
    randomize_batchnorm(module, seed + 1)
    estimator = estimator_cls.from_encoder(module.state_dict(), record_length=N_SAMPLES, device="cpu",
                                           random_state=seed)
    mapping = copy_weights(estimator.encoder_, reference, zeroed, unused)
    return estimator, reference.eval(), mapping


def measure(method: str, X: np.ndarray, reference_dir: Path, repeats: int, seed: int) -> dict:
    """Build both sides, compare their features, time the three paths interleaved."""
    estimator, reference, mapping = build_pair(method, reference_dir, seed)
    ours = estimator.encoder_
    batch_size = int(estimator.batch_size)
    runs = {
        "reference": lambda: windowed_forward(reference, X, batch_size),
        "ours": lambda: estimator.transform(X),
        "ours, plain eval": lambda: windowed_forward(ours, X, batch_size),
    }
    features = {name: run() for name, run in runs.items()}  # warm-ups, and the compared features
    reference_features = features["reference"]
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    cpu_seconds: dict[str, list[float]] = {name: [] for name in runs}
    for repeat in range(repeats):
        for name, run in runs.items():
            wall, cpu = timed(run)
            seconds[name].append(wall)
            cpu_seconds[name].append(cpu)
        print(f"{method} repeat {repeat + 1}/{repeats}, ECGs/s:",
              {k: round(len(X) / v[-1], 2) for k, v in seconds.items()}, flush=True)
    rates = {name: {"median": len(X) / float(np.median(s)), "all": [len(X) / t for t in s],
                    "per_cpu_second": len(X) / float(np.median(cpu_seconds[name]))}
             for name, s in seconds.items()}
    return {
        "n_ecgs": len(X), "batch_size": batch_size, "n_features": int(reference_features.shape[1]),
        "n_parameters": sum(p.numel() for p in ours.parameters()),
        "seconds": seconds, "cpu_seconds": cpu_seconds, "rates": rates,
        "ratio": rates["ours"]["median"] / rates["reference"]["median"],
        "ratio_per_cpu_second": rates["ours"]["per_cpu_second"] / rates["reference"]["per_cpu_second"],
        "reference_scale": float(np.abs(reference_features).max()),
        "max_abs_diff": {name: float(np.abs(f - reference_features).max())
                         for name, f in features.items() if name != "reference"},
        "mapping": mapping,
    }


# -- report ------------------------------------------------------------------------------------
TITLES = {"simclr": "SimCLR / BYOL backbone (xresnet1d50)", "cpc": "CPC (4FC + 2-layer LSTM)"}


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "## SimCLR/BYOL and CPC inference: ours against Mehari & Strodthoff's torch models (CPU)",
        "",
        f"Reference: tmehari/ecg-selfsupervised@{REFERENCE_COMMIT[:12]}, read from a copy outside "
        "the repository. Same weights on both sides (random, random BatchNorm statistics), "
        f"synthetic 10 s 12-lead ECGs at 100 Hz, windows of {WINDOW} samples, stride {STRIDE} "
        f"(7 per ECG), averaged per ECG; float32; torch {m['torch']} with {m['threads']} "
        f"thread(s) (the machine's other core ran another job); median of {report['repeats']} "
        f"interleaved repeats after a warm-up. {m['cpu']}, {m['cores']} cores, load average "
        f"{m['load_before']:.1f} before, {m['load_after']:.1f} after.",
    ]
    for method, r in report["methods"].items():
        lines += [
            "",
            f"### {TITLES[method]}: {r['n_ecgs']} ECGs, batch {r['batch_size']}, {r['n_features']} "
            f"features, {r['n_parameters']:,} parameters",
            "",
            "| path | ECGs/s (median) | all repeats | ratio to the reference | ECGs per CPU-second "
            "| max abs difference to the reference |",
            "|---|---|---|---|---|---|",
        ]
        for name, rate in r["rates"].items():
            diff = r["max_abs_diff"].get(name)
            lines.append(
                f"| {name} | {rate['median']:.2f} | {', '.join(f'{v:.2f}' for v in rate['all'])} | "
                f"{rate['median'] / r['rates']['reference']['median']:.2f} | "
                f"{rate['per_cpu_second']:.2f} | "
                + ("(reference)" if diff is None
                   else f"{diff:.1e} ({diff / r['reference_scale']:.1e} relative)") + " |")
        lines += ["", f"Ours / reference: **{r['ratio']:.2f}** in ECGs/s, "
                  f"{r['ratio_per_cpu_second']:.2f} in ECGs per CPU-second."]
    return "\n".join(lines + ["", NOTES]) + "\n"


NOTES = """### What each path does

- **reference**: the reference module (eval mode, `torch.inference_mode()`) over the ECGs in
  batches of the estimator's `batch_size` (SimCLR/BYOL 4096, CPC 32), each ECG cut into 7 windows
  (`Tensor.unfold`), at most `batch_size` windows per forward, window features averaged per ECG.
  xresnet1d50: `ResNetSimCLR.features` (all layers but the head, then `AdaptiveConcatPool1d`);
  CPC: `CPCModel` encoder, LSTM and `AdaptiveConcatPoolRNN` (mean, max, last), i.e. its forward
  without the classifier's Linear.
- **ours**: `SimCLRTransformer().transform` / `CPCTransformer().transform` (estimators made with
  `from_encoder`, no training; input checks, the same batches, windows, chunks and averaging).
- **ours, plain eval**: our encoder's eval forward in the reference path above.

Architecture: the same layers, in the same order, on both sides (the weight mapping pairs the
entries in order and checks their kind and shape one by one). One difference: their
`ResNetSimCLR` replaces xresnet1d50's first convolution by `nn.Conv1d(12, 32, 5, stride=2,
padding=2)`, which has a bias (default init) where ours has none; the BatchNorm right after it
makes a bias redundant (its shift absorbs it), and it is set to 0 here. BYOL's encoder and
transform are SimCLR's (same class, same defaults), so the first table covers both. Their
`eval.py` scores a record by averaging the classifier's sigmoid outputs over its windows
(`aggregate_predictions`); a transformer returns features, so both timed paths average the
window features instead (the head's cost is negligible)."""


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference-dir", type=Path, required=True,
                        help="copy of tmehari/ecg-selfsupervised's models/ and clinical_ts/")
    parser.add_argument("--methods", nargs="+", choices=("simclr", "cpc"), default=["simclr", "cpc"])
    parser.add_argument("--n-ecgs", type=int, default=256)
    parser.add_argument("--n-ecgs-cpc", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    methods = {}
    for method in args.methods:
        n = args.n_ecgs_cpc if method == "cpc" else args.n_ecgs
        methods[method] = measure(method, synthetic_inputs(n, args.seed), args.reference_dir.resolve(),
                                  args.repeats, args.seed)
    report = {
        "machine": machine_record(args.threads, load_before,
                                  "another job ran on the machine's other core during the run"),
        "reference": {"repository": "tmehari/ecg-selfsupervised", "commit": REFERENCE_COMMIT},
        "repeats": args.repeats, "methods": methods,
    }
    table = markdown(report)
    write_results(args.out, "inference_speed_torch-cpu", report, table)
    print(table)
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
