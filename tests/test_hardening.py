"""The catalogue of bad inputs and faults (issue 15): each case a test with its clear outcome, a
ValueError saying what was expected and what came (naming the file for files), or a warning.

Shown on a tiny PCLR where an estimator is needed; the contract over every estimator is in
test_common.py.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from sklearn_ecg import PCLRTransformer
from sklearn_ecg._persistence import FORMAT_VERSION
from sklearn_ecg.testing import tiny_estimator


@pytest.fixture(scope="module")
def ecgs():
    rng = np.random.default_rng(0)
    return rng.normal(size=(16, 3, 128)).astype(np.float32), np.repeat(np.arange(8), 2)


@pytest.fixture(scope="module")
def fitted(ecgs):
    X, groups = ecgs
    return tiny_estimator("pclr", leads=["I", "II", "V1"]).fit(X, groups=groups)


# -- ECG arrays ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, message",
    [
        (lambda est, X: est.transform(X[:, :2]), "fitted on 3"),
        (lambda est, X: est.transform(X[:, :2], leads=["I", "II"]), "missing \\['V1'\\]"),
        (lambda est, X: est.transform(X, leads=["I", "II", "V6"]), "not seen during fit"),
        (lambda est, X: est.transform(X, leads=["I", "I", "II"]), "unique"),
        (lambda est, X: est.transform(X, fs=500), "fitted at 100.0 Hz"),
        (lambda est, X: est.transform(X[:0]), "empty"),
        (lambda est, X: est.transform(X[:, :0]), "0 leads"),
        (lambda est, X: est.transform(X[0, 0]), "Reshape your data"),
        (lambda est, X: est.transform(X[None]), "3-D"),
        (lambda est, X: est.transform(X[..., :1]), "too short"),
        (lambda est, X: est.transform(None), "None"),
        (lambda est, X: est.transform(X.astype(np.complex64)), "Complex"),
        (lambda est, X: est.transform(np.where(np.arange(128) == 5, np.nan, X)), "NaN.*ECG index 0"),
        (lambda est, X: est.transform(np.where(np.arange(16)[:, None, None] == 9, np.inf, X)),
         "NaN or infinite values.*ECG index 9"),
    ],
    ids=["fewer-leads", "missing-lead", "unknown-lead", "duplicate-lead", "other-rate", "no-ecgs",
         "no-leads", "1-d", "4-d", "too-short", "none", "complex", "nan", "inf"],
)
def test_bad_ecg_arrays_raise_clear_errors(ecgs, fitted, call, message):
    X, _ = ecgs
    with pytest.raises(ValueError, match=message):
        call(fitted, X)


def test_non_numeric_and_sparse_input_raise_type_errors(ecgs, fitted):
    from scipy import sparse

    X, _ = ecgs
    with pytest.raises(TypeError, match="must hold numbers"):
        fitted.transform(np.full(X.shape, "a"))
    with pytest.raises(TypeError, match="sparse"):
        fitted.transform(sparse.csr_matrix(X[:, 0]))


def test_nan_in_lazy_input_names_the_ecg(tmp_path, ecgs, fitted):
    X, _ = ecgs
    bad = X.copy()
    bad[13, 1, 3] = np.inf
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(ValueError, match="ECG index 13"):
        fitted.transform(np.load(tmp_path / "bad.npy", mmap_mode="r"))


def test_negative_stride_views_are_read(tmp_path, ecgs, fitted):
    X, groups = ecgs
    flipped = np.ascontiguousarray(X[..., ::-1])
    np.testing.assert_array_equal(fitted.transform(X[..., ::-1]), fitted.transform(flipped))
    np.save(tmp_path / "X.npy", X)
    lazy_view = np.load(tmp_path / "X.npy", mmap_mode="r")[..., ::-1]
    np.testing.assert_array_equal(fitted.transform(lazy_view), fitted.transform(flipped))
    refit = tiny_estimator("pclr", leads=["I", "II", "V1"]).fit(X[::-1, :, ::-1], groups=groups[::-1])
    np.testing.assert_array_equal(refit.transform(flipped), tiny_estimator(
        "pclr", leads=["I", "II", "V1"]).fit(np.ascontiguousarray(X[::-1, :, ::-1]),
                                             groups=groups[::-1].copy()).transform(flipped))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"max_epochs": 0}, "max_epochs"),
        ({"batch_size": 1.5}, "batch_size"),
        ({"lr": -1}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"device": "tpu"}, "device"),
        ({"fs": 0}, "fs"),
        ({"single_ecg": "copy"}, "single_ecg"),
        ({"leads": ["I", "I", "II"]}, "unique"),
        ({"leads": ["I", "II"]}, "2 lead names"),
        ({"filters": (4,)}, "filters"),
    ],
)
def test_bad_parameters_raise_at_fit(ecgs, params, message):
    X, groups = ecgs
    with pytest.raises(ValueError, match=message):
        tiny_estimator("pclr", **params).fit(X, groups=groups)


def test_transform_before_fit_says_so(ecgs):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        tiny_estimator("pclr").transform(ecgs[0])


# -- patient ids (PCLR's groups) ---------------------------------------------------------------
@pytest.mark.parametrize(
    "make_groups, message",
    [
        (lambda g: np.where(np.arange(16) % 5 == 0, np.nan, g),
         r"4 missing patient ids \(NaN or None\), at ECG indices \[0, 5, 10, 15\]"),
        (lambda g: np.array([None, *g[1:]], dtype=object), r"1 missing patient ids.*\[0\]"),
        (lambda g: np.array([*g[:8], *g[8:].astype(str)], dtype=object), "one kind"),
        (lambda g: g[:, None], r"expected shape \(16,\), got \(16, 1\)"),
        (lambda g: g[:-1], r"expected shape \(16,\), got \(15,\)"),
    ],
    ids=["nan", "none", "mixed-kinds", "2-d", "too-few"],
)
def test_bad_patient_ids_raise(ecgs, make_groups, message):
    X, groups = ecgs
    with pytest.raises(ValueError, match=message):
        tiny_estimator("pclr").fit(X, groups=make_groups(groups))


def test_string_patient_ids_pair_like_numbers(ecgs):
    X, groups = ecgs
    assert tiny_estimator("pclr").fit(X, groups=groups.astype(str)).n_patient_pairs_ == 8


@pytest.mark.parametrize(
    "fit_params",
    [{"X": slice(0, 1)}, {"X": slice(0, 2), "groups": [0, 0]}, {"batch_size": 1}],
    ids=["one-ecg", "one-patient", "batch-of-one"],
)
def test_a_contrastive_fit_without_negatives_warns(ecgs, fit_params):
    X, groups = ecgs
    rows = fit_params.get("X", slice(None))
    estimator = tiny_estimator("pclr", batch_size=fit_params.get("batch_size", 8))
    with pytest.warns(UserWarning, match="1 patient per batch.*loss is 0"):
        estimator.fit(X[rows], groups=fit_params.get("groups", groups[rows]))
    assert estimator.loss_curve_ == [0.0]


def test_a_simclr_fit_on_one_ecg_warns(ecgs):
    X, _ = ecgs
    with pytest.warns(UserWarning, match="SimCLR has 1 window per batch"):
        tiny_estimator("simclr", window=None).fit(X[:1])


# -- persistence: atomic, versioned saves; loads that check what they read --------------------
@pytest.fixture
def saved(tmp_path, fitted):
    return fitted.save(tmp_path / "model")


def edit_config(saved, edit):
    config = json.loads((saved / "config.json").read_text())
    edit(config)
    (saved / "config.json").write_text(json.dumps(config))


def test_config_carries_format_and_library_versions(saved):
    import sklearn_ecg

    config = json.loads((saved / "config.json").read_text())
    assert config["format_version"] == FORMAT_VERSION
    assert config["library_version"] == sklearn_ecg.__version__
    assert config["unsaved_params"] == []


def test_a_crash_while_saving_leaves_no_half_written_model(tmp_path, fitted, ecgs, monkeypatch):
    import safetensors.torch

    def crash(state, filename):
        open(filename, "wb").write(b"\0" * 10)  # a partial file, then the crash
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.torch, "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        fitted.save(tmp_path / "new")
    assert list(tmp_path.iterdir()) == []  # neither the target nor a temporary directory

    monkeypatch.undo()
    target = fitted.save(tmp_path / "model")
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    monkeypatch.setattr(safetensors.torch, "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        tiny_estimator("pclr", leads=["I", "II", "V1"], random_state=1).fit(
            ecgs[0], groups=ecgs[1]).save(target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before  # the old model, intact
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_saving_replaces_a_saved_model_but_no_other_directory(tmp_path, fitted, ecgs):
    X, groups = ecgs
    other = tiny_estimator("pclr", leads=["I", "II", "V1"], random_state=1).fit(X, groups=groups)
    target = fitted.save(tmp_path / "model")
    other.save(target)
    np.testing.assert_allclose(PCLRTransformer.load(target, device="cpu").transform(X),
                               other.transform(X), atol=1e-6)
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a saved model"):
        fitted.save(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_non_json_parameters_are_left_out_with_a_warning(tmp_path, ecgs):
    from skorch.callbacks import EpochTimer

    X, groups = ecgs
    with_callback = tiny_estimator("pclr", callbacks=[EpochTimer()]).fit(X[:, :1], groups=groups)
    with pytest.warns(UserWarning, match="callbacks is not saved"):
        saved = with_callback.save(tmp_path / "model")
    assert PCLRTransformer.load(saved, device="cpu").callbacks is None


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda c: c.update(format_version=FORMAT_VERSION + 1),
         f"save format {FORMAT_VERSION + 1}.*reads formats up to {FORMAT_VERSION}.*Upgrade"),
        (lambda c: c.update(format_version="one"), "format_version must be"),
        (lambda c: c.update(estimator="CPCTransformer"), "holds a CPCTransformer, not a PCLRTransformer"),
        (lambda c: c.pop("fitted"), r"lacks the keys \['fitted'\]"),
        (lambda c: c["params"].update(n_layers=3), r"parameters \['n_layers'\] that PCLRTransformer"),
        (lambda c: c["params"].pop("temperature"), r"lacks the parameters \['temperature'\]"),
        (lambda c: c["params"].update(temperature=-1.0), "invalid parameters.*temperature"),
        (lambda c: c["params"].update(filters=[4]), "invalid parameters.*filters"),
        (lambda c: c["fitted"].update(transform="x"), r"unknown fitted attributes \['transform'\]"),
        (lambda c: c["fitted"].pop("n_leads_in_"), r"lacks the fitted attributes \['n_leads_in_'\]"),
        (lambda c: c["fitted"].update(n_leads_in_="three"), "cannot be built"),
        (lambda c: c["fitted"].update(n_leads_in_=4), r"tensor '.*' has shape \(4, 3, 3\) .* needs "
                                                      r"\(4, 4, 3\)"),
    ],
    ids=["newer-format", "bad-format", "other-estimator", "missing-key", "unknown-param",
         "missing-param", "invalid-param", "invalid-architecture", "unknown-fitted", "missing-fitted",
         "unbuildable", "other-shapes"],
)
def test_load_checks_the_config(saved, damage, message):
    edit_config(saved, damage)
    with pytest.raises(ValueError, match=message) as error:
        PCLRTransformer.load(saved, device="cpu")
    assert str(saved) in str(error.value)  # the file or directory is named


def test_load_never_sets_unknown_fitted_keys(saved):
    edit_config(saved, lambda c: c["fitted"].update(transform="x"))
    with pytest.raises(ValueError):
        PCLRTransformer.load(saved, device="cpu")
    assert callable(PCLRTransformer.transform)


def test_load_names_the_tensor_and_both_shapes(saved, fitted):
    from safetensors.torch import load_file, save_file

    state = load_file(str(saved / "model.safetensors"))
    name = next(key for key, value in state.items() if value.ndim == 3)  # a convolution
    state[name] = state[name][..., :1].contiguous()
    save_file(state, str(saved / "model.safetensors"))
    expected = tuple(fitted.net_.module_.state_dict()[name].shape)
    with pytest.raises(ValueError, match=re.escape(f"tensor '{name}' has shape") + ".*needs "
                       + re.escape(str(expected))):
        PCLRTransformer.load(saved, device="cpu")


@pytest.mark.parametrize("content", [b"", b"garbage", None], ids=["empty", "garbage", "truncated"])
def test_unreadable_weights_name_the_file(saved, content):
    weights = saved / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if content is None else content)
    with pytest.raises(ValueError, match=r"model.safetensors is not a readable safetensors file"):
        PCLRTransformer.load(saved, device="cpu")


def test_invalid_json_names_the_file(saved):
    (saved / "config.json").write_text('{"estimator": "PCLRTransformer", ')
    with pytest.raises(ValueError, match=r"config.json is not valid JSON"):
        PCLRTransformer.load(saved, device="cpu")
    (saved / "config.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"config.json must hold a JSON object"):
        PCLRTransformer.load(saved, device="cpu")


def test_non_finite_weights_are_refused_at_load(saved):
    from safetensors.torch import load_file, save_file

    state = load_file(str(saved / "model.safetensors"))
    name = next(key for key, value in state.items() if value.is_floating_point())
    state[name][0] = float("nan")
    save_file(state, str(saved / "model.safetensors"))
    with pytest.raises(ValueError, match=rf"\['{name}'\] hold NaN or infinite values"):
        PCLRTransformer.load(saved, device="cpu")


def test_models_saved_before_versioning_still_load(saved, fitted, ecgs):
    edit_config(saved, lambda c: [c.pop(key) for key in ("format_version", "library_version",
                                                         "unsaved_params")])
    loaded = PCLRTransformer.load(saved, device="cpu")
    np.testing.assert_allclose(loaded.transform(ecgs[0]), fitted.transform(ecgs[0]), atol=1e-6)


def test_missing_files_are_named(tmp_path, saved):
    with pytest.raises(ValueError, match="nowhere/config.json not found"):
        PCLRTransformer.load(tmp_path / "nowhere")
    shutil.copytree(saved, tmp_path / "copy")
    (tmp_path / "copy" / "model.safetensors").unlink()
    with pytest.raises(ValueError, match="model.safetensors not found"):
        PCLRTransformer.load(tmp_path / "copy")


# -- WFDB records ----------------------------------------------------------------------------
def wfdb_record(folder, fmt="16"):
    """A two-lead, 2 s record at 500 Hz written by wfdb; returns its path without extension."""
    import wfdb

    signal = np.sin(np.linspace(0, 20, 1000))[:, None] * [1.0, 0.5]
    wfdb.wrsamp("rec", fs=500, units=["mV", "mV"], sig_name=["I", "II"], p_signal=signal,
                fmt=[fmt, fmt], write_dir=str(folder))
    return folder / "rec"


def edit_header(record, edit):
    header = record.with_suffix(".hea")
    lines = header.read_text().splitlines()
    header.write_text("\n".join(edit(lines)) + "\n")


def cinc_record(record, val):
    """The record turned into a PhysioNet/CinC one: its header points to a .mat file with ``val``."""
    from scipy.io import savemat

    edit_header(record, lambda lines: [line.replace("rec.dat", "rec.mat") for line in lines])
    savemat(str(record) + ".mat", {"val": val})


def _with_gain(line, gain):
    fields = line.split()
    fields[2] = gain
    return " ".join(fields)


def _cell_array():
    cell = np.empty((1, 2), dtype=object)
    cell[0, 0], cell[0, 1] = np.zeros(1000), np.zeros(1000)
    return cell


@pytest.mark.parametrize(
    "fmt, damage, message",
    [
        ("16", lambda r: r.with_suffix(".dat").write_bytes(r.with_suffix(".dat").read_bytes()[:-2]),
         r"rec.dat is truncated: 3998 bytes, but 1000 samples of its 2 signal\(s\) in format 16 need 4000"),
        ("212", lambda r: r.with_suffix(".dat").write_bytes(r.with_suffix(".dat").read_bytes()[:-3]),
         "rec.dat is truncated: 2997 bytes.*format 212 need 3000"),
        ("16", lambda r: edit_header(r, lambda lines: [line.replace(" 16 ", " 99 ", 1) for line in lines]),
         r"signal 0 \(I\) has format '99', which is not a WFDB signal format"),
        ("16", lambda r: r.with_suffix(".dat").unlink(), "no signal file .*rec.dat"),
        ("16", lambda r: cinc_record(r, np.zeros((2, 1000, 2), dtype=np.int16)),
         r"'val' in .*rec.mat must be a numeric matrix .* 3-D array of int16 of shape \(2, 1000, 2\)"),
        ("16", lambda r: cinc_record(r, _cell_array()), "'val' in .*rec.mat must be a numeric matrix.*cell"),
        ("16", lambda r: cinc_record(r, np.zeros((3, 1000), dtype=np.int16)),
         r"'val' in .*rec.mat has shape \(3, 1000\); the header has 2 leads"),
        ("16", lambda r: r.with_suffix(".hea").write_text("not a header\n"), "invalid record line"),
    ],
    ids=["dat-short-16", "dat-short-212", "unknown-format", "no-dat", "mat-3d", "mat-cell", "mat-leads",
         "bad-header"],
)
def test_damaged_wfdb_records_name_the_file_and_the_problem(tmp_path, fmt, damage, message):
    from sklearn_ecg.datasets import load_wfdb

    record = wfdb_record(tmp_path, fmt)
    damage(record)
    with pytest.raises(ValueError, match=f"Could not read WFDB record .*rec.hea: .*{message}"):
        load_wfdb(record)


@pytest.mark.parametrize("gain", ["0", "0/mV", ""])
def test_uncalibrated_leads_warn_naming_the_record(tmp_path, gain):
    from sklearn_ecg.datasets import load_wfdb

    record = wfdb_record(tmp_path)
    if gain:
        edit_header(record, lambda lines: [lines[0], _with_gain(lines[1], gain), lines[2]])
    else:  # a signal line with only file name and format: every later field takes its default
        edit_header(record, lambda lines: [lines[0], "rec.dat 16", lines[2]])
    lead = "I" if gain else "lead0"  # a nameless signal line names its lead by position
    with pytest.warns(UserWarning, match=rf"default of 200 units per mV.*rec.hea \({lead}\)"):
        X, metadata = load_wfdb(record)
    assert metadata.loc[0, "uncalibrated_leads"] == [lead] and np.isfinite(X).all()


def test_calibrated_records_do_not_warn(tmp_path):
    import warnings

    from sklearn_ecg.datasets import load_wfdb

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, metadata = load_wfdb(wfdb_record(tmp_path))
    assert metadata.loc[0, "uncalibrated_leads"] == []


# -- PTB-XL tables ---------------------------------------------------------------------------
@pytest.fixture
def ptbxl_tables(tmp_path):
    """A PTB-XL folder holding only its two tables (enough to list ECGs without signals)."""
    import pandas as pd

    pd.DataFrame({"ecg_id": [1, 2], "scp_codes": ["{'NORM': 100.0}", "{'IMI': 50.0}"],
                  "filename_lr": ["records100/00000/00001_lr", "records100/00000/00002_lr"],
                  "filename_hr": ["records500/00000/00001_hr", "records500/00000/00002_hr"]},
                 ).to_csv(tmp_path / "ptbxl_database.csv", index=False)
    pd.DataFrame({"diagnostic": [1.0, 1.0], "form": [None, None], "rhythm": [None, None],
                  "diagnostic_class": ["NORM", "MI"], "diagnostic_subclass": ["NORM", "IMI"]},
                 index=["NORM", "IMI"]).to_csv(tmp_path / "scp_statements.csv")
    return tmp_path


def test_ptbxl_tables_list_ecgs(ptbxl_tables):
    from sklearn_ecg.datasets import load_ptbxl

    data = load_ptbxl(ptbxl_tables, load_signals=False)
    assert data.y.tolist() == [[0, 1], [1, 0]] and list(data.target_names) == ["MI", "NORM"]


@pytest.mark.parametrize(
    "table, damage, message",
    [
        ("ptbxl_database.csv", lambda t: t.drop(columns="scp_codes"),
         r"lacks the column\(s\) \['scp_codes'\]"),
        ("ptbxl_database.csv", lambda t: t.drop(columns="filename_lr"),
         r"lacks the column\(s\) \['filename_lr'\]"),
        ("ptbxl_database.csv", lambda t: t.drop(columns="ecg_id"), r"lacks the column\(s\) \['ecg_id'\]"),
        ("ptbxl_database.csv", lambda t: t.assign(ecg_id=["a", "b"]), "ecg_id must hold integers"),
        ("ptbxl_database.csv", lambda t: t.assign(scp_codes=["{'NORM': ", "x"]), "unreadable scp_codes"),
        ("ptbxl_database.csv", b"\x89PNG\r\n\x1a\n\x00\xff", "is not a readable CSV table"),
        ("ptbxl_database.csv", b"", "is not a readable CSV table"),
        ("scp_statements.csv", lambda t: t.drop(columns="diagnostic_class"),
         r"lacks the column\(s\) \['diagnostic_class'\]"),
        ("scp_statements.csv", b"\xff\xfe\x00garbage", "is not a readable CSV table"),
    ],
    ids=["no-scp_codes", "no-filename", "no-ecg_id", "text-ecg_id", "bad-scp_codes", "binary", "empty",
         "statements-no-class", "statements-binary"],
)
def test_damaged_ptbxl_tables_name_the_file_and_the_column(ptbxl_tables, table, damage, message):
    import pandas as pd

    from sklearn_ecg.datasets import load_ptbxl

    path = ptbxl_tables / table
    if isinstance(damage, bytes):
        path.write_bytes(damage)
    else:
        damage(pd.read_csv(path, index_col=0 if table == "scp_statements.csv" else None)).to_csv(
            path, index=table == "scp_statements.csv")
    with pytest.raises(ValueError, match=f"{table}.*{message}|{message}.*{table}"):
        load_ptbxl(ptbxl_tables, load_signals=False)


# -- the text model of METS ------------------------------------------------------------------
@pytest.mark.parametrize(
    "fill, message",
    [
        (lambda folder: None, "is not a sentence-transformers model directory: it holds neither "
                              "modules.json nor config.json"),
        (lambda folder: (folder / "config.json").write_text("{}"),
         "Could not load the text model at .*: it is not a usable sentence-transformers model"),
    ],
    ids=["empty-directory", "wrong-directory"],
)
def test_a_text_model_directory_that_is_no_model_says_so(tmp_path, fill, message):
    pytest.importorskip("sentence_transformers")
    from sklearn_ecg.datasets import make_synthetic_ecg

    fill(tmp_path)
    data = make_synthetic_ecg(n_patients=4, ecgs_per_patient=1, random_state=0)
    with pytest.raises(ValueError, match=message):
        tiny_estimator("mets", text_model=str(tmp_path)).fit(data.X, data.reports)


# -- devices and labels -----------------------------------------------------------------------
@pytest.mark.parametrize("device", ["meta", "mps", "xla"])
def test_unsupported_devices_raise_a_clear_error(ecgs, device):
    import torch

    if device == "mps" and torch.backends.mps.is_available():
        pytest.skip("MPS is available here")
    X, groups = ecgs
    with pytest.raises(ValueError, match="device"):
        tiny_estimator("pclr", device=device).fit(X, groups=groups)


@pytest.mark.parametrize("missing", [np.nan, None], ids=["nan", "none"])
def test_missing_labels_name_y_and_the_ecg(missing):
    from sklearn_ecg.datasets import make_synthetic_ecg

    data = make_synthetic_ecg(n_patients=8, ecgs_per_patient=2, random_state=0)
    y = data.y.astype(object)
    y[3] = missing
    with pytest.raises(ValueError, match=r"y .*index 3"):
        tiny_estimator("supervised").fit(data.X, y)
