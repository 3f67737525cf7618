"""fairseq-signals checkpoints of wav2vec 2.0 / W2V+CMSC(+RLM), e.g. ECG-FM's
``mimic_iv_ecg_physionet_pretrained.pt``, as a fitted :class:`~sklearn_ecg.W2VCMSCTransformer`."""

from __future__ import annotations

import argparse
import ast
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..w2v_cmsc import W2VCMSCTransformer
from ._files import check_converted, check_lead_count, load_torch_file, state_dict_in

_WHAT = "a fairseq-signals wav2vec 2.0 checkpoint"
#: Parts of the model only pretraining uses: fresh when a checkpoint lacks them (fine-tuned models).
_PRETRAINING_HEADS = ("quantizer.", "project_q.", "final_proj.", "mask_emb")
#: The positional convolution's weight norm: (g, v) as nn.utils.weight_norm (before 2025) and as
#: nn.utils.parametrizations.weight_norm saves them.
_WEIGHT_NORM = {"weight_g": "weight_g", "weight_v": "weight",
                "parametrizations.weight.original0": "weight_g",
                "parametrizations.weight.original1": "weight"}
_LAYER_NAMES = {"self_attn_layer_norm": "attention_norm", "final_layer_norm": "final_norm",
                "self_attn.out_proj": "attention.out_proj"}


def ecgfm_standardize(X: Any) -> np.ndarray:
    """ECG-FM's input scaling: each lead of each record minus its mean, divided by its standard
    deviation (a constant lead becomes 0), as fairseq-signals' ``scripts/preprocess/ecg``
    does; float32 (n, leads, samples)."""
    X = np.asarray(X, dtype=np.float64)
    centred = X - X.mean(axis=-1, keepdims=True)
    std = centred.std(axis=-1, keepdims=True)
    return np.where(std > 0, centred / np.where(std > 0, std, 1.0), 0.0).astype(np.float32)


def load_fairseq_signals(path: str | os.PathLike, *, fs: float | None = None,
                         leads: Sequence[str] | None = None, segment_seconds: float = 5.0,
                         device: str = "auto", random_state: int | None = None) -> W2VCMSCTransformer:
    """A fitted :class:`~sklearn_ecg.W2VCMSCTransformer` holding a fairseq-signals wav2vec 2.0 model.

    Reads checkpoints of fairseq-signals' ``wav2vec2`` / ``wav2vec2_cmsc`` models (W2V,
    W2V+CMSC, W2V+CMSC+RLM; ECG-FM publishes such files) and of its fine-tuned
    ``ecg_transformer`` models (the encoder part), with ``torch.load(weights_only=True)``
    (their ``extra_state`` holds numpy scalars, which are allowed; nothing else is). The
    architecture comes from the checkpoint's ``cfg`` (or legacy ``args``) and weights;
    the positional convolution's weight norm is read in both spellings (``weight_g`` /
    ``weight_v`` and ``parametrizations.weight.original0`` / ``original1``).

    ``transform`` then gives ECG-FM's embedding: records cut into non-overlapping
    ``segment_seconds`` segments, each encoded without masking, the transformer outputs
    of all frames averaged. Input as ECG-FM prepares it: the 12 leads in the order I,
    II, III, aVR, aVL, aVF, V1-V6, resampled to the checkpoint's rate (500 Hz; other
    rates are resampled inside), each lead standardised per record
    (:func:`ecgfm_standardize`). Missing leads may be left out with
    ``transform(X, leads=[...])`` (zero-filled, as random lead masking trains for).

    Parameters
    ----------
    path : str or path-like
    fs : float, optional
        Sampling rate of the ECGs you will embed; default the checkpoint's rate.
    leads : list of str, optional
        Names of the input leads; default the 12 standard leads.
    segment_seconds : float, default=5.0
        Segment length (ECG-FM and fairseq-signals' CMSC: 5 s).
    device : str, default="auto"
    random_state : int, optional
        Seeds the pretraining heads a checkpoint lacks (fine-tuned models).

    Raises
    ------
    ValueError
        For another kind of file, a variant this library does not implement (pre-LN
        transformer, layer-norm feature extractor, convolution biases, the layout of
        fairseq-signals before October 2022), a missing layer or a shape mismatch
        (naming the layer and both shapes), or one that needs types other than tensors,
        plain containers, ``argparse.Namespace`` and numpy scalars to be unpickled.
    """
    checkpoint = load_torch_file(path, _WHAT)
    path = Path(path)
    state = dict(state_dict_in(checkpoint, path, ("model",), _WHAT))
    state = _encoder_part(state, path)
    model_cfg, task_cfg = _configs(checkpoint, path)
    _check_variant(state, model_cfg, path)
    conv_layers = _conv_layers(model_cfg, state, path)
    model_fs = float(task_cfg.get("sample_rate") or 500)
    fs = model_fs if fs is None else float(fs)
    embed_dim = int(state["layer_norm.weight"].shape[0]) if "post_extract_proj.weight" not in state \
        else int(state["post_extract_proj.weight"].shape[0])
    v = _pos_conv(state, "weight", path)
    start, end, decay = (float(t) for t in model_cfg.get("latent_temp", (2.0, 0.5, 0.999995)))
    params: dict[str, Any] = dict(
        preset="base", fs=fs, leads=leads, model_fs=model_fs, segment_seconds=segment_seconds,
        conv_layers=conv_layers, embed_dim=embed_dim,
        encoder_layers=len({m[1] for k in state if (m := re.match(r"encoder\.layers\.(\d+)\.", k))}),
        ffn_dim=int(state["encoder.layers.0.fc1.weight"].shape[0]),
        attention_heads=int(model_cfg.get("encoder_attention_heads", 12)),
        pos_conv_kernel=int(v.shape[-1]), pos_conv_groups=embed_dim // int(v.shape[1]),
        gumbel_temperature=(start, end), random_state=random_state,
        **_head_sizes(state, model_cfg),
    )
    n_leads = check_lead_count(leads, int(state["feature_extractor.conv_layers.0.0.weight"].shape[1]), path)
    template = W2VCMSCTransformer(**params, device="cpu")
    template.describe_input(np.zeros((1, n_leads, int(round(10 * fs))), dtype=np.float32))
    template.gumbel_decay_ = decay
    expected = {f"wav2vec2.{k}": v for k, v in template.build_encoder().wav2vec2.state_dict().items()}
    converted = _convert(state, embed_dim, path)
    # The Gumbel temperature's step: fairseq counts it as the trainer's updates.
    converted["wav2vec2.quantizer.step"] = torch.tensor(_num_updates(checkpoint))
    fresh = [k for k in expected if k.startswith(tuple(f"wav2vec2.{h}" for h in _PRETRAINING_HEADS))
             and (k not in converted or tuple(converted[k].shape) != tuple(expected[k].shape))]
    if fresh:
        warnings.warn(f"{path} lacks the pretraining heads {sorted({k.split('.')[1] for k in fresh})} "
                      "(or they have another shape): they start fresh; embeddings are unaffected.",
                      stacklevel=2)
        converted.update({k: expected[k] for k in fresh})
    state = check_converted(expected, converted, _published, path)
    return W2VCMSCTransformer.from_encoder(
        state, record_length=int(round(10 * fs)), device=device,
        fitted={"segments_per_record_": 2, "gumbel_decay_": decay}, **params)


def _encoder_part(state: dict, path: Path) -> dict:
    """Fine-tuned models wrap the pretrained one as ``encoder``; the layout of fairseq-signals
    before October 2022 (positional convolution inside the encoder) is refused."""
    if "encoder.feature_extractor.conv_layers.0.0.weight" in state:
        state = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
    if any(k.startswith("encoder.pos_conv.") or ".W_Q." in k for k in state):
        raise ValueError(f"{path} has the layout of fairseq-signals before October 2022 (positional "
                         "convolution inside the encoder, its own attention layers); not supported.")
    if "feature_extractor.conv_layers.0.0.weight" not in state or "layer_norm.weight" not in state:
        raise ValueError(f"{path} is not {_WHAT}: no feature_extractor.conv_layers / layer_norm; keys start "
                         f"{sorted(state)[:6]}.")
    return state


def _configs(checkpoint: Any, path: Path) -> tuple[Mapping, Mapping]:
    """The model and task configs: ``cfg`` (a plain dict since fairseq's hydra era) or ``args``."""
    if isinstance(checkpoint, Mapping) and isinstance(checkpoint.get("cfg"), Mapping):
        cfg = checkpoint["cfg"]
        return cfg.get("model") or {}, cfg.get("task") or {}
    if isinstance(checkpoint, Mapping) and isinstance(checkpoint.get("args"), argparse.Namespace):
        args = vars(checkpoint["args"])
        return args, args
    raise ValueError(f"{path} has no cfg (or args): the convolution strides and attention heads of a "
                     "fairseq-signals model are only there. Load the checkpoint file itself, not a "
                     "bare state dict.")


def _num_updates(checkpoint: Any) -> int:
    history = checkpoint.get("optimizer_history") if isinstance(checkpoint, Mapping) else None
    if isinstance(history, list) and history and isinstance(history[-1], Mapping):
        return int(history[-1].get("num_updates") or 0)
    return 0


def _check_variant(state: dict, cfg: Mapping, path: Path) -> None:
    problems = []
    if cfg.get("layer_norm_first"):
        problems.append("layer_norm_first=True (pre-LN transformer)")
    if cfg.get("extractor_mode", "default") != "default":
        problems.append(f"extractor_mode={cfg['extractor_mode']!r}")
    if any(re.match(r"feature_extractor\.conv_layers\.\d+\.0\.bias", k) for k in state):
        problems.append("conv_bias=True")
    if problems:
        raise ValueError(f"{path}: {', '.join(problems)}; the encoder reproduces fairseq-signals' default "
                         "wav2vec 2.0 (post-LN, GroupNorm after the first convolution, no conv bias).")


def _literal_layers(text: str) -> list:
    """fairseq's conv_feature_layers string ("[(256, 2, 2)] * 4", sums of such lists) without eval:
    only literals, list + list and list * int."""
    def value(node: ast.AST) -> Any:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return value(node.left) + value(node.right)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            return value(node.left) * value(node.right)
        return ast.literal_eval(node)
    return value(ast.parse(text, mode="eval").body)


def _conv_layers(cfg: Mapping, state: dict, path: Path) -> tuple[tuple[int, int, int], ...]:
    spec = cfg.get("conv_feature_layers", "[(256, 2, 2)] * 4")
    try:
        layers = tuple(tuple(int(v) for v in layer) for layer in _literal_layers(str(spec)))
    except (ValueError, TypeError, SyntaxError) as error:
        raise ValueError(f"{path}: cannot read conv_feature_layers {spec!r}: {error}") from error
    for i, (channels, kernel, _) in enumerate(layers):
        weight = state.get(f"feature_extractor.conv_layers.{i}.0.weight")
        if weight is None or tuple(weight.shape[::2]) != (channels, kernel):
            raise ValueError(f"{path}: conv_feature_layers {spec!r} does not match the weights of "
                             f"feature_extractor.conv_layers.{i}.0.weight "
                             f"({None if weight is None else tuple(weight.shape)}).")
    return layers


def _pos_conv(state: dict, ours: str, path: Path) -> torch.Tensor:
    for theirs, name in _WEIGHT_NORM.items():
        if name == ours and f"conv_pos.pos_conv.0.{theirs}" in state:
            return state[f"conv_pos.pos_conv.0.{theirs}"]
    if ours == "weight" and "conv_pos.pos_conv.0.weight" in state:
        return state["conv_pos.pos_conv.0.weight"]
    raise ValueError(f"{path} lacks the positional convolution conv_pos.pos_conv.0 ({ours}).")


def _head_sizes(state: dict, cfg: Mapping) -> dict[str, int]:
    """Codebook groups and size, final_dim: from the weights when the heads are there."""
    groups = int(cfg.get("latent_groups", 2))
    sizes = {"codebook_groups": groups, "codebook_size": int(cfg.get("latent_vars", 320)),
             "final_dim": int(cfg.get("final_dim") or 256)}
    if "quantizer.weight_proj.weight" in state:
        sizes["codebook_size"] = int(state["quantizer.weight_proj.weight"].shape[0]) // groups
    if "final_proj.weight" in state:
        sizes["final_dim"] = int(state["final_proj.weight"].shape[0])
    return sizes


def _convert(state: dict, embed_dim: int, path: Path) -> dict[str, torch.Tensor]:
    """fairseq-signals keys -> :class:`~sklearn_ecg.nn.wav2vec2.Wav2Vec2` keys (under ``wav2vec2.``)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if match := re.fullmatch(r"feature_extractor\.conv_layers\.(\d+)\.(0|2)\.(weight|bias)", key):
            index = "0" if match[2] == "0" else "1"  # conv; GroupNorm (their index 2, after Dropout)
            out[f"feature_extractor.blocks.{match[1]}.{index}.{match[3]}"] = value
        elif key.startswith(("layer_norm.", "post_extract_proj.", "project_q.", "final_proj.",
                             "quantizer.weight_proj.")) or key == "mask_emb":
            out[key] = value
        elif key == "quantizer.vars":
            out["quantizer.codebook"] = value.reshape(-1, value.shape[-1])
        elif key.startswith("encoder.layer_norm."):
            out[key.replace("encoder.layer_norm.", "encoder.norm.", 1)] = value
        elif key.startswith("encoder.layers."):
            _convert_layer(key, value, out)
        elif key == "conv_pos.pos_conv.0.bias":
            out["encoder.pos_conv.bias"] = value
    weight = _pos_conv(state, "weight", path)
    out["encoder.pos_conv.weight"] = weight
    if any(f"conv_pos.pos_conv.0.{k}" in state for k in ("weight_g", "parametrizations.weight.original0")):
        out["encoder.pos_conv.weight_g"] = _pos_conv(state, "weight_g", path)
    else:  # no weight norm: the same kernel as g * v / ||v|| with g = ||v||
        out["encoder.pos_conv.weight_g"] = torch.linalg.vector_norm(weight, dim=(0, 1), keepdim=True)
    if "post_extract_proj.weight" not in state:  # features already embed_dim wide: the identity
        out["post_extract_proj.weight"] = torch.eye(embed_dim)
        out["post_extract_proj.bias"] = torch.zeros(embed_dim)
    return {f"wav2vec2.{k}": v for k, v in out.items()}


def _convert_layer(key: str, value: torch.Tensor, out: dict) -> None:
    """One transformer layer's tensor; q, k, v projections are stacked into in_proj as torch's
    MultiheadAttention keeps them (q first)."""
    prefix, rest = re.match(r"(encoder\.layers\.\d+)\.(.*)", key).groups()
    if match := re.fullmatch(r"self_attn\.([qkv])_proj\.(weight|bias)", rest):
        slot = f"{prefix}.attention.in_proj_{match[2]}"
        parts = out.setdefault(f"_parts.{slot}", {})
        parts[match[1]] = value
        if len(parts) == 3:
            out[slot] = torch.cat([parts["q"], parts["k"], parts["v"]])
            del out[f"_parts.{slot}"]
        return
    for theirs, ours in _LAYER_NAMES.items():
        if rest.startswith(theirs + "."):
            out[f"{prefix}.{ours}{rest[len(theirs):]}"] = value
            return
    out[key] = value  # fc1, fc2


def _published(ours: str) -> str:
    """The fairseq-signals name of one of our keys, for errors."""
    key = ours.removeprefix("wav2vec2.")
    key = re.sub(r"^feature_extractor\.blocks\.(\d+)\.1\.", r"feature_extractor.conv_layers.\1.2.", key)
    key = key.replace("feature_extractor.blocks.", "feature_extractor.conv_layers.")
    key = key.replace("encoder.norm.", "encoder.layer_norm.").replace("quantizer.codebook", "quantizer.vars")
    key = key.replace(".attention_norm.", ".self_attn_layer_norm.")
    key = key.replace(".final_norm.", ".final_layer_norm.")
    key = key.replace(".attention.in_proj_", ".self_attn.{q,k,v}_proj.").replace(".attention.", ".self_attn.")
    return key.replace("encoder.pos_conv.", "conv_pos.pos_conv.0.")
