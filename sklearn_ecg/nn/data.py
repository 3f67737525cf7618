"""Training items read from (lazy) ECG arrays a batch at a time: whole records and random crops.

A training batch is read with one slice of the array and validated once (torch's
``Dataset.__getitems__``), in the main process or in DataLoader workers. Batches are
:class:`BatchKeys` from :class:`SeededBatchSampler`: the items' indices and one seed per item.
Every random choice a dataset makes for an item (a crop, a pair) comes from that item's seed,
so an item reads the same whether a worker or the main process reads it, and whatever else
is in its batch; the seeds come from the fit's seed and the epoch.

A dataset returns ``(inputs, targets)`` for the whole batch; self-supervised targets are 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from .._validation import check_batch, is_lazy


class BatchKeys(NamedTuple):
    """One batch: dataset item indices and one random seed per item."""

    items: np.ndarray
    seeds: np.ndarray


def item_uniforms(seeds: np.ndarray, n: int) -> np.ndarray:
    """``n`` uniform numbers in [0, 1) per seed, shape (len(seeds), n).

    splitmix64 of ``seed + j * golden ratio``, vectorised: a per-item numpy Generator
    costs about 10 us to create, which alone caps a pipeline near 100 k items/s.
    """
    with np.errstate(over="ignore"):
        x = np.asarray(seeds, dtype=np.uint64)[:, None] + (
            np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * 2.0**-53


def random_starts(seeds: np.ndarray, n_samples: int, length: int) -> np.ndarray:
    """Each item's uniformly drawn start of a ``length``-sample stretch of ``n_samples``."""
    u = item_uniforms(seeds, 1)[:, 0]
    return np.minimum((u * (n_samples - length + 1)).astype(np.int64), n_samples - length)


def crop(batch: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """``batch[i, :, starts[i]:starts[i] + length]`` for every item, as one array."""
    out = np.empty(batch.shape[:-1] + (length,), dtype=batch.dtype)
    for i, start in enumerate(starts):
        out[i] = batch[i, ..., start:start + length]
    return out


def read_rows(X: Any, rows: np.ndarray, name: str = "X") -> np.ndarray:
    """``X[rows]`` as a fresh float32 array, read with as few accesses as the array-like allows:
    one slice for a run of rows, else one fancy index of the sorted unique rows (h5py and zarr
    need increasing indices), else row by row. Rows of lazy array-likes are checked here (NaN/inf
    raise a ValueError naming the ECG); in-memory arrays were checked whole at fit."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        return np.empty((0, *X.shape[1:]), dtype=np.float32)
    if isinstance(X, np.ndarray) and not isinstance(X, np.memmap):
        # In memory (checked whole at fit): one fancy index, in any order, is the one copy.
        return np.asarray(X[rows], dtype=np.float32)
    unique, inverse = np.unique(rows, return_inverse=True)
    fresh = True  # whether ``block`` is already a new array (fancy indexing copies)
    if unique[-1] - unique[0] + 1 == len(unique):
        block, fresh = X[int(unique[0]):int(unique[-1]) + 1], False
    elif isinstance(X, np.ndarray):  # a memmap: its fancy index reads the rows
        block = X[unique]
    else:
        try:
            block = X[unique]
        except (TypeError, IndexError, ValueError, KeyError):
            block = np.stack([np.asarray(X[int(row)]) for row in unique])
    if is_lazy(X):
        block = check_batch(np.asarray(block), name=name, rows=unique)
    if not (len(unique) == len(rows) and bool((inverse == np.arange(len(rows))).all())):
        block, fresh = block[inverse], True
    # A copy unless already one: a slice of an in-memory array is a view, and training may write to it.
    return np.array(block, dtype=np.float32, copy=None if fresh else True)


def read_crops(X: Any, rows: np.ndarray, starts: np.ndarray, length: int, name: str = "X") -> np.ndarray:
    """``X[rows[i], :, starts[i]:starts[i] + length]`` for every i, as a new float32 array.

    In-memory arrays are cut directly (the whole records are never copied); lazy ones are
    read a batch at a time (:func:`read_rows`), then cut."""
    if is_lazy(X):
        return crop(read_rows(X, rows, name), starts, length)
    out = np.empty((len(rows), *X.shape[1:-1], length), dtype=np.float32)
    for i, (row, start) in enumerate(zip(rows, starts)):
        out[i] = X[row, ..., start:start + length]
    return out


class SeededBatchSampler(Sampler[BatchKeys]):
    """Batches of item indices with a seed per item; torch DataLoader's ``batch_sampler``.

    ``shuffle=True``: the order and the items' seeds of each pass are drawn from a generator
    seeded by ``seed`` and the epoch (:meth:`set_epoch`, as torch's ``DistributedSampler``),
    never from the global RNG: DataLoader workers, which create the pass more than once, a
    resumed fit and every process of a multi-process fit see the same batches.
    ``shuffle=False``: items in order with fixed seeds, the same every pass (validation).
    With ``world_size`` processes each keeps its own contiguous share (``rank``) of every
    global batch, whose size must then be a multiple of ``world_size``.
    """

    def __init__(self, n_items: int, batch_size: int, *, shuffle: bool, drop_last: bool,
                 seed: int = 0, rank: int = 0, world_size: int = 1):
        if batch_size % world_size:
            raise ValueError(f"batch_size={batch_size} is the global batch of {world_size} processes: it "
                             f"must be a multiple of {world_size}.")
        self.n_items = n_items
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        full, rest = divmod(self.n_items, self.batch_size)
        return full + int(not self.drop_last and rest >= self.world_size)

    def __iter__(self) -> Iterator[BatchKeys]:
        if self.shuffle:
            mixed = (self.seed * 0x9E3779B1 + self.epoch * 0x85EBCA77 + 1) % 2**63
            generator = torch.Generator().manual_seed(mixed)
            order = torch.randperm(self.n_items, generator=generator).numpy()
            seeds = torch.randint(0, 2**62, (self.n_items,), generator=generator).numpy()
        else:
            order = np.arange(self.n_items)
            seeds = order.astype(np.int64)
        return self._batches(order, seeds)

    def _batches(self, order: np.ndarray, seeds: np.ndarray) -> Iterator[BatchKeys]:
        for start in range(0, self.n_items, self.batch_size):
            stop = min(start + self.batch_size, self.n_items)
            if self.drop_last and stop - start < self.batch_size:
                return
            # Every process needs a share of the same size (losses gather them): a last
            # batch not divisible by the number of processes loses its remainder.
            stop = start + (stop - start) // self.world_size * self.world_size
            if stop == start:
                return
            share = np.array_split(np.arange(start, stop), self.world_size)[self.rank]
            yield BatchKeys(order[share], seeds[share])


def as_tensors(value: Any) -> Any:
    """Arrays (in dicts) as torch tensors, sharing memory where possible."""
    if isinstance(value, dict):
        return {key: as_tensors(item) for key, item in value.items()}
    return torch.as_tensor(np.asarray(value))


def _first(batch: Any) -> Any:
    """The first item of a batch (of each entry of a dict batch)."""
    return {key: value[0] for key, value in batch.items()} if isinstance(batch, dict) else batch[0]


class BatchDataset(Dataset):
    """A dataset read a batch at a time: subclasses implement ``read_batch(items, seeds)``.

    ``__getitems__`` takes :class:`BatchKeys` (or a list of indices, then seeded from torch's
    global RNG); ``__getitem__`` reads one item through the same path.
    """

    def __len__(self) -> int:
        raise NotImplementedError

    @property
    def lazy(self) -> bool:
        """Whether the items come from a lazy array-like (memmap, h5py, zarr): worth workers."""
        ecgs = getattr(self, "ecgs", None)
        return bool(ecgs is not None and ecgs.lazy)

    def read_batch(self, items: np.ndarray, seeds: np.ndarray) -> tuple[Any, Any]:
        raise NotImplementedError

    def __getitems__(self, keys: BatchKeys | list[int]) -> tuple[Any, Any]:
        if not isinstance(keys, BatchKeys):
            items = np.asarray(keys, dtype=np.int64)
            keys = BatchKeys(items, torch.randint(0, 2**62, (len(items),)).numpy())
        n = len(self)
        if len(keys.items) and (keys.items.min() < 0 or keys.items.max() >= n):
            raise IndexError(f"item index out of range for a dataset of {n} items")
        return self.read_batch(keys.items, keys.seeds)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        inputs, targets = self.__getitems__([int(i)])
        return _first(inputs), _first(targets)


class ECGDataset(BatchDataset):
    """One ECG per item, read lazily from any array-like of shape (n, leads, samples).

    ``indices`` restricts the dataset to some rows; ``targets`` (indexable by an array of
    rows of ``X``: an array, or a dict-like such as ``WeightedTargets``) makes the targets
    ``targets[rows]`` instead of zeros.
    """

    def __init__(self, X: Any, indices: np.ndarray | None = None, name: str = "X",
                 targets: Any = None) -> None:
        self.X = X
        self.indices = np.arange(len(X)) if indices is None else np.asarray(indices)
        self.name = name
        self.targets = targets

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def lazy(self) -> bool:
        return is_lazy(self.X)

    def read(self, rows: np.ndarray) -> np.ndarray:
        """Rows of ``X`` as checked float32 (see :func:`read_rows`)."""
        return read_rows(self.X, rows, self.name)

    def targets_of(self, rows: np.ndarray) -> Any:
        if self.targets is None:
            return torch.zeros(len(rows))
        return as_tensors(self.targets[rows])

    def read_batch(self, items: np.ndarray, seeds: np.ndarray) -> tuple[Any, Any]:
        rows = self.indices[items]
        return torch.from_numpy(self.read(rows)), self.targets_of(rows)


class RandomCropDataset(ECGDataset):
    """One ECG per item, cut to a random stretch of ``length`` samples, drawn afresh each time.

    ``length=None`` returns whole records.
    """

    def __init__(self, X: Any, length: int | None, indices: np.ndarray | None = None, name: str = "X",
                 targets: Any = None):
        super().__init__(X, indices=indices, name=name, targets=targets)
        n_samples = X.shape[-1]
        if length is not None and n_samples < length:
            raise ValueError(
                f"{name} has records of {n_samples} samples but training crops are {length} samples; "
                f"pass longer records or lower the crop length."
            )
        self.length = length

    def read_batch(self, items: np.ndarray, seeds: np.ndarray) -> tuple[Any, Any]:
        rows = self.indices[items]
        n_samples = self.X.shape[-1]
        if self.length is None or n_samples == self.length:
            batch = self.read(rows)
        else:
            starts = random_starts(seeds, n_samples, self.length)
            batch = read_crops(self.X, rows, starts, self.length, self.name)
        return torch.from_numpy(batch), self.targets_of(rows)
