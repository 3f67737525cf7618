"""load_wfdb: tiny records written to tmp_path, then the real WFDB samples."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import scipy.io
import wfdb

from sklearn_ecg.datasets import load_wfdb
from sklearn_ecg.datasets._wfdb_header import parse_header_comments

RNG = np.random.default_rng(0)


def _sine(fs, seconds, freq=5.0, n_leads=3, amplitude=1.0):
    t = np.arange(int(round(fs * seconds))) / fs
    return np.stack(
        [amplitude * (i + 1) * np.sin(2 * np.pi * freq * t) for i in range(n_leads)], axis=1
    )


# ------------------------------------------------------------------ values, units, formats


def test_reads_record_like_wfdb_float32_mv(tmp_path, make_record):
    signal = RNG.normal(size=(1000, 3))
    path = make_record(tmp_path, "r1", signal, leads=["I", "II", "V1"], comments=["age: 50"])
    X, meta = load_wfdb(path)
    ref = wfdb.rdrecord(str(path)).p_signal.T
    assert X.shape == (1, 3, 1000) and X.dtype == np.float32
    np.testing.assert_allclose(X[0], ref, rtol=1e-6)
    np.testing.assert_allclose(X[0], signal.T, atol=1e-3)  # 16-bit quantisation
    row = meta.iloc[0]
    assert row["record"] == "r1" and row["path"] == os.path.abspath(str(path) + ".hea")
    assert row["fs"] == 500 and row["n_samples"] == 1000 and row["n_leads"] == 3
    assert row["leads"] == ["I", "II", "V1"] and row["units"] == ["mV"] * 3
    assert row["age"] == 50
    assert meta.attrs["fs"] == 500 and meta.attrs["leads"] == ("I", "II", "V1")
    assert meta.attrs["skipped"] == []


@pytest.mark.parametrize("fmt", ["212", "80", "32"])
def test_other_formats_go_through_wfdb(tmp_path, make_record, fmt):
    signal = RNG.normal(size=(300, 2))
    path = make_record(tmp_path, "r", signal, leads=["I", "II"], fmt=fmt)
    X, _ = load_wfdb(path)
    np.testing.assert_allclose(X[0], wfdb.rdrecord(str(path)).p_signal.T, rtol=1e-6)


@pytest.mark.parametrize("unit, scale", [("uV", 1000.0), ("V", 1e-3), ("mV", 1.0)])
def test_units_converted_to_millivolts(tmp_path, make_record, unit, scale):
    mv = _sine(500, 1, n_leads=2)
    path = make_record(tmp_path, "r", mv * scale, units=unit, leads=["I", "II"])
    X, meta = load_wfdb(path)
    np.testing.assert_allclose(X[0], mv.T, atol=2e-3 * np.abs(mv).max())
    assert meta["units"][0] == [unit, unit]


def test_non_voltage_units_kept_with_warning(tmp_path, make_record):
    path = make_record(tmp_path, "r", RNG.normal(size=(100, 2)) * 50 + 100,
                       units=["mV", "mmHg"], leads=["II", "ABP"])
    with pytest.warns(UserWarning, match="mmHg"):
        X, _ = load_wfdb(path)
    assert abs(X[0, 1].mean() - 100) < 20


def test_input_forms_and_order(tmp_path, make_record):
    sub = tmp_path / "deep" / "er"
    a = make_record(tmp_path, "a", RNG.normal(size=(200, 1)), leads=["I"])
    b = make_record(sub, "b", RNG.normal(size=(200, 1)), leads=["I"])
    for source in (str(a), a, str(a) + ".hea", str(a) + ".dat"):
        X, meta = load_wfdb(source)
        assert X.shape == (1, 1, 200) and meta["record"].tolist() == ["a"]
    X, meta = load_wfdb(tmp_path)  # recursive, sorted by path
    assert meta["record"].tolist() == ["a", "b"]
    X, meta = load_wfdb([b, a])  # a list keeps its order
    assert meta["record"].tolist() == ["b", "a"]
    X, meta = load_wfdb(tmp_path, pattern="b*.hea")
    assert meta["record"].tolist() == ["b"]


def test_cinc_mat_records(tmp_path, make_record):
    """PhysioNet/CinC records: a WFDB header pointing to a MATLAB file with 'val'."""
    digital = (RNG.normal(size=(3, 500)) * 300).astype(np.int16)
    header = (
        "A0001 3 500 500\n"
        "A0001.mat 16+24 1000/mV 16 0 28 -1716 0 I\n"
        "A0001.mat 16+24 1000/mV 16 0 7 2029 0 II\n"
        "A0001.mat 16+24 1000/mV 16 0 -21 3745 0 V1\n"
        "#Age: 74\n#Sex: Male\n#Dx: 59118001, 164889003\n#Rx: Unknown\n"
    )
    (tmp_path / "A0001.hea").write_text(header)
    scipy.io.savemat(tmp_path / "A0001.mat", {"val": digital}, format="4")
    # A MATLAB v5 file (scipy's default) is read too, although wfdb itself could not.
    (tmp_path / "B0001.hea").write_text(header.replace("A0001", "B0001").replace("+24", ""))
    scipy.io.savemat(tmp_path / "B0001.mat", {"val": digital})

    X, meta = load_wfdb(tmp_path)
    expected = digital / 1000.0
    np.testing.assert_allclose(X[0], expected, rtol=1e-6)
    np.testing.assert_allclose(X[1], expected, rtol=1e-6)
    # The v4 file (with its 24-byte offset) reads the same through wfdb.
    np.testing.assert_allclose(wfdb.rdrecord(str(tmp_path / "A0001")).p_signal.T, expected)
    row = meta.iloc[0]
    assert row["age"] == 74 and row["sex"] == "Male" and row["rx"] == "Unknown"
    assert row["dx"] == ["59118001", "164889003"]
    X, _ = load_wfdb(tmp_path / "A0001.mat")  # the .mat path names the record too
    assert X.shape == (1, 3, 500)


def test_missing_samples_are_nan_with_warning(tmp_path):
    (tmp_path / "r.hea").write_text("r 1 100 4\nr.dat 16 100/mV 16 0 0 0 0 I\n")
    np.array([100, -32768, 50, 0], dtype="<i2").tofile(tmp_path / "r.dat")
    with pytest.warns(UserWarning, match="missing samples"):
        X, _ = load_wfdb(tmp_path / "r")
    np.testing.assert_array_equal(np.isnan(X[0, 0]), [False, True, False, False])
    assert X[0, 0, 0] == pytest.approx(1.0)


# ------------------------------------------------------------------ sampling rate, duration


def test_resampling_length_and_content(tmp_path, make_record):
    path = make_record(tmp_path, "r", _sine(500, 4, freq=3.0, n_leads=1), leads=["II"])
    X, meta = load_wfdb(path, fs=100)
    assert X.shape == (1, 1, 400) and meta.attrs["fs"] == 100 and meta["fs"][0] == 500
    np.testing.assert_allclose(X[0, 0], _sine(100, 4, freq=3.0, n_leads=1)[:, 0], atol=0.02)
    X, _ = load_wfdb(path, fs=360)
    assert X.shape == (1, 1, 1440)
    X, _ = load_wfdb(path, fs=128.5)  # non-integer rates too
    assert X.shape == (1, 1, 514)


def test_different_rates_need_fs(tmp_path, make_record):
    a = make_record(tmp_path, "a", RNG.normal(size=(500, 1)), fs=500, leads=["I"])
    b = make_record(tmp_path, "b", RNG.normal(size=(250, 1)), fs=250, leads=["I"])
    with pytest.raises(ValueError, match=r"different sampling rates.*fs="):
        load_wfdb([a, b])
    X, meta = load_wfdb([a, b], fs=250)
    assert X.shape == (2, 1, 250) and meta["fs"].tolist() == [500, 250]


def test_different_lengths_need_duration(tmp_path, make_record):
    a = make_record(tmp_path, "a", RNG.normal(size=(500, 1)), leads=["I"])
    b = make_record(tmp_path, "b", RNG.normal(size=(800, 1)), leads=["I"])
    with pytest.raises(ValueError, match=r"different lengths.*duration="):
        load_wfdb([a, b])
    X, meta = load_wfdb([a, b], duration=1.2)
    assert X.shape == (2, 1, 600)
    ref_a = wfdb.rdrecord(str(a)).p_signal[:, 0]
    ref_b = wfdb.rdrecord(str(b)).p_signal[:, 0]
    np.testing.assert_allclose(X[0, 0, :500], ref_a, rtol=1e-6)
    assert np.all(X[0, 0, 500:] == 0)  # zero-padded at the end
    np.testing.assert_allclose(X[1, 0], ref_b[:600], rtol=1e-6)  # cropped to the first 1.2 s
    assert meta["n_samples"].tolist() == [500, 800]


def test_partial_read_matches_full_read(tmp_path, make_record):
    """With a duration only the start of the file is read; the result must not change."""
    path = make_record(tmp_path, "long", RNG.normal(size=(36000, 2)), fs=360, leads=["I", "II"])
    for fs in (None, 100, 500):
        cropped, meta = load_wfdb(path, fs=fs, duration=10)
        full, _ = load_wfdb(path, fs=fs)
        np.testing.assert_array_equal(cropped[0], full[0, :, : cropped.shape[-1]])
        assert meta["n_samples"][0] == 36000


@pytest.mark.parametrize("kwargs, match", [
    ({"fs": 0}, "fs must be"), ({"duration": -1}, "duration must be"),
    ({"on_error": "ignore"}, "on_error"), ({"missing_leads": "nan"}, "missing_leads"),
    ({"leads": ["I", "i"]}, "unique"),
])
def test_bad_parameters(tmp_path, make_record, kwargs, match):
    path = make_record(tmp_path, "r", RNG.normal(size=(100, 1)), leads=["I"])
    with pytest.raises(ValueError, match=match):
        load_wfdb(path, **kwargs)


# ------------------------------------------------------------------ leads


def test_lead_selection_order_and_case(tmp_path, make_record):
    signal = np.stack([np.full(100, v) for v in (1.0, 2.0, 3.0, 4.0)], axis=1)
    a = make_record(tmp_path, "a", signal, leads=["i", "AVR", "v1", "MLII"])
    b = make_record(tmp_path, "b", signal, leads=["I", "aVR", "V1", "II"])
    X, meta = load_wfdb([a, b], leads=["V1", "avr", "I", "ii"])
    assert meta.attrs["leads"] == ("V1", "aVR", "I", "II")
    np.testing.assert_allclose(X[:, :, 0], [[3, 2, 1, 4], [3, 2, 1, 4]], atol=1e-3)
    assert meta["original_leads"][0] == ["i", "AVR", "v1", "MLII"]
    assert meta["leads"][0] == ["I", "aVR", "V1", "II"]


def test_same_leads_in_another_order_are_aligned(tmp_path, make_record):
    signal = np.stack([np.full(100, v) for v in (1.0, 2.0)], axis=1)
    a = make_record(tmp_path, "a", signal, leads=["I", "II"])
    b = make_record(tmp_path, "b", signal, leads=["ii", "i"])
    X, meta = load_wfdb([a, b])
    assert meta.attrs["leads"] == ("I", "II")
    np.testing.assert_allclose(X[:, :, 0], [[1, 2], [2, 1]], atol=1e-3)


def test_different_lead_sets_need_leads(tmp_path, make_record):
    a = make_record(tmp_path, "a", RNG.normal(size=(100, 2)), leads=["I", "II"])
    b = make_record(tmp_path, "b", RNG.normal(size=(100, 2)), leads=["I", "V1"])
    with pytest.raises(ValueError, match=r"different leads.*leads="):
        load_wfdb([a, b])


def test_missing_lead_is_an_error_naming_the_record(tmp_path, make_record):
    a = make_record(tmp_path, "a", RNG.normal(size=(100, 2)), leads=["I", "II"])
    b = make_record(tmp_path, "b", RNG.normal(size=(100, 1)), leads=["I"])
    with pytest.raises(ValueError, match=r"b\.hea.*\['II'\] missing"):
        load_wfdb([a, b], leads=["I", "II"])
    X, meta = load_wfdb([a, b], leads=["I", "II"], missing_leads="zero")
    assert np.all(X[1, 1] == 0) and np.any(X[1, 0] != 0)
    assert meta["missing_leads"].tolist() == [[], ["II"]]
    with pytest.warns(UserWarning, match=r"Skipped 1 of 2.*b"):
        X, meta = load_wfdb([a, b], leads=["I", "II"], on_error="skip")
    assert meta["record"].tolist() == ["a"]


# ------------------------------------------------------------------ errors


def test_corrupt_and_missing_records(tmp_path, make_record):
    good = make_record(tmp_path, "good", RNG.normal(size=(1000, 2)), leads=["I", "II"])
    truncated = make_record(tmp_path, "truncated", RNG.normal(size=(1000, 2)), leads=["I", "II"])
    with open(str(truncated) + ".dat", "r+b") as f:
        f.truncate(1000)
    (tmp_path / "garbage.hea").write_text("this is not a header\n")
    no_signal = make_record(tmp_path, "nosignal", RNG.normal(size=(1000, 2)), leads=["I", "II"])
    os.remove(str(no_signal) + ".dat")

    for bad in (truncated, tmp_path / "garbage", no_signal, tmp_path / "absent"):
        with pytest.raises(ValueError, match=str(bad.name)):
            load_wfdb([good, bad])

    sources = [good, truncated, tmp_path / "garbage", no_signal, tmp_path / "absent"]
    with pytest.warns(UserWarning, match="Skipped 4 of 5") as record:
        X, meta = load_wfdb(sources, on_error="skip")
    message = str(record[0].message)
    assert all(name in message for name in ("truncated", "garbage", "nosignal", "absent"))
    assert X.shape == (1, 2, 1000) and meta["record"].tolist() == ["good"]
    skipped = meta.attrs["skipped"]
    assert [os.path.basename(p) for p, _ in skipped] == ["truncated", "garbage", "nosignal", "absent"]
    assert all(isinstance(reason, str) and reason for _, reason in skipped)

    with pytest.raises(ValueError, match="None of the 1 WFDB records"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load_wfdb([truncated], on_error="skip")


def test_empty_inputs(tmp_path):
    with pytest.raises(ValueError, match="No WFDB records"):
        load_wfdb(tmp_path)
    with pytest.raises(ValueError, match="empty"):
        load_wfdb([])
    with pytest.raises(ValueError, match="must be"):
        load_wfdb(42)


def test_multi_segment_record_read_once(tmp_path, make_record):
    make_record(tmp_path, "seg_1", RNG.normal(size=(200, 1)), fs=100, leads=["II"])
    make_record(tmp_path, "seg_2", RNG.normal(size=(300, 1)), fs=100, leads=["II"])
    (tmp_path / "multi.hea").write_text("multi/2 1 100 500\nseg_1 200\nseg_2 300\n")
    X, meta = load_wfdb(tmp_path, pattern="multi*.hea")
    assert X.shape == (1, 1, 500)
    X, meta = load_wfdb(tmp_path)  # the segments are part of "multi", not records of their own
    assert meta["record"].tolist() == ["multi"]


# ------------------------------------------------------------------ parallel, progress, metadata


def test_parallel_and_progress_bar_give_the_same_result(tmp_path, make_record, capsys):
    for i in range(6):
        make_record(tmp_path, f"r{i}", RNG.normal(size=(250, 2)), leads=["I", "II"])
    X1, meta1 = load_wfdb(tmp_path)
    X2, meta2 = load_wfdb(tmp_path, n_jobs=2, verbose=True)
    np.testing.assert_array_equal(X1, X2)
    assert meta1["record"].tolist() == meta2["record"].tolist()
    assert "Reading WFDB records" in capsys.readouterr().err


def test_parse_header_comments():
    parsed = parse_header_comments(
        ["unnecessary comment", "69 M 1085 1629 x1", "Aldomet, Inderal"]
    )
    assert parsed == {"age": 69.0, "sex": "M"}
    parsed = parse_header_comments(
        ["Age: NaN", "Sex: Female", "Dx: 1,2", "Diagnose:", "Reason for admission: MI",
         "Reason for admission: again"]
    )
    assert np.isnan(parsed["age"]) and parsed["sex"] == "Female" and parsed["dx"] == ["1", "2"]
    assert parsed["reason_for_admission"] == "MI" and "diagnose" not in parsed


def test_comment_keys_do_not_overwrite_columns(tmp_path, make_record):
    path = make_record(tmp_path, "r", RNG.normal(size=(100, 1)), leads=["I"],
                       comments=["fs: 7", "record: x"])
    _, meta = load_wfdb(path)
    assert meta["fs"][0] == 500 and meta["comment_fs"][0] == "7" and meta["record"][0] == "r"


# ------------------------------------------------------------------ real data


@pytest.mark.data
def test_mitbih_record_100(wfdb_samples):
    X, meta = load_wfdb(wfdb_samples / "100")
    assert X.shape == (1, 2, 650000) and X.dtype == np.float32
    ref = wfdb.rdrecord(str(wfdb_samples / "100")).p_signal.T
    np.testing.assert_allclose(X[0], ref, rtol=1e-6)
    row = meta.iloc[0]
    assert meta.attrs["leads"] == ("II", "V5") and row["original_leads"] == ["MLII", "V5"]
    assert row["fs"] == 360 and row["age"] == 69 and row["sex"] == "M"


@pytest.mark.data
def test_ptb_record_with_frank_leads(wfdb_samples):
    X, meta = load_wfdb(wfdb_samples / "s0010_re.hea")
    assert X.shape == (1, 15, 38400)
    assert meta.attrs["leads"] == (
        "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6", "vx", "vy", "vz",
    )
    ref = wfdb.rdrecord(str(wfdb_samples / "s0010_re")).p_signal.T
    np.testing.assert_allclose(X[0], ref, rtol=1e-6)
    row = meta.iloc[0]
    assert row["age"] == 81 and row["sex"] == "female"
    assert row["reason_for_admission"] == "Myocardial infarction"


@pytest.mark.data
def test_both_samples_together(wfdb_samples):
    with pytest.raises(ValueError, match="leads="):
        load_wfdb(wfdb_samples)
    with pytest.raises(ValueError, match="fs="):
        load_wfdb(wfdb_samples, leads=["ii", "v5"])
    X, meta = load_wfdb(wfdb_samples, leads=["ii", "v5"], fs=100, duration=10, n_jobs=2)
    assert X.shape == (2, 2, 1000) and meta["record"].tolist() == ["100", "s0010_re"]
    assert np.abs(X).max() < 10 and np.abs(X).std() > 0.05  # millivolts
