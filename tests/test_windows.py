"""Sliding windows, their averaging, and random training crops."""

import numpy as np
import pytest
import torch

from sklearn_ecg._windows import n_sliding_windows
from sklearn_ecg.nn.data import RandomCropDataset
from sklearn_ecg.nn.windows import average_windows, embed_in_windows, sliding_windows


def test_papers_grid_on_ten_seconds():
    x = torch.arange(2 * 3 * 1000, dtype=torch.float32).reshape(2, 3, 1000)
    windows, n_windows = sliding_windows(x, 250, 125)
    assert n_windows == 7 and windows.shape == (14, 3, 250)
    # Record 0's windows first, each the right stretch of every lead.
    for k in range(7):
        assert torch.equal(windows[k], x[0, :, 125 * k:125 * k + 250])
        assert torch.equal(windows[7 + k], x[1, :, 125 * k:125 * k + 250])


def test_cover_end_adds_a_window_ending_at_the_last_sample():
    x = torch.randn(1, 2, 1100)
    windows, n_windows = sliding_windows(x, 250, 125)
    assert n_windows == 8 == n_sliding_windows(1100, 250, 125)
    assert torch.equal(windows[-1], x[0, :, -250:])
    _, n_grid = sliding_windows(x, 250, 125, cover_end=False)
    assert n_grid == 7


def test_one_window_and_too_short():
    assert sliding_windows(torch.zeros(3, 1, 250), 250, 125)[1] == 1
    with pytest.raises(ValueError, match="shorter than the window"):
        sliding_windows(torch.zeros(3, 1, 200), 250, 125)


def test_average_windows_inverts_the_layout():
    values = torch.arange(12, dtype=torch.float32).reshape(6, 2)  # 2 records x 3 windows
    assert torch.equal(average_windows(values, 3), torch.tensor([[2.0, 3.0], [8.0, 9.0]]))
    with pytest.raises(ValueError, match="windows per record"):
        average_windows(values, 4)


def test_embed_in_windows_averages_window_embeddings():
    x = torch.randn(4, 2, 1000)
    mean_embed = lambda w: w.mean(-1)  # (n, leads) per window
    out = embed_in_windows(mean_embed, x, 250, 125)
    expected = torch.stack([x[:, :, 125 * k:125 * k + 250].mean(-1) for k in range(7)]).mean(0)
    assert torch.allclose(out, expected, atol=1e-6)
    assert torch.equal(embed_in_windows(mean_embed, x, None, None), x.mean(-1))


def test_random_crops_are_crops_and_reproducible():
    X = np.arange(5 * 2 * 400, dtype=np.float32).reshape(5, 2, 400)
    dataset = RandomCropDataset(X, 100)
    torch.manual_seed(0)
    first = [dataset[i][0] for i in range(5)]
    starts = set()
    for i, crop in enumerate(first):
        assert crop.shape == (2, 100)
        start = int(crop[0, 0]) - i * 800
        starts.add(start)
        assert 0 <= start <= 300 and torch.equal(crop, torch.from_numpy(X[i, :, start:start + 100]))
    assert len(starts) > 1
    torch.manual_seed(0)
    assert all(torch.equal(a, dataset[i][0]) for i, a in enumerate(first))
    assert RandomCropDataset(X, None)[0][0].shape == (2, 400)


def test_random_crop_longer_than_records_is_an_error():
    with pytest.raises(ValueError, match="records of 400 samples but training crops are 1000"):
        RandomCropDataset(np.zeros((2, 1, 400), dtype=np.float32), 1000)


def test_embed_in_windows_in_chunks_matches_one_pass():
    x = torch.randn(3, 2, 1000)
    calls = []

    def embed(w):
        calls.append(len(w))
        return w.mean(-1)

    one_pass = embed_in_windows(embed, x, 250, 125)
    assert calls == [21]
    chunked = embed_in_windows(embed, x, 250, 125, chunk_size=8)
    assert calls[1:] == [8, 8, 5]
    assert torch.allclose(chunked, one_pass, atol=1e-6)
