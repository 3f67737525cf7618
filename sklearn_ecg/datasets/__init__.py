"""Datasets: readers for WFDB records and PTB-XL, and synthetic ECGs."""

from ._ptbxl import load_ptbxl
from ._ptbxl_reports import ptbxl_english_reports
from ._synthetic import make_synthetic_ecg
from ._wfdb import load_wfdb

__all__ = ["load_ptbxl", "load_wfdb", "make_synthetic_ecg", "ptbxl_english_reports"]
