"""ml4h's released PCLR models (Keras .h5, e.g. ``model_zoo/PCLR/PCLR.h5``) as a fitted
:class:`~sklearn_ecg.PCLRTransformer`, read with h5py: no TensorFlow."""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..nn.resnet1d import KERAS_BN_EPS, ML4H_UNIT_SAMPLES, keras_unit_strides
from ..pclr import PCLRTransformer
from ._files import check_converted, check_weight_file, file_kind, require_h5py

#: ml4h's lead order (preprocess_ecg.LEADS), also this library's standard order.
ML4H_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
#: ECGs are 10 s long for every released model (interpolated to the input length).
RECORD_SECONDS = 10.0


def load_pclr_keras(path: str | os.PathLike, *, fs: float | None = None,
                    leads: Sequence[str] | None = None, device: str = "auto",
                    random_state: int | None = None) -> PCLRTransformer:
    """A fitted :class:`~sklearn_ecg.PCLRTransformer` holding ml4h's Keras PCLR weights.

    Reads a full Keras h5 model (``model.save``, as ml4h's ``PCLR.h5``) with h5py only:
    the layer config gives the input length, the leads, the strides and whether the
    stem has BatchNorm; the weights go into the Keras-exact encoder of
    :class:`~sklearn_ecg.PCLRTransformer`. ``transform`` then gives the released
    model's 320-d ``embed`` output for 10 s ECGs in mV, after the same preparation as
    ml4h's ``process_ecg`` (linear interpolation of each lead to the model's input
    length, no scaling).

    Parameters
    ----------
    path : str or path-like
        The .h5 file.
    fs : float, optional
        Sampling rate of the ECGs you will embed; only recorded (every 10 s record
        is interpolated to the model's length whatever its rate). Default: 250 Hz for
        a 2500-sample model (the lead-II release), 500 Hz otherwise.
    leads : list of str, optional
        Names of the model's input leads. Default: ml4h's 12 leads (I, II, III, aVR,
        aVL, aVF, V1-V6) for a 12-lead model; for one lead, "I" when the model takes
        4096 samples (PCLR_lead_I) and "II" when it takes 2500 (PCLR_lead_II).
    device : str, default="auto"
    random_state : int, optional
        Seeds the projection head, which the release does not hold.

    Returns
    -------
    PCLRTransformer
        Fitted: ``transform`` works at once, ``save`` stores it, fine-tuning
        (:class:`~sklearn_ecg.FineTunedECGClassifier`) starts from these weights;
        ``fit`` would pretrain anew from random weights.

    Raises
    ------
    ImportError
        Without h5py (``pip install 'sklearn-ecg[pretrained]'``).
    ValueError
        For a file that is not a full Keras model of ml4h's PCLR architecture: a
        git-LFS pointer, another format, a weights-only file, a missing layer, a shape
        that does not match (naming the layer and both shapes), or a variant (padding,
        BatchNorm epsilon, strides) this encoder does not reproduce.
    """
    path = check_weight_file(path)
    if file_kind(path) != "hdf5":
        raise ValueError(f"{path} is not an HDF5 file; load_pclr_keras reads Keras .h5 models such as "
                         "ml4h's PCLR.h5 (SavedModel directories are not supported).")
    h5py = require_h5py()
    with h5py.File(path, "r") as f:
        if "model_config" not in f.attrs:
            raise ValueError(f"{path} has no model_config: a weights-only file (model.save_weights). "
                             "load_pclr_keras needs the full model as ml4h releases it (model.save).")
        config = json.loads(_text(f.attrs["model_config"]))
        weights = _read_weights(f["model_weights"] if "model_weights" in f else f)
    arch = _architecture(config, path)
    if leads is None:
        leads = _default_leads(arch["n_leads"], arch["n_samples"], path)
    if fs is None:
        fs = 250.0 if arch["n_samples"] == 2500 else 500.0
    params: dict[str, Any] = dict(
        fs=fs, leads=list(leads), n_samples=arch["n_samples"], filters=arch["filters"],
        kernel_size=arch["kernel_size"], unit_samples=arch["unit_samples"],
        stem_batchnorm=arch["stem_batchnorm"], projection_dims=(arch["filters"][-1],) * 2,
        random_state=random_state,
    )
    if len(params["leads"]) != arch["n_leads"]:
        raise ValueError(f"{path} takes {arch['n_leads']} leads, but leads names {len(params['leads'])}.")
    template = PCLRTransformer(**params, device="cpu")
    template.describe_input(np.zeros((1, arch["n_leads"], arch["n_samples"]), dtype=np.float32))
    expected = template.build_encoder().state_dict()
    converted, origin = _convert(weights, arch, path)
    state = check_converted(expected, converted, lambda key: origin.get(key, key), path)
    return PCLRTransformer.from_encoder(
        state, record_length=int(round(RECORD_SECONDS * fs)), device=device,
        fitted={"n_patient_pairs_": 0, "n_single_ecg_patients_": 0}, **params)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _read_weights(group) -> dict[str, dict[str, np.ndarray]]:
    """{layer name: {weight name ('kernel', 'gamma', ...): array}} from a Keras h5 weight group.

    Keras 2 names weights ``<layer>/kernel:0``; Keras 3 drops the ``:0``.
    """
    layers = {}
    for layer in (_text(n) for n in group.attrs.get("layer_names", list(group.keys()))):
        names = [_text(n) for n in group[layer].attrs.get("weight_names", [])]
        if names:
            layers[layer] = {re.sub(r":\d+$", "", n).rsplit("/", 1)[-1]: np.asarray(group[layer][n])
                             for n in names}
    return layers


def _layer_number(name: str) -> int:
    """Keras' creation counter in a layer name: conv1d -> 0, conv1d_13 -> 13."""
    match = re.search(r"_(\d+)$", name)
    return int(match.group(1)) if match else 0


def _architecture(config: dict, path: Path) -> dict[str, Any]:
    """Input, filters, kernel, strides and stem BatchNorm of an ml4h PCLR model config."""
    layers = config.get("config", {}).get("layers", [])
    by_name = {layer["config"]["name"]: layer for layer in layers}
    inputs = [layer for layer in layers if layer["class_name"] == "InputLayer"]
    convs = sorted((layer for layer in layers if layer["class_name"] == "Conv1D"),
                   key=lambda layer: _layer_number(layer["config"]["name"]))
    if len(inputs) != 1 or not convs:
        raise ValueError(f"{path} is not a PCLR model: expected one input and Conv1D layers, found "
                         f"{sorted({layer['class_name'] for layer in layers})}.")
    input_config = inputs[0]["config"]  # Keras 2 says batch_input_shape, Keras 3 batch_shape
    shape = _items(input_config.get("batch_input_shape") or input_config.get("batch_shape"))
    n_samples, n_leads = int(shape[1]), int(shape[2])
    for layer in layers:
        cfg = layer["config"]
        if layer["class_name"] in ("Conv1D", "MaxPooling1D") and cfg.get("padding") != "same":
            raise ValueError(f"{path}: layer {cfg['name']} has padding {cfg.get('padding')!r}; the PCLR "
                             "encoder reproduces ml4h's padding='same' only.")
        if layer["class_name"] == "Conv1D" and cfg.get("use_bias"):
            raise ValueError(f"{path}: layer {cfg['name']} has a bias; ml4h's PCLR convolutions have none.")
        epsilon = cfg.get("epsilon", KERAS_BN_EPS)
        if layer["class_name"] == "BatchNormalization" and abs(epsilon - KERAS_BN_EPS) > 1e-12:
            raise ValueError(f"{path}: layer {cfg['name']} has BatchNorm epsilon {cfg['epsilon']}; the "
                             f"encoder uses Keras' {KERAS_BN_EPS} as ml4h does.")
    units = _units(convs, path)
    strides = tuple(_items(unit[-1]["config"]["strides"])[0] for unit in units)
    stem = convs[0]["config"]["name"]
    stem_batchnorm = any(layer["class_name"] == "BatchNormalization" and _inbound(layer) == [stem]
                         for layer in layers)
    return dict(
        n_samples=n_samples, n_leads=n_leads, kernel_size=int(_items(convs[0]["config"]["kernel_size"])[0]),
        filters=tuple(int(c["config"]["filters"]) for c in [convs[0]] + [u[-1] for u in units]),
        unit_samples=_unit_samples(n_samples, strides, path), stem_batchnorm=stem_batchnorm,
        units=[[c["config"]["name"] for c in unit] for unit in units], stem=stem,
        norms=sorted((name for name, layer in by_name.items() if layer["class_name"] == "BatchNormalization"),
                     key=_layer_number),
    )


def _items(value: Any) -> list:
    return list(value.get("items", [])) if isinstance(value, dict) else list(value)


def _inbound(layer: dict) -> list[str]:
    """Names of a layer's input layers: Keras 2 lists [name, node, tensor, kwargs]; Keras 3 keeps
    {"args": [keras tensors with a keras_history]}."""
    nodes = layer.get("inbound_nodes") or []
    if not nodes:
        return []
    if isinstance(nodes[0], dict):
        return [arg["config"]["keras_history"][0] for arg in nodes[0].get("args", [])
                if isinstance(arg, dict) and "keras_history" in arg.get("config", {})]
    return [entry[0] for entry in nodes[0]]


def _units(convs: list[dict], path: Path) -> list[list[dict]]:
    """The convolutions of each residual unit in creation order: (skip 1x1,) first, strided second."""
    units, rest = [], convs[1:]
    while rest:
        skip = [rest.pop(0)] if _items(rest[0]["config"]["kernel_size"])[0] == 1 else []
        if len(rest) < 2:
            raise ValueError(f"{path}: the Conv1D layers after the stem do not form ml4h residual units "
                             "(optional 1x1 skip, then two convolutions).")
        units.append(skip + [rest.pop(0), rest.pop(0)])
    return units


def _unit_samples(n_samples: int, strides: tuple[int, ...], path: Path) -> tuple[int, ...] | None:
    """The estimator's ``unit_samples`` for these strides: None (4 per unit) or ml4h's targets."""
    if all(s == 4 for s in strides):
        return None
    if len(strides) == len(ML4H_UNIT_SAMPLES) and keras_unit_strides(n_samples, ML4H_UNIT_SAMPLES) == strides:
        return ML4H_UNIT_SAMPLES
    raise ValueError(f"{path}: residual-unit strides {strides} on {n_samples} samples match neither "
                     f"stride 4 nor ml4h's n_samples_out {ML4H_UNIT_SAMPLES}.")


def _default_leads(n_leads: int, n_samples: int, path: Path) -> tuple[str, ...]:
    if n_leads == 12:
        return ML4H_LEADS
    if n_leads == 1 and n_samples in (4096, 2500):
        return ("I",) if n_samples == 4096 else ("II",)
    raise ValueError(f"{path} takes {n_leads} lead(s) of {n_samples} samples, not a released variant: "
                     "name its leads with leads=[...].")


def _conv(kernel: np.ndarray) -> torch.Tensor:
    """Keras Conv1D kernel (k, in, out) -> torch (out, in, k)."""
    return torch.from_numpy(np.ascontiguousarray(kernel.transpose(2, 1, 0)))


def _convert(weights: dict[str, dict[str, np.ndarray]], arch: dict[str, Any], path: Path
             ) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Keras layers -> the keys of :class:`~sklearn_ecg.nn.pclr.InterpolatingEncoder`."""
    converted: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}

    def conv(layer: str, key: str) -> None:
        if layer not in weights or "kernel" not in weights[layer]:
            raise ValueError(f"{path} lacks the weights of layer {layer}.")
        converted[f"backbone.{key}.weight"] = _conv(weights[layer]["kernel"])
        origin[f"backbone.{key}.weight"] = f"{layer}/kernel"

    def norm(layer: str, key: str) -> None:
        values = weights.get(layer, {})
        for keras, ours in (("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"),
                            ("moving_variance", "running_var")):
            if keras not in values:
                raise ValueError(f"{path} lacks {layer}/{keras}.")
            converted[f"backbone.{key}.{ours}"] = torch.from_numpy(np.asarray(values[keras]))
            origin[f"backbone.{key}.{ours}"] = f"{layer}/{keras}"
        converted[f"backbone.{key}.num_batches_tracked"] = torch.tensor(0)

    norms = list(arch["norms"])
    conv(arch["stem"], "stem.0")
    if arch["stem_batchnorm"]:
        norm(norms.pop(0), "stem.1")
    if len(norms) != 2 * len(arch["units"]):
        raise ValueError(f"{path} has {len(norms)} BatchNormalization layers after the stem; "
                         f"{len(arch['units'])} residual units need {2 * len(arch['units'])}.")
    for i, unit in enumerate(arch["units"]):
        if len(unit) == 3:
            conv(unit[0], f"units.{i}.skip_conv")
        conv(unit[-2], f"units.{i}.conv1")
        conv(unit[-1], f"units.{i}.conv2")
        norm(norms[2 * i], f"units.{i}.bn1")
        norm(norms[2 * i + 1], f"units.{i}.bn_out")
    extra = sorted(set(weights) - {o.split("/")[0] for o in origin.values()})
    if extra:
        warnings.warn(f"{path}: layers {extra} are not part of the PCLR encoder (e.g. a projection "
                      "head) and are ignored.", stacklevel=3)
    return converted, origin
