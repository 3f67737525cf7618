"""load_fairseq_signals against checkpoints of fairseq-signals' own Wav2Vec2CMSCModel
(fixtures/pretrained/make_fairseq_signals.py: both weight-norm spellings of the positional convolution)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from sklearn_ecg import W2VCMSCTransformer
from sklearn_ecg.pretrained import ecgfm_standardize, load_fairseq_signals
from sklearn_ecg.pretrained._files import load_torch_file
from sklearn_ecg.pretrained.fairseq_signals import _literal_layers

FIXTURES = Path(__file__).parent / "fixtures" / "pretrained"
# float32 on both sides; measured max |ours - fairseq-signals| / max |theirs|: 8.0e-8 (embeddings),
# 3.9e-7 (per-frame outputs), for both spellings; full size (opt-in test below): 3.3e-7, 9.8e-7.
RTOL = 1e-5


def assert_matches(ours, reference):
    np.testing.assert_allclose(ours, reference, rtol=RTOL, atol=RTOL * np.abs(reference).max())


def checkpoint(name="old"):
    return dict(load_torch_file(FIXTURES / f"fairseq_w2v_cmsc_{name}.pt", "a checkpoint"))


@pytest.mark.parametrize("spelling", ["old", "new"])  # weight_g/weight_v; parametrizations.weight.*
def test_fixture_embeddings_and_frames_match_fairseq_signals(spelling):
    estimator = load_fairseq_signals(FIXTURES / f"fairseq_w2v_cmsc_{spelling}.pt", device="cpu")
    data = np.load(FIXTURES / f"fairseq_w2v_cmsc_{spelling}.npz")
    assert_matches(estimator.transform(data["x"]), data["embedding"])
    assert_matches(estimator.transform_frames(data["x"]), data["frames"])


def test_architecture_comes_from_cfg_and_weights():
    estimator = load_fairseq_signals(FIXTURES / "fairseq_w2v_cmsc_new.pt", device="cpu")
    assert (estimator.fs, estimator.model_fs, estimator.segment_seconds) == (100.0, 100.0, 5.0)
    assert estimator._sizes() == {"conv_layers": ((16, 2, 2),) * 4, "embed_dim": 32, "encoder_layers": 2,
                                  "ffn_dim": 64, "attention_heads": 4}
    assert (estimator.pos_conv_kernel, estimator.pos_conv_groups) == (16, 4)
    assert (estimator.codebook_groups, estimator.codebook_size, estimator.final_dim) == (2, 8, 16)
    assert int(estimator.encoder_.wav2vec2.quantizer.step) == 1  # the trainer's num_updates
    # Lead-agnostic as W2V+CMSC+RLM: a subset of the leads embeds (missing ones zero-filled).
    x = np.load(FIXTURES / "fairseq_w2v_cmsc_new.npz")["x"]
    assert estimator.transform(x[:, :2], leads=["I", "II"]).shape == (2, 32)


def test_fine_tuned_models_and_plain_positional_convolutions(tmp_path):
    data = np.load(FIXTURES / "fairseq_w2v_cmsc_old.npz")
    ckpt = checkpoint("old")
    model = ckpt["model"]
    # A fine-tuned ecg_transformer keeps the pretrained model as `encoder`, without pretraining heads.
    encoder = {f"encoder.{k}": v for k, v in model.items()
               if not k.startswith(("quantizer.", "project_q.", "final_proj.", "mask_emb"))}
    torch.save(dict(ckpt, model=encoder | {"proj.weight": torch.zeros(5, 32)}), tmp_path / "ft.pt")
    with pytest.warns(UserWarning, match="pretraining heads"):
        estimator = load_fairseq_signals(tmp_path / "ft.pt", device="cpu")
    assert_matches(estimator.transform(data["x"]), data["embedding"])
    # A positional convolution without weight norm: the kernel g * v / ||v|| itself.
    g, v = model.pop("conv_pos.pos_conv.0.weight_g"), model.pop("conv_pos.pos_conv.0.weight_v")
    model["conv_pos.pos_conv.0.weight"] = g * v / torch.linalg.vector_norm(v, dim=(0, 1), keepdim=True)
    torch.save(dict(ckpt, model=model), tmp_path / "plain.pt")
    assert_matches(load_fairseq_signals(tmp_path / "plain.pt", device="cpu").transform(data["x"]),
                   data["embedding"])


def test_variants_and_damaged_files_are_refused(tmp_path):
    ckpt = checkpoint()
    pre_ln = dict(ckpt, cfg=dict(ckpt["cfg"], model=dict(ckpt["cfg"]["model"], layer_norm_first=True)))
    torch.save(pre_ln, tmp_path / "pre_ln.pt")
    with pytest.raises(ValueError, match="layer_norm_first=True"):
        load_fairseq_signals(tmp_path / "pre_ln.pt")
    strides = dict(ckpt, cfg=dict(ckpt["cfg"], model=dict(ckpt["cfg"]["model"],
                                                          conv_feature_layers="[(16, 3, 2)] * 4")))
    torch.save(strides, tmp_path / "strides.pt")
    with pytest.raises(ValueError, match="does not match the weights"):
        load_fairseq_signals(tmp_path / "strides.pt")
    torch.save(ckpt["model"], tmp_path / "bare.pt")
    with pytest.raises(ValueError, match="has no cfg"):
        load_fairseq_signals(tmp_path / "bare.pt")
    damaged = dict(ckpt["model"])
    damaged["encoder.layers.1.fc2.weight"] = damaged["encoder.layers.1.fc2.weight"][:, :8]
    torch.save(dict(ckpt, model=damaged), tmp_path / "damaged.pt")
    with pytest.raises(ValueError, match=r"encoder\.layers\.1\.fc2\.weight has shape \(32, 8\).*\(32, 64\)"):
        load_fairseq_signals(tmp_path / "damaged.pt")
    with pytest.raises(ValueError, match=r"takes 12 lead\(s\), but leads names 1"):
        load_fairseq_signals(FIXTURES / "fairseq_w2v_cmsc_old.pt", leads=["II"])
    old_layout = {"encoder.pos_conv.0.weight_g": torch.zeros(1, 1, 4), "layer_norm.weight": torch.ones(4)}
    torch.save({"model": old_layout, "args": argparse.Namespace()}, tmp_path / "2021.pt")
    with pytest.raises(ValueError, match="before October 2022"):
        load_fairseq_signals(tmp_path / "2021.pt")


def test_conv_layer_specs_are_read_without_eval():
    assert _literal_layers("[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)]") == \
        [(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)]
    with pytest.raises(ValueError):
        _literal_layers("__import__('os').getcwd()")


def test_ecgfm_standardize_and_persistence(tmp_path):
    x = np.stack([np.linspace(-1, 2, 30).reshape(3, 10), np.full((3, 10), 4.0)])
    scaled = ecgfm_standardize(x)
    assert np.allclose(scaled[0].mean(-1), 0, atol=1e-6) and np.allclose(scaled[0].std(-1), 1, atol=1e-5)
    assert np.all(scaled[1] == 0)  # constant leads become 0, as fairseq-signals' 'zero' strategy
    estimator = load_fairseq_signals(FIXTURES / "fairseq_w2v_cmsc_new.pt", device="cpu")
    data = np.load(FIXTURES / "fairseq_w2v_cmsc_new.npz")["x"]
    again = W2VCMSCTransformer.load(estimator.save(tmp_path / "w2v"), device="cpu")
    np.testing.assert_array_equal(again.transform(data), estimator.transform(data))


FULL = os.environ.get("SKLEARN_ECG_FAIRSEQ_FULL")


@pytest.mark.skipif(not FULL, reason="set SKLEARN_ECG_FAIRSEQ_FULL to the --full output of "
                    "make_fairseq_signals.py (the recipe's 12 x 768 model, 360 MB per spelling)")
@pytest.mark.parametrize("spelling", ["old", "new"])
def test_full_size_model(spelling):
    estimator = load_fairseq_signals(Path(FULL) / f"fairseq_w2v_cmsc_{spelling}_full.pt", device="cpu")
    data = np.load(Path(FULL) / f"fairseq_w2v_cmsc_{spelling}_full.npz")
    assert sum(p.numel() for p in estimator.encoder_.parameters()) == 90_883_072  # ECG-FM's base size
    assert_matches(estimator.transform(data["x"]), data["embedding"])
    assert_matches(estimator.transform_frames(data["x"]), data["frames"])
