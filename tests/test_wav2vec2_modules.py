"""The torch modules of wav2vec 2.0 for ECGs (sklearn_ecg.nn.wav2vec2, sklearn_ecg.nn.quantizer)."""

from __future__ import annotations

import math
import pickle

import pytest
import torch
import torch.nn.functional as F

from sklearn_ecg.nn.quantizer import GumbelVectorQuantizer
from sklearn_ecg.nn.wav2vec2 import (
    ConvFeatureExtractor,
    ConvPositionalEncoding,
    TransformerEncoder,
    Wav2Vec2,
    Wav2Vec2Config,
    compute_mask_indices,
    contrastive_logits,
    sample_negatives,
    wav2vec2_losses,
)

TINY = Wav2Vec2Config(conv_layers=((8, 2, 2),) * 4, embed_dim=16, layers=1, ffn_dim=32, heads=2,
                      pos_conv_kernel=8, pos_conv_groups=4, final_dim=8, codebook_size=8)


def test_base_config_is_the_published_model():
    model = Wav2Vec2(Wav2Vec2Config())
    n_params = sum(p.numel() for p in model.parameters())
    assert 85e6 < n_params < 95e6  # "about 90 M"
    assert len(model.encoder.layers) == 12
    assert model.encoder.layers[0].fc1.out_features == 3072
    assert model.encoder.layers[0].attention.num_heads == 12
    assert model.quantizer.codebook.shape == (2 * 320, 128)  # 2 groups x 320 codes -> 256-d
    assert model.final_proj.out_features == 256


def test_feature_extractor_strides_2500_samples_to_156_frames():
    extractor = ConvFeatureExtractor(12, ((256, 2, 2),) * 4)
    out = extractor(torch.randn(2, 12, 2500))
    assert out.shape == (2, 256, 156)
    for n in (16, 17, 31, 100, 2499):
        assert extractor(torch.randn(1, 12, n)).shape[-1] == extractor.n_frames(n)
    norms = [type(m).__name__ for block in extractor.blocks for m in block]
    assert norms.count("GroupNorm") == 1 and isinstance(extractor.blocks[0][1], torch.nn.GroupNorm)
    assert all(block[0].bias is None for block in extractor.blocks)


def test_single_sequence_masks_about_49_percent_and_batches_mask_equally():
    torch.manual_seed(0)
    single = torch.stack([compute_mask_indices(1, 156, 0.65, 10)[0] for _ in range(300)])
    assert 0.45 < single.float().mean() < 0.53
    assert not single[:, -1].any()  # span starts stop 10 frames before the end, as in fairseq
    batch = compute_mask_indices(64, 156, 0.65, 10)
    counts = batch.sum(1)
    assert (counts == counts[0]).all()  # every row masks as many frames as the least-masked row
    assert 0.25 < batch.float().mean() < single.float().mean()
    with pytest.raises(ValueError, match="more frames"):
        compute_mask_indices(2, 10, 0.65, 10)


def test_distractors_come_from_other_frames_of_the_same_sequence():
    torch.manual_seed(0)
    idx = sample_negatives(3, 5, 200)
    assert idx.shape == (3, 5, 200)
    own = torch.arange(5)[None, :, None]
    assert (idx != own).all() and idx.min() == 0 and idx.max() == 4
    with pytest.raises(ValueError, match="at least 2"):
        sample_negatives(1, 1, 4)


def test_contrastive_logits_are_cosine_over_temperature_and_mask_identical_codes():
    torch.manual_seed(0)
    x, y = torch.randn(2, 4, 6), torch.randn(2, 4, 6)
    idx = sample_negatives(2, 4, 3)
    logits = contrastive_logits(x, y, idx, 0.1).view(2, 4, 4)
    b, m, n = 1, 2, 1
    assert torch.isclose(logits[b, m, 0], F.cosine_similarity(x[b, m], y[b, m], dim=0) / 0.1, atol=1e-5)
    negative = y[b, idx[b, m, n]]
    assert torch.isclose(logits[b, m, 1 + n], F.cosine_similarity(x[b, m], negative, dim=0) / 0.1,
                         atol=1e-5)
    codes = torch.zeros(2, 4, 2, dtype=torch.long)  # every frame has the same codes
    masked = contrastive_logits(x, y, idx, 0.1, codes=codes).view(2, 4, 4)
    assert torch.isinf(masked[..., 1:]).all() and torch.isfinite(masked[..., 0]).all()


def test_infonce_of_uninformative_predictions_is_log_of_candidates():
    out = {"logits": torch.zeros(7, 101), "num_vars": 640, "prob_perplexity": torch.tensor(640.0),
           "features_pen": torch.tensor(0.0)}
    losses = wav2vec2_losses(out)
    assert math.isclose(float(losses["infonce"]), math.log(101), rel_tol=1e-5)
    assert float(losses["diversity"]) == 0.0  # every code equally used


def test_quantiser_picks_one_code_per_group_and_anneals_per_training_step():
    torch.manual_seed(0)
    quantizer = GumbelVectorQuantizer(6, codes=5, groups=2, out_dim=8, temperature=(2.0, 0.5, 0.5))
    x = torch.randn(3, 4, 6)
    out = quantizer(x)
    assert out["x"].shape == (3, 4, 8) and out["indices"].shape == (3, 4, 2)
    book = quantizer.codebook.view(2, 5, 4)
    for group in range(2):  # training draws codes by Gumbel-softmax: each slice is one codebook row
        distance = torch.cdist(out["x"][..., 4 * group : 4 * group + 4].reshape(-1, 4), book[group])
        assert torch.allclose(distance.min(1).values, torch.zeros(12), atol=1e-5)
    expected = torch.cat([book[0][out["indices"][..., 0]], book[1][out["indices"][..., 1]]], dim=-1)
    assert 1 <= float(out["code_perplexity"]) <= 10 and 1 <= float(out["prob_perplexity"].detach()) <= 10
    assert [quantizer(x)["temperature"] for _ in range(3)] == [1.0, 0.5, 0.5]
    quantizer.eval()
    first, second = quantizer(x), quantizer(x)
    assert int(quantizer.step) == 4  # eval calls do not advance the schedule
    torch.testing.assert_close(first["x"], second["x"])
    torch.testing.assert_close(first["x"], expected)  # eval uses the argmax codes


def test_positional_conv_keeps_length_and_weight_norm_starts_as_plain_conv():
    torch.manual_seed(0)
    pos = ConvPositionalEncoding(16, kernel=8, groups=4, weight_norm=True)
    x = torch.randn(2, 13, 16)
    y = pos(x)
    assert y.shape == x.shape
    plain = F.gelu(F.conv1d(x.transpose(1, 2), pos.weight, pos.bias, padding=4, groups=4)[..., :-1])
    torch.testing.assert_close(y, plain.transpose(1, 2))
    pickle.loads(pickle.dumps(pos))  # torch's parametrised weight_norm cannot be pickled


def test_post_layernorm_outputs_and_padding_mask_equal_a_shorter_sequence():
    torch.manual_seed(0)
    encoder = TransformerEncoder(TINY).eval()
    x = torch.randn(1, 12, 16)
    out = encoder(x)
    torch.testing.assert_close(out.mean(-1), torch.zeros(1, 12), atol=1e-5, rtol=0)
    padded = torch.cat([x, 100 * torch.randn(1, 5, 16)], dim=1)
    mask = torch.zeros(1, 17, dtype=torch.bool)
    mask[:, 12:] = True
    torch.testing.assert_close(encoder(padded, mask)[:, :12], out, atol=1e-5, rtol=1e-4)


def test_pretraining_pass_outputs_and_gradients():
    torch.manual_seed(0)
    model = Wav2Vec2(TINY)
    x = torch.randn(4, 12, 400)  # 25 frames
    out = model.pretrain(x, mask_length=3, n_negatives=5, unmasked=True)
    n_masked = int(out["mask"].sum())
    assert out["logits"].shape == (n_masked, 6)
    assert out["frames"].shape == (4, 25, 16)
    loss = wav2vec2_losses(out)["total"] + out["frames"].mean()
    loss.backward()
    assert model.feature_extractor.blocks[0][0].weight.grad.abs().sum() > 0
    assert model.mask_emb.grad.abs().sum() > 0
    model.eval()
    torch.testing.assert_close(model.embed(x), model.frames(x).mean(1))
    torch.testing.assert_close(model.embed(x), model.embed(x))
