"""load_pclr_keras against fixtures made by ml4h's own Keras code (fixtures/pretrained/make_pclr_keras.py)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sklearn_ecg import PCLRTransformer
from sklearn_ecg.pretrained import load_pclr_keras

h5py = pytest.importorskip("h5py")

FIXTURES = Path(__file__).parent / "fixtures" / "pretrained"
# float32 on both sides; measured max |ours - Keras| / max |Keras|: 1.9e-6 (12 leads), 1.4e-7 (lead II),
# 1.2e-7 (lead II saved by Keras 3.15: weight names without ":0", Keras 3's config format);
# the full-size released architectures (opt-in test below): 4.5e-7, 4.4e-7, 3.2e-7.
RTOL = 1e-5


def assert_matches(ours, reference):
    scale = np.abs(reference).max()
    np.testing.assert_allclose(ours, reference, rtol=RTOL, atol=RTOL * scale)


@pytest.mark.parametrize("name", ["pclr_keras_12lead", "pclr_keras_lead2", "pclr_keras3_lead2"])
def test_fixture_embeddings_match_keras(name):
    estimator = load_pclr_keras(FIXTURES / f"{name}.h5", device="cpu")
    data = np.load(FIXTURES / f"{name}.npz")
    assert_matches(estimator.transform(data["x"]), data["embedding"])


def test_variants_are_read_from_the_file():
    twelve = load_pclr_keras(FIXTURES / "pclr_keras_12lead.h5", device="cpu")
    assert twelve.leads == ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    assert (twelve.n_samples, twelve.fs, twelve.stem_batchnorm) == (4096, 500.0, True)
    assert twelve.unit_samples is None
    assert twelve.encoder_.backbone.strides == (4, 4, 4, 4)
    lead2 = load_pclr_keras(FIXTURES / "pclr_keras_lead2.h5", device="cpu")  # layers named conv1d_13...
    assert lead2.leads == ["II"] and (lead2.n_samples, lead2.fs, lead2.stem_batchnorm) == (2500, 250.0, False)
    assert lead2.encoder_.backbone.strides == (2, 4, 4, 4)
    assert lead2.get_feature_names_out()[0] == "pclrtransformer0"


def test_the_match_depends_on_the_keras_details():
    """What the fixtures catch: BatchNorm epsilon, and TensorFlow's two-sided max-pool padding."""
    data = np.load(FIXTURES / "pclr_keras_lead2.npz")
    estimator = load_pclr_keras(FIXTURES / "pclr_keras_lead2.h5", device="cpu")
    for module in estimator.encoder_.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            module.eps = 1e-5  # torch's default
    with pytest.raises(AssertionError):
        assert_matches(estimator.transform(data["x"]), data["embedding"])
    estimator = load_pclr_keras(FIXTURES / "pclr_keras_lead2.h5", device="cpu")
    for unit in estimator.encoder_.backbone.units:
        unit.pool = torch.nn.MaxPool1d(unit.pool.pool, ceil_mode=True)  # pads the right only
    with pytest.raises(AssertionError):
        assert_matches(estimator.transform(data["x"]), data["embedding"])


def test_loaded_model_saves_and_reloads(tmp_path):
    estimator = load_pclr_keras(FIXTURES / "pclr_keras_lead2.h5", device="cpu")
    x = np.load(FIXTURES / "pclr_keras_lead2.npz")["x"]
    again = PCLRTransformer.load(estimator.save(tmp_path / "model"), device="cpu")
    np.testing.assert_array_equal(again.transform(x), estimator.transform(x))


def copy_with(tmp_path, change):
    path = tmp_path / "model.h5"
    shutil.copy(FIXTURES / "pclr_keras_12lead.h5", path)
    with h5py.File(path, "r+") as f:
        change(f)
    return path


def test_wrong_files_are_named(tmp_path):
    pointer = tmp_path / "PCLR.h5"
    pointer.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:50ca4fe3\nsize 25690896\n")
    with pytest.raises(ValueError, match="git-LFS pointer"):
        load_pclr_keras(pointer)
    other = tmp_path / "model.pt"
    torch.save({"a": torch.zeros(2)}, other)
    with pytest.raises(ValueError, match="not an HDF5 file"):
        load_pclr_keras(other)
    with pytest.raises(FileNotFoundError):
        load_pclr_keras(tmp_path / "absent.h5")

    def drop_config(f):
        del f.attrs["model_config"]
    with pytest.raises(ValueError, match="weights-only"):
        load_pclr_keras(copy_with(tmp_path, drop_config))


def test_missing_layer_and_shape_mismatch_are_named(tmp_path):
    def shrink(f):
        kernel = f["model_weights/conv1d_2/conv1d_2/kernel:0"]
        data = kernel[:, :, :5]
        del f["model_weights/conv1d_2/conv1d_2/kernel:0"]
        f["model_weights/conv1d_2/conv1d_2"].create_dataset("kernel:0", data=data)
    with pytest.raises(ValueError, match=r"conv1d_2/kernel has shape \(5, 8, 16\).*needs \(12, 8, 16\)"):
        load_pclr_keras(copy_with(tmp_path, shrink))

    def drop(f):
        f["model_weights/batch_normalization_3"].attrs["weight_names"] = [
            b"batch_normalization_3/gamma:0", b"batch_normalization_3/beta:0"]
    with pytest.raises(ValueError, match="batch_normalization_3/moving_mean"):
        load_pclr_keras(copy_with(tmp_path, drop))


def test_variants_it_does_not_reproduce_are_refused(tmp_path):
    def epsilon(f):
        f.attrs["model_config"] = f.attrs["model_config"].replace('"epsilon": 0.001', '"epsilon": 1e-05')
    with pytest.raises(ValueError, match="epsilon 1e-05"):
        load_pclr_keras(copy_with(tmp_path, epsilon))
    with pytest.raises(ValueError, match="takes 12 leads"):
        load_pclr_keras(FIXTURES / "pclr_keras_12lead.h5", leads=["I"])


def test_without_h5py_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"sklearn-ecg\[pretrained\]"):
        load_pclr_keras(FIXTURES / "pclr_keras_12lead.h5")


RELEASED = os.environ.get("SKLEARN_ECG_PCLR_RELEASED")


@pytest.mark.skipif(not RELEASED, reason="set SKLEARN_ECG_PCLR_RELEASED to the --released output of "
                    "make_pclr_keras.py (full-size released architectures, 26 MB each)")
@pytest.mark.parametrize("name", ["PCLR", "PCLR_lead_I", "PCLR_lead_II"])
def test_full_size_released_architectures(name):
    estimator = load_pclr_keras(Path(RELEASED) / f"released_{name}.h5", device="cpu")
    data = np.load(Path(RELEASED) / f"released_{name}.npz")
    assert sum(p.numel() for p in estimator.encoder_.parameters()) > 6e6
    assert_matches(estimator.transform(data["x"]), data["embedding"])
