"""Fixtures for the dataset readers: where the real ECG data lives, and tiny WFDB writers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import wfdb


def data_root() -> Path:
    """``$SKLEARN_ECG_DATA`` or ``<repo>/../shared/data``."""
    env = os.environ.get("SKLEARN_ECG_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(
            f"real ECG data not found at {path}: set SKLEARN_ECG_DATA to the shared data folder "
            "(holding ptbxl/ and wfdb-samples/)"
        )
    return path


@pytest.fixture
def wfdb_samples() -> Path:
    return _require(data_root() / "wfdb-samples")


@pytest.fixture
def ptbxl_root() -> Path:
    return _require(data_root() / "ptbxl")


def write_record(
    folder: Path,
    name: str,
    signal: np.ndarray,
    *,
    fs: float = 500,
    leads: list[str] | None = None,
    units: str | list[str] = "mV",
    comments: list[str] | None = None,
    fmt: str = "16",
) -> Path:
    """Write ``signal`` (n_samples, n_leads), in ``units``, as a WFDB record; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    signal = np.asarray(signal, dtype=np.float64)
    n_leads = signal.shape[1]
    leads = leads or [f"lead{i}" for i in range(n_leads)]
    units = [units] * n_leads if isinstance(units, str) else list(units)
    wfdb.wrsamp(
        name, fs=fs, units=units, sig_name=leads, p_signal=signal, fmt=[fmt] * n_leads,
        comments=comments, write_dir=str(folder),
    )
    return folder / name


@pytest.fixture(scope="session")
def make_record():
    """The :func:`write_record` helper, for tests that build records in tmp_path."""
    return write_record
