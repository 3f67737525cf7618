"""Tests of make_deepfake_ecg: units, leads, determinism, torch's RNG, the cache and the import."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest
import torch
from scipy.signal import find_peaks, resample_poly

from sklearn_ecg._validation import STANDARD_LEADS
from sklearn_ecg.datasets import _deepfake, make_deepfake_ecg

# Every test but the one of the missing package needs the optional extra.
needs_package = pytest.mark.skipif(importlib.util.find_spec("deepfakeecg") is None,
                                   reason='needs the optional extra: pip install "sklearn-ecg[deepfake]"')

LEAD = {name: i for i, name in enumerate(STANDARD_LEADS)}


@pytest.fixture(scope="module")
def ecgs() -> np.ndarray:
    return make_deepfake_ecg(4, random_state=0)


@needs_package
def test_shape_dtype_and_millivolts(ecgs):
    assert ecgs.shape == (4, 12, 5000) and ecgs.dtype == np.float32
    assert np.all(np.isfinite(ecgs))
    assert np.abs(ecgs).max() <= _deepfake.OUTPUT_TO_MV  # tanh output x 6 mV
    lead_ii = ecgs[:, LEAD["II"]]
    r_wave = lead_ii.max(axis=1) - np.median(lead_ii, axis=1)
    # R waves of lead II in real ECGs: about 0.5-2 mV (PTB-XL's median 0.95 mV). Microvolts or
    # volts would miss this by a factor of 1000.
    assert np.all((r_wave > 0.3) & (r_wave < 3.0)), r_wave
    for ecg in lead_ii:  # one heartbeat every 0.4-1.5 s over 10 s
        peaks, _ = find_peaks(ecg, height=np.median(ecg) + 0.6 * (ecg.max() - np.median(ecg)),
                              distance=int(0.3 * 500))
        assert 6 <= len(peaks) <= 25, len(peaks)
    # Not one ECG repeated: the four differ.
    assert min(np.abs(ecgs[i] - ecgs[j]).max() for i in range(4) for j in range(i)) > 0.1


@needs_package
def test_derived_leads_hold_exactly(ecgs):
    lead_i, lead_ii = ecgs[:, LEAD["I"]], ecgs[:, LEAD["II"]]
    np.testing.assert_array_equal(ecgs[:, LEAD["III"]], lead_ii - lead_i)
    np.testing.assert_array_equal(ecgs[:, LEAD["aVR"]], -(lead_i + lead_ii) / np.float32(2))
    np.testing.assert_array_equal(ecgs[:, LEAD["aVL"]], lead_i - lead_ii / np.float32(2))
    np.testing.assert_array_equal(ecgs[:, LEAD["aVF"]], lead_ii - lead_i / np.float32(2))
    # The precordial leads are generated, not derived: not a combination of I and II.
    basis = np.stack([lead_i[0], lead_ii[0]], axis=1)
    residual = np.linalg.lstsq(basis, ecgs[0, LEAD["V2"]], rcond=None)[1]
    assert residual[0] > 1.0


@needs_package
def test_deterministic_and_independent_of_batch_size(ecgs):
    np.testing.assert_array_equal(make_deepfake_ecg(4, random_state=0, batch_size=3), ecgs)
    np.testing.assert_array_equal(make_deepfake_ecg(4, random_state=np.random.RandomState(0),
                                                    batch_size=1), ecgs)
    # ECG i is the i-th draw of one stream: a smaller call gives the first ECGs of a larger one.
    np.testing.assert_array_equal(make_deepfake_ecg(2, random_state=0), ecgs[:2])
    assert not np.allclose(make_deepfake_ecg(2, random_state=1), ecgs[:2])


@needs_package
def test_torch_global_rng_untouched():
    _deepfake._load_generator.cache_clear()  # building the network must not draw either
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    make_deepfake_ecg(2, random_state=0)
    assert torch.equal(torch.random.get_rng_state(), state)


@needs_package
def test_resampled_to_100_hz(ecgs):
    X = make_deepfake_ecg(4, fs=100, random_state=0)
    assert X.shape == (4, 12, 1000) and X.dtype == np.float32
    expected = resample_poly(ecgs.astype(np.float64), 1, 5, axis=-1)
    np.testing.assert_allclose(X, expected, atol=1e-4)
    np.testing.assert_array_equal(X[:, LEAD["III"]], X[:, LEAD["II"]] - X[:, LEAD["I"]])


@needs_package
def test_cache_round_trip_and_reuse(tmp_path, monkeypatch, ecgs):
    X = make_deepfake_ecg(4, random_state=0, cache=tmp_path)
    assert isinstance(X, np.memmap) and X.mode == "r" and not X.flags.writeable
    np.testing.assert_array_equal(X, ecgs)
    data = tmp_path / "deepfake_ecg-n4-fs500-seed0.npy"
    sidecar = data.with_suffix(".json")
    assert sorted(p.name for p in tmp_path.iterdir()) == [sidecar.name, data.name]
    note = json.loads(sidecar.read_text())
    assert note["n_ecgs"] == 4 and note["fs"] == 500 and note["random_state"] == 0
    assert note["units"] == "mV" and note["leads"] == list(STANDARD_LEADS)
    assert note["deepfake_ecg_version"]

    def no_generation(*args, **kwargs):
        raise AssertionError("generated again instead of reading the cache")

    monkeypatch.setattr(_deepfake, "_generate_into", no_generation)
    again = make_deepfake_ecg(4, random_state=0, cache=str(tmp_path), batch_size=1)
    assert isinstance(again, np.memmap) and again.mode == "r"
    np.testing.assert_array_equal(again, ecgs)
    # Other arguments are another file: generated, not read from this one.
    with pytest.raises(AssertionError, match="generated again"):
        make_deepfake_ecg(4, random_state=1, cache=tmp_path)
    with pytest.raises(AssertionError, match="generated again"):
        make_deepfake_ecg(3, random_state=0, cache=tmp_path)


@needs_package
def test_cache_written_with_other_settings_raises(tmp_path):
    make_deepfake_ecg(2, fs=100, random_state=0, cache=tmp_path)
    sidecar = tmp_path / "deepfake_ecg-n2-fs100-seed0.json"
    note = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**note, "deepfake_ecg_version": "0.0.1"}))
    with pytest.raises(ValueError, match=r"other settings \(deepfake_ecg_version: cached '0.0.1'"):
        make_deepfake_ecg(2, fs=100, random_state=0, cache=tmp_path)
    with pytest.raises(ValueError, match="int random_state"):
        make_deepfake_ecg(2, random_state=None, cache=tmp_path)
    with pytest.raises(ValueError, match="must be a folder"):
        make_deepfake_ecg(2, random_state=0, cache=sidecar)


@needs_package
def test_interrupted_cache_write_leaves_nothing_complete(tmp_path, monkeypatch, ecgs):
    real = _deepfake._generate_into

    def interrupted(X, *args, **kwargs):
        X[:] = 1.0
        raise KeyboardInterrupt

    monkeypatch.setattr(_deepfake, "_generate_into", interrupted)
    with pytest.raises(KeyboardInterrupt):
        make_deepfake_ecg(4, random_state=0, cache=tmp_path)
    assert list(tmp_path.iterdir()) == []  # the temporary file is removed
    # A data file without its sidecar (a write killed between the two moves) is regenerated.
    monkeypatch.setattr(_deepfake, "_generate_into", real)
    np.save(tmp_path / "deepfake_ecg-n4-fs500-seed0.npy", np.ones((4, 12, 5000), np.float32))
    np.testing.assert_array_equal(make_deepfake_ecg(4, random_state=0, cache=tmp_path), ecgs)


def test_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "deepfakeecg", None)
    monkeypatch.setitem(sys.modules, "deepfakeecg.models", None)
    monkeypatch.setitem(sys.modules, "deepfakeecg.models.pulse2pulse", None)
    with pytest.raises(ImportError, match=r'pip install "sklearn-ecg\[deepfake\]"'):
        make_deepfake_ecg(1, random_state=0)


@needs_package
@pytest.mark.parametrize("kwargs, message", [
    (dict(n_ecgs=0), "n_ecgs must be a positive integer"),
    (dict(n_ecgs=2, batch_size=0), "batch_size must be a positive integer"),
    (dict(n_ecgs=2, fs=-1), "fs must be a positive number"),
    (dict(n_ecgs=2, fs=333.33), "whole number of samples"),
])
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_deepfake_ecg(**kwargs)
