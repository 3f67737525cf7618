"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

# Two cores shared with the rest of the suite: one torch thread keeps runs predictable.
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _seed_global_rngs():
    # Each test starts from the same global RNG state, so its outcome does not depend on
    # which tests ran before it (CI once drew a no-op BaselineShift after a reordering).
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


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
