"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# Two cores shared with the rest of the suite: one torch thread keeps runs predictable.
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]


def shared_data_root() -> Path | None:
    """../shared/data beside the repository, or $SKLEARN_ECG_DATA; None when absent."""
    candidate = Path(os.environ.get("SKLEARN_ECG_DATA", REPO.parent / "shared" / "data"))
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = shared_data_root()
    if root is None:
        pytest.skip("real ECG data not found: set SKLEARN_ECG_DATA or put it at ../shared/data")
    return root
