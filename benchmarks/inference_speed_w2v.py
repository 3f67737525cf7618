"""W2V+CMSC(+RLM) inference side by side: our transform against fairseq-signals' wav2vec 2.0, same weights.

The reference is fairseq-signals' ``Wav2Vec2CMSCModel`` (github.com/Jwoo5/fairseq-signals, commit
6b9e1375bbe6bc2e55ff4d9b95eabe8eee3adec7, April 2025), built in a separate Python that has
fairseq-signals and its dependencies (``--reference-python``, with the source tree given by
``--fairseq-signals`` put on that process's PYTHONPATH; neither is a dependency of this
package), from its config dataclass merged with its ``w2v_cmsc_rlm.yaml`` recipe, at the size of
our ``small`` preset (the ``cpu`` preset of :mod:`benchmarks.methods.w2v_cmsc`: 4 x (128, 2, 2)
conv layers, 2 transformer layers x 128, FFN 512, 4 heads, positional convolution 128 / 16
groups), 12 leads at 500 Hz. Its random weights (LayerNorm and GroupNorm affine parameters
drawn at random too, so that every norm matters) are saved as a fairseq-signals checkpoint and
read here with :func:`sklearn_ecg.pretrained.load_fairseq_signals`, so both sides hold the
same weights.

Both embed the same ``--n-ecgs`` synthetic 10 s 12-lead ECGs at 500 Hz, ``--batch-size`` records
(2 x 5 s segments each) per forward, with ``--threads`` torch intra-op threads, float32, in one
process each. The embedding is ECG-FM's: each record cut into two 5 s segments, the transformer
output of every frame (unmasked, eval mode) averaged over all frames of both segments. Timings
are interleaved: each repeat times, one after the other,

- ``reference (segments batched)``: per batch, its records reshaped into one batch of 5 s
  segments, ``model.extract_features(segments, None)["x"]``, frames of a record's segments
  averaged: the same work as ours;
- ``reference (per segment)``: ECG-FM's recipe: ``extract_features`` on the first 5 s of the
  batch, then on the second, frames concatenated and averaged;
- ``ours``: ``W2VCMSCTransformer.transform``, which on the CPU encodes the segments of a batch
  in chunks whose largest activation stays under 4 MB (``SegmentingEncoder``: 6 segments at this
  size), the fix this benchmark's runs called for;
- ``ours, plain eval``: the encoder's eval forward (``encoder_`` on ``input_batches``,
  ``torch.inference_mode``), without the estimator's input checks;
- ``ours, chunked``: the same encoder's wav2vec 2.0 on the segments of each batch in chunks of
  ``--chunk-segments`` (default 32, the per-segment reference's) segments, frames of a record
  averaged, to compare chunk sizes. With glibc's default thresholds, the larger a forward's
  activations (64 segments: 41 MB for the largest), the more of them are handed back to the
  kernel after it and faulted in again by the next one, which is also why the per-segment
  reference is usually faster than the batched one;

both references under ``torch.inference_mode()``, after one warm-up of each. Rates are ECGs /
median wall-clock seconds; the ratio is ours over the faster reference. ECGs per CPU-second
(user + system time of all threads of the process) are reported too. The embeddings of every
path are compared with the batched reference's (max abs difference, and relative to the largest
reference value).

Two things outside either implementation move the ratio, and the report records both:

- torch's build. fairseq ships only an sdist for Python 3.11, so the reference runs in another
  Python with its own torch wheel. The CPU-only wheel of torch 2.13 runs conv1d's im2col + gemm
  kernel for the positional convolution (128 channels, 16 groups, kernel 128) about 25% slower
  than the CUDA wheel of the same commit does on the CPU (ours now takes a direct kernel there,
  the same speed in both wheels); every other operator takes the same time. Running this
  module with the reference's Python (``/tmp/fsenv/bin/python -m benchmarks.inference_speed_w2v``,
  after ``pip install skorch`` there) puts both sides on one build: ``same_python`` in the report.
- glibc's allocator. Activations of tens of MB are returned to the kernel and faulted in again
  at a rate that depends on each process's allocation history (10^4 to 3 x 10^5 minor faults per
  256 ECGs on either side, from run to run). ``MALLOC_MMAP_THRESHOLD_=1073741824
  MALLOC_TRIM_THRESHOLD_=2147483647`` in the environment (inherited by the reference) removes
  them from both sides: ``malloc_env`` in the report.

Usage::

    python -m benchmarks.inference_speed_w2v [--reference-python /tmp/fsenv/bin/python]
        [--fairseq-signals /tmp/fairseq-signals] [--n-ecgs 256] [--batch-size 32] [--repeats 7]
        [--threads 2] [--out benchmarks/results] [--name inference_speed_w2v-cpu]

Writes ``OUT/NAME.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from sklearn_ecg.datasets import make_synthetic_ecg
from sklearn_ecg.pretrained import load_fairseq_signals

from .inference_speed import COMMAND_LOOP, Reference, machine_record, rate_table, timed
from .protocol import RESULTS_DIR, write_results

FAIRSEQ_SIGNALS_COMMIT = "6b9e1375bbe6bc2e55ff4d9b95eabe8eee3adec7"
FS, RECORD_SECONDS, SEGMENT_SECONDS = 500, 10, 5
#: Our ``small`` preset in fairseq-signals' config names.
SMALL = {"conv_feature_layers": "[(128, 2, 2)] * 4", "encoder_embed_dim": 128, "encoder_layers": 2,
         "encoder_ffn_embed_dim": 512, "encoder_attention_heads": 4, "conv_pos": 128,
         "conv_pos_groups": 16, "in_d": 12}

#: Runs in the reference Python: builds and saves the model, then answers "time" commands on
#: stdin with JSON lines on stdout.
REFERENCE_SCRIPT = textwrap.dedent('''
    import json, os, resource, sys, time
    import numpy as np
    import torch
    workdir, threads, batch_size, seed, root = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \\
        int(sys.argv[4]), sys.argv[5]
    torch.set_num_threads(threads)
    import fairseq_signals
    from fairseq_signals.dataclass.configs import Config
    from fairseq_signals.models.wav2vec2.wav2vec2_cmsc import Wav2Vec2CMSCConfig, Wav2Vec2CMSCModel
    from fairseq_signals.utils.checkpoint_utils import torch_persistent_save
    from omegaconf import OmegaConf

    SMALL, FS, SEGMENT = %(small)r, %(fs)d, %(segment)d
    recipe = OmegaConf.load(os.path.join(root, "examples/w2v_cmsc/config/pretraining/w2v_cmsc_rlm.yaml"))
    recipe.task.data = "/data/manifest/cmsc"
    recipe.task.sample_rate = FS
    recipe.task.filter = False
    cfg = OmegaConf.merge(OmegaConf.structured(Config), recipe)
    cfg.model = OmegaConf.merge(OmegaConf.structured(Wav2Vec2CMSCConfig), recipe.model, SMALL)
    torch.manual_seed(seed)
    model = Wav2Vec2CMSCModel.build_model(cfg.model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # random affine parameters, so that every norm matters
        for module in model.modules():
            if isinstance(module, (torch.nn.LayerNorm, torch.nn.GroupNorm)) and module.weight is not None:
                module.weight.copy_(torch.rand(module.weight.shape, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.2)
    model.eval()
    torch_persistent_save({"args": None, "cfg": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
                           "model": model.state_dict(), "optimizer_history": [{"num_updates": 0}]},
                          os.path.join(workdir, "reference.pt"))

    def frames(x):
        out = model.extract_features(source=x, padding_mask=None)["x"]
        return out["x"] if isinstance(out, dict) else out

    def batched(x):  # (n, leads, k * SEGMENT) -> one batch of n * k segments
        n, leads, length = x.shape
        k = length // SEGMENT
        segments = x.reshape(n, leads, k, SEGMENT).transpose(1, 2).reshape(n * k, leads, SEGMENT)
        out = frames(segments)
        return out.reshape(n, k * out.shape[1], out.shape[2]).mean(1)

    def per_segment(x):  # ECG-FM's recipe
        parts = [frames(x[..., s:s + SEGMENT]) for s in range(0, x.shape[-1], SEGMENT)]
        return torch.cat(parts, 1).mean(1)

    x = torch.from_numpy(np.load(os.path.join(workdir, "x.npy")))
    batches = [x[i:i + batch_size] for i in range(0, len(x), batch_size)]

    def run(function):
        with torch.inference_mode():
            return torch.cat([function(b) for b in batches]).numpy()

    runs = {"batched": lambda: run(batched), "per_segment": lambda: run(per_segment)}
    print(json.dumps({"ready": True, "torch": torch.__version__, "python": sys.version.split()[0],
                      "fairseq_signals": getattr(fairseq_signals, "__version__", "?"),
                      "n_parameters": sum(p.numel() for p in model.parameters())}), flush=True)
''') % {"small": SMALL, "fs": FS, "segment": FS * SEGMENT_SECONDS} + COMMAND_LOOP


def start_reference(python: str, source: Path, workdir: Path, threads: int, batch_size: int,
                    seed: int) -> Reference:
    """fairseq-signals' model in a subprocess of the reference Python (``--reference-python``)."""
    return Reference(python, workdir, threads, batch_size, seed, script=REFERENCE_SCRIPT,
                     env={"PYTHONPATH": str(source), "PYTHONWARNINGS": "ignore"},
                     extra_args=(str(source),))


def synthetic_inputs(n: int, seed: int) -> np.ndarray:
    """``n`` synthetic 10 s 12-lead ECGs at 500 Hz, float32 (n, 12, 5000)."""
    X = make_synthetic_ecg(n_patients=(n + 1) // 2, ecgs_per_patient=2, fs=FS, random_state=seed).X[:n]
    return np.ascontiguousarray(X[..., : FS * RECORD_SECONDS], dtype=np.float32)


def chunked_embedding(wav2vec2: torch.nn.Module, x: torch.Tensor, segment: int, chunk: int) -> np.ndarray:
    """Records (n, leads, k * segment) at the model rate -> mean frame over their k segments, the
    segments encoded ``chunk`` at a time (``SegmentingEncoder`` for whole segments, chunked)."""
    n, leads, length = x.shape
    k = length // segment
    segments = x.reshape(n, leads, k, segment).transpose(1, 2).reshape(n * k, leads, segment)
    with torch.inference_mode():
        frames = torch.cat([wav2vec2.frames(segments[i:i + chunk]) for i in range(0, n * k, chunk)])
        return frames.reshape(n, -1, frames.shape[-1]).mean(1).numpy()


def interleaved(runs: dict[str, Callable[[], tuple[float, float]]], repeats: int, n: int
                ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall-clock and CPU seconds of each run, ``repeats`` rounds of all runs one after the other."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    cpu_seconds: dict[str, list[float]] = {name: [] for name in runs}
    for repeat in range(repeats):
        for name, run in runs.items():
            wall, cpu = run()
            seconds[name].append(wall)
            cpu_seconds[name].append(cpu)
        print(f"repeat {repeat + 1}/{repeats}, ECGs/s:",
              {k: round(n / v[-1], 2) for k, v in seconds.items()}, flush=True)
    return seconds, cpu_seconds


def markdown(report: dict) -> str:
    m, ref = report["machine"], report["reference"]
    lines = [
        "## W2V+CMSC inference: ours against fairseq-signals' wav2vec 2.0 (CPU)",
        "",
        f"{report['n_ecgs']} synthetic ECGs of 12 leads x 10 s at {FS} Hz (2 x 5 s segments each), batch "
        f"{report['batch_size']} records, `small` size ({ref['n_parameters']:,} parameters), "
        f"{m['threads']} torch threads each, float32, the same weights on both sides; median of "
        f"{report['repeats']} interleaved repeats after a warm-up. {m['cpu']}, {m['cores']} cores, shared "
        f"with other jobs (load average {m['load_before']:.1f} before, {m['load_after']:.1f} after). Ours: "
        f"torch {m['torch']}, Python {m['python']}; reference: fairseq-signals "
        f"{FAIRSEQ_SIGNALS_COMMIT[:12]}, torch {ref['torch']}, Python {ref['python']}"
        f"{' (both sides in the same Python)' if m.get('same_python') else ''}. glibc malloc: "
        + (", ".join(f"{k}={v}" for k, v in m["malloc_env"].items()) if m.get("malloc_env") else "defaults")
        + ".",
        "",
        *rate_table(report),
    ]
    lines += ["", f"Ours / faster reference: **{report['ratio']:.2f}** in ECGs/s "
              f"({report['ratio_per_cpu_second']:.2f} in ECGs per CPU-second). Largest reference value "
              f"{report['reference_scale']:.2f}; max abs difference ours vs plain eval: "
              f"{report['max_abs_diff_ours_vs_plain']:.1e}.",
              "",
              "Segments per forward: reference (segments batched): "
              f"{2 * report['batch_size']}; reference (per segment): {report['batch_size']}; ours and ours, "
              "plain eval: chunks whose largest activation is under 4 MB (6 segments here); ours, "
              f"chunked: {report['chunk_segments']}. With glibc's default thresholds, larger chunks "
              "hand their freed activations back to the kernel and fault them in again in the next "
              "forward.", ""]
    return "\n".join(lines)


def summarise(args: argparse.Namespace, reference_info: dict, seconds: dict[str, list[float]],
              cpu_seconds: dict[str, list[float]], embeddings: dict[str, np.ndarray],
              reference_embedding: np.ndarray, load_before: float) -> dict:
    n = args.n_ecgs
    rates = {name: {"median": n / float(np.median(s)), "all": [n / t for t in s],
                    "per_cpu_second": n / float(np.median(cpu_seconds[name]))}
             for name, s in seconds.items()}
    references = [name for name in rates if name.startswith("reference")]
    reference_rate = max(rates[name]["median"] for name in references)
    return {
        "machine": machine_record(
            args.threads, load_before, "other jobs ran on the same cores during the run",
            malloc_env={k: v for k, v in sorted(os.environ.items()) if k.startswith("MALLOC_")},
            same_python=Path(sys.executable).resolve() == Path(args.reference_python).resolve()),
        "reference": {**reference_info, "python_executable": args.reference_python,
                      "fairseq_signals_commit": FAIRSEQ_SIGNALS_COMMIT, "config": SMALL},
        "n_ecgs": n, "batch_size": args.batch_size, "repeats": args.repeats,
        "chunk_segments": args.chunk_segments,
        "seconds": seconds, "cpu_seconds": cpu_seconds, "rates": rates, "reference_rate": reference_rate,
        "ratio": rates["ours"]["median"] / reference_rate,
        "ratio_per_cpu_second": rates["ours"]["per_cpu_second"]
        / max(rates[name]["per_cpu_second"] for name in references),
        "reference_scale": float(np.abs(reference_embedding).max()),
        "max_abs_diff": {name: float(np.abs(e - reference_embedding).max())
                         for name, e in embeddings.items()},
        "max_abs_diff_ours_vs_plain": float(np.abs(embeddings["ours"]
                                                   - embeddings["ours, plain eval"]).max()),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference-python", default="/tmp/fsenv/bin/python",
                        help="a Python with fairseq-signals' dependencies (fairseq, hydra-core 1.0, ...)")
    parser.add_argument("--fairseq-signals", type=Path, default=Path("/tmp/fairseq-signals"),
                        help=f"a fairseq-signals source tree (commit {FAIRSEQ_SIGNALS_COMMIT[:12]})")
    parser.add_argument("--n-ecgs", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--chunk-segments", type=int, default=32,
                        help="segments per forward of the 'ours, chunked' path")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--name", default="inference_speed_w2v-cpu", help="stem of the result files")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="w2v_inference_") as tmp:
        workdir = Path(tmp)
        X = synthetic_inputs(args.n_ecgs, args.seed)
        np.save(workdir / "x.npy", X)
        reference = start_reference(args.reference_python, args.fairseq_signals, workdir, args.threads,
                              args.batch_size, args.seed)
        try:
            print("reference:", reference.info, flush=True)
            estimator = load_fairseq_signals(workdir / "reference.pt", device="cpu")
            estimator.set_params(batch_size=args.batch_size)

            def plain() -> np.ndarray:
                encoder = estimator.encoder_.eval()
                with torch.inference_mode():
                    return np.concatenate([encoder(b).numpy() for b in estimator.input_batches(X)])

            def chunked() -> np.ndarray:
                return np.concatenate([chunked_embedding(estimator.encoder_.eval().wav2vec2, b,
                                                         FS * SEGMENT_SECONDS, args.chunk_segments)
                                       for b in estimator.input_batches(X)])

            runs = {
                "reference (segments batched)": lambda: reference.time("batched"),
                "reference (per segment)": lambda: reference.time("per_segment"),
                "ours": lambda: timed(lambda: estimator.transform(X)),
                "ours, plain eval": lambda: timed(plain),
                "ours, chunked": lambda: timed(chunked),
            }
            # Warm-ups, which also give the embeddings compared.
            reference.time("batched", "reference_batched.npy")
            reference.time("per_segment", "reference_per_segment.npy")
            embeddings = {"reference (per segment)": np.load(workdir / "reference_per_segment.npy"),
                          "ours": estimator.transform(X), "ours, plain eval": plain(),
                          "ours, chunked": chunked()}
            reference_embedding = np.load(workdir / "reference_batched.npy")
            seconds, cpu_seconds = interleaved(runs, args.repeats, args.n_ecgs)
        finally:
            reference.close()

    report = summarise(args, reference.info, seconds, cpu_seconds, embeddings, reference_embedding,
                       load_before)
    table = markdown(report)
    write_results(args.out, args.name, report, table)
    print(table)
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
