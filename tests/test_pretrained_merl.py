"""load_merl against a fixture made by MERL's own ResNet code (fixtures/pretrained/make_merl.py)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from sklearn_ecg import METSZeroShotClassifier
from sklearn_ecg.pretrained import load_merl, merl_normalize

FIXTURES = Path(__file__).parent / "fixtures" / "pretrained"
TINY = FIXTURES / "merl_resnet18_tiny_encoder.pth"
# float32 on both sides; measured max |ours - MERL| / max |MERL|: 1.4e-7 (tiny), 9.6e-8 (full size).
RTOL = 1e-5


def features(estimator, x):
    """The pooled ResNet output (MERL's linear-probe features), before METS' normalisation."""
    estimator.encoder_.eval()
    with torch.no_grad():
        return estimator.encoder_.backbone(torch.from_numpy(merl_normalize(x))).numpy()


def assert_matches(ours, reference):
    np.testing.assert_allclose(ours, reference, rtol=RTOL, atol=RTOL * np.abs(reference).max())


def test_fixture_features_match_merl():
    data = np.load(FIXTURES / "merl_resnet18_tiny.npz")
    estimator = load_merl(TINY, device="cpu")
    assert isinstance(estimator, METSZeroShotClassifier)
    assert (estimator.fs, estimator.widths, estimator.projection_dim) == (500.0, (8, 8, 16, 16), 16)
    assert_matches(features(estimator, data["x"]), data["features"])
    # transform: the same features, L2-normalised (METS' space; MERL's projection is the identity).
    reference = data["features"] / np.linalg.norm(data["features"], axis=1, keepdims=True)
    assert_matches(estimator.transform(merl_normalize(data["x"])), reference)


def test_merl_normalize_scales_each_record_to_unit_range():
    x = np.stack([np.linspace(-2, 3, 24).reshape(2, 12), np.full((2, 12), 5.0)])
    scaled = merl_normalize(x)
    assert scaled.dtype == np.float32 and scaled[0].min() == 0 and abs(scaled[0].max() - 1) < 1e-6
    assert np.all(scaled[1] == 0)  # a flat record: 0 / 1e-8


def test_whole_model_and_training_checkpoints_load_the_encoder_part(tmp_path):
    encoder = torch.load(TINY, weights_only=True)
    x = np.load(FIXTURES / "merl_resnet18_tiny.npz")["x"]
    expected = features(load_merl(TINY, device="cpu"), x)
    whole = {f"ecg_encoder.{k}": v for k, v in encoder.items()} | {"proj_t.0.weight": torch.zeros(4, 768)}
    torch.save(whole, tmp_path / "merl_ckpt.pth")
    training = {"epoch": 3, "model_state_dict": {f"module.{k}": v for k, v in whole.items()}}
    torch.save(training, tmp_path / "merl_checkpoint.pth")
    for name in ("merl_ckpt.pth", "merl_checkpoint.pth"):
        np.testing.assert_array_equal(features(load_merl(tmp_path / name, device="cpu"), x), expected)


def test_other_variants_and_damaged_files_are_refused(tmp_path):
    encoder = torch.load(TINY, weights_only=True)
    deeper = dict(encoder) | {k.replace("layer1.1.", "layer1.2."): v for k, v in encoder.items()
                              if k.startswith("layer1.1.")}
    torch.save(deeper, tmp_path / "resnet34.pth")
    with pytest.raises(ValueError, match=r"blocks per stage \[3, 2, 2, 2\]"):
        load_merl(tmp_path / "resnet34.pth")
    torch.save({"cls_token": torch.zeros(1, 1, 8), "blocks.0.attn.qkv.weight": torch.zeros(24, 8)},
               tmp_path / "vit.pth")
    with pytest.raises(ValueError, match="ViT"):
        load_merl(tmp_path / "vit.pth")
    damaged = dict(encoder)
    damaged["layer2.0.conv2.weight"] = damaged["layer2.0.conv2.weight"][:, :4]
    torch.save(damaged, tmp_path / "damaged.pth")
    with pytest.raises(ValueError, match=r"layer2\.0\.conv2\.weight has shape \(8, 4, 3\).*\(8, 8, 3\)"):
        load_merl(tmp_path / "damaged.pth")
    torch.save({k: v for k, v in encoder.items() if not k.startswith("layer3.1.bn2")}, tmp_path / "short.pth")
    with pytest.raises(ValueError, match=r"lacks layers.*layer3\.1\.bn2\.weight"):
        load_merl(tmp_path / "short.pth")
    with pytest.raises(ValueError, match="HDF5"):
        load_merl(FIXTURES / "pclr_keras_12lead.h5")
    with pytest.raises(ValueError, match=r"takes 12 lead\(s\), but leads names 2"):
        load_merl(TINY, leads=["I", "II"])


def test_loaded_model_saves_and_reloads(tmp_path):
    estimator = load_merl(TINY, device="cpu")
    x = merl_normalize(np.load(FIXTURES / "merl_resnet18_tiny.npz")["x"])
    again = METSZeroShotClassifier.load(estimator.save(tmp_path / "merl"), device="cpu")
    np.testing.assert_array_equal(again.transform(x), estimator.transform(x))


FULL = os.environ.get("SKLEARN_ECG_MERL_FULL")


@pytest.mark.skipif(not FULL, reason="set SKLEARN_ECG_MERL_FULL to the --full output of make_merl.py "
                    "(MERL's full-size ResNet18, 15 MB)")
def test_full_size_resnet18():
    data = np.load(Path(FULL) / "merl_full.npz")
    estimator = load_merl(Path(FULL) / "merl_full_encoder.pth", device="cpu")
    assert estimator.widths == (64, 128, 256, 512)
    assert_matches(features(estimator, data["x"]), data["features"])
