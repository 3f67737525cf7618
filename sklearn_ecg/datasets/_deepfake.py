"""Unlabelled 12-lead ECGs from the DeepFake ECG generator (Pulse2Pulse; Thambawita et al. 2021).

The generator and its weights come from the PyPI package ``deepfake-ecg`` (MIT licence), an
optional dependency: ``pip install "sklearn-ecg[deepfake]"``. Only the package's network class
and its weight file are used: the weights are read with ``torch.load(weights_only=True)`` (plain
tensors, no unpickled code) and the package's own ``generate()`` (which unpickles without
``weights_only``, draws from torch's global generator and writes text files) is never called.
Nothing is downloaded at run time: the weights ship inside the package's wheel.
"""

from __future__ import annotations

import copy
import importlib.metadata
import json
import os
import uuid
import warnings
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from .._validation import STANDARD_LEADS, check_fs, check_positive_int

__all__ = ["make_deepfake_ecg"]

#: Leads of the generator's output, in its order (the package's README).
GENERATED_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
#: The generator's sampling rate (Hz) and samples per ECG (10 s).
GENERATOR_FS = 500
GENERATOR_SAMPLES = 5000
#: The generator's tanh output times 6000 is in microvolts (the package's ``generate()`` writes
#: ``int(output * 6000)``; R-wave amplitudes then match PTB-XL's), so times 6 is millivolts.
OUTPUT_TO_MV = 6.0
_INSTALL_HINT = 'pip install "sklearn-ecg[deepfake]"'
_CACHE_FORMAT = 1
#: ECGs per forward pass of the network (fixed, so that results do not depend on batch_size).
_FORWARD_BLOCK = 32


def _import_generator() -> tuple[type, str, Path]:
    """The package's generator class, its version and the path of its weight file."""
    try:
        from deepfakeecg.models.pulse2pulse import Pulse2pulseGenerator
    except ImportError as exc:
        raise ImportError(
            "make_deepfake_ecg needs the optional package deepfake-ecg (the Pulse2Pulse generator "
            f"and its weights); install it with: {_INSTALL_HINT}"
        ) from exc
    import deepfakeecg

    weights = Path(deepfakeecg.__file__).resolve().parent / "checkpoints" / "g_stat.pt"
    if not weights.is_file():
        raise ImportError(
            f"The deepfake-ecg package has no generator weights at {weights}; reinstall it with: "
            f"{_INSTALL_HINT}"
        )
    try:
        version = importlib.metadata.version("deepfake-ecg")
    except importlib.metadata.PackageNotFoundError:  # imported from a source tree
        version = getattr(deepfakeecg, "__version__", "unknown")
    return Pulse2pulseGenerator, version, weights


@lru_cache(maxsize=2)
def _load_generator(generator_class: type, weights: str) -> Any:
    """The generator with the package's weights, in eval mode (loaded once per process).

    The module is built on the meta device, so its random initialisation neither runs nor draws
    from torch's global generator; ``load_state_dict(assign=True)`` then puts the weights in.
    """
    import torch

    with warnings.catch_warnings():
        # The package's __init__ calls the deprecated nn.init.kaiming_normal (a no-op on meta).
        warnings.simplefilter("ignore")
        with torch.device("meta"):
            module = generator_class()
    checkpoint = torch.load(weights, map_location="cpu", weights_only=True)
    state = checkpoint.get("stat_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"{weights} does not hold the generator's state dict.")
    module.load_state_dict(state, strict=True, assign=True)
    return module.eval().requires_grad_(False)


def _rate_fraction(fs: float) -> tuple[int, int, int]:
    """(up, down, n_samples) resampling the generator's 500 Hz to ``fs`` over 10 s."""
    ratio = Fraction(fs).limit_denominator(1000) / GENERATOR_FS
    n_samples = GENERATOR_SAMPLES * ratio
    if abs(float(ratio) * GENERATOR_FS - fs) > 1e-9 * fs or n_samples.denominator != 1:
        raise ValueError(
            f"fs must give a whole number of samples in 10 s (e.g. 100, 250, 500 Hz), got {fs!r}."
        )
    return ratio.numerator, ratio.denominator, int(n_samples)


def _twelve_leads(eight: np.ndarray, out: np.ndarray) -> None:
    """Fill ``out`` (n, 12, samples) from the 8 generated leads (n, 8, samples), in float32.

    III, aVR, aVL and aVF follow from I and II (Einthoven's and Goldberger's equations), written
    in float32 exactly as ``III = II - I``, ``aVR = -(I + II) / 2``, ``aVL = I - II / 2`` and
    ``aVF = II - I / 2``.
    """
    lead_i, lead_ii = eight[:, 0], eight[:, 1]
    half = np.float32(2)
    out[:, 0] = lead_i
    out[:, 1] = lead_ii
    out[:, 2] = lead_ii - lead_i
    out[:, 3] = -(lead_i + lead_ii) / half
    out[:, 4] = lead_i - lead_ii / half
    out[:, 5] = lead_ii - lead_i / half
    out[:, 6:] = eight[:, 2:]


def _cache_files(cache: str | os.PathLike, n_ecgs: int, fs: float, seed: int) -> tuple[Path, Path]:
    folder = Path(cache)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"cache must be a folder (file names follow the arguments), got the file {folder}.")
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"deepfake_ecg-n{n_ecgs}-fs{fs:g}-seed{seed}"
    return folder / f"{stem}.npy", folder / f"{stem}.json"


def _read_cache(data: Path, sidecar: Path, expected: dict) -> np.ndarray | None:
    """The cached array if its sidecar says it was made with ``expected``; None if there is none.

    A data file without its sidecar is an unfinished write (the sidecar is moved in last) and is
    regenerated; a sidecar that disagrees raises, as does data of the wrong shape or dtype.
    """
    if not (data.is_file() and sidecar.is_file()):
        return None
    try:
        found = json.loads(sidecar.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"Cannot read the cache sidecar {sidecar}: {exc}; delete it and {data}.") from exc
    differs = {key: (found.get(key), value) for key, value in expected.items() if found.get(key) != value}
    if differs:
        detail = ", ".join(f"{key}: cached {old!r}, asked {new!r}" for key, (old, new) in differs.items())
        raise ValueError(
            f"The cached ECGs {data} were made with other settings ({detail}). Use another cache "
            f"folder, or delete {data} and {sidecar} to regenerate them."
        )
    X = np.load(data, mmap_mode="r")
    shape = (expected["n_ecgs"], len(STANDARD_LEADS), expected["n_samples"])
    if X.shape != shape or X.dtype != np.float32:
        raise ValueError(
            f"The cached ECGs {data} have shape {X.shape} and dtype {X.dtype}, expected {shape} float32; "
            f"delete {data} and {sidecar} to regenerate them."
        )
    return X


def _progress(total: int, verbose: int | bool) -> Any:
    """A progress bar over ``total`` ECGs (tqdm, else printed lines); a no-op when not verbose."""

    class _Silent:
        def update(self, n: int) -> None:
            pass

        def close(self) -> None:
            pass

    class _Printed:
        def __init__(self) -> None:
            self.done = 0

        def update(self, n: int) -> None:
            self.done += n
            print(f"make_deepfake_ecg: {self.done}/{total} ECGs", flush=True)

        def close(self) -> None:
            pass

    if not verbose:
        return _Silent()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Printed()
    return tqdm(total=total, desc="make_deepfake_ecg", unit="ECG")


def make_deepfake_ecg(
    n_ecgs: int,
    *,
    fs: float = 500,
    random_state: int | np.random.RandomState | None = None,
    batch_size: int = 64,
    cache: str | os.PathLike | None = None,
    device: str = "cpu",
    verbose: int | bool = False,
) -> np.ndarray:
    """Generate realistic, unlabelled 10 s 12-lead ECGs with the DeepFake ECG generator.

    The ECGs come from one generative adversarial network, Pulse2Pulse (Thambawita et al.,
    Scientific Reports 11, 21896, 2021, doi:10.1038/s41598-021-01295-2), trained on 7,233 real
    normal 10 s, 500 Hz ECGs of two population studies, 8 leads each (I, II, V1-V6); the
    generator and its weights ship in the PyPI package ``deepfake-ecg`` (MIT licence), an
    optional dependency.

    What the data is, plainly: mostly normal-looking ECGs of a single generator, with **no
    labels** (no diagnosis, no report), **no patients** (every ECG is an independent draw: there
    are no patient ids and no two ECGs of one person), 8 generated leads (I, II, V1-V6) and 4
    derived from I and II by Einthoven's and Goldberger's equations (``III = II - I``,
    ``aVR = -(I + II) / 2``, ``aVL = I - II / 2``, ``aVF = II - I / 2``, exact in float32). Use
    it as extra unlabelled pretraining data, not as ground truth for any diagnosis.

    Units: the generator's output (a tanh, in [-1, 1]) times 6000 is microvolts. The package's
    own ``generate()`` writes ``int(output * 6000)`` to its files, without naming the unit;
    read as microvolts, these give R waves of 0.7-1.4 mV in lead II (10th-90th percentile,
    median 1.0 mV), as in PTB-XL (0.5-1.6 mV, median 0.95 mV, in mV after the header's gain),
    where millivolts or volts would be off by a factor of 1000. This function returns
    output x 6 = millivolts, not rounded.

    The network is run by this function, never through the package's ``generate()``: its weights
    are read with ``torch.load(weights_only=True)`` and its input noise (uniform in [-1, 1),
    8 x 5000 per ECG, as in the package) is drawn from a numpy generator seeded by
    ``random_state``, so torch's global random state is left untouched. Nothing is downloaded.

    Parameters
    ----------
    n_ecgs : int
        Number of ECGs.
    fs : float, default=500
        Sampling rate in Hz. The generator works at 500 Hz; other rates are resampled with
        :func:`scipy.signal.resample_poly` (e.g. 100 Hz for the PTB-XL ``records100`` rate).
        ``10 * fs`` must be a whole number of samples.
    random_state : int, RandomState instance or None, default=None
        Seeds the input noise. The same ``n_ecgs`` and ``random_state`` give the same array
        whatever ``batch_size`` (on CPU), and the first ``k`` ECGs of a call are those of a call
        with ``n_ecgs=k``: ECG ``i`` uses the ``i``-th noise draw of one stream.
    batch_size : int, default=64
        ECGs drawn, generated, resampled and stored per step (and per progress update). The
        network itself always runs on blocks of 32 ECGs (the last one zero-padded): a fixed
        input shape makes each ECG's output bit-for-bit independent of ``batch_size``.
    cache : path, optional
        A folder for an on-disk cache. The ECGs are written there as
        ``deepfake_ecg-n{n_ecgs}-fs{fs}-seed{random_state}.npy`` with a JSON sidecar (the
        arguments, the deepfake-ecg version, units and leads), and the array is returned as a
        read-only memory map (``np.load(mmap_mode="r")``), so large sets need not fit in memory.
        A later call with the same arguments reads that file instead of generating again.
        Different ``n_ecgs``, ``fs`` or ``random_state`` name a different file; a file whose
        sidecar disagrees with the arguments (another deepfake-ecg version, say) raises a
        ``ValueError`` rather than returning other data. Files are written under a temporary
        name and moved in place (data first, sidecar last) when complete, so an interrupted
        generation never leaves a file that looks finished. Needs an int ``random_state``.
    device : str, default="cpu"
        Torch device that runs the generator (e.g. ``"cuda"``). The noise is the same on every
        device, but results off the CPU agree with the CPU's only to float32 rounding.
    verbose : bool or int, default=False
        Show a progress bar (tqdm, else printed lines). Silent by default.

    Returns
    -------
    X : ndarray of shape (n_ecgs, 12, 10 * fs), float32
        ECGs in millivolts, leads in the standard order I, II, III, aVR, aVL, aVF, V1-V6
        (``sklearn_ecg``'s and PTB-XL's). With ``cache``, a read-only :class:`numpy.memmap`.

    Raises
    ------
    ImportError
        If the ``deepfake-ecg`` package is not installed.
    ValueError
        For invalid arguments, or a cache file made with other settings.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.datasets import make_deepfake_ecg
    >>> X = make_deepfake_ecg(4, fs=100, random_state=0)
    >>> X.shape, X.dtype
    ((4, 12, 1000), dtype('float32'))
    >>> bool(np.all(X[:, 2] == X[:, 1] - X[:, 0]))  # III = II - I
    True
    """
    n_ecgs = check_positive_int(n_ecgs, "n_ecgs")
    batch_size = check_positive_int(batch_size, "batch_size")
    fs = check_fs(fs)
    up, down, n_samples = _rate_fraction(fs)
    seeded = isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool)
    if cache is not None and not seeded:
        raise ValueError(
            f"cache needs an int random_state (the cached ECGs are keyed by it), got {random_state!r}."
        )
    generator_class, version, weights = _import_generator()

    data = sidecar = None
    expected = {}
    if cache is not None:
        data, sidecar = _cache_files(cache, n_ecgs, fs, int(random_state))
        expected = {"format": _CACHE_FORMAT, "n_ecgs": n_ecgs, "fs": fs, "n_samples": n_samples,
                    "random_state": int(random_state), "deepfake_ecg_version": version}
        cached = _read_cache(data, sidecar, expected)
        if cached is not None:
            return cached

    rng = check_random_state(random_state)
    shape = (n_ecgs, len(STANDARD_LEADS), n_samples)
    temporary = None
    if data is None:
        X = np.empty(shape, dtype=np.float32)
    else:
        temporary = data.with_name(f"{data.stem}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}.npy")
        X = np.lib.format.open_memmap(temporary, mode="w+", dtype=np.float32, shape=shape)
    try:
        _generate_into(X, rng, generator_class, str(weights), batch_size, up, down, device, verbose)
        if data is None:
            return X
        X.flush()
        del X
        os.replace(temporary, data)
        temporary = None
        note = sidecar.with_name(f"{sidecar.stem}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}.json")
        note.write_text(json.dumps({
            **expected, "units": "mV", "leads": list(STANDARD_LEADS), "shape": list(shape),
            "dtype": "float32", "generator": "deepfake-ecg Pulse2Pulse (checkpoints/g_stat.pt)",
        }, indent=1))
        os.replace(note, sidecar)
    finally:
        if temporary is not None:
            try:
                temporary.unlink()
            except OSError:
                pass
    return np.load(data, mmap_mode="r")


def _run_blocks(generator: Any, noise: np.ndarray, device: Any) -> np.ndarray:
    """The generator's output for ``noise`` (n, 8, 5000), run on zero-padded blocks of
    ``_FORWARD_BLOCK`` ECGs.

    The convolution kernels pick their algorithm by the input's shape, and different algorithms
    round differently (by up to about 1e-5 of the output); with one fixed shape, every ECG's
    output is the same bit for bit whatever the batch size, its neighbours or its position.
    """
    import torch

    n = len(noise)
    out = np.empty((n, *noise.shape[1:]), dtype=np.float32)
    block = np.zeros((_FORWARD_BLOCK, *noise.shape[1:]), dtype=np.float32)
    for start in range(0, n, _FORWARD_BLOCK):
        stop = min(start + _FORWARD_BLOCK, n)
        block[: stop - start] = noise[start:stop]
        block[stop - start:] = 0
        with torch.inference_mode():
            result = generator(torch.from_numpy(block).to(device))
        out[start:stop] = result[: stop - start].float().cpu().numpy()
    return out


def _generate_into(X: np.ndarray, rng: np.random.RandomState, generator_class: type, weights: str,
                   batch_size: int, up: int, down: int, device: str, verbose: int | bool) -> None:
    """Fill ``X`` batch by batch: noise from ``rng``, the generator, resampling, 12 leads in mV."""
    import torch
    from scipy.signal import resample_poly

    generator = _load_generator(generator_class, weights)
    target = torch.device(device)
    if target.type != "cpu":
        generator = copy.deepcopy(generator).to(target)  # the cached CPU module stays as it is
    progress = _progress(len(X), verbose)
    try:
        for start in range(0, len(X), batch_size):
            stop = min(start + batch_size, len(X))
            # One float64 stream in ECG order, cast like torch's float32 uniform_(-1, 1):
            # the batch size does not change which noise an ECG gets.
            noise = rng.uniform(-1.0, 1.0, size=(stop - start, len(GENERATED_LEADS), GENERATOR_SAMPLES))
            eight = _run_blocks(generator, noise.astype(np.float32), target)
            if (up, down) != (1, 1):
                eight = resample_poly(eight.astype(np.float64), up, down, axis=-1)
            eight = (eight * OUTPUT_TO_MV).astype(np.float32)
            _twelve_leads(eight, X[start:stop])
            progress.update(stop - start)
    finally:
        progress.close()
