"""Datasets: readers for WFDB records and PTB-XL, and synthetic ECGs."""

from ._deepfake import make_deepfake_ecg
from ._ptbxl import PTBXL_TASKS, load_ptbxl
from ._ptbxl_reports import ptbxl_english_reports
from ._synthetic import SYNTHETIC_CLASSES, make_synthetic_ecg
from ._wfdb import load_wfdb

__all__ = ["PTBXL_TASKS", "SYNTHETIC_CLASSES", "load_ptbxl", "load_wfdb", "make_deepfake_ecg",
           "make_synthetic_ecg", "ptbxl_english_reports"]
