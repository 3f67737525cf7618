"""Tests of make_synthetic_ecg: shapes, determinism, physiology, patients, classes and reports."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy.signal import butter, find_peaks, sosfiltfilt
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from sklearn_ecg._validation import STANDARD_LEADS
from sklearn_ecg.datasets import make_synthetic_ecg
from sklearn_ecg.datasets._synthetic import SYNTHETIC_CLASSES

LEAD = {name: i for i, name in enumerate(STANDARD_LEADS)}


@pytest.fixture(scope="module")
def data():
    return make_synthetic_ecg(n_patients=100, ecgs_per_patient=3, random_state=0)


@pytest.fixture(scope="module")
def clean():
    """All classes equally likely, no noise and no baseline wander."""
    return make_synthetic_ecg(
        n_patients=60, ecgs_per_patient=2, class_weights=[1] * 6, noise_level=0.0,
        baseline_wander=0.0, random_state=1,
    )


def slope_energy(x: np.ndarray, fs: float) -> np.ndarray:
    """Squared slope of the 5-25 Hz band, summed over leads: large on QRS complexes only."""
    sos = butter(2, [5, min(25, 0.45 * fs)], btype="band", fs=fs, output="sos")
    slope = np.diff(sosfiltfilt(sos, np.atleast_2d(x), axis=-1), axis=-1)
    return (slope**2).sum(0)


def detect_r_peaks(energy: np.ndarray, fs: float) -> np.ndarray:
    """QRS complexes: maxima of the smoothed slope energy at least 250 ms apart."""
    smooth = np.convolve(energy, np.ones(int(0.05 * fs)) / int(0.05 * fs), mode="same")
    peaks, _ = find_peaks(smooth, distance=int(0.25 * fs), height=0.25 * np.percentile(smooth, 99))
    return peaks


def rhythm_features(x: np.ndarray, fs: float) -> list[float]:
    """Heart rate, RR variability and QRS width estimated from the waveform alone."""
    energy = slope_energy(x, fs)
    peaks = detect_r_peaks(energy, fs)
    rr = np.diff(peaks) / fs
    half = int(0.15 * fs)
    width = np.median([np.sum(energy[max(p - half, 0):p + half] > 0.1 * energy[p]) for p in peaks])
    return [60.0 / rr.mean(), rr.std() / rr.mean(), np.abs(np.diff(rr)).mean() / rr.mean(), width / fs]


def test_bunch_contents(data):
    n = len(data.y)
    assert n == 300
    assert data.X.shape == (n, 12, 1000) and data.X.dtype == np.float32
    assert np.isfinite(data.X).all()
    assert data.y.dtype.kind == "i" and set(data.y) <= set(range(len(data.target_names)))
    assert data.target_names == list(SYNTHETIC_CLASSES)
    assert len(set(data.y)) == 6, "every class should occur in 300 ECGs"
    assert tuple(data.leads) == STANDARD_LEADS and data.fs == 100
    np.testing.assert_array_equal(data.patient_id, np.repeat(np.arange(100), 3))
    assert len(data.reports) == n and all(isinstance(r, str) and r for r in data.reports)
    assert len(data.r_peaks) == n
    meta = data.metadata
    assert isinstance(meta, pd.DataFrame) and len(meta) == n
    for column in ["patient_id", "age", "sex", "heart_rate", "qrs_duration", "class", "report"]:
        assert column in meta.columns
    np.testing.assert_array_equal(meta["patient_id"], data.patient_id)
    assert list(meta["class"]) == [data.target_names[k] for k in data.y]
    assert list(meta["report"]) == data.reports
    assert set(meta["sex"]) == {"F", "M"}
    assert meta["age"].between(18, 95).all()
    # Age and sex are traits of the patient.
    assert (meta.groupby("patient_id")[["age", "sex"]].nunique() == 1).all().all()
    # Millivolt scale: QRS complexes of a few mV at most.
    assert 0.3 < np.percentile(np.abs(data.X).max(axis=2), 50) < 5


def test_deterministic_and_seed_dependent():
    a = make_synthetic_ecg(4, 2, random_state=3)
    b = make_synthetic_ecg(4, 2, random_state=3)
    c = make_synthetic_ecg(4, 2, random_state=4)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert a.reports == b.reports
    pd.testing.assert_frame_equal(a.metadata, b.metadata)
    assert not np.array_equal(a.X, c.X)


def test_noise_levels_leave_the_ecgs_unchanged():
    """Noise and wander are additive and drawn whatever their level: the clean ECGs match."""
    clean = make_synthetic_ecg(5, 2, noise_level=0.0, baseline_wander=0.0, random_state=7)
    noisy = make_synthetic_ecg(5, 2, noise_level=0.05, baseline_wander=0.3, random_state=7)
    assert clean.reports == noisy.reports
    np.testing.assert_array_equal(clean.y, noisy.y)
    difference = noisy.X - clean.X
    assert 0.04 < difference[:, :, :].std() < 1.0
    # What was added is noise plus slow wander: its high-pass part is white noise of that level.
    high = np.diff(difference, axis=-1) / np.sqrt(2)
    assert high[:, LEAD["I"]].std() == pytest.approx(0.05 * np.sqrt(2), rel=0.15)


def test_return_X_y_and_ecg_count_range():
    X, y = make_synthetic_ecg(5, (1, 4), return_X_y=True, random_state=0)
    assert X.shape[0] == y.shape[0] and 5 <= len(y) <= 20
    counts = np.bincount(make_synthetic_ecg(40, (1, 4), random_state=0).patient_id)
    assert counts.min() >= 1 and counts.max() <= 4 and len(set(counts)) > 1


@pytest.mark.parametrize("noise", [(0.0, 0.0), (0.02, 0.2)])
def test_limb_leads_are_consistent(noise):
    """Einthoven and Goldberger relations hold exactly: noise is added at the electrodes."""
    X = make_synthetic_ecg(6, 1, noise_level=noise[0], baseline_wander=noise[1], random_state=0).X
    lead_i, lead_ii = X[:, LEAD["I"]], X[:, LEAD["II"]]
    np.testing.assert_allclose(X[:, LEAD["III"]], lead_ii - lead_i, atol=1e-5)
    np.testing.assert_allclose(X[:, LEAD["aVR"]], -(lead_i + lead_ii) / 2, atol=1e-5)
    np.testing.assert_allclose(X[:, LEAD["aVL"]], lead_i - lead_ii / 2, atol=1e-5)
    np.testing.assert_allclose(X[:, LEAD["aVF"]], lead_ii - lead_i / 2, atol=1e-5)
    # The precordial leads are not a combination of the limb leads (they see the Z axis).
    assert np.linalg.matrix_rank(X[0].astype(np.float64), tol=1e-3) >= 3


def _beats_match(found: np.ndarray, peaks: np.ndarray, n_samples: int, fs: float) -> bool:
    """Away from the edges (where a QRS may be cut), every beat is found, within its QRS."""
    edge = int(0.15 * fs)
    distance = np.abs(found[:, None] - peaks[None, :])
    inner_found = (found >= edge) & (found < n_samples - edge)
    inner_true = (peaks >= edge) & (peaks < n_samples - edge)
    return bool(
        distance[inner_found].min(axis=1).max() <= 0.08 * fs
        and distance[:, inner_true].min(axis=0).max() <= 0.08 * fs
    )


def test_heart_rate_matches_detected_beats(clean):
    fs, n_samples = clean.fs, clean.X.shape[2]
    on_lead_ii = []
    for x, peaks, hr in zip(clean.X, clean.r_peaks, clean.metadata["heart_rate"]):
        found = detect_r_peaks(slope_energy(x, fs), fs)
        assert _beats_match(found, peaks, n_samples, fs)
        # The metadata rate also counts the RR intervals that straddle the record's edges.
        assert 60.0 * fs / np.mean(np.diff(found)) == pytest.approx(hr, rel=0.12)
        found = detect_r_peaks(slope_energy(x[LEAD["II"]], fs), fs)
        on_lead_ii.append(
            _beats_match(found, peaks, n_samples, fs)
            and 60.0 * fs / np.mean(np.diff(found)) == pytest.approx(hr, rel=0.12)
        )
    # Lead II alone: a patient whose QRS axis is perpendicular to lead II has tiny QRS
    # complexes there (as in real ECGs), so a few records may fail; nearly all must not.
    assert np.mean(on_lead_ii) >= 0.95


def test_class_physiology(clean):
    meta = clean.metadata
    klass = meta["class"]
    hr = meta["heart_rate"]
    assert (hr[klass == "sinus bradycardia"] < 60).all()
    assert (hr[klass == "sinus tachycardia"] > 100).all()
    sinus = klass.isin(["normal sinus rhythm", "bundle branch block", "ST changes"])
    assert hr[sinus].between(60, 100).all()
    assert (meta["qrs_duration"][klass == "bundle branch block"] >= 120).all()
    assert (meta["qrs_duration"][klass != "bundle branch block"] < 120).all()
    # Atrial fibrillation: irregularly irregular RR intervals; sinus rhythm: nearly regular.
    irregularity = np.array(
        [np.abs(np.diff(np.diff(p))).mean() / np.diff(p).mean() for p in clean.r_peaks]
    )
    assert irregularity[klass == "atrial fibrillation"].min() > irregularity[sinus].max()


def _median_beats(data, before=0.25, after=0.45):
    """Each ECG's median beat around its R peaks (12 leads, baseline removed), flattened."""
    fs = data.fs
    a, b = int(before * fs), int(after * fs)
    out = []
    for x, peaks in zip(data.X, data.r_peaks):
        peaks = peaks[(peaks >= a) & (peaks < x.shape[1] - b)]
        beat = np.median(np.stack([x[:, p - a:p + b] for p in peaks]), axis=0)
        out.append((beat - np.median(beat, axis=1, keepdims=True)).ravel())
    return np.array(out)


def test_patients_are_recognisable_from_their_beats():
    data = make_synthetic_ecg(
        25, 3, classes=["normal sinus rhythm"], noise_level=0.0, baseline_wander=0.0, random_state=2
    )
    corr = np.corrcoef(_median_beats(data))
    same = data.patient_id[:, None] == data.patient_id[None, :]
    np.fill_diagonal(same, False)
    different = data.patient_id[:, None] != data.patient_id[None, :]
    assert corr[same].mean() > corr[different].mean() + 0.1
    np.fill_diagonal(corr, -np.inf)
    nearest = corr.argmax(axis=1)
    assert np.mean(data.patient_id[nearest] == data.patient_id) > 0.9


KEYWORDS = {
    "normal sinus rhythm": r"sinus rhythm.*normal",
    "atrial fibrillation": r"atrial fibrillation",
    "bundle branch block": r"(left|right) bundle branch block",
    "ST changes": r"\bST (segment )?(elevation|depression)|T wave inversion|inverted T waves",
    "sinus bradycardia": r"sinus bradycardia",
    "sinus tachycardia": r"sinus tachycardia",
}


def test_reports_name_the_class_and_rate(data):
    for report, k, hr in zip(data.reports, data.y, data.metadata["heart_rate"]):
        klass = data.target_names[k]
        assert re.search(KEYWORDS[klass], report), (klass, report)
        others = [c for c in SYNTHETIC_CLASSES if c not in (klass, "normal sinus rhythm")]
        assert not any(re.search(KEYWORDS[c], report) for c in others), (klass, report)
        assert re.search(rf"\b{int(round(hr))}\b", report), (hr, report)
    # Wording varies: more than one phrasing per class.
    for k in range(len(data.target_names)):
        reports = [r for r, yk in zip(data.reports, data.y) if yk == k]
        templates = {re.sub(r"\d+", "#", r) for r in reports}
        assert len(templates) > 1


@pytest.mark.parametrize("fs, duration", [(500, 5.0), (360, 2.5), (50, 10.0), (257, 3.3)])
def test_any_sampling_rate_and_duration(fs, duration):
    data = make_synthetic_ecg(6, 1, fs=fs, duration=duration, random_state=0)
    n_samples = int(round(fs * duration))
    assert data.X.shape == (6, 12, n_samples) and data.fs == fs
    assert np.isfinite(data.X).all()
    for peaks in data.r_peaks:
        assert len(peaks) >= 1 and peaks.min() >= 0 and peaks.max() < n_samples
    # A wave's shape does not depend on the sampling rate: compare with 1000 Hz, decimated.
    fine = make_synthetic_ecg(
        6, 1, fs=1000, duration=duration, noise_level=0.0, baseline_wander=0.0, random_state=0
    )
    coarse = make_synthetic_ecg(
        6, 1, fs=fs, duration=duration, noise_level=0.0, baseline_wander=0.0, random_state=0
    )
    t = np.arange(n_samples) / fs
    resampled = fine.X[:, :, np.minimum(np.round(t * 1000).astype(int), fine.X.shape[2] - 1)]
    # Same beats at the same times (sampling a sharp QRS at 50 Hz misses part of its peak).
    assert np.corrcoef(resampled.ravel(), coarse.X.ravel())[0, 1] > 0.95


def test_classes_subset_weights_and_switching():
    data = make_synthetic_ecg(
        30, 3, classes=["Atrial Fibrillation", "normal sinus rhythm"], class_weights=[3, 1],
        class_switch_prob=0.0, random_state=0,
    )
    assert data.target_names == ["atrial fibrillation", "normal sinus rhythm"]
    assert set(data.y) == {0, 1}
    assert np.mean(data.y == 0) > 0.55
    # Without switching, every ECG of a patient has the patient's class.
    assert (data.metadata.groupby("patient_id")["class"].nunique() == 1).all()
    switching = make_synthetic_ecg(40, 4, class_switch_prob=0.5, random_state=0)
    assert (switching.metadata.groupby("patient_id")["class"].nunique() > 1).any()
    only = make_synthetic_ecg(5, 2, class_weights={"ST changes": 1.0}, random_state=0)
    assert set(only.metadata["class"]) == {"ST changes"}


def test_not_linearly_separable_from_raw_samples(data):
    """Beats fall at random times: a linear model on the raw samples is far from perfect."""
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    flat = data.X.reshape(len(data.X), -1)
    raw = cross_val_score(LogisticRegression(max_iter=300), flat, data.y, cv=cv).mean()
    assert raw < 0.6
    # ...but the classes are there: three rhythm features and a forest do much better.
    features = np.array([rhythm_features(x, data.fs) for x in data.X])
    forest = RandomForestClassifier(n_estimators=100, random_state=0)
    recognised = cross_val_score(forest, features, data.y, cv=cv).mean()
    chance = np.bincount(data.y).max() / len(data.y)
    assert recognised > max(0.65, raw + 0.25, chance + 0.35)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"classes": ["ventricular tachycardia"]}, "Unknown class"),
        ({"classes": []}, "non-empty"),
        ({"class_weights": [1, 2]}, "one weight per class"),
        ({"class_weights": {"flutter": 1}}, "not generated"),
        ({"class_weights": [0] * 6}, "positive sum"),
        ({"fs": 20}, "at least 50 Hz"),
        ({"fs": -1}, "fs must be a positive"),
        ({"duration": 0.001}, "at least one sample"),
        ({"n_patients": 0}, "n_patients"),
        ({"ecgs_per_patient": (3, 1)}, "min <= max"),
        ({"ecgs_per_patient": 1.5}, "ecgs_per_patient"),
        ({"noise_level": -0.1}, "noise_level"),
        ({"class_switch_prob": 2}, "class_switch_prob"),
    ],
)
def test_invalid_parameters(kwargs, message):
    params = {"n_patients": 2, "ecgs_per_patient": 1, **kwargs}
    with pytest.raises(ValueError, match=message):
        make_synthetic_ecg(**params)
