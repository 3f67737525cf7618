"""English PTB-XL reports written from the SCP statements' English descriptions."""

from __future__ import annotations

import pandas as pd
import pytest

from sklearn_ecg.datasets._ptbxl_reports import ptbxl_english_reports


@pytest.fixture
def statements() -> pd.DataFrame:
    # A few rows with the layout of scp_statements.csv (NaN where PTB-XL leaves the flag empty).
    return pd.DataFrame(
        {
            "description": ["normal ECG", "inferior myocardial infarction", "left ventricular hypertrophy",
                            "sinus rhythm", "atrial fibrillation",
                            "low QRS voltages in the frontal and horizontal leads",
                            "non-specific ST changes"],
            "diagnostic": [1.0, 1.0, 1.0, None, None, None, 1.0],
            "form": [None, None, None, None, None, 1.0, 1.0],
            "rhythm": [None, None, None, 1.0, 1.0, None, None],
        },
        index=["NORM", "IMI", "LVH", "SR", "AFIB", "LVOLT", "NST_"],
    )


def test_rhythm_then_diagnostic_by_likelihood_then_form(statements):
    codes = [
        {"NORM": 100.0, "LVOLT": 0.0, "SR": 0.0},
        {"LVH": 50.0, "IMI": 100.0, "AFIB": 0.0},
        {"NST_": 0.0, "LVOLT": 0.0},
    ]
    assert ptbxl_english_reports(codes, statements) == [
        "sinus rhythm, normal ECG, low QRS voltages in the frontal and horizontal leads",
        "atrial fibrillation, inferior myocardial infarction, left ventricular hypertrophy",
        "non-specific ST changes, low QRS voltages in the frontal and horizontal leads",
    ]


def test_min_likelihood_drops_uncertain_statements_but_keeps_unstated_ones(statements):
    codes = [{"IMI": 15.0, "LVH": 100.0, "SR": 0.0, "NST_": 0.0}, {"IMI": 35.0}]
    assert ptbxl_english_reports(codes, statements, min_likelihood=50) == [
        "sinus rhythm, left ventricular hypertrophy, non-specific ST changes", ""]
    assert ptbxl_english_reports(codes, statements, min_likelihood=50, separator="; ")[0] == (
        "sinus rhythm; left ventricular hypertrophy; non-specific ST changes")


def test_accepts_text_dicts_series_and_frames(statements):
    text = ["{'NORM': 100.0, 'SR': 0.0}", "{'AFIB': 0.0}"]
    expected = ["sinus rhythm, normal ECG", "atrial fibrillation"]
    assert ptbxl_english_reports(text, statements) == expected
    frame = pd.DataFrame({"scp_codes": text}, index=pd.Index([7, 9], name="ecg_id"))
    assert ptbxl_english_reports(frame, statements) == expected
    assert ptbxl_english_reports(frame["scp_codes"], statements) == expected
    assert ptbxl_english_reports([], statements) == []


def test_reads_statements_from_the_file_or_the_folder(statements, tmp_path):
    statements.to_csv(tmp_path / "scp_statements.csv")
    codes = [{"NORM": 80.0, "SR": 0.0}]
    from_file = ptbxl_english_reports(codes, tmp_path / "scp_statements.csv")
    assert ptbxl_english_reports(codes, tmp_path) == from_file == ["sinus rhythm, normal ECG"]


def test_errors_name_what_was_expected(statements, tmp_path):
    with pytest.raises(ValueError, match=r"\['XYZ'\] not in the scp_statements DataFrame"):
        ptbxl_english_reports([{"XYZ": 100.0}], statements)
    frame = pd.DataFrame({"scp_codes": [{"NORM": 100.0}, float("nan")]}, index=[1, 1500])
    with pytest.raises(ValueError, match="ecg_id 1500.*unlabelled"):
        ptbxl_english_reports(frame, statements)
    with pytest.raises(ValueError, match="row 0 is not readable"):
        ptbxl_english_reports(["{'NORM': 100.0"], statements)
    with pytest.raises(ValueError, match="no 'scp_codes' column"):
        ptbxl_english_reports(pd.DataFrame({"report": ["x"]}), statements)
    with pytest.raises(ValueError, match="one entry per ECG"):
        ptbxl_english_reports({"NORM": 100.0}, statements)
    with pytest.raises(ValueError, match="scp_statements.csv not found"):
        ptbxl_english_reports([{"NORM": 100.0}], tmp_path)
    (tmp_path / "scp_statements.csv").write_text("code,other\nNORM,1\n")
    with pytest.raises(ValueError, match="lacks the column"):
        ptbxl_english_reports([{"NORM": 100.0}], tmp_path)


@pytest.mark.data
def test_real_ptbxl_reports(data_root):
    from sklearn_ecg.datasets import load_ptbxl

    root = data_root / "ptbxl"
    data = load_ptbxl(root, load_signals=False)
    reports = ptbxl_english_reports(data, root)
    assert len(reports) == len(data.metadata) == 500
    assert reports[:3] == [
        "sinus rhythm, normal ECG, low QRS voltages in the frontal and horizontal leads",  # ecg_id 1
        "sinus bradycardia, normal ECG",
        "sinus rhythm, normal ECG",
    ]
    assert all(reports)
    raw = pd.read_csv(root / "ptbxl_database.csv", index_col="ecg_id")
    assert ptbxl_english_reports(raw, root / "scp_statements.csv") == reports
    assert len(set(reports)) < len(reports) / 2  # statements repeat: far fewer distinct reports
