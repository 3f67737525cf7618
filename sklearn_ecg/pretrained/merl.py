"""MERL's released ECG encoders (Liu et al., ICML 2024; ``*_encoder.pth``, ``*_ckpt.pth``) as a
fitted :class:`~sklearn_ecg.METSZeroShotClassifier`, whose 1-D ResNet18 is the same network."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..mets import METSZeroShotClassifier
from ..text import DEFAULT_TEXT_MODEL
from ._files import check_converted, check_lead_count, load_torch_file, state_dict_in

#: MERL's input: 10 s of 12 leads at 500 Hz, min-max scaled per record.
MERL_FS = 500.0
MERL_SAMPLES = 5000
#: Width of the default text model's embeddings (all-MiniLM-L6-v2); METS' text side is not in
#: MERL's encoder file and starts untrained.
_TEXT_DIM = 384
_WHAT = "a MERL ResNet18 encoder state dict"


def merl_normalize(X: Any) -> np.ndarray:
    """MERL's input scaling: each record min-max scaled to [0, 1] over all its leads and samples,
    ``(x - min) / (max - min + 1e-8)``; float32 (n, leads, samples). Use it before
    ``transform`` of a :func:`load_merl` model, e.g. in a Pipeline through
    ``FunctionTransformer(merl_normalize)``."""
    X = np.asarray(X, dtype=np.float64)
    low = X.min(axis=(-2, -1), keepdims=True) if X.ndim == 3 else X.min(axis=-1, keepdims=True)
    high = X.max(axis=(-2, -1), keepdims=True) if X.ndim == 3 else X.max(axis=-1, keepdims=True)
    return ((X - low) / (high - low + 1e-8)).astype(np.float32)


def load_merl(path: str | os.PathLike, *, fs: float = MERL_FS, leads: Sequence[str] | None = None,
              device: str = "auto", random_state: int | None = None) -> METSZeroShotClassifier:
    """A fitted :class:`~sklearn_ecg.METSZeroShotClassifier` whose ECG encoder holds MERL's ResNet18.

    Reads MERL's ``*_encoder.pth`` (``ecg_encoder.state_dict()``), its whole-model
    ``*_ckpt.pth`` (the ``ecg_encoder.`` part is used) or a training checkpoint with
    ``model_state_dict``, with ``torch.load(weights_only=True)``. ``transform`` gives
    the L2-normalised 512-d global average pool of the last stage, the features MERL's
    linear probes use (its projection is set to the identity). MERL's zero-shot head
    (1x1 convolution, attention pooling, MedCPT text encoder) is not part of METS, so
    ``predict`` and ``predict_proba`` are untrained until you ``fit`` on (ECG, report)
    pairs, which fine-tunes from these weights.

    The input MERL was trained on: 12 leads (the source files' order; PTB-XL's I, II,
    III, aVR, aVL, aVF, V1-V6 in its fine-tuning code), 500 Hz, 10 s (5000 samples),
    each record min-max scaled to [0, 1] (:func:`merl_normalize`), not mV.

    Parameters
    ----------
    path : str or path-like
    fs : float, default=500
    leads : list of str, optional
        Default: the 12 standard leads.
    device : str, default="auto"
    random_state : int, optional
        Seeds the METS text projection, which MERL's file does not hold.

    Raises
    ------
    ValueError
        For a file that is not a MERL ResNet18 state dict (another format or variant,
        e.g. the ViT or ResNet34/50 encoders, a missing layer, a shape mismatch naming
        the layer and both shapes), or one that needs types beyond tensors, plain
        containers, ``argparse.Namespace`` and numpy scalars to be unpickled.
    """
    checkpoint = load_torch_file(path, _WHAT)
    state = state_dict_in(checkpoint, path, ("model_state_dict", "state_dict", "model"), _WHAT)
    state = _encoder_part(state, path)
    widths = _widths(state, path)
    params: dict[str, Any] = dict(widths=widths, projection_dim=widths[-1], fs=fs, leads=leads,
                                  random_state=random_state)
    template = METSZeroShotClassifier(**params, device="cpu")
    n_leads = check_lead_count(leads, int(state["conv1.weight"].shape[1]), path)
    template.describe_input(np.zeros((1, n_leads, MERL_SAMPLES), dtype=np.float32))
    expected = template.build_encoder().state_dict()
    converted = {_our_key(key): value for key, value in state.items()}
    # MERL's features are the pooled 512 values: METS' projection becomes the identity.
    converted["projection.weight"] = torch.eye(widths[-1])
    converted["projection.bias"] = torch.zeros(widths[-1])
    state = check_converted(expected, converted, _merl_key, path)
    fitted = {"text_model_": DEFAULT_TEXT_MODEL, "text_dim_": _TEXT_DIM, "temperature_": 0.07,
              "fit_labels_": None, "fit_labels_are_reports_": False}
    return METSZeroShotClassifier.from_encoder(state, record_length=int(round(10 * fs)), fitted=fitted,
                                               device=device, **params)


def _our_key(key: str) -> str:
    """MERL's ResNet key -> the key in METS' ProjectedEncoder (``backbone`` is ResNet18_1d)."""
    if key.startswith("conv1."):
        return "backbone.stem.0." + key[len("conv1."):]
    if key.startswith("bn1."):
        return "backbone.stem.1." + key[len("bn1."):]
    return "backbone." + re.sub(r"^layer(\d)\.", lambda m: f"stages.{int(m[1]) - 1}.", key)


def _merl_key(ours: str) -> str:
    """The inverse of :func:`_our_key`, to name MERL's layers in errors."""
    key = ours.removeprefix("backbone.")
    key = key.replace("stem.0.", "conv1.", 1) if key.startswith("stem.0.") else key
    key = key.replace("stem.1.", "bn1.", 1) if key.startswith("stem.1.") else key
    return re.sub(r"^stages\.(\d)\.", lambda m: f"layer{int(m[1]) + 1}.", key)


def _encoder_part(state: dict, path: os.PathLike) -> dict[str, torch.Tensor]:
    """The ResNet's own keys: without DataParallel's ``module.`` and the whole model's
    ``ecg_encoder.``; MERL's unused classifier ``linear`` dropped."""
    for prefix in ("module.ecg_encoder.", "ecg_encoder.", "module."):
        if any(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            break
    if "conv1.weight" not in state:
        vit = any("blocks." in k or "cls_token" in k for k in state)
        raise ValueError(f"{path} is not {_WHAT}: no conv1.weight"
                         + (" (a ViT encoder, which this library does not implement)." if vit else
                            f"; keys start {sorted(state)[:6]}."))
    return {k: v for k, v in state.items() if not k.startswith("linear.")}


def _widths(state: dict, path: os.PathLike) -> tuple[int, ...]:
    """Stage widths of a BasicBlock ResNet18; other depths and bottleneck blocks are refused."""
    blocks: dict[int, int] = {}
    for key in state:
        if match := re.match(r"layer(\d)\.(\d+)\.", key):
            stage, block = int(match[1]), int(match[2])
            blocks[stage] = max(blocks.get(stage, 0), block + 1)
    per_stage = [blocks.get(stage, 0) for stage in range(1, 5)]
    if per_stage != [2, 2, 2, 2] or len(blocks) != 4 or any(".conv3." in k for k in state):
        raise ValueError(f"{path} is not a ResNet18 with BasicBlocks (blocks per stage {per_stage}); "
                         "METS' encoder reproduces MERL's resnet18 only.")
    return tuple(int(state[f"layer{stage}.0.conv1.weight"].shape[0]) for stage in range(1, 5))
