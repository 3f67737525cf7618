"""W2VCMSCTransformer: wav2vec 2.0 + CMSC + random lead masking (Oh et al. 2022)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sklearn_ecg.augmentations import RandomLeadMasking
from sklearn_ecg.datasets import make_synthetic_ecg
from sklearn_ecg.nn.losses import symmetric_info_nce
from sklearn_ecg.nn.w2v_cmsc import resample_length
from sklearn_ecg.w2v_cmsc import W2VCMSCTransformer

LIMB = ["I", "II", "III", "aVR", "aVL", "aVF"]
# 100 Hz kept at 100 Hz with two stride-2 conv layers: 125 frames per 5 s segment, a few thousand
# parameters, so a fit takes about a second.
TINY = dict(preset="small", fs=100, model_fs=100, conv_layers=((16, 2, 2),) * 2, embed_dim=16,
            encoder_layers=1, ffn_dim=32, attention_heads=2, pos_conv_kernel=16, pos_conv_groups=4,
            final_dim=16, codebook_size=16, n_negatives=20, batch_size=8, max_epochs=1, lr=2e-3,
            random_state=0, device="cpu")


def tiny(**params) -> W2VCMSCTransformer:
    return W2VCMSCTransformer(**{**TINY, **params})


@pytest.fixture(scope="module")
def ecgs():
    data = make_synthetic_ecg(n_patients=64, ecgs_per_patient=1, fs=100, duration=10, random_state=0)
    return data.X  # (64, 12, 1000): 10 s at 100 Hz


@pytest.fixture(scope="module")
def fitted(ecgs):
    return tiny(max_epochs=2).fit(ecgs[:24])


def test_base_preset_is_the_published_architecture():
    est = W2VCMSCTransformer(device="cpu")
    est.describe_input(np.zeros((1, 12, 5000), dtype=np.float32))
    encoder = est.build_encoder()
    n_params = sum(p.numel() for p in encoder.parameters())
    assert 85e6 < n_params < 95e6
    assert encoder.wav2vec2.n_frames(encoder.segment) == 156  # 2500 samples at 500 Hz
    assert encoder.out_features == 768 and est.get_params()["lr"] == 5e-5


def test_loss_parts_are_recorded_and_plausible(fitted):
    batches = [b for epoch in fitted.net_.history for b in epoch["batches"]]
    for name in ("w2v", "diversity", "feature_penalty", "cmsc", "prob_perplexity", "code_perplexity",
                 "gumbel_temperature", "mask_fraction"):
        values = np.array([b[name] for b in batches])
        assert np.isfinite(values).all(), name
    assert all(0.25 < b["mask_fraction"] < 0.55 for b in batches)  # 125 frames, 8-16 segments
    assert batches[-1]["w2v"] < batches[0]["w2v"]
    temperatures = [b["gumbel_temperature"] for b in batches]
    assert temperatures[0] == 2.0 and np.all(np.diff(temperatures) < 0)
    # The automatic decay reaches the end temperature at the last of the 2 x 3 updates.
    assert np.isclose(2.0 * fitted.gumbel_decay_ ** 6, 0.5)
    assert fitted.segments_per_record_ == 2 and len(fitted.loss_curve_) == 2


def test_each_part_of_the_objective_can_be_switched_off(ecgs):
    w2v_only = tiny(cmsc=False, rlm=False).fit(ecgs[:8])
    parts = w2v_only.net_.history[-1]["batches"][-1]
    assert "cmsc" not in parts and "w2v" in parts and w2v_only.net_.module_.lead_masking is None
    cmsc_only = tiny(w2v_loss=False).fit(ecgs[:8])
    parts = cmsc_only.net_.history[-1]["batches"][-1]
    assert "cmsc" in parts and "w2v" not in parts
    assert isinstance(cmsc_only.net_.module_.lead_masking, RandomLeadMasking)
    with pytest.raises(ValueError, match="nothing to train"):
        tiny(w2v_loss=False, cmsc=False).fit(ecgs[:8])


def test_lead_masking_acts_in_training_only(ecgs):
    # With every lead zeroed in training, the conv features are exactly zero (no biases, GELU(0) = 0)...
    est = tiny(rlm_prob=1.0, cmsc=False).fit(ecgs[:8])
    assert all(b["feature_penalty"] == 0.0 for b in est.net_.history[-1]["batches"])
    # ... while transform sees the leads: records get different embeddings, the same ones twice.
    Z = est.transform(ecgs[:4])
    assert np.ptp(Z, axis=0).max() > 1e-3
    np.testing.assert_array_equal(Z, est.transform(ecgs[:4]))


def test_codebook_use_rises_and_cmsc_pulls_consecutive_segments_together(ecgs):
    train, test = ecgs[:48], ecgs[48:]
    untrained = tiny(lr=1e-12).fit(train[:8])  # same seed, so the same initial weights
    trained = tiny(max_epochs=8, rlm=False).fit(train)
    perplexity = [b["prob_perplexity"] for epoch in trained.net_.history for b in epoch["batches"]]
    assert np.mean(perplexity[-3:]) > np.mean(perplexity[:3]) + 2

    def pair_stats(est):
        first, second = est.transform(test[:, :, :500]), est.transform(test[:, :, 500:])
        loss = float(symmetric_info_nce(torch.from_numpy(first), torch.from_numpy(second), 0.1))
        first /= np.linalg.norm(first, axis=1, keepdims=True)
        second /= np.linalg.norm(second, axis=1, keepdims=True)
        similarity = first @ second.T
        positive = np.diag(similarity)
        negative = (similarity.sum(1) - positive) / (len(similarity) - 1)
        return loss, positive - negative

    loss_before, gap_before = pair_stats(untrained)
    loss_after, gap_after = pair_stats(trained)
    assert loss_after < loss_before - 0.5  # held-out records
    assert (gap_after > 0).mean() >= 0.9 and gap_after.mean() > gap_before.mean() + 0.2


def test_transform_averages_frames_of_all_segments(fitted, ecgs):
    X = ecgs[:5]
    Z = fitted.transform(X)
    halves = (fitted.transform(X[:, :, :500]) + fitted.transform(X[:, :, 500:])) / 2
    np.testing.assert_allclose(Z, halves, atol=1e-5)
    frames = fitted.transform_frames(X)
    assert frames.shape == (5, 250, 16) and frames.dtype == np.float32
    np.testing.assert_allclose(frames.mean(1), Z, atol=1e-5)
    # 7.5 s: a full segment (125 frames) and a 2.5 s part (62 frames), weighted by frames.
    Z_long = fitted.transform(X[:, :, :750])
    weighted = (125 * fitted.transform(X[:, :, :500]) + 62 * fitted.transform(X[:, :, 500:750])) / 187
    np.testing.assert_allclose(Z_long, weighted, atol=1e-5)


def test_records_shorter_than_a_segment_are_encoded_whole_without_padding(fitted, ecgs):
    short = ecgs[:3, :, :300]  # 3 s
    frames = fitted.transform_frames(short)
    assert frames.shape == (3, 75, 16)
    np.testing.assert_allclose(fitted.transform(short), frames.mean(1), atol=1e-5)
    with pytest.raises(ValueError, match="too short"):
        fitted.transform(ecgs[:2, :, :3])  # fewer samples than one frame needs


def test_inputs_are_resampled_to_the_model_rate(ecgs):
    est = tiny(model_fs=200, conv_layers=((16, 2, 2),) * 3, pos_conv_kernel=8, max_epochs=1)
    est.fit(ecgs[:8])
    assert est.transform_frames(ecgs[:2]).shape[1] == 2 * 125  # 5 s = 1000 samples at 200 Hz -> 125
    x = torch.sin(torch.linspace(0, 6.28, 100))[None, None].repeat(1, 2, 1)
    assert resample_length(x, 500).shape == (1, 2, 500) and resample_length(x, 50).shape == (1, 2, 50)
    torch.testing.assert_close(resample_length(resample_length(x, 500), 100), x, atol=0.02, rtol=0)


def test_any_subset_of_leads_by_name(fitted, ecgs):
    X = ecgs[:6]
    full = fitted.transform(X)
    for names in (LIMB, ["I", "II"], ["I"], ["V1", "II"]):
        idx = [fitted.leads_in_.index(name) for name in names]
        Z = fitted.transform(X[:, idx], leads=names)
        assert Z.shape == full.shape
        zero_filled = np.zeros_like(X)
        zero_filled[:, idx] = X[:, idx]
        np.testing.assert_allclose(Z, fitted.transform(zero_filled), atol=1e-6)
    assert not np.allclose(fitted.transform(X[:, :1], leads=["I"]), full, atol=1e-3)
    with pytest.raises(ValueError, match="not seen during fit"):
        fitted.transform(X[:, :2], leads=["I", "X7"])


def test_record_length_rules_of_fit(ecgs):
    seven_seconds = ecgs[:8, :, :700]
    with pytest.raises(ValueError, match="cmsc=False"):
        tiny().fit(seven_seconds)
    est = tiny(cmsc=False).fit(seven_seconds)
    assert est.segments_per_record_ == 1
    with pytest.raises(ValueError, match="segment_seconds=5"):
        tiny(cmsc=False).fit(ecgs[:8, :, :400])


def test_invalid_parameters_are_reported(ecgs):
    for params, message in [({"preset": "huge"}, "'preset' parameter .* must be a str among"),
                            ({"embed_dim": 20, "attention_heads": 3}, "divisible by attention_heads"),
                            ({"rlm_prob": 1.5}, "'rlm_prob' parameter .* in the range \\[0.0, 1.0\\]"),
                            ({"gumbel_temperature": (2.0,)}, "gumbel_temperature"),
                            ({"segment_seconds": 0.3}, "span masking needs")]:
        with pytest.raises(ValueError, match=message):
            tiny(**params).fit(ecgs[:8])


def test_gumbel_schedule_survives_save_and_load(fitted, ecgs, tmp_path):
    loaded = W2VCMSCTransformer.load(fitted.save(tmp_path / "w2v"), device="cpu")
    np.testing.assert_allclose(loaded.transform(ecgs[24:30]), fitted.transform(ecgs[24:30]), atol=1e-6)
    assert loaded.segments_per_record_ == 2 and loaded.gumbel_decay_ == fitted.gumbel_decay_
    assert int(loaded.encoder_.wav2vec2.quantizer.step) == 6
    assert loaded.encoder_.wav2vec2.quantizer.decay == fitted.gumbel_decay_


def test_inference_encodes_many_segments_in_chunks_with_the_same_frames(monkeypatch):
    from sklearn_ecg.nn import w2v_cmsc

    encoder = W2VCMSCTransformer(**TINY).fit(
        make_synthetic_ecg(n_patients=8, fs=100, random_state=0).X).encoder_.eval()
    X = torch.from_numpy(make_synthetic_ecg(n_patients=6, fs=100, random_state=1).X)
    with torch.inference_mode():
        whole = encoder(X)
    calls = []
    frames = encoder.wav2vec2.frames
    monkeypatch.setattr(encoder.wav2vec2, "frames", lambda x: calls.append(len(x)) or frames(x))
    monkeypatch.setattr(w2v_cmsc, "CHUNK_ACTIVATION_BYTES", 1)  # a chunk of one segment
    with torch.inference_mode():
        chunked = encoder(X)
    assert calls == [1] * (len(X) * 2)  # 10 s records, 5 s segments: one forward per segment
    torch.testing.assert_close(chunked, whole, rtol=1e-5, atol=1e-6)
    calls.clear()
    encoder(X)  # with gradients (training, fine-tuning): one forward, as before
    assert calls == [len(X) * 2]
