"""PCLRTransformer: the published encoder, patient pairs, and scikit-learn workflows."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
import torch
from _shared import untrained_twin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline

from sklearn_ecg import PCLRTransformer
from sklearn_ecg.datasets import make_synthetic_ecg
from sklearn_ecg.nn.pclr import PatientPairDataset, augmented_copies, stretched_halves
from sklearn_ecg.nn.resnet1d import RibeiroResNet1d

# Keras' BatchNorm momentum (0.99, the default) leaves the running statistics far behind the
# weights after the ~100 updates of these runs (identification gains fell to -0.08..0.09); 0.9
# (torch's default) lets them catch up.
SMALL = dict(n_samples=256, filters=(16, 32, 64), kernel_size=7, projection_dims=(64, 64),
             batchnorm_momentum=0.9, batch_size=16, lr=1e-3, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def patients():
    data = make_synthetic_ecg(n_patients=60, ecgs_per_patient=4, fs=100, random_state=0)
    rank = np.concatenate([np.arange(c) for c in np.bincount(data.patient_id)])
    return data, rank


def test_published_encoder_shape_and_parameter_count():
    est = PCLRTransformer(device="cpu")
    est.describe_input(np.zeros((1, 12, 1000), dtype=np.float32))
    encoder = est.build_encoder()
    n_params = sum(p.numel() for p in encoder.parameters())
    assert 6.35e6 < n_params < 6.43e6  # the paper: about 6.39 M
    x = torch.zeros(2, 12, 1000)
    with torch.no_grad():
        encoder.eval()
        assert encoder.backbone.feature_map(torch.zeros(2, 12, 4096)).shape == (2, 320, 16)
        assert encoder(x).shape == (2, 320) and encoder.out_features == 320
    projection = est._build_objective(encoder).projection
    assert [type(m).__name__ for m in projection] == ["Linear", "ReLU", "Linear"]


def unit_lengths_and_widths(encoder, n_samples):
    x = encoder.stem(torch.zeros(1, encoder.stem[0].in_channels, n_samples))
    lengths, widths = [], []
    skip = x
    for unit in encoder.units:
        x, skip = unit((x, skip))
        lengths.append(x.shape[-1])
        widths.append(x.shape[1])
    return lengths, widths


def test_residual_units_downsample_by_four_as_published():
    lengths, widths = unit_lengths_and_widths(RibeiroResNet1d(12), 4096)
    assert lengths == [1024, 256, 64, 16] and widths == [128, 196, 256, 320]


def test_encoder_follows_keras_batchnorm_and_ml4h_strides():
    encoder = PCLRTransformer(device="cpu")
    encoder.describe_input(np.zeros((1, 12, 5000), dtype=np.float32))
    backbone = encoder.build_encoder().backbone
    norms = [m for m in backbone.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(norms) == 9 and all(m.eps == 1e-3 and abs(m.momentum - 0.01) < 1e-12 for m in norms)
    assert backbone.strides == (4, 4, 4, 4)
    # The released lead-II model: 2500 samples, ml4h's unit lengths, no BatchNorm after the stem.
    lead2 = PCLRTransformer(leads=["II"], n_samples=2500, unit_samples=(1024, 256, 64, 16),
                            stem_batchnorm=False, device="cpu")
    lead2.describe_input(np.zeros((1, 1, 2500), dtype=np.float32))
    backbone = lead2.build_encoder().backbone
    assert backbone.strides == (2, 4, 4, 4)
    assert [type(m).__name__ for m in backbone.stem] == ["SameConv1d", "ReLU"]
    assert unit_lengths_and_widths(backbone, 2500)[0] == [1250, 313, 79, 20]
    with pytest.raises(ValueError, match="must not increase"):
        PCLRTransformer(n_samples=512, unit_samples=(1024, 256, 64, 16)).fit(np.zeros((4, 12, 600)))


def test_same_max_pooling_pads_both_sides_like_tensorflow():
    from sklearn_ecg.nn.resnet1d import SameMaxPool1d
    x = -torch.arange(10.0).view(1, 1, 10)  # decreasing: a window's max is its first real sample
    # TensorFlow "same", pool 4 on 10 samples: 3 outputs, 2 padded samples split 1 left, 1 right,
    # so the windows start at -1, 3, 7 (torch's ceil_mode would start them at 0, 4, 8).
    assert SameMaxPool1d(4)(x).flatten().tolist() == [-0.0, -3.0, -7.0]
    assert SameMaxPool1d(2)(x).flatten().tolist() == [-0.0, -2.0, -4.0, -6.0, -8.0]


def test_pair_dataset_draws_two_different_ecgs_of_one_patient():
    X = np.arange(6, dtype=np.float32)[:, None, None] * np.ones((6, 1, 8), dtype=np.float32)
    groups = np.array([7, 7, 7, 3, 3, 9])
    dataset = PatientPairDataset(X, groups, single_ecg="windows")
    assert (len(dataset), dataset.n_pairs, dataset.n_single) == (3, 2, 1)
    torch.manual_seed(0)
    for _ in range(20):
        for i in range(2):
            pair, _ = dataset[i]
            a, b = int(pair[0, 0, 0]), int(pair[1, 0, 0])
            assert a != b and groups[a] == groups[b]
    single, _ = dataset[2]
    assert single.shape == (2, 1, 8)


def test_single_ecg_fallbacks_and_drop():
    X = np.random.default_rng(0).normal(size=(6, 1, 64)).astype(np.float32)
    ramp = np.linspace(0, 1, 64, dtype=np.float32)[None, None].repeat(6, 0)
    ecgs, _ = PatientPairDataset(ramp, None, "windows").read_batch(np.arange(2), np.arange(2))
    assert ecgs.shape == (2, 1, 64)  # no pairs anywhere: the ECGs, halved by the objective
    views = stretched_halves(ecgs)[0]
    assert views[0, 0, -1] <= 0.5 + 1e-6 and views[1, 0, 0] >= 0.5 - 1e-6  # the two halves
    mixed = PatientPairDataset(ramp, np.array([0, 0, 1, 2, 3, 4]), "windows")
    pairs, _ = mixed.read_batch(np.arange(3), np.arange(3))  # a pair, then single ECGs: halved here
    assert pairs.shape == (3, 2, 1, 64) and torch.equal(pairs[1:], stretched_halves(ecgs))
    ecgs, _ = PatientPairDataset(X, None, "augment").read_batch(np.arange(6), np.arange(6))
    views = augmented_copies(ecgs, torch.Generator().manual_seed(0))  # made by the objective
    assert views.shape == (6, 2, 1, 64) and not torch.allclose(views[:, 0], views[:, 1])
    for ecg, pair in zip(ecgs.numpy(), views.numpy()):
        for view in pair:  # a copy shifted by at most 6 samples, scaled 0.8-1.25, noise 0.02
            best = max(range(-6, 7), key=lambda s: np.corrcoef(np.roll(ecg[0], s), view[0])[0, 1])
            ratio = view[0] / np.roll(ecg[0], best)[None]
            assert np.corrcoef(np.roll(ecg[0], best), view[0])[0, 1] > 0.99
            assert 0.75 < np.median(ratio) < 1.3
    # In a batch mixing pairs and single ECGs, a single ECG's views come from its own seed.
    mixed = PatientPairDataset(X, np.array([0, 0, 1, 2, 3, 4]), "augment")
    both, _ = mixed.read_batch(np.array([0, 3]), np.array([5, 9]))
    alone, _ = mixed.read_batch(np.array([1, 3]), np.array([7, 9]))
    assert torch.equal(both[1], alone[1]) and not torch.equal(both[1, 0], both[1, 1])
    with pytest.raises(ValueError, match="No patient has two or more ECGs"):
        PatientPairDataset(X, None, "drop")
    dataset = PatientPairDataset(X, np.array([0, 0, 1, 2, 3, 4]), "drop")
    assert len(dataset) == 1


def test_groups_must_match_x(patients):
    data, _ = patients
    with pytest.raises(ValueError, match="one patient id per ECG"):
        PCLRTransformer(**SMALL, max_epochs=1).fit(data.X[:10], groups=data.patient_id[:9])


def test_patient_identification_far_above_chance_and_untrained(patients):
    data, rank = patients
    gallery, query = rank < 2, rank >= 2
    pid = data.patient_id

    def identification_accuracy(est):
        knn = KNeighborsClassifier(1, metric="cosine")
        knn.fit(est.transform(data.X[gallery]), pid[gallery])
        return (knn.predict(est.transform(data.X[query])) == pid[query]).mean()

    gains = []
    for seed in (0, 1, 2):
        params = {**SMALL, "random_state": seed}
        trained = PCLRTransformer(**params, max_epochs=30).fit(data.X[gallery], groups=pid[gallery])
        assert trained.n_patient_pairs_ == 60 and trained.n_single_ecg_patients_ == 0
        assert trained.loss_curve_[-1] < 0.5 * trained.loss_curve_[0]
        untrained = untrained_twin(trained, data.X[gallery], groups=pid[gallery])
        accuracy = identification_accuracy(trained)
        assert accuracy > 10 / 60  # chance: 1 in 60 patients
        gains.append(accuracy - identification_accuracy(untrained))
    # Measured: +0.16, +0.14, +0.17 (and +0.18 at seed 3); the untrained encoder alone is at 0.24-0.35.
    assert min(gains) > 0.05 and np.mean(gains) > 0.1, gains


def test_pipeline_routes_groups_and_cross_validates(patients):
    data, _ = patients
    X, y, pid = data.X[:80], data.y[:80], data.patient_id[:80]
    pipe = Pipeline([("emb", PCLRTransformer(**SMALL, max_epochs=1)),
                     ("clf", LogisticRegression(max_iter=500))])
    pipe.fit(X, y, emb__groups=pid)
    assert pipe.named_steps["emb"].n_patient_pairs_ == 20
    assert pipe.predict(X).shape == (80,)
    scores = cross_val_score(pipe, X, y, groups=pid, cv=GroupKFold(2),
                             params={"emb__groups": pid})
    assert scores.shape == (2,) and np.all(np.isfinite(scores))


def test_metadata_routing_of_groups(patients):
    data, _ = patients
    X, y, pid = data.X[:40], data.y[:40], data.patient_id[:40]
    with sklearn.config_context(enable_metadata_routing=True):
        emb = PCLRTransformer(**SMALL, max_epochs=1).set_fit_request(groups=True)
        pipe = Pipeline([("emb", emb), ("clf", LogisticRegression(max_iter=200))])
        pipe.fit(X, y, groups=pid)
    assert pipe.named_steps["emb"].n_patient_pairs_ == 10


def test_grid_search_over_temperature_and_lr(patients):
    data, _ = patients
    X, y = data.X[:48], data.y[:48]
    pipe = Pipeline([("emb", PCLRTransformer(**SMALL, max_epochs=1)),
                     ("clf", LogisticRegression(max_iter=200))])
    search = GridSearchCV(pipe, {"emb__temperature": [0.1, 0.5], "emb__lr": [1e-3, 1e-4]}, cv=2)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["emb__temperature"] in (0.1, 0.5)


@pytest.mark.parametrize("single_ecg", ["windows", "augment"])
def test_objective_makes_the_views_of_single_ecgs(single_ecg):
    objective = PCLRTransformer(**SMALL, max_epochs=1, single_ecg=single_ecg).fit(
        np.random.default_rng(0).normal(size=(8, 12, 250)).astype(np.float32)).net_.module_.eval()
    ecgs = torch.from_numpy(np.random.default_rng(1).normal(size=(4, 12, 250)).astype(np.float32))
    views = {"windows": stretched_halves, "augment": augmented_copies}[single_ecg]
    torch.manual_seed(0)
    loss = objective(ecgs)
    torch.manual_seed(0)
    torch.testing.assert_close(loss, objective(views(ecgs)))
