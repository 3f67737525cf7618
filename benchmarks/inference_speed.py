"""PCLR inference side by side: our transform against ml4h's Keras model, same weights, one run.

The reference is ml4h's PCLR encoder (``model_zoo/PCLR/build_model.py``, commit 4c1a5bbccc94:
``get_model`` without the projection head, output the 320-d "embed" layer) built at the paper's
size (filters 64, 128, 196, 256, 320; kernel 16; 4096 samples; 12 leads) with Keras in a
separate Python that has TensorFlow (``--reference-python``; TensorFlow is never a dependency
of this package). Its random weights (he_normal, with random BatchNorm statistics so that every
BatchNorm matters) are saved as a full Keras h5, as ml4h's ``PCLR.h5``, and read here with
:func:`sklearn_ecg.pretrained.load_pclr_keras`, so both sides hold the same weights.

Both embed the same ``--n-ecgs`` synthetic 10 s 12-lead ECGs (500 Hz, linearly interpolated
to 4096 samples as ml4h's ``process_ecg`` does), in batches of ``--batch-size``, with
``--threads`` threads (torch's intra-op threads; TensorFlow's intra-op threads, with one
inter-op thread, i.e. one op at a time as torch runs them), float32, in one process each.
Timings are interleaved: each repeat times, one after the other,

- ``reference (predict)``: ``model.predict(x, batch_size=...)``, how ml4h embeds ECGs;
- ``reference (tf.function)``: the model called on each batch inside one ``tf.function``
  (no Keras data pipeline), the faster way to run the same model;
- ``ours``: ``PCLRTransformer.transform`` (its inference fast path:
  :func:`sklearn_ecg.nn.inference.cached_inference_copy`);
- ``ours, plain eval``: the encoder's own eval forward over the same batches
  (``encoder_`` on ``input_batches``), the path ``transform`` took before;

after one warm-up of each. The rates are ECGs / median wall-clock seconds; the ratio is ours
over the faster reference. ECGs per CPU-second (user + system time of all threads of the
process) are reported too: on a machine shared with other jobs they depend less on how the
cores were shared during each run. The embeddings of every path are compared with the reference's (max abs
difference, and relative to the largest reference value).

Usage::

    python -m benchmarks.inference_speed [--reference-python /tmp/refenv_keras3/bin/python]
        [--n-ecgs 256] [--batch-size 64] [--repeats 5] [--threads 2] [--out benchmarks/results]

Writes ``OUT/inference_speed-cpu.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import torch

from sklearn_ecg.datasets import make_synthetic_ecg
from sklearn_ecg.pretrained import load_pclr_keras

from .protocol import RESULTS_DIR, write_results

#: Throwaway environments with TensorFlow/Keras, tried in this order when none is given.
DEFAULT_REFERENCE_PYTHONS = ("/tmp/refenv_keras3/bin/python", "/tmp/refenv_tf24/bin/python")

N_SAMPLES = 4096
FILTERS = (64, 128, 196, 256, 320)
UNIT_SAMPLES = (1024, 256, 64, 16)

#: The end of every reference script: answers "time KIND [SAVE_AS]" lines on stdin with one JSON
#: line of wall-clock and CPU seconds, after running ``runs[KIND]`` (saving its output as SAVE_AS).
COMMAND_LOOP = textwrap.dedent('''
    for line in sys.stdin:
        command = line.split()
        if not command or command[0] == "quit":
            break
        usage, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        out = runs[command[1]]()
        seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
        cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
        if len(command) > 2:
            np.save(os.path.join(workdir, command[2]), np.asarray(out, dtype=np.float32))
        print(json.dumps({"seconds": seconds, "cpu_seconds": cpu}), flush=True)
''')

#: Runs in the reference Python: ml4h's PCLR encoder (its ResidualUnit as published, with
#: ``dropout=0``, ``preactivation=True``, ``postactivation_bn=False`` as ``get_model`` uses it),
#: then a loop answering "time" commands on stdin with JSON lines on stdout.
REFERENCE_SCRIPT = textwrap.dedent('''
    import json, os, sys, time
    import numpy as np
    import resource
    workdir, threads, batch_size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)  # one op at a time, as torch
    from tensorflow.keras.layers import (Activation, Add, BatchNormalization, Conv1D,
                                         GlobalAveragePooling1D, Input, MaxPooling1D)
    from tensorflow.keras.models import Model

    FILTERS = %(filters)r
    UNIT_SAMPLES = %(unit_samples)r
    KERNEL = 16

    def residual_unit(x, y, n_samples_out, n_filters_out):
        """ml4h's ResidualUnit.__call__ (pre-activation, no dropout)."""
        n_samples_in, n_filters_in = y.shape[1], y.shape[2]
        downsample = n_samples_in // n_samples_out
        if downsample > 1:
            y = MaxPooling1D(downsample, strides=downsample, padding="same")(y)
        if n_filters_in != n_filters_out:
            y = Conv1D(n_filters_out, 1, padding="same", use_bias=False, kernel_initializer="he_normal")(y)
        x = Conv1D(n_filters_out, KERNEL, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
        x = Activation("relu")(BatchNormalization()(x))
        x = Conv1D(n_filters_out, KERNEL, strides=downsample, padding="same", use_bias=False,
                   kernel_initializer="he_normal")(x)
        x = Add()([x, y])
        y = x
        x = Activation("relu")(BatchNormalization()(x))
        return x, y

    def pclr_encoder(ecg_len, n_leads):
        """ml4h's get_model up to its "embed" layer (the released models' output)."""
        signal = Input(shape=(ecg_len, n_leads), dtype=np.float32, name="ecg")
        x = Conv1D(FILTERS[0], KERNEL, padding="same", use_bias=False, kernel_initializer="he_normal")(signal)
        x = Activation("relu")(BatchNormalization()(x))
        y = x
        for n_out, n_filters in zip(UNIT_SAMPLES, FILTERS[1:]):
            x, y = residual_unit(x, y, n_out, n_filters)
        return Model(signal, GlobalAveragePooling1D(name="embed")(x))

    tf.random.set_seed(seed)
    rng = np.random.default_rng(seed)
    x = np.load(os.path.join(workdir, "x.npy")).transpose(0, 2, 1).copy()  # (n, samples, leads)
    model = pclr_encoder(x.shape[1], x.shape[2])
    for layer in model.layers:  # random statistics, so that each BatchNorm matters
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.2, beta.shape),
                               rng.normal(0, 0.2, mean.shape), rng.uniform(0.5, 2.0, var.shape)])
    model.save(os.path.join(workdir, "reference.h5"), include_optimizer=False)

    @tf.function(input_signature=[tf.TensorSpec([None, x.shape[1], x.shape[2]], tf.float32)])
    def embed(batch):
        return model(batch, training=False)

    batches = [tf.constant(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    runs = {
        "predict": lambda: model.predict(x, batch_size=batch_size, verbose=0),
        "tf.function": lambda: np.concatenate([embed(b).numpy() for b in batches]),
    }
    print(json.dumps({"ready": True, "tensorflow": tf.__version__,
                      "keras": getattr(tf.keras, "__version__", "?"),
                      "n_parameters": int(model.count_params())}), flush=True)
''') % {"filters": FILTERS, "unit_samples": UNIT_SAMPLES} + COMMAND_LOOP


class Reference:
    """A reference model in a subprocess of another Python (``script``: the Keras model by
    default), timed on request: ``time KIND [SAVE_AS]`` lines in, one JSON line out."""

    def __init__(self, python: str, workdir: Path, threads: int, batch_size: int, seed: int,
                 script: str = REFERENCE_SCRIPT, env: dict[str, str] | None = None,
                 extra_args: tuple[str, ...] = ()):
        path = workdir / "reference.py"
        path.write_text(script)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "OMP_NUM_THREADS": str(threads),
               "CUDA_VISIBLE_DEVICES": "", **(env or {})}
        self.workdir = workdir
        self.process = subprocess.Popen(
            [python, str(path), str(workdir), str(threads), str(batch_size), str(seed), *extra_args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.info = self._read()

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the reference Python exited with status {self.process.wait()}")
        return json.loads(line)

    def time(self, kind: str, save_as: str | None = None) -> tuple[float, float]:
        """Wall-clock and CPU seconds (user + system, all threads) of one run."""
        self.process.stdin.write(f"time {kind} {save_as or ''}\n")
        self.process.stdin.flush()
        answer = self._read()
        return float(answer["seconds"]), float(answer["cpu_seconds"])

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
            self.process.wait(timeout=60)


def synthetic_inputs(n: int, seed: int) -> np.ndarray:
    """``n`` synthetic 10 s 12-lead ECGs at 500 Hz, interpolated to 4096 samples as ml4h's
    ``process_ecg`` (``np.interp`` on a grid spanning the record)."""
    X = make_synthetic_ecg(n_patients=(n + 1) // 2, ecgs_per_patient=2, fs=500, random_state=seed).X[:n]
    grid, source = np.linspace(0, 1, N_SAMPLES), np.linspace(0, 1, X.shape[-1])
    out = np.empty((*X.shape[:2], N_SAMPLES), dtype=np.float32)
    for i in range(X.shape[0]):
        for lead in range(X.shape[1]):
            out[i, lead] = np.interp(grid, source, X[i, lead])
    return out


def pick_reference_python(given: str | None) -> str:
    if given:
        return given
    for candidate in DEFAULT_REFERENCE_PYTHONS:
        if Path(candidate).exists():
            return candidate
    raise SystemExit("No Python with TensorFlow found: pass --reference-python (a throwaway venv with "
                     "`pip install tensorflow-cpu`, never this package's environment).")


def machine_record(threads: int, load_before: float, shared: str, **extra: object) -> dict:
    """The "machine" entry of an inference report: CPU, cores, threads, torch, Python, load."""
    return {"cpu": cpu_name(), "cores": os.cpu_count(), "threads": threads, "torch": torch.__version__,
            "python": platform.python_version(), "load_before": load_before,
            "load_after": os.getloadavg()[0], **extra, "shared": shared}


def timed(fn) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system, all threads of this process) of ``fn()``."""
    usage, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    fn()
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    return seconds, after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU"


def rate_table(report: dict) -> list[str]:
    """Markdown rows of every timed path: rates, ratio to the faster reference, CPU-seconds and the
    difference to the reference's embeddings (``report`` as ``summarise`` writes it)."""
    lines = ["| implementation | ECGs/s (median) | all repeats | ratio to the faster reference "
             "| ECGs per CPU-second | max abs difference to the reference embeddings |",
             "|---|---|---|---|---|---|"]
    for name, r in report["rates"].items():
        diff = report["max_abs_diff"].get(name)
        lines.append(
            f"| {name} | {r['median']:.1f} | {', '.join(f'{v:.1f}' for v in r['all'])} | "
            f"{r['median'] / report['reference_rate']:.2f} | {r['per_cpu_second']:.1f} | "
            + ("(reference)" if diff is None
               else f"{diff:.1e} ({diff / report['reference_scale']:.1e} relative)") + " |")
    return lines


def markdown(report: dict) -> str:
    m, ref = report["machine"], report["reference"]
    lines = [
        "## PCLR inference: ours against ml4h's Keras model (CPU)",
        "",
        f"{report['n_ecgs']} ECGs of 12 leads x {N_SAMPLES} samples, batch {report['batch_size']}, "
        f"{m['threads']} threads each (TensorFlow: {m['threads']} intra-op, 1 inter-op), float32, the same "
        "weights on both sides; median of "
        f"{report['repeats']} interleaved repeats. {m['cpu']}, {m['cores']} cores, shared with other "
        f"jobs (load average {m['load_before']:.1f} before, {m['load_after']:.1f} after). torch "
        f"{m['torch']}; TensorFlow {ref['tensorflow']}, Keras {ref['keras']}.",
        "",
        *rate_table(report),
    ]
    lines += ["", f"Ours / faster reference: **{report['ratio']:.2f}** in ECGs/s "
              f"({report['ratio_per_cpu_second']:.2f} in ECGs per CPU-second, which other jobs on the "
              f"machine disturb less); ours / our plain eval forward: {report['speedup_over_plain']:.2f}. "
              f"Max abs difference ours vs plain eval: {report['max_abs_diff_ours_vs_plain']:.1e}.", ""]
    if "allocator_run" in report:
        lines.append(allocator_markdown(report["allocator_run"]))
    return "\n".join(lines)


#: The second run whose results ``--allocator-run`` adds to the report, and why.
ALLOCATOR_COMMAND = ("MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=2147483647 python -m\n"
                     "benchmarks.inference_speed --n-ecgs 128 --repeats 3")


def allocator_markdown(run: dict) -> str:
    """The section of a second run with glibc keeping large blocks (see ``--allocator-run``)."""
    m = run["machine"]
    lines = [
        "### Also measured: without page faults for large activations",
        "",
        "torch's CPU allocator takes each activation above 32 MB (batch 64: 33-134 MB) fresh from the",
        "kernel, so every forward pays page faults and zeroing (about 7 % of our CPU time), which",
        "TensorFlow's BFC allocator avoids by reusing its memory. With glibc told to keep such blocks",
        f"(`{ALLOCATOR_COMMAND}`, process-wide settings a user can choose,",
        "not something the library sets; both processes had them), the same comparison "
        f"({run['n_ecgs']} ECGs, median of {run['repeats']}, load",
        f"average {m['load_before']:.1f} before, {m['load_after']:.1f} after) gave:",
        "",
        "| implementation | ECGs/s (median) | ECGs per CPU-second |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {r['median']:.1f} | {r['per_cpu_second']:.1f} |"
              for name, r in run["rates"].items()]
    lines += ["", f"Ours / faster reference: {run['ratio']:.2f} in ECGs/s ({run['ratio_per_cpu_second']:.2f} "
              "per CPU-second).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference-python", default=os.environ.get("SKLEARN_ECG_TF_PYTHON"),
                        help="a Python with TensorFlow (default: $SKLEARN_ECG_TF_PYTHON, else "
                             f"the first of {', '.join(DEFAULT_REFERENCE_PYTHONS)} that exists)")
    parser.add_argument("--n-ecgs", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--allocator-run", type=Path, default=None,
                        help="the JSON of a run made with glibc keeping large blocks (its command is "
                             "in the report), added to this report as a second section")
    args = parser.parse_args(argv)
    python = pick_reference_python(args.reference_python)
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="pclr_inference_") as tmp:
        workdir = Path(tmp)
        X = synthetic_inputs(args.n_ecgs, args.seed)
        np.save(workdir / "x.npy", X)
        reference = Reference(python, workdir, args.threads, args.batch_size, args.seed)
        try:
            print("reference:", reference.info, flush=True)
            estimator = load_pclr_keras(workdir / "reference.h5", device="cpu")
            estimator.set_params(batch_size=args.batch_size)

            def plain() -> np.ndarray:
                encoder = estimator.encoder_.eval()
                with torch.inference_mode():
                    return np.concatenate([encoder(b).numpy() for b in estimator.input_batches(X)])

            runs = {
                "reference (predict)": lambda: reference.time("predict"),
                "reference (tf.function)": lambda: reference.time("tf.function"),
                "ours": lambda: timed(lambda: estimator.transform(X)),
                "ours, plain eval": lambda: timed(plain),
            }
            # Warm-ups, which also give the embeddings compared.
            reference.time("predict", "reference_predict.npy")
            reference.time("tf.function", "reference_function.npy")
            embeddings = {"reference (tf.function)": np.load(workdir / "reference_function.npy"),
                          "ours": estimator.transform(X), "ours, plain eval": plain()}
            reference_embedding = np.load(workdir / "reference_predict.npy")
            seconds: dict[str, list[float]] = {name: [] for name in runs}
            cpu_seconds: dict[str, list[float]] = {name: [] for name in runs}
            for repeat in range(args.repeats):
                for name, run in runs.items():
                    wall, cpu = run()
                    seconds[name].append(wall)
                    cpu_seconds[name].append(cpu)
                print(f"repeat {repeat + 1}/{args.repeats}, ECGs/s:",
                      {k: round(args.n_ecgs / v[-1], 2) for k, v in seconds.items()}, flush=True)
        finally:
            reference.close()

    rates = {name: {"median": args.n_ecgs / float(np.median(s)), "all": [args.n_ecgs / t for t in s],
                    "per_cpu_second": args.n_ecgs / float(np.median(cpu_seconds[name]))}
             for name, s in seconds.items()}
    reference_rate = max(rates["reference (predict)"]["median"], rates["reference (tf.function)"]["median"])
    report = {
        "machine": machine_record(args.threads, load_before,
                                  "other jobs ran on the same cores during the run"),
        "reference": {**reference.info, "python": python},
        "n_ecgs": args.n_ecgs, "batch_size": args.batch_size, "repeats": args.repeats,
        "seconds": seconds, "cpu_seconds": cpu_seconds, "rates": rates, "reference_rate": reference_rate,
        "ratio": rates["ours"]["median"] / reference_rate,
        "ratio_per_cpu_second": rates["ours"]["per_cpu_second"] / max(
            rates[name]["per_cpu_second"] for name in ("reference (predict)", "reference (tf.function)")),
        "speedup_over_plain": rates["ours"]["median"] / rates["ours, plain eval"]["median"],
        "reference_scale": float(np.abs(reference_embedding).max()),
        "max_abs_diff": {name: float(np.abs(e - reference_embedding).max())
                         for name, e in embeddings.items()},
        "max_abs_diff_ours_vs_plain": float(np.abs(embeddings["ours"]
                                                   - embeddings["ours, plain eval"]).max()),
    }
    if args.allocator_run is not None:
        run = json.loads(args.allocator_run.read_text())
        report["allocator_run"] = {k: run[k] for k in ("machine", "n_ecgs", "repeats", "rates", "ratio",
                                                       "ratio_per_cpu_second")}
    table = markdown(report)
    write_results(args.out, "inference_speed-cpu", report, table)
    print(table)
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
