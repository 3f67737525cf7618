"""The CPC, SimCLR and BYOL checkpoints of Mehari & Strodthoff (hhi-aml/ecg-selfsupervised;
PyTorch Lightning 1.1 .ckpt) as fitted CPCTransformer, SimCLRTransformer and BYOLTransformer."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..byol import BYOLTransformer
from ..cpc import CPCTransformer
from ..simclr import SimCLRTransformer
from ._files import check_converted, check_lead_count, load_torch_file, state_dict_in

#: Per-lead mean and standard deviation (mV) of PTB-XL that their CPC runs (``--normalize``)
#: standardise every input with (main_cpc_lightning.py), leads I ... V6.
PTBXL_MEAN = np.array([-0.00184586, -0.00130277, 0.00017031, -0.00091313, -0.00148835, -0.00174687,
                       -0.00077071, -0.00207407, 0.00054329, 0.00155546, -0.00114379, -0.00035649])
PTBXL_STD = np.array([0.16401004, 0.1647168, 0.23374124, 0.33767231, 0.33362807, 0.30583013,
                      0.2731171, 0.27554379, 0.17128962, 0.14030828, 0.14606956, 0.14656108])

#: Where each method's encoder sits in the Lightning module (or in a fine-tuned model of eval.py).
_PREFIXES = {
    "cpc": ("model_cpc.", ""),
    "simclr": ("encoder.features.", "features."),
    "byol": ("online_network.encoder.features.", "features."),
}
_ESTIMATORS = {"cpc": CPCTransformer, "simclr": SimCLRTransformer, "byol": BYOLTransformer}
_CPC_ENCODERS = {(1, 1, 1, 1): "fc", (10, 4, 4, 4): "strided"}
_WHAT = "an ecg-selfsupervised (Mehari & Strodthoff) checkpoint"


def ptbxl_standardize(X: Any) -> np.ndarray:
    """Their CPC input scaling: each of the 12 leads (I ... V6) minus PTB-XL's mean, divided by its
    standard deviation; float32 (n, 12, samples) in mV in, standardised out."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3 or X.shape[1] != 12:
        raise ValueError(f"ptbxl_standardize needs (n, 12, samples) ECGs, got shape {X.shape}.")
    return ((X - PTBXL_MEAN[:, None]) / PTBXL_STD[:, None]).astype(np.float32)


def load_ecg_selfsupervised(path: str | os.PathLike, method: str | None = None, *, fs: float = 100.0,
                            leads: Sequence[str] | None = None, device: str = "auto",
                            random_state: int | None = None
                            ) -> CPCTransformer | SimCLRTransformer | BYOLTransformer:
    """A fitted CPC, SimCLR or BYOL embedder holding a checkpoint of Mehari & Strodthoff (2022).

    Reads the PyTorch Lightning 1.1 ``.ckpt`` files of hhi-aml/ecg-selfsupervised with
    ``torch.load(weights_only=True)`` (Lightning's callback classes, which these files
    name as dict keys, are replaced by inert stand-ins; nothing of Lightning is
    imported), or a model fine-tuned and saved by their ``eval.py``. The architecture
    (CPC: 4FC or strided encoder, widths, LSTM size; xresnet1d: blocks, widths,
    expansion, stem) is read from the weights.

    - CPC (``model_cpc.*``) -> :class:`~sklearn_ecg.CPCTransformer`; ``transform``
      pools the LSTM outputs (mean, max, last: the input of their classification
      head) per 250-sample window and averages the windows. The linear predictor
      (``proj``) is loaded into the objective too (an MLP predictor, ``--mlp``, is
      not: this library's is linear).
    - SimCLR (``encoder.features.*``) -> :class:`~sklearn_ecg.SimCLRTransformer` and
      BYOL (``online_network.encoder.features.*``) ->
      :class:`~sklearn_ecg.BYOLTransformer`: the xresnet1d features (max and mean
      pooled) per window. Their projection heads differ from this library's and start
      fresh; BYOL's target network is a copy of the loaded online encoder.
      (``fit`` pretrains anew from random weights, as for any estimator here.)

    Input as in their runs: 12 leads in PTB-XL order (I, II, III, aVR, aVL, aVF,
    V1-V6), 100 Hz, mV; 250-sample windows. Their CPC commands standardise each lead
    with PTB-XL statistics (``--normalize``): apply :func:`ptbxl_standardize` first.

    Parameters
    ----------
    path : str or path-like
    method : {"cpc", "simclr", "byol"}, optional
        Default: read from the checkpoint's keys. Needed for a fine-tuned xresnet1d
        (``features.*``: SimCLR and BYOL look alike); checked against the keys otherwise.
    fs : float, default=100
    leads : list of str, optional
        Default: the 12 standard leads.
    device : str, default="auto"
    random_state : int, optional
        Seeds the heads the checkpoint does not hold.

    Raises
    ------
    ValueError
        For a file of another kind or method, a variant this library does not
        implement (GRU CPC, CPC without BatchNorm, other encoder kernels), a missing
        layer or a shape mismatch (naming the layer and both shapes), or one that
        needs other types to be unpickled.
    """
    checkpoint = load_torch_file(path, _WHAT)
    path = Path(path)
    state = state_dict_in(checkpoint, path, ("state_dict", "model"), _WHAT)
    method = _method(state, method, path)
    encoder_state = _strip(state, method, path)
    if method == "cpc":
        params, converted, published, predictor = _cpc(encoder_state, path)
    else:
        params, converted, published = _xresnet(encoder_state, path)
        predictor = None
    params.update(fs=fs, leads=leads, random_state=random_state)
    estimator_class = _ESTIMATORS[method]
    first = converted["steps.0.0.weight" if method == "cpc" else "stem.0.0.weight"]
    n_leads = check_lead_count(leads, int(first.shape[1]), path)
    template = estimator_class(**params, device="cpu")
    template.describe_input(np.zeros((1, n_leads, 1000), dtype=np.float32))
    expected = template.build_encoder().state_dict()
    state = check_converted(expected, converted, published, path)
    estimator = estimator_class.from_encoder(state, record_length=int(round(10 * fs)), device=device,
                                             **params)
    module = estimator.net_.module_
    with torch.no_grad():
        if predictor is not None and tuple(predictor.shape) == tuple(module.predictor.weight.shape):
            module.predictor.weight.copy_(predictor)
        if method == "byol":  # BYOL's target starts as a copy of the online encoder
            module.target_encoder.load_state_dict(module.encoder.state_dict())
    return estimator


def _method(state: dict, method: str | None, path: Path) -> str:
    found = None
    if any(k.startswith("model_cpc.") for k in state) or "rnn.weight_ih_l0" in state:
        found = "cpc"
    elif any(k.startswith("online_network.encoder.features.") for k in state):
        found = "byol"
    elif any(k.startswith("encoder.features.") for k in state):
        found = "simclr"
    elif any(k.startswith("features.") for k in state):
        found = method if method in ("simclr", "byol") else None
        if found is None:
            raise ValueError(f"{path} holds an xresnet1d without its Lightning wrapper (features.*): "
                             "pass method='simclr' or method='byol'.")
    if found is None:
        raise ValueError(f"{path} is not {_WHAT}: no CPC (model_cpc.*), SimCLR (encoder.features.*) or "
                         f"BYOL (online_network.encoder.features.*) weights; keys start {sorted(state)[:6]}.")
    if method is not None and method != found:
        if method not in _ESTIMATORS:
            raise ValueError(f"method must be one of {sorted(_ESTIMATORS)}, got {method!r}.")
        raise ValueError(f"{path} holds a {found.upper()} model, not {method!r}: pass method={found!r}.")
    return found


def _strip(state: dict, method: str, path: Path) -> dict[str, torch.Tensor]:
    for prefix in _PREFIXES[method]:
        part = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if part and (prefix or method != "cpc" or "rnn.weight_ih_l0" in part):
            return part
    raise ValueError(f"{path} holds no {method} encoder weights.")


# -- CPC ---------------------------------------------------------------------------------------
def _cpc(state: dict, path: Path) -> tuple[dict, dict, Any, torch.Tensor | None]:
    layers = sorted({int(m[1]) for k in state if (m := re.match(r"encoder\.(\d+)\.", k))})
    if layers != [0, 1, 2, 3]:
        raise ValueError(f"{path}: CPC encoder with layers {layers}; this library implements four.")
    if any(f"encoder.{i}.0.bias" in state for i in layers):
        raise ValueError(f"{path}: a CPC encoder without BatchNorm (--no-bn-encoder) is not implemented.")
    kernels = tuple(int(state[f"encoder.{i}.0.weight"].shape[-1]) for i in layers)
    widths = {int(state[f"encoder.{i}.0.weight"].shape[0]) for i in layers}
    if kernels not in _CPC_ENCODERS or len(widths) != 1:
        raise ValueError(f"{path}: CPC encoder kernels {kernels} and widths {sorted(widths)}; this library "
                         "implements the 4FC (kernels 1) and strided (10, 4, 4, 4) encoders of equal widths.")
    hidden = state.get("rnn.weight_hh_l0")
    if hidden is None or hidden.shape[0] != 4 * hidden.shape[1]:
        raise ValueError(f"{path}: the CPC context network is not an LSTM (a GRU, --gru?), not implemented.")
    n_layers = len([k for k in state if re.fullmatch(r"rnn\.weight_ih_l\d+", k)])
    params = dict(encoder=_CPC_ENCODERS[kernels], n_features=widths.pop(), n_hidden=int(hidden.shape[1]),
                  n_layers=n_layers)
    converted = {re.sub(r"^encoder\.", "steps.", k).replace("rnn.", "lstm.", 1): v
                 for k, v in state.items() if k.startswith(("encoder.", "rnn."))}

    def published(ours: str) -> str:
        return re.sub(r"^steps\.", "model_cpc.encoder.", ours).replace("lstm.", "model_cpc.rnn.", 1)
    return params, converted, published, state.get("proj.weight")


# -- xresnet1d (SimCLR, BYOL) ------------------------------------------------------------------
def _xresnet(state: dict, path: Path) -> tuple[dict, dict, Any]:
    """fastai-style xresnet1d keys (Sequential indices: 0-2 stem, 3 max-pool, 4.. stages) ->
    :class:`~sklearn_ecg.nn.xresnet1d.XResNet1d` keys; ``convpath.0`` duplicates ``convs``."""
    state = {k: v for k, v in state.items() if ".convpath." not in k}
    stem_widths = tuple(int(state[f"{i}.0.weight"].shape[0]) for i in range(3) if f"{i}.0.weight" in state)
    stages = sorted({int(m[1]) for k in state if (m := re.match(r"(\d+)\.\d+\.convs\.", k))})
    if len(stem_widths) != 3 or not stages or stages != list(range(4, 4 + len(stages))):
        raise ValueError(f"{path}: not an xresnet1d (three stem convolutions, max-pool, stages from "
                         f"index 4); found stem widths {stem_widths}, stages at {stages}.")
    layers, widths = [], []
    for index in stages:
        blocks = sorted({int(m[1]) for k in state if (m := re.match(rf"{index}\.(\d+)\.convs\.", k))})
        layers.append(len(blocks))
        n_convs = len({m[1] for k in state if (m := re.match(rf"{index}\.0\.convs\.(\d+)\.0\.weight", k))})
        inner = f"{index}.0.convs.{1 if n_convs == 3 else 0}.0.weight"
        widths.append(int(state[inner].shape[0]))
    first = f"{stages[0]}.0.convs"
    bottleneck = f"{first}.2.0.weight" in state
    expansion = int(state[f"{first}.2.0.weight"].shape[0]) // widths[0] if bottleneck else 1
    kernel = int(state[f"{first}.{1 if bottleneck else 0}.0.weight"].shape[-1])
    if int(state["0.0.weight"].shape[-1]) != kernel:
        raise ValueError(f"{path}: stem kernel {state['0.0.weight'].shape[-1]} differs from the blocks' "
                         f"{kernel}; XResNet1d uses one kernel size for both.")
    converted = {}
    for key, value in state.items():
        converted[_xresnet_key(key, stages[0])] = value
    if "0.0.bias" in state:
        # ResNetSimCLR swaps in a first convolution with a bias, right before a BatchNorm: the
        # bias only shifts the BatchNorm's input, so it moves into its running mean (exactly,
        # in training too, where the batch mean absorbs it).
        del converted["stem.0.0.bias"]
        converted["stem.0.1.running_mean"] = state["0.1.running_mean"] - state["0.0.bias"]
    params = dict(layers=tuple(layers), widths=tuple(widths), expansion=expansion,
                  stem_widths=stem_widths, kernel_size=kernel)

    def published(ours: str) -> str:
        match = re.match(r"stages\.(\d+)\.(.*)", ours)
        if match:
            rest = match[2].replace(".branch.", ".convs.").replace(".shortcut.", ".idpath.")
            return f"features.{int(match[1]) + stages[0]}.{rest}"
        return "features." + re.sub(r"^stem\.", "", ours)
    return params, converted, published


def _xresnet_key(key: str, first_stage: int) -> str:
    index, rest = key.split(".", 1)
    if int(index) < first_stage:
        return f"stem.{index}.{rest}"
    rest = rest.replace(".convs.", ".branch.").replace(".idpath.", ".shortcut.")
    return f"stages.{int(index) - first_stage}.{rest}"
