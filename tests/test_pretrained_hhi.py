"""load_ecg_selfsupervised against Lightning checkpoints made by Mehari & Strodthoff's own modules
(fixtures/pretrained/make_ecg_selfsupervised.py: PyTorch Lightning 1.1.8, torch 1.7.1)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from sklearn_ecg import BYOLTransformer, CPCTransformer, SimCLRTransformer
from sklearn_ecg.pretrained import load_ecg_selfsupervised, ptbxl_standardize
from sklearn_ecg.pretrained._files import load_torch_file

FIXTURES = Path(__file__).parent / "fixtures" / "pretrained"
# float32 on both sides; measured max |ours - theirs| / max |theirs|: 2.0e-7 (CPC 4FC), 1.2e-7
# (CPC strided), 1.4e-7 (SimCLR, BYOL); full size (opt-in test below): 3.1e-7, 3.5e-7, 2.2e-7, 2.2e-7.
RTOL = 1e-5
CASES = {"cpc_fc": CPCTransformer, "cpc_strided": CPCTransformer, "simclr": SimCLRTransformer,
         "byol": BYOLTransformer}


def assert_matches(ours, reference):
    np.testing.assert_allclose(ours, reference, rtol=RTOL, atol=RTOL * np.abs(reference).max())


def lightning_state(name):
    """The Lightning state dict, read safely (the file names Lightning's ModelCheckpoint class)."""
    return dict(load_torch_file(FIXTURES / f"hhi_{name}.ckpt", "a checkpoint")["state_dict"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_features_match_their_modules(name):
    estimator = load_ecg_selfsupervised(FIXTURES / f"hhi_{name}.ckpt", device="cpu")
    assert type(estimator) is CASES[name]
    data = np.load(FIXTURES / f"hhi_{name}.npz")
    assert data["x"].shape[-1] == estimator.window == 250  # one window: transform is the encoder
    assert_matches(estimator.transform(data["x"]), data["features"])


def test_architectures_and_heads_are_read_from_the_weights():
    cpc = load_ecg_selfsupervised(FIXTURES / "hhi_cpc_strided.ckpt", "cpc", device="cpu")
    assert (cpc.encoder, cpc.n_features, cpc.n_hidden, cpc.n_layers) == ("strided", 16, 16, 2)
    torch.testing.assert_close(cpc.net_.module_.predictor.weight.detach(),
                               lightning_state("cpc_strided")["model_cpc.proj.weight"])
    byol = load_ecg_selfsupervised(FIXTURES / "hhi_byol.ckpt", device="cpu")
    assert (byol.layers, byol.widths, byol.expansion, byol.stem_widths) == ((3, 4, 6, 3), (8,) * 4, 4,
                                                                            (32, 32, 64))
    online, target = byol.net_.module_.encoder.state_dict(), byol.net_.module_.target_encoder.state_dict()
    assert all(torch.equal(online[k], target[k]) for k in online)


def test_the_first_convolutions_bias_is_folded_into_its_batchnorm():
    """ResNetSimCLR's first convolution has a bias (XResNet1d's has none): ignoring it breaks the match."""
    data = np.load(FIXTURES / "hhi_simclr.npz")
    estimator = load_ecg_selfsupervised(FIXTURES / "hhi_simclr.ckpt", device="cpu")
    bias = lightning_state("simclr")["encoder.features.0.0.bias"]
    assert bias.abs().max() > 1e-3
    with torch.no_grad():
        estimator.encoder_.stem[0][1].running_mean += bias
    with pytest.raises(AssertionError):
        assert_matches(estimator.transform(data["x"]), data["features"])


def test_method_is_checked_and_needed_for_bare_xresnets(tmp_path):
    with pytest.raises(ValueError, match="holds a BYOL model, not 'simclr'"):
        load_ecg_selfsupervised(FIXTURES / "hhi_byol.ckpt", method="simclr")
    with pytest.raises(ValueError, match="method must be one of"):
        load_ecg_selfsupervised(FIXTURES / "hhi_byol.ckpt", method="moco")
    features = {k[len("encoder."):]: v for k, v in lightning_state("simclr").items()
                if k.startswith("encoder.features.")}
    torch.save(features, tmp_path / "finetuned.pt")  # as eval.py saves a fine-tuned ResNetSimCLR
    with pytest.raises(ValueError, match="pass method='simclr' or method='byol'"):
        load_ecg_selfsupervised(tmp_path / "finetuned.pt")
    data = np.load(FIXTURES / "hhi_simclr.npz")
    estimator = load_ecg_selfsupervised(tmp_path / "finetuned.pt", method="byol", device="cpu")
    assert_matches(estimator.transform(data["x"]), data["features"])
    with pytest.raises(ValueError, match=r"takes 12 lead\(s\), but leads names 1"):
        load_ecg_selfsupervised(FIXTURES / "hhi_cpc_fc.ckpt", leads=["I"])
    with pytest.raises(ValueError, match="is not an ecg-selfsupervised"):
        load_ecg_selfsupervised(FIXTURES / "merl_resnet18_tiny_encoder.pth")


def test_variants_not_implemented_and_damaged_files_are_refused(tmp_path):
    state = lightning_state("cpc_fc")
    gru = {k: (v[: v.shape[0] * 3 // 4] if "rnn.weight_hh" in k else v) for k, v in state.items()}
    torch.save({"state_dict": gru}, tmp_path / "gru.ckpt")
    with pytest.raises(ValueError, match="not an LSTM"):
        load_ecg_selfsupervised(tmp_path / "gru.ckpt")
    no_bn = {k: v for k, v in state.items() if not k.startswith("model_cpc.encoder.0.1.")}
    no_bn["model_cpc.encoder.0.0.bias"] = torch.zeros(16)
    torch.save({"state_dict": no_bn}, tmp_path / "no_bn.ckpt")
    with pytest.raises(ValueError, match="without BatchNorm"):
        load_ecg_selfsupervised(tmp_path / "no_bn.ckpt")
    xresnet = lightning_state("simclr")
    xresnet["encoder.features.5.1.convs.1.0.weight"] = xresnet["encoder.features.5.1.convs.1.0.weight"][:4]
    torch.save({"state_dict": xresnet}, tmp_path / "damaged.ckpt")
    with pytest.raises(ValueError, match=r"features\.5\.1\.convs\.1\.0\.weight has shape \(4, 8, 5\)"):
        load_ecg_selfsupervised(tmp_path / "damaged.ckpt")


def test_ptbxl_standardize():
    x = np.zeros((1, 12, 3), dtype=np.float32)
    np.testing.assert_allclose(ptbxl_standardize(x)[0, :, 0], -np.array(
        [-0.00184586, -0.00130277, 0.00017031, -0.00091313, -0.00148835, -0.00174687, -0.00077071,
         -0.00207407, 0.00054329, 0.00155546, -0.00114379, -0.00035649]) / np.array(
        [0.16401004, 0.1647168, 0.23374124, 0.33767231, 0.33362807, 0.30583013, 0.2731171, 0.27554379,
         0.17128962, 0.14030828, 0.14606956, 0.14656108]), rtol=1e-6)
    with pytest.raises(ValueError, match="12, samples"):
        ptbxl_standardize(np.zeros((1, 6, 3)))


FULL = os.environ.get("SKLEARN_ECG_HHI_FULL")


@pytest.mark.skipif(not FULL, reason="set SKLEARN_ECG_HHI_FULL to the --full output of "
                    "make_ecg_selfsupervised.py (their published sizes, 12 to 92 MB per checkpoint)")
@pytest.mark.parametrize("name", sorted(CASES))
def test_full_size_checkpoints(name):
    estimator = load_ecg_selfsupervised(Path(FULL) / f"hhi_{name}_full.ckpt", device="cpu")
    data = np.load(Path(FULL) / f"hhi_{name}_full.npz")
    assert estimator.transform(data["x"]).shape[1] == (1536 if name.startswith("cpc") else 512)
    assert_matches(estimator.transform(data["x"]), data["features"])


def test_a_loaded_model_fine_tunes():
    from sklearn_ecg import FineTunedECGClassifier

    data = np.load(FIXTURES / "hhi_cpc_fc.npz")
    x = np.concatenate([data["x"]] * 4)
    y = np.arange(len(x)) % 2
    embedder = load_ecg_selfsupervised(FIXTURES / "hhi_cpc_fc.ckpt", device="cpu")
    clf = FineTunedECGClassifier(embedder, head_epochs=1, finetune_epochs=1, batch_size=4, device="cpu",
                                 random_state=0).fit(x, y)
    assert clf.predict_proba(x).shape == (8, 2)
