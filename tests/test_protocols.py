"""The papers' downstream protocols: noise robustness (Mehari & Strodthoff) and patient
identification (Oh et al.)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sklearn_ecg.augmentations import EMNoise
from sklearn_ecg.datasets import make_synthetic_ecg
from sklearn_ecg.evaluation import NOISE_LEVELS, add_noise, noise_robustness, patient_identification
from sklearn_ecg.testing import fit_arguments, tiny_estimator


@pytest.fixture(scope="module")
def data():
    return make_synthetic_ecg(n_patients=12, ecgs_per_patient=2, fs=100, random_state=0)


def test_published_noise_levels():
    assert NOISE_LEVELS[1] == {"baseline_wander": 0.05, "em": 0.25, "powerline": 0.1, "baseline_shift": 0.5}
    assert NOISE_LEVELS[6] == {"baseline_wander": 0.3, "em": 2.0, "powerline": 0.5, "baseline_shift": 3.0}
    assert sorted(NOISE_LEVELS) == [1, 2, 3, 4, 5, 6]


def test_em_noise_draws_one_bounded_scale_per_ecg():
    generator = torch.Generator().manual_seed(0)
    noise = EMNoise(0.3, generator=generator)(torch.zeros(200, 12, 1000))
    per_ecg = noise.std(dim=(1, 2))
    assert per_ecg.max() <= 0.3 * 1.02 and per_ecg.min() < 0.05 and per_ecg.std() > 0.05


def test_noise_grows_with_the_level_and_is_reproducible(data):
    added = [np.abs(add_noise(data.X, level, fs=100) - data.X).mean() for level in range(7)]
    assert added[0] == 0 and added[1] < added[3] < added[6]
    np.testing.assert_array_equal(add_noise(data.X, 4, fs=100, random_state=3),
                                  add_noise(data.X, 4, fs=100, random_state=3))
    assert not np.array_equal(add_noise(data.X, 4, fs=100, random_state=3), add_noise(data.X, 4, fs=100))
    half = np.abs(add_noise(data.X, 6, fs=100, amplitude=0.5) - data.X).mean()
    assert half == pytest.approx(added[6] / 2, rel=0.05)
    with pytest.raises(ValueError, match="noise level"):
        add_noise(data.X, 7, fs=100)


def test_noise_robustness_scores_every_level(data):
    args, _ = fit_arguments("supervised", data)
    classifier = tiny_estimator("supervised", max_epochs=5, lr=1e-2).fit(data.X, data.y)
    table = noise_robustness(classifier, data.X, data.y, levels=(0, 2, 6))
    assert table["level"].tolist() == [0, 2, 6] and table["score"].between(0, 1).all()
    clean = noise_robustness(classifier, data.X, data.y, levels=(0,), scoring="accuracy")
    assert clean["score"].iloc[0] == pytest.approx(classifier.score(data.X, data.y))
    assert table.loc[2, "baseline_shift_max"] == 3.0 and table.loc[0, "em_max"] == 0.0
    with pytest.raises(ValueError, match="24 ECGs but y has 3"):
        noise_robustness(classifier, data.X, data.y[:3])


class PatientOracle:
    """Embeds each ECG as its patient's one-hot id (plus noise): identification is trivial."""

    def __init__(self, patient_id, noise=0.0):
        self.patient_id, self.noise = np.asarray(patient_id), noise

    def transform(self, X):
        rng = np.random.default_rng(0)
        onehot = np.eye(self.patient_id.max() + 1)[self.patient_id]
        return onehot + self.noise * rng.normal(size=onehot.shape)


def test_patient_identification_from_oracle_to_chance(data):
    perfect = patient_identification(PatientOracle(data.patient_id), data.X, data.patient_id)
    assert perfect == {"top1_accuracy": 1.0, "chance": 1 / 12, "n_queries": 12, "n_patients": 12}
    rng = np.random.default_rng(0)
    many = rng.integers(0, 40, size=400)
    X = np.zeros((400, 1, 4), dtype=np.float32)
    random = patient_identification(PatientOracle(many, noise=1e6), X, many)
    assert random["top1_accuracy"] < 5 * random["chance"]
    with pytest.raises(ValueError, match="missing ids"):
        patient_identification(PatientOracle(data.patient_id), data.X,
                               np.where(np.arange(24) == 3, np.nan, data.patient_id.astype(float)))
    with pytest.raises(ValueError, match="two or more ECGs"):
        patient_identification(PatientOracle(np.arange(24)), data.X, np.arange(24))


def test_trained_pclr_identifies_held_out_ecgs_above_chance():
    # Measured over 3 data seeds x 2 fit seeds: top-1 0.23 to 0.47 against chance 0.033.
    train = make_synthetic_ecg(n_patients=60, ecgs_per_patient=2, fs=100, random_state=0)
    test = make_synthetic_ecg(n_patients=30, ecgs_per_patient=2, fs=100, random_state=1)
    args, kwargs = fit_arguments("pclr", train)
    embedder = tiny_estimator("pclr", max_epochs=15, n_samples=256, filters=(16, 32, 32), batch_size=16,
                              lr=3e-3).fit(*args, **kwargs)
    result = patient_identification(embedder, test.X, test.patient_id)
    assert result["top1_accuracy"] > 3 * result["chance"], result
