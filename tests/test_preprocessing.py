"""Tests of the preprocessing transformers: what changes, what is kept, Pipeline use, errors."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import sosfilt
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ecg._validation import STANDARD_LEADS
from sklearn_ecg.datasets import make_synthetic_ecg
from sklearn_ecg.preprocessing import (
    BandpassFilter,
    BaselineWanderRemoval,
    FixedLengthCrop,
    LeadSelector,
    LeadStandardScaler,
    Resample,
    Windowing,
    sliding_windows,
)
from sklearn_ecg.preprocessing import _base as preprocessing_base

FS = 100


@pytest.fixture(scope="module")
def ecgs():
    return make_synthetic_ecg(8, 2, fs=FS, duration=10.0, random_state=0)


def sines(freqs, fs, n_samples, n_ecgs=2, n_leads=3):
    """ECGs whose every lead is a sum of unit sines at ``freqs`` (Hz)."""
    t = np.arange(n_samples) / fs
    x = sum(np.sin(2 * np.pi * f * t) for f in freqs)
    return np.broadcast_to(x, (n_ecgs, n_leads, n_samples)).astype(np.float32)


# Every transformer, configured for 12-lead ECGs of 1000 samples at 100 Hz.
TRANSFORMERS = [
    Resample(fs=FS, fs_out=250),
    Resample(n_samples=512, method="linear"),
    BandpassFilter(fs=FS, low=0.5, high=40),
    BaselineWanderRemoval(fs=FS),
    BaselineWanderRemoval(fs=FS, method="highpass"),
    LeadSelector(["V1", "II"]),
    LeadStandardScaler(),
    FixedLengthCrop(700, position="random", random_state=0),
    Windowing(250, 125),
]
IDS = [repr(t) for t in TRANSFORMERS]


# -------------------------------------------------------------------------------------------
# Shared behaviour
# -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
def test_common_contract(transformer, ecgs, tmp_path):
    X = ecgs.X
    # __init__ stores parameters only; clone gives an unfitted copy with equal parameters.
    copy = clone(transformer)
    assert copy.get_params() == transformer.get_params()
    assert not hasattr(copy, "n_leads_in_")
    with pytest.raises(NotFittedError):
        copy.transform(X)
    out = copy.fit_transform(X)
    assert out.dtype == np.float32 and out.ndim == 3 and np.isfinite(out).all()
    assert copy.n_leads_in_ == 12 and copy.n_samples_in_ == 1000
    np.testing.assert_array_equal(copy.transform(X), out)  # deterministic
    # Pickling keeps the fitted state.
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(copy)).transform(X), out)
    # A lazy array-like (memmap) gives the same result as the array, read in small batches.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(preprocessing_base, "_BATCH", 3)
        lazy = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=X.shape)
        lazy[:] = X
        np.testing.assert_allclose(clone(transformer).fit(lazy).transform(lazy), out, atol=1e-5)
    # The input is not modified in place.
    np.testing.assert_array_equal(X, ecgs.X)


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
def test_common_errors(transformer, ecgs):
    X = ecgs.X
    fitted = clone(transformer).fit(X)
    with pytest.raises(ValueError, match="leads"):
        fitted.transform(X[:, :6])
    bad = X.copy()
    bad[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clone(transformer).fit(bad)
    with pytest.raises(ValueError, match="NaN"):
        fitted.transform(bad)
    with pytest.raises(ValueError, match="3-D"):
        clone(transformer).fit(X[0, 0])
    with pytest.raises(ValueError, match="empty"):
        clone(transformer).fit(X[:0])


def test_two_dimensional_input_is_one_lead(ecgs):
    lead_ii = ecgs.X[:, 1]
    out = BandpassFilter(fs=FS).fit_transform(lead_ii)
    assert out.shape == (len(lead_ii), 1, 1000)
    np.testing.assert_allclose(out[:, 0], BandpassFilter(fs=FS).fit_transform(ecgs.X)[:, 1], atol=1e-6)


def test_pipeline_and_grid_search(ecgs):
    flatten = FunctionTransformer(lambda X: X.reshape(len(X), -1))
    pipe = make_pipeline(
        BaselineWanderRemoval(fs=500),
        BandpassFilter(fs=500, high=40),
        Resample(fs=500, fs_out=100),
        LeadSelector(["I", "II", "V1", "V5"]),
        FixedLengthCrop(400, position="center"),
        LeadStandardScaler(),
        flatten,
        LogisticRegression(max_iter=200),
    )
    data = make_synthetic_ecg(
        10, 2, fs=500, duration=5.0, classes=["normal sinus rhythm", "atrial fibrillation"],
        class_weights=[1, 1], random_state=1,
    )
    assert np.bincount(data.y).min() >= 4
    pipe.fit(data.X, data.y)
    assert pipe.predict(data.X).shape == (20,)
    assert pipe[:-2].transform(data.X).shape == (20, 4, 400)
    search = GridSearchCV(pipe, {"bandpassfilter__high": [30.0, 40.0]}, cv=2).fit(data.X, data.y)
    assert search.best_params_["bandpassfilter__high"] in (30.0, 40.0)


# Expected failures of scikit-learn's generic checks (which see 2-D X as one lead of n_features
# samples), and why each is right for ECG transformers.
EXPECTED_FAILED_CHECKS = {
    "check_n_features_in": "the input is described by n_leads_in_ and n_samples_in_ instead",
    "check_n_features_in_after_fitting": "same: n_leads_in_ and n_samples_in_, no n_features_in_",
    "check_transformer_general": "records of another length (more 'features') are valid input",
    "check_transformer_preserve_dtypes": "ECG arrays are float32 throughout the library",
}
WINDOWING_FAILED_CHECKS = {
    **EXPECTED_FAILED_CHECKS,
    "check_transformer_data_not_an_array": "returns n_windows rows per input row",
    "check_methods_sample_order_invariance": "rows are windows, grouped by ECG",
}


def _expected_failures(estimator):
    return WINDOWING_FAILED_CHECKS if isinstance(estimator, Windowing) else EXPECTED_FAILED_CHECKS


# The filters are left out: the generic checks use records of 2 to 5 samples, too short for
# a zero-phase filter (which rejects them with a clear error, tested below).
@parametrize_with_checks(
    [
        Resample(fs=100, fs_out=50),
        Resample(n_samples=7, method="linear"),
        BaselineWanderRemoval(fs=100),
        LeadSelector(["I"]),
        LeadStandardScaler(),
        FixedLengthCrop(3, position="random", random_state=0),
        Windowing(2),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# -------------------------------------------------------------------------------------------
# Resample
# -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["polyphase", "linear"])
@pytest.mark.parametrize("fs, fs_out", [(500, 100), (100, 360), (257, 100), (100, 100)])
def test_resample_rate_keeps_the_waveform(method, fs, fs_out):
    X = sines([1.3, 4.0], fs, int(5 * fs))
    out = Resample(fs=fs, fs_out=fs_out, method=method).fit_transform(X)
    n_out = int(round(5 * fs * fs_out / fs))
    assert out.shape == (2, 3, n_out)
    expected = sines([1.3, 4.0], fs_out, n_out)
    inner = slice(n_out // 10, -n_out // 10)  # away from the edge effects of the filter
    np.testing.assert_allclose(out[..., inner], expected[..., inner], atol=0.02)


@pytest.mark.parametrize("params", [{"fs": 500, "fs_out": 100}, {"fs": 100, "fs_out": 257},
                                    {"n_samples": 4096}, {"n_samples": 333, "method": "linear"}])
def test_resample_keeps_offsets_and_slopes_up_to_the_edges(params):
    t = np.arange(1000) / 1000
    X = np.stack([np.full(1000, 1.7), 0.3 - 2 * t])[None].astype(np.float32)
    out = Resample(**params).fit_transform(X)
    np.testing.assert_allclose(out[0, 0], 1.7, atol=5e-3)  # 0.1 % ripple of upsampling
    np.testing.assert_allclose(out[0, 1], np.linspace(0.3, -1.7, out.shape[-1]), atol=0.01)


def test_resample_polyphase_filters_aliases_and_linear_does_not():
    """A 70 Hz tone sampled at 500 Hz cannot be represented at 100 Hz."""
    X = sines([70.0], 500, 5000)
    polyphase = Resample(fs=500, fs_out=100).fit_transform(X)
    linear = Resample(fs=500, fs_out=100, method="linear").fit_transform(X)
    assert np.abs(polyphase[..., 50:-50]).max() < 0.05
    assert np.abs(linear).max() > 0.5


def test_resample_to_length_like_pclr():
    X = make_synthetic_ecg(3, 1, fs=500, duration=10.0, random_state=0).X
    out = Resample(n_samples=4096, method="linear").fit_transform(X)
    pclr = np.interp(np.linspace(0, 1, 4096), np.linspace(0, 1, 5000), X[1, 7])
    np.testing.assert_allclose(out[1, 7], pclr, atol=1e-5)
    resampler = Resample(n_samples=4096).fit(X)
    assert (resampler.up_, resampler.down_, resampler.n_samples_out_) == (512, 625, 4096)
    polyphase = resampler.transform(X)
    assert polyphase.shape == (3, 12, 4096)
    assert np.corrcoef(polyphase[1, 7], pclr)[0, 1] > 0.99
    # Another input length is stretched to the same output length.
    assert resampler.transform(X[..., :4321]).shape == (3, 12, 4096)


@pytest.mark.parametrize(
    "params, message",
    [
        ({}, "exactly one of fs_out"),
        ({"fs": 500, "fs_out": 100, "n_samples": 10}, "exactly one of fs_out"),
        ({"fs_out": 100}, "needs the input sampling rate fs"),
        ({"fs": -5, "fs_out": 100}, "fs must be a positive"),
        ({"fs": 500, "fs_out": 0}, "fs_out must be a positive"),
        ({"n_samples": 0}, "n_samples must be a positive integer"),
        ({"n_samples": 100, "method": "cubic"}, "method must be"),
    ],
)
def test_resample_errors(params, message, ecgs):
    with pytest.raises(ValueError, match=message):
        Resample(**params).fit(ecgs.X)


# -------------------------------------------------------------------------------------------
# Filters
# -------------------------------------------------------------------------------------------


def test_bandpass_keeps_the_band_and_removes_the_rest():
    fs, n = 500, 5000
    X = sines([0.05, 10.0, 120.0], fs, n)
    out = BandpassFilter(fs=fs, low=0.5, high=40).fit_transform(X)
    inner = slice(1000, -1000)
    np.testing.assert_allclose(out[..., inner], sines([10.0], fs, n)[..., inner], atol=0.05)
    highpass = BandpassFilter(fs=fs, low=0.5, high=None).fit_transform(X)
    np.testing.assert_allclose(highpass[..., inner], sines([10.0, 120.0], fs, n)[..., inner], atol=0.05)
    lowpass = BandpassFilter(fs=fs, low=None, high=40).fit_transform(X)
    np.testing.assert_allclose(lowpass[..., inner], sines([0.05, 10.0], fs, n)[..., inner], atol=0.05)


def _lag(a: np.ndarray, b: np.ndarray, max_lag: int = 20) -> int:
    """The shift (samples) of ``b`` relative to ``a`` that correlates best."""
    a, b = a - a.mean(), b - b.mean()
    lags = range(-max_lag, max_lag + 1)
    scores = [np.dot(a[max_lag:-max_lag], np.roll(b, -k)[max_lag:-max_lag]) for k in lags]
    return list(lags)[int(np.argmax(scores))]


def test_bandpass_is_zero_phase():
    """Waves stay where they were: the filter runs forwards and backwards."""
    X = make_synthetic_ecg(4, 1, fs=500, noise_level=0.0, baseline_wander=0.0, random_state=2).X
    bandpass = BandpassFilter(fs=500, low=0.5, high=25, order=4).fit(X)
    out = bandpass.transform(X)
    causal = sosfilt(bandpass.sos_, X.astype(np.float64), axis=-1)
    for x, y, c in zip(X[:, 1], out[:, 1], causal[:, 1]):
        assert _lag(x, y) == 0
        assert _lag(x, c) >= 2  # a one-way filter would delay the waves


@pytest.mark.parametrize(
    "params, message",
    [
        ({"fs": None}, "needs the sampling rate"),
        ({"fs": 100, "high": 50}, r"not below the Nyquist frequency fs/2 = 50 Hz"),
        ({"fs": 100, "low": 60, "high": None}, "Nyquist"),
        ({"fs": 100, "low": 20, "high": 10}, "low must be below high"),
        ({"fs": 100, "low": None, "high": None}, "both are None"),
        ({"fs": 100, "low": -1}, "positive cutoff"),
        ({"fs": 100, "order": 0}, "order must be a positive integer"),
    ],
)
def test_bandpass_errors(params, message, ecgs):
    with pytest.raises(ValueError, match=message):
        BandpassFilter(**params).fit(ecgs.X)


def test_filters_reject_too_short_records(ecgs):
    with pytest.raises(ValueError, match="too short"):
        BandpassFilter(fs=FS, order=4).fit(ecgs.X[..., :20])
    fitted = BandpassFilter(fs=FS).fit(ecgs.X)
    with pytest.raises(ValueError, match="too short"):
        fitted.transform(ecgs.X[..., :10])


@pytest.mark.parametrize("method", ["median", "highpass"])
def test_baseline_wander_removal(method):
    clean = make_synthetic_ecg(6, 1, fs=250, noise_level=0.0, baseline_wander=0.0, random_state=3).X
    wandering = make_synthetic_ecg(6, 1, fs=250, noise_level=0.0, baseline_wander=0.3, random_state=3).X
    wander = wandering - clean
    remover = BaselineWanderRemoval(fs=250, method=method).fit(wandering)
    residual = remover.transform(wandering) - remover.transform(clean)
    inner = slice(250, -250)
    assert np.sqrt(np.mean(residual[..., inner] ** 2)) < 0.15 * np.sqrt(np.mean(wander**2))
    # The QRS complexes survive: the cleaned ECG still looks like the clean one.
    cleaned = remover.transform(wandering)[..., inner].ravel()
    assert np.corrcoef(cleaned, clean[..., inner].ravel())[0, 1] > 0.9


def test_baseline_wander_removal_errors(ecgs):
    with pytest.raises(ValueError, match="needs the sampling rate"):
        BaselineWanderRemoval().fit(ecgs.X)
    with pytest.raises(ValueError, match="method must be"):
        BaselineWanderRemoval(fs=FS, method="wavelet").fit(ecgs.X)
    with pytest.raises(ValueError, match="windows must be positive"):
        BaselineWanderRemoval(fs=FS, windows=(0.2, -1)).fit(ecgs.X)
    with pytest.raises(ValueError, match="Nyquist"):
        BaselineWanderRemoval(fs=FS, method="highpass", cutoff=60).fit(ecgs.X)


# -------------------------------------------------------------------------------------------
# Leads
# -------------------------------------------------------------------------------------------


def test_lead_selector_selects_and_reorders_by_name(ecgs):
    X = ecgs.X
    selector = LeadSelector(["v5", "AVR", "MLII"]).fit(X)
    assert selector.leads_ == ("V5", "aVR", "II")
    assert selector.input_leads_ == STANDARD_LEADS and selector.missing_leads_ == ()
    out = selector.transform(X)
    np.testing.assert_array_equal(out, X[:, [10, 3, 1]])
    # The default conforms to the 12 standard leads: the identity on standard input.
    np.testing.assert_array_equal(LeadSelector().fit_transform(X), X)


def test_lead_selector_custom_input_and_missing_leads(ecgs):
    three = ecgs.X[:, [6, 0, 1]]  # V1, I, II
    selector = LeadSelector(["I", "II", "III", "V1"], input_leads=["v1", "i", "ii"], missing="zero")
    out = selector.fit_transform(three)
    assert selector.missing_leads_ == ("III",)
    np.testing.assert_array_equal(out[:, 0], ecgs.X[:, 0])
    np.testing.assert_array_equal(out[:, 3], ecgs.X[:, 6])
    assert not out[:, 2].any()
    with pytest.raises(ValueError, match=r"\['III'\] are not in the input.*missing='zero'"):
        LeadSelector(["I", "III"], input_leads=["v1", "i", "ii"]).fit(three)
    with pytest.raises(ValueError, match="3 leads but 2 lead names"):
        LeadSelector(["I"], input_leads=["I", "II"]).fit(three)
    with pytest.raises(ValueError, match="unique"):
        LeadSelector(["I", "i"]).fit(ecgs.X)
    with pytest.raises(ValueError, match="missing must be"):
        LeadSelector(["I"], missing="drop").fit(ecgs.X)
    with pytest.raises(ValueError, match="at least one lead"):
        LeadSelector([]).fit(ecgs.X)


def test_lead_standard_scaler(ecgs):
    X = ecgs.X.copy()
    X[:, 4] = 0.7  # a flat lead
    scaler = LeadStandardScaler().fit(X)
    np.testing.assert_allclose(scaler.mean_, X.astype(np.float64).mean(axis=(0, 2)), atol=1e-6)
    std = X.astype(np.float64).std(axis=(0, 2))
    np.testing.assert_allclose(scaler.scale_[std > 0], std[std > 0], rtol=1e-5)
    assert scaler.scale_[4] == 1.0
    Z = scaler.transform(X)
    keep = np.arange(12) != 4
    np.testing.assert_allclose(Z[:, keep].mean(axis=(0, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(Z[:, keep].std(axis=(0, 2)), 1, atol=1e-4)
    assert np.allclose(Z[:, 4], 0)
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, atol=1e-5)
    # Each ECG keeps its shape: per lead, a positive affine map of the original.
    assert np.corrcoef(Z[3, 1], X[3, 1])[0, 1] > 0.9999
    # The statistics are those of fit's data, not of transform's.
    shifted = scaler.transform(X + 1.0)
    expected = np.broadcast_to(1.0 / scaler.scale_[None, :, None], Z.shape)
    np.testing.assert_allclose(shifted - Z, expected, rtol=1e-4)
    no_mean = LeadStandardScaler(with_mean=False).fit(X)
    assert not no_mean.mean_.any()
    no_std = LeadStandardScaler(with_std=False).fit(X)
    np.testing.assert_array_equal(no_std.scale_, np.ones(12))


# -------------------------------------------------------------------------------------------
# Length and windows
# -------------------------------------------------------------------------------------------


def test_fixed_length_crop_positions(ecgs):
    X = ecgs.X
    np.testing.assert_array_equal(FixedLengthCrop(300).fit_transform(X), X[..., :300])
    np.testing.assert_array_equal(FixedLengthCrop(300, "center").fit_transform(X), X[..., 350:650])
    np.testing.assert_array_equal(FixedLengthCrop(300, "end").fit_transform(X), X[..., 700:])
    crop = FixedLengthCrop(300, "random", random_state=0).fit(X)
    out = crop.transform(X)
    np.testing.assert_array_equal(out, crop.transform(X))  # an int seed: the same crops
    starts = []
    for x, o in zip(X, out):
        found = [s for s in range(701) if np.array_equal(x[:, s:s + 300], o)]
        assert found, "a random crop is a contiguous stretch of its ECG"
        starts.append(found[0])
    assert len(set(starts)) > 1, "ECGs are cropped at different places"


def test_fixed_length_crop_pads_with_zeros(ecgs):
    X = ecgs.X[..., :800]
    start = FixedLengthCrop(1000).fit_transform(X)
    np.testing.assert_array_equal(start[..., :800], X)
    assert not start[..., 800:].any()
    center = FixedLengthCrop(1000, "center").fit_transform(X)
    np.testing.assert_array_equal(center[..., 100:900], X)
    assert not center[..., :100].any() and not center[..., 900:].any()
    end = FixedLengthCrop(1000, "end").fit_transform(X)
    np.testing.assert_array_equal(end[..., 200:], X)
    # Fitted on long ECGs, a transformer still pads short ones.
    assert FixedLengthCrop(900).fit(ecgs.X).transform(X).shape == (16, 12, 900)


def test_fixed_length_crop_errors(ecgs):
    with pytest.raises(ValueError, match=r"800 samples per lead, fewer than n_samples=1000.*pad='zero'"):
        FixedLengthCrop(1000, pad=None).fit(ecgs.X[..., :800])
    fitted = FixedLengthCrop(900, pad=None).fit(ecgs.X)
    with pytest.raises(ValueError, match="fewer than n_samples"):
        fitted.transform(ecgs.X[..., :800])
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        FixedLengthCrop().fit(ecgs.X)
    with pytest.raises(ValueError, match="position must be"):
        FixedLengthCrop(100, position="middle").fit(ecgs.X)
    with pytest.raises(ValueError, match="pad must be"):
        FixedLengthCrop(100, pad="edge").fit(ecgs.X)


@pytest.mark.parametrize(
    "window, stride, cover_end, starts",
    [
        (250, 125, True, [0, 125, 250, 375, 500, 625, 750]),
        (300, None, True, [0, 300, 600, 700]),
        (300, None, False, [0, 300, 600]),
        (1000, 7, True, [0]),
    ],
)
def test_sliding_windows_and_windowing(window, stride, cover_end, starts, ecgs):
    X = ecgs.X
    windows, record = sliding_windows(X, window, stride, cover_end)
    assert windows.shape == (len(X) * len(starts), 12, window)
    np.testing.assert_array_equal(record, np.repeat(np.arange(len(X)), len(starts)))
    for row in [0, len(starts) - 1, len(windows) - 1]:
        s = starts[row % len(starts)]
        np.testing.assert_array_equal(windows[row], X[record[row], :, s:s + window])
    windowing = Windowing(window, stride, cover_end).fit(X)
    assert windowing.n_windows_ == len(starts)
    np.testing.assert_array_equal(windowing.transform(X), windows)
    np.testing.assert_array_equal(windowing.record_index(X), record)
    # Per-window values average back to one value per ECG with the record index.
    means = windows.mean(axis=(1, 2))
    per_ecg = np.bincount(record, weights=means) / np.bincount(record)
    assert per_ecg.shape == (len(X),)


def test_windowing_errors(ecgs):
    with pytest.raises(ValueError, match="too short"):
        Windowing(2000).fit(ecgs.X)
    with pytest.raises(ValueError, match="too short"):
        sliding_windows(ecgs.X, 2000)
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        Windowing(100, stride=0).fit(ecgs.X)
    with pytest.raises(ValueError, match="window must be a positive integer"):
        sliding_windows(ecgs.X, 2.5)
    with pytest.raises(NotFittedError):
        Windowing(100).record_index(ecgs.X)


def test_preprocessing_imports_no_torch():
    # sklearn_ecg/__init__.py imports the torch estimators, so a stand-in parent package
    # (same path, empty module) lets the import below load only what preprocessing itself needs.
    package_dir = Path(preprocessing_base.__file__).resolve().parents[1]
    code = (
        "import sys, types\n"
        "parent = types.ModuleType('sklearn_ecg')\n"
        f"parent.__path__ = [{str(package_dir)!r}]\n"
        "sys.modules['sklearn_ecg'] = parent\n"
        "import sklearn_ecg.preprocessing\n"
        "assert sklearn_ecg.preprocessing.Resample.__module__ == 'sklearn_ecg.preprocessing._resample'\n"
        "print(sorted(name for name in ('torch', 'skorch') if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_set_output_pandas_passes_ecg_arrays_through():
    from sklearn.pipeline import make_pipeline

    from sklearn_ecg.datasets import make_synthetic_ecg
    from sklearn_ecg.preprocessing import BandpassFilter
    from sklearn_ecg.testing import tiny_estimator

    data = make_synthetic_ecg(n_patients=8, ecgs_per_patient=2, fs=100, random_state=0)
    pipe = make_pipeline(BandpassFilter(fs=100), tiny_estimator("pclr")).set_output(transform="pandas")
    embeddings = pipe.fit(data.X).transform(data.X)
    assert list(embeddings.columns[:2]) == ["pclrtransformer0", "pclrtransformer1"]
    assert BandpassFilter(fs=100).set_output(transform="pandas").fit_transform(data.X).shape == data.X.shape
