"""Reading published weight files safely: HDF5 and safetensors as data, torch pickles through
``torch.load(weights_only=True)`` with an explicit allow-list of harmless types."""

from __future__ import annotations

import argparse
import os
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

#: First bytes of each kind of file we may be handed.
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_ZIP_SIGNATURE = b"PK\x03\x04"
_LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"


class InertPlaceholder:
    """Stands in for a class a checkpoint names but we never need (Lightning callback classes
    used as dict keys): accepts any arguments and state, runs nothing."""

    def __init__(self, *args: Any, **kwargs: Any):
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return "InertPlaceholder()"


def _numpy_scalar_globals() -> list:
    """numpy scalars pickle as ``multiarray.scalar(dtype, bytes)``; files written with numpy 1
    name it ``numpy.core.multiarray.scalar``, with numpy 2 ``numpy._core.multiarray.scalar``."""
    try:
        from numpy._core.multiarray import scalar
    except ImportError:  # numpy 1
        from numpy.core.multiarray import scalar
    dtype_classes = [type(np.dtype(code)) for code in "?bBhHiIlLqQefdgFDG"]
    return [(scalar, "numpy.core.multiarray.scalar"), (scalar, "numpy._core.multiarray.scalar"),
            np.dtype, *dtype_classes]


#: What a .pt/.ckpt may hold besides tensors and plain containers (which torch allows anyway).
ALLOWED_GLOBALS: list = [argparse.Namespace, *_numpy_scalar_globals()]

#: Classes that PyTorch Lightning 1.x checkpoints name only as keys of their callback state
#: (and the AttributeDict of their hyper-parameters): replaced by inert stand-ins.
_LIGHTNING_PREFIXES = ("pytorch_lightning.callbacks.", "pytorch_lightning.utilities.parsing.")


def check_weight_file(path: str | os.PathLike) -> Path:
    """The path of an existing regular file; a git-LFS pointer (a clone without ``git lfs pull``,
    as happens with ml4h's PCLR.h5) gets its own error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not a file.")
    with path.open("rb") as f:
        head = f.read(64)
    if head.startswith(_LFS_POINTER):
        raise ValueError(f"{path} is a git-LFS pointer ({path.stat().st_size} bytes), not the weights: "
                         "fetch the file itself (git lfs pull, or download it from the release page).")
    return path


def file_kind(path: Path) -> str:
    """'hdf5', 'zip' (torch >= 1.6 checkpoints), 'safetensors' or 'other', from the first bytes."""
    with path.open("rb") as f:
        head = f.read(16)
    if head.startswith(_HDF5_SIGNATURE):
        return "hdf5"
    if head.startswith(_ZIP_SIGNATURE):
        return "zip"
    if len(head) >= 9 and int.from_bytes(head[:8], "little") < path.stat().st_size and head[8:9] == b"{":
        return "safetensors"
    return "other"


def require_h5py():
    """h5py, or an ImportError naming the extra that installs it."""
    try:
        import h5py
    except ImportError as error:
        raise ImportError("Reading Keras .h5 weights needs h5py: pip install 'sklearn-ecg[pretrained]' "
                          "(or pip install h5py).") from error
    return h5py


def _lightning_placeholders(path: Path) -> list:
    """Stand-ins for the Lightning class names this checkpoint holds (and nothing else)."""
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except Exception:  # not a readable torch file: torch.load will say so
        return []
    return [(InertPlaceholder, name) for name in names if name.startswith(_LIGHTNING_PREFIXES)]


def load_torch_file(path: str | os.PathLike, what: str) -> Any:
    """A .pt/.pth/.ckpt loaded with ``weights_only=True``; safetensors read as data.

    Only tensors, plain containers, numbers, strings, ``argparse.Namespace``, numpy
    scalars and (as inert stand-ins) PyTorch Lightning's callback classes are accepted;
    a file that needs any other type to be unpickled is refused with an error naming
    the type and the file, since unpickling it could run arbitrary code. ``what`` names
    the expected content in errors (e.g. "a MERL encoder state dict").
    """
    path = check_weight_file(path)
    kind = file_kind(path)
    if kind == "hdf5":
        raise ValueError(f"{path} is an HDF5 (Keras) file, not {what}.")
    if kind == "safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    allowed = ALLOWED_GLOBALS + _lightning_placeholders(path)
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        refused = _refused_globals(path, allowed)
        if refused:
            raise ValueError(f"{path} needs {', '.join(refused)} to be unpickled, which could run "
                             f"arbitrary code; refused. Only tensors, plain containers, "
                             f"argparse.Namespace and numpy scalars are read.") from error
        raise ValueError(f"{path} is not {what} readable by torch.load: {error}") from error
    except (RuntimeError, EOFError, OSError) as error:
        raise ValueError(f"{path} is not {what} readable by torch.load: {error}") from error


def _refused_globals(path: Path, allowed: list) -> list[str]:
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except Exception:
        return []
    ok = {entry[1] if isinstance(entry, tuple) else f"{entry.__module__}.{entry.__qualname__}"
          for entry in allowed}
    return sorted(name for name in names if name not in ok)


def state_dict_in(checkpoint: Any, path: Path, keys: tuple[str, ...], what: str) -> Mapping[str, Any]:
    """The state dict of a checkpoint: the first of ``keys`` present, or the checkpoint itself
    when it is already a flat mapping of tensors."""
    if isinstance(checkpoint, Mapping):
        for key in keys:
            if isinstance(checkpoint.get(key), Mapping):
                return checkpoint[key]
        if checkpoint and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
            return checkpoint
    found = sorted(checkpoint)[:12] if isinstance(checkpoint, Mapping) else type(checkpoint).__name__
    raise ValueError(f"{path} is not {what}: expected a state dict or a checkpoint with one of "
                     f"{list(keys)}; found {found}.")


def check_lead_count(leads: Any, n_leads: int, path: Path) -> int:
    """The number of input leads, checked: ``leads`` must name as many as the file's first layer
    takes (12 when ``leads`` is None, the standard leads)."""
    if leads is None and n_leads != 12:
        raise ValueError(f"{path} takes {n_leads} lead(s): name them with leads=[...].")
    if leads is not None and len(leads) != n_leads:
        raise ValueError(f"{path} takes {n_leads} lead(s), but leads names {len(leads)}: {list(leads)}.")
    return n_leads


def check_converted(expected: Mapping[str, torch.Tensor], converted: Mapping[str, torch.Tensor],
                    published: Callable[[str], str], path: Path) -> dict[str, torch.Tensor]:
    """Every key of ``expected`` (an encoder's state dict) present in ``converted`` with its
    shape; ``published`` gives the file's name of each of our keys, for the errors."""
    missing = [key for key in expected if key not in converted]
    if missing:
        raise ValueError(f"{path} lacks layers the encoder needs: "
                         f"{[published(k) for k in missing][:8]}{' ...' if len(missing) > 8 else ''}"
                         f" ({len(missing)} tensors missing; is it the right model and variant?).")
    state = {}
    for key, reference in expected.items():
        value = torch.as_tensor(converted[key])
        if tuple(value.shape) != tuple(reference.shape):
            raise ValueError(f"{path}: layer {published(key)} has shape {tuple(value.shape)}, but the "
                             f"encoder's {key} needs {tuple(reference.shape)}.")
        state[key] = value.to(reference.dtype)
    return state
