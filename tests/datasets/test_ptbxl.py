"""load_ptbxl: a miniature PTB-XL folder in tmp_path, then the shared PTB-XL subset."""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb

from sklearn_ecg._validation import STANDARD_LEADS
from sklearn_ecg.datasets import load_ptbxl
from sklearn_ecg.datasets._ptbxl import PTBXL_TASKS

# PTB-XL headers spell the augmented leads in capitals.
PTBXL_LEADS = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
STATEMENTS = pd.DataFrame(
    # code: diagnostic, form, rhythm, diagnostic_class, diagnostic_subclass
    {
        "NORM": (1, np.nan, np.nan, "NORM", "NORM"),
        "IMI": (1, np.nan, np.nan, "MI", "IMI"),
        "ILMI": (1, np.nan, np.nan, "MI", "IMI"),
        "LVH": (1, np.nan, np.nan, "HYP", "LVH"),
        "NDT": (1, 1, np.nan, "STTC", "STTC"),
        "LVOLT": (np.nan, 1, np.nan, np.nan, np.nan),
        "SR": (np.nan, np.nan, 1, np.nan, np.nan),
        "AFIB": (np.nan, np.nan, 1, np.nan, np.nan),
    },
    index=["diagnostic", "form", "rhythm", "diagnostic_class", "diagnostic_subclass"],
).T
CODES = {  # ecg_id: scp_codes (likelihood 0 still counts)
    1: {"NORM": 100.0, "LVOLT": 0.0, "SR": 0.0},
    2: {"IMI": 50.0, "ILMI": 15.0, "NDT": 0.0, "AFIB": 0.0},
    3: {"LVH": 100.0},
    4: {"SR": 0.0},
}


def _ptbxl_filename(ecg_id, rate):
    suffix = "lr" if rate == 100 else "hr"
    return f"records{rate}/{ecg_id // 1000 * 1000:05d}/{ecg_id:05d}_{suffix}"


@pytest.fixture(scope="module")
def _mini_ptbxl_once(tmp_path_factory, make_record):
    """ecg_id 1-4 labelled (CSV rows), 1-4 at 500 Hz, 1-4 plus unlabelled 5 and 1001 at 100 Hz."""
    root = tmp_path_factory.mktemp("mini") / "ptbxl"
    rng = np.random.default_rng(1)
    for rate, ids in ((100, [1, 2, 3, 4, 5, 1001]), (500, [1, 2, 3, 4])):
        for ecg_id in ids:
            # Lead k holds the constant k + ecg_id/10 mV, to check lead order and row order.
            signal = np.tile(np.arange(12) + ecg_id / 10, (rate * 10, 1))
            signal += rng.normal(scale=1e-3, size=signal.shape)
            leads = list(PTBXL_LEADS)
            if ecg_id == 3:  # a record storing its leads in another order
                order = rng.permutation(12)
                signal, leads = signal[:, order], [leads[k] for k in order]
            rel = _ptbxl_filename(ecg_id, rate)
            make_record(root / os.path.dirname(rel), os.path.basename(rel), signal, fs=rate,
                        leads=leads)
    statements = STATEMENTS.copy()
    statements.insert(0, "description", [f"statement {c}" for c in statements.index])
    statements.to_csv(root / "scp_statements.csv")
    database = pd.DataFrame({
        "ecg_id": list(CODES),
        "patient_id": [10.0, 11.0, 10.0, 12.0],
        "age": [56.0, 70.0, 300.0, 40.0],
        "sex": [1, 0, 1, 0],
        "report": ["sinusrhythmus normales ekg", "x", "y", "z"],
        "scp_codes": [repr(c) for c in CODES.values()],
        "strat_fold": [1, 9, 10, 3],
        "filename_lr": [_ptbxl_filename(i, 100) for i in CODES],
        "filename_hr": [_ptbxl_filename(i, 500) for i in CODES],
    })
    database.to_csv(root / "ptbxl_database.csv", index=False)
    return root


@pytest.fixture
def mini_ptbxl(_mini_ptbxl_once, tmp_path):
    """A fresh copy of the miniature PTB-XL folder, which a test may damage."""
    return Path(shutil.copytree(_mini_ptbxl_once, tmp_path / "ptbxl"))


def _lead_values(X):
    """The constant each lead holds, rounded: lead k of ecg_id e is k + e/10."""
    return np.round(X.mean(axis=-1), 2)


# ------------------------------------------------------------------ miniature PTB-XL


def test_labelled_signals_and_metadata(mini_ptbxl):
    data = load_ptbxl(mini_ptbxl)
    assert data.X.shape == (4, 12, 1000) and data.X.dtype == np.float32
    assert data.leads == STANDARD_LEADS and data.fs == 100.0
    expected = np.arange(12)[None, :] + np.array([1, 2, 3, 4])[:, None] / 10
    np.testing.assert_allclose(_lead_values(data.X), expected)  # record 3's leads re-ordered
    meta = data.metadata
    assert meta.index.name == "ecg_id" and meta.index.tolist() == [1, 2, 3, 4]
    assert meta.loc[2, "scp_codes"] == CODES[2] and meta["labelled"].all()
    assert meta.loc[1, "report"] == "sinusrhythmus normales ekg"
    assert meta.loc[1, "path"].endswith("records100/00000/00001_lr.hea")
    assert data.metadata["strat_fold"].dtype == np.int64


@pytest.mark.parametrize("task, names, rows", [
    ("superdiagnostic", ["HYP", "MI", "NORM", "STTC"],
     [["NORM"], ["MI", "STTC"], ["HYP"], []]),
    ("subdiagnostic", ["IMI", "LVH", "NORM", "STTC"],
     [["NORM"], ["IMI", "STTC"], ["LVH"], []]),
    ("diagnostic", ["ILMI", "IMI", "LVH", "NDT", "NORM"],
     [["NORM"], ["ILMI", "IMI", "NDT"], ["LVH"], []]),
    ("form", ["LVOLT", "NDT"], [["LVOLT"], ["NDT"], [], []]),
    ("rhythm", ["AFIB", "SR"], [["SR"], ["AFIB"], [], ["SR"]]),
    ("all", sorted(STATEMENTS.index), [sorted(c) for c in CODES.values()]),
])
def test_tasks(mini_ptbxl, task, names, rows):
    data = load_ptbxl(mini_ptbxl, task=task, load_signals=False)
    assert data.X is None
    assert list(data.target_names) == names
    assert data.metadata["labels"].tolist() == rows
    expected = np.array([[int(n in row) for n in names] for row in rows])
    np.testing.assert_array_equal(data.y, expected)
    assert data.y.dtype == np.int64


def test_drop_empty(mini_ptbxl):
    data = load_ptbxl(mini_ptbxl, task="form", drop_empty=True)
    assert data.metadata.index.tolist() == [1, 2] and data.X.shape[0] == 2
    assert data.y.sum(axis=1).min() == 1
    with pytest.raises(ValueError, match="drops every unlabelled"):
        load_ptbxl(mini_ptbxl, subset="unlabelled", drop_empty=True)


def test_unlabelled_and_all_subsets(mini_ptbxl):
    data = load_ptbxl(mini_ptbxl, subset="unlabelled")
    assert data.metadata.index.tolist() == [5, 1001]
    assert data.X.shape == (2, 12, 1000) and not data.metadata["labelled"].any()
    np.testing.assert_allclose(_lead_values(data.X)[:, 0], [0.5, 100.1])
    assert data.y.shape == (2, 4) and data.y.sum() == 0
    meta = data.metadata
    assert meta.loc[1001, "filename_lr"] == "records100/01000/01001_lr"
    assert meta[["age", "patient_id", "filename_hr", "scp_codes"]].isna().all().all()

    both = load_ptbxl(mini_ptbxl, subset="all", task="rhythm")
    assert both.metadata.index.tolist() == [1, 2, 3, 4, 5, 1001]
    assert both.metadata["labelled"].tolist() == [True] * 4 + [False] * 2
    np.testing.assert_array_equal(both.y[:, 1], [1, 0, 0, 1, 0, 0])
    np.testing.assert_allclose(_lead_values(both.X)[:, 0], [0.1, 0.2, 0.3, 0.4, 0.5, 100.1])

    with pytest.raises(ValueError, match="No unlabelled PTB-XL ECGs at 500 Hz"):
        load_ptbxl(mini_ptbxl, subset="unlabelled", sampling_rate=500)


def test_ecg_ids(mini_ptbxl):
    data = load_ptbxl(mini_ptbxl, subset="all", ecg_ids=[1001, 2])
    assert data.metadata.index.tolist() == [1001, 2]
    np.testing.assert_allclose(_lead_values(data.X)[:, 0], [100.1, 0.2])
    np.testing.assert_array_equal(data.y, [[0, 0, 0, 0], [0, 1, 0, 1]])
    with pytest.raises(ValueError, match=r"not in the 'labelled' subset: \[5\].*subset='unlabelled'"):
        load_ptbxl(mini_ptbxl, ecg_ids=[1, 5])
    with pytest.raises(ValueError, match="duplicates"):
        load_ptbxl(mini_ptbxl, ecg_ids=[1, 1])
    with pytest.raises(ValueError, match="integers"):
        load_ptbxl(mini_ptbxl, ecg_ids=["a"])


def test_500_hz_and_return_X_y(mini_ptbxl):
    X, y = load_ptbxl(mini_ptbxl, sampling_rate=500, return_X_y=True)
    assert X.shape == (4, 12, 5000) and y.shape == (4, 4)
    np.testing.assert_allclose(_lead_values(X)[:, 5], [5.1, 5.2, 5.3, 5.4])


def test_missing_record_file(mini_ptbxl):
    os.remove(mini_ptbxl / "records100/00000/00002_lr.dat")
    with pytest.raises(ValueError, match="00002_lr"):
        load_ptbxl(mini_ptbxl)
    with pytest.warns(UserWarning, match="00002_lr"):
        data = load_ptbxl(mini_ptbxl, on_error="skip", task="rhythm")
    assert data.metadata.index.tolist() == [1, 3, 4]
    assert [os.path.basename(p) for p, _ in data.skipped] == ["00002_lr"]
    np.testing.assert_array_equal(data.y, [[0, 1], [0, 0], [0, 1]])  # rows stay aligned
    np.testing.assert_allclose(_lead_values(data.X)[:, 0], [0.1, 0.3, 0.4])


@pytest.mark.parametrize("kwargs, match", [
    ({"sampling_rate": 250}, "sampling_rate must be 100 or 500"),
    ({"task": "diagnosis"}, "task must be one of"),
    ({"subset": "train"}, "subset must be one of"),
])
def test_bad_parameters(mini_ptbxl, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_ptbxl(mini_ptbxl, **kwargs)


def test_not_a_ptbxl_folder(tmp_path, mini_ptbxl):
    with pytest.raises(ValueError, match="not found"):
        load_ptbxl(tmp_path / "nowhere")
    os.remove(mini_ptbxl / "scp_statements.csv")
    with pytest.raises(ValueError, match="scp_statements.csv not found"):
        load_ptbxl(mini_ptbxl)


# ------------------------------------------------------------------ the shared PTB-XL subset


def _benchmark_labels(root, task):
    """Labels as the PTB-XL benchmark code builds them (Strodthoff et al. 2021), re-derived."""
    database = pd.read_csv(root / "ptbxl_database.csv", index_col="ecg_id")
    codes = database["scp_codes"].apply(ast.literal_eval)
    statements = pd.read_csv(root / "scp_statements.csv", index_col=0)
    column = {"diagnostic": None, "subdiagnostic": "diagnostic_subclass",
              "superdiagnostic": "diagnostic_class"}
    if task == "all":
        return codes.apply(lambda c: sorted(c))
    if task in ("form", "rhythm"):
        chosen = statements[statements[task] == 1.0].index
        return codes.apply(lambda c: sorted(k for k in c if k in chosen))
    diagnostic = statements[statements["diagnostic"] == 1.0]
    if column[task] is None:
        return codes.apply(lambda c: sorted(k for k in c if k in diagnostic.index))
    mapped = diagnostic[column[task]]
    return codes.apply(lambda c: sorted({mapped[k] for k in c if k in mapped.index}))


@pytest.mark.data
def test_ptbxl_labelled_100hz(ptbxl_root):
    data = load_ptbxl(ptbxl_root, n_jobs=2)
    assert data.X.shape == (500, 12, 1000) and data.X.dtype == np.float32
    assert list(data.target_names) == ["CD", "HYP", "MI", "NORM", "STTC"]
    assert data.metadata.index.tolist() == list(range(1, 501))
    np.testing.assert_array_equal(data.y[0], [0, 0, 0, 1, 0])  # ecg 1: NORM
    assert data.metadata.loc[1, "scp_codes"] == {"NORM": 100.0, "LVOLT": 0.0, "SR": 0.0}
    reference, _ = wfdb.rdsamp(str(ptbxl_root / "records100/00000/00001_lr"))
    np.testing.assert_allclose(data.X[0], reference.T, rtol=1e-6)
    assert np.abs(data.X).max() < 20  # millivolts
    assert set(data.metadata["sex"]) <= {0, 1} and data.metadata["strat_fold"].between(1, 10).all()


@pytest.mark.data
def test_ptbxl_labelled_500hz(ptbxl_root):
    data = load_ptbxl(ptbxl_root, sampling_rate=500, ecg_ids=[1, 250, 500])
    assert data.X.shape == (3, 12, 5000) and data.fs == 500
    low = load_ptbxl(ptbxl_root, ecg_ids=[1, 250, 500])
    # The 100 Hz records are the 500 Hz ones decimated: their averages agree closely.
    np.testing.assert_allclose(data.X.mean(-1), low.X.mean(-1), atol=0.02)


@pytest.mark.data
@pytest.mark.parametrize("task, n_classes", [
    ("all", 71), ("diagnostic", 44), ("subdiagnostic", 23), ("superdiagnostic", 5),
    ("form", 19), ("rhythm", 12),
])
def test_ptbxl_tasks_match_the_benchmark(ptbxl_root, task, n_classes):
    assert task in PTBXL_TASKS
    data = load_ptbxl(ptbxl_root, task=task, load_signals=False)
    assert len(data.target_names) == n_classes
    expected = _benchmark_labels(ptbxl_root, task)
    assert data.metadata["labels"].tolist() == expected.loc[data.metadata.index].tolist()
    kept = load_ptbxl(ptbxl_root, task=task, load_signals=False, drop_empty=True)
    assert kept.metadata.index.tolist() == expected.index[expected.str.len() > 0].tolist()


@pytest.mark.data
def test_ptbxl_unlabelled(ptbxl_root):
    listing = load_ptbxl(ptbxl_root, subset="unlabelled", load_signals=False)
    assert listing.metadata.index.tolist() == list(range(501, 2000))  # 1499 ECGs
    assert not listing.metadata["labelled"].any()
    data = load_ptbxl(ptbxl_root, subset="unlabelled", ecg_ids=[1999, 501, 1000])
    assert data.X.shape == (3, 12, 1000) and data.metadata.index.tolist() == [1999, 501, 1000]
    reference, _ = wfdb.rdsamp(str(ptbxl_root / "records100/01000/01999_lr"))
    np.testing.assert_allclose(data.X[0], reference.T, rtol=1e-6)
    assert data.y.sum() == 0
    with pytest.raises(ValueError, match="subset='unlabelled'"):
        load_ptbxl(ptbxl_root, ecg_ids=[600])
    both = load_ptbxl(ptbxl_root, subset="all", load_signals=False)
    assert len(both.metadata) == 1999 and both.metadata["labelled"].sum() == 500
