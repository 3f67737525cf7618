"""Training at scale: batch-level data pipeline, workers, validation loss and early stopping,
checkpoints with exact resume after SIGKILL, multi-process (DDP, gloo) training, devices."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from skorch.callbacks import Checkpoint, EarlyStopping

from sklearn_ecg import _distributed, _engine
from sklearn_ecg.datasets import make_synthetic_ecg
from sklearn_ecg.nn.data import BatchKeys, RandomCropDataset, SeededBatchSampler, item_uniforms, read_rows
from sklearn_ecg.testing import fit_arguments, tiny_estimator

TESTS = Path(__file__).parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent), os.environ.get("PYTHONPATH", "")])}


@pytest.fixture(scope="module")
def data():
    return make_synthetic_ecg(n_patients=12, ecgs_per_patient=2, fs=100, random_state=0)


def _weights(estimator):
    return {k: v.detach().clone() for k, v in estimator.net_.module_.state_dict().items()}


def _assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def _run(*args, check=True):
    return subprocess.run([sys.executable, *map(str, args)], env=ENV, capture_output=True, text=True,
                          timeout=600, check=check)


# -- the data pipeline --------------------------------------------------------------------------
def test_sampler_shares_partition_each_global_batch():
    torch.manual_seed(0)
    whole = list(SeededBatchSampler(20, 8, shuffle=True, drop_last=False))
    shares = []
    for rank in range(2):  # every process draws the same number from its (equally seeded) RNG
        torch.manual_seed(0)
        shares.append(list(SeededBatchSampler(20, 8, shuffle=True, drop_last=False, rank=rank,
                                              world_size=2)))
    assert len(whole) == len(SeededBatchSampler(20, 8, shuffle=True, drop_last=False)) == 3
    for batch, first, second in zip(whole, *shares):
        np.testing.assert_array_equal(np.concatenate([first.items, second.items]), batch.items)
        np.testing.assert_array_equal(np.concatenate([first.seeds, second.seeds]), batch.seeds)
    assert sorted(np.concatenate([b.items for b in whole])) == list(range(20))
    with pytest.raises(ValueError, match="multiple of 2"):
        SeededBatchSampler(20, 7, shuffle=True, drop_last=False, world_size=2)


def test_validation_batches_leave_the_global_rng_alone():
    torch.manual_seed(3)
    before = torch.get_rng_state()
    batches = list(SeededBatchSampler(10, 4, shuffle=False, drop_last=False))
    assert torch.equal(before, torch.get_rng_state())
    assert [list(b.items) for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_item_uniforms_are_uniform_and_per_seed():
    u = item_uniforms(np.arange(20000), 2)
    assert u.shape == (20000, 2) and u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.01 and abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 0.03
    np.testing.assert_array_equal(item_uniforms(np.array([7]), 2)[0], u[7])


class IncreasingOnly:
    """An h5py-like array: fancy indices must be increasing, no duplicates."""

    def __init__(self, array):
        self.array, self.shape, self.dtype, self.ndim = array, array.shape, array.dtype, array.ndim
        self.reads = 0

    def __len__(self):
        return len(self.array)

    def __getitem__(self, index):
        self.reads += 1
        if isinstance(index, np.ndarray) and np.any(np.diff(index) <= 0):
            raise TypeError("indices must be increasing")
        return self.array[index]


def test_read_rows_one_access_any_order_and_names_the_bad_ecg():
    X = np.random.RandomState(0).randn(10, 2, 5).astype(np.float32)
    lazy = IncreasingOnly(X)
    rows = np.array([7, 2, 7, 5])
    np.testing.assert_array_equal(read_rows(lazy, rows), X[rows])
    assert lazy.reads == 1
    X[5, 1, 3] = np.nan
    with pytest.raises(ValueError, match="ECG index 5"):
        read_rows(IncreasingOnly(X), rows)


def test_batches_are_copies_of_in_memory_data():
    X = np.zeros((4, 1, 8), dtype=np.float32)
    batch, _ = RandomCropDataset(X, None).__getitems__(BatchKeys(np.arange(4), np.zeros(4, dtype=np.int64)))
    batch += 1
    assert X.sum() == 0


def test_workers_and_memmaps_give_the_same_fit(tmp_path, data):
    path = tmp_path / "X.npy"
    np.save(path, data.X)
    memmap = np.load(path, mmap_mode="r")
    fits = [tiny_estimator("simclr", max_epochs=2, batch_size=8, num_workers=workers).fit(X)
            for X, workers in ((data.X, 0), (memmap, 0), (memmap, 2))]
    for other in fits[1:]:
        _assert_same_weights(_weights(fits[0]), _weights(other))
    assert fits[2].net_.num_workers == 2
    assert fits[0].net_.num_workers == 0  # "auto" on CPU


@pytest.mark.parametrize("cores", [1, 2, 16])
def test_auto_workers_by_device_and_laziness(monkeypatch, cores):
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    in_memory = RandomCropDataset(np.zeros((2, 1, 8), np.float32), None)
    lazy = type("Lazy", (), {"lazy": True})()
    workers = min(4, cores - 1)
    cases = [("cpu", lazy, 0), ("cpu", in_memory, 0), ("cuda", in_memory, workers), ("cuda:1", lazy, workers),
             ("mps", in_memory, 0), ("mps", lazy, workers)]
    for device, dataset, expected in cases:
        assert _engine.resolve_num_workers("auto", device, dataset) == expected, (device, dataset)
    assert _engine.resolve_num_workers(3, "cpu", in_memory) == 3


# -- validation, early stopping, net options --------------------------------------------------
def test_early_stopping_and_checkpoint_on_valid_loss(tmp_path, data):
    stopper = EarlyStopping(monitor="valid_loss", patience=1, threshold=10, threshold_mode="abs")
    saver = Checkpoint(monitor="valid_loss_best", dirname=str(tmp_path / "best"))
    args, kwargs = fit_arguments("pclr", data)
    pclr = tiny_estimator("pclr", max_epochs=6, batch_size=4, validation_fraction=0.25,
                          callbacks=[stopper, saver]).fit(*args, **kwargs)
    history = pclr.net_.history
    assert len(history) == 2  # no epoch improves by 10: stopped after patience 1
    assert all(np.isfinite(history[:, "valid_loss"]))
    assert (tmp_path / "best" / "params.pt").exists()
    # 12 patients: 3 held out, 9 train in 2 batches of 4 (the last item dropped).
    assert history[-1, "valid_batch_count"] == 1 and history[-1, "train_batch_count"] == 2


def test_validation_fraction_that_leaves_nothing_is_an_error(data):
    with pytest.raises(ValueError, match="validation_fraction=0.01"):
        tiny_estimator("simclr", validation_fraction=0.01).fit(data.X)


def test_optimizer_and_weight_decay_reach_the_net(data):
    args, kwargs = fit_arguments("pclr", data)
    pclr = tiny_estimator("pclr", optimizer="sgd", weight_decay=0.1).fit(*args, **kwargs)
    assert isinstance(pclr.net_.optimizer_, torch.optim.SGD)
    assert pclr.net_.optimizer_.param_groups[0]["weight_decay"] == 0.1
    # W2V's own AdamW settings (betas, eps) do not follow it to another optimizer.
    w2v = tiny_estimator("w2v_cmsc", optimizer=torch.optim.RMSprop).fit(data.X)
    assert isinstance(w2v.net_.optimizer_, torch.optim.RMSprop)
    with pytest.raises(ValueError, match="optimizer"):
        tiny_estimator("pclr", optimizer="lbfgs").fit(*args, **kwargs)


# -- checkpoints and resume -------------------------------------------------------------------
@pytest.mark.parametrize("name, kill", [("byol", (3, 1)), ("pclr", (3, 1)),
                                        ("finetune", (2, 1, 2))])  # the second stage's 2nd epoch
def test_resume_after_sigkill_equals_an_uninterrupted_fit(tmp_path, name, kill):
    worker = TESTS / "resume_fit_worker.py"
    _run(worker, name, "-", tmp_path / "plain.npz")
    killed = _run(worker, name, tmp_path / "ck", tmp_path / "killed.npz", *kill, check=False)
    assert killed.returncode == -9, killed.stderr  # SIGKILL mid-epoch
    assert not (tmp_path / "killed.npz").exists()
    _run(worker, name, tmp_path / "ck", tmp_path / "resumed.npz")
    plain, resumed = np.load(tmp_path / "plain.npz"), np.load(tmp_path / "resumed.npz")
    assert plain.files == resumed.files
    for key in plain.files:
        np.testing.assert_array_equal(plain[key], resumed[key], err_msg=key)


def test_a_finished_checkpoint_gives_the_fitted_model_back(tmp_path, data):
    first = tiny_estimator("simclr", max_epochs=2, batch_size=8, checkpoint_dir=tmp_path).fit(data.X)
    again = tiny_estimator("simclr", max_epochs=2, batch_size=8, checkpoint_dir=str(tmp_path)).fit(data.X)
    _assert_same_weights(_weights(first), _weights(again))
    assert len(again.net_.history) == 2
    np.testing.assert_array_equal(first.transform(data.X), again.transform(data.X))


def test_a_checkpoint_of_another_fit_is_refused_and_kept(tmp_path, data):
    tiny_estimator("simclr", max_epochs=1, batch_size=8, checkpoint_dir=tmp_path).fit(data.X)
    saved = (tmp_path / "checkpoint.pt").read_bytes()
    with pytest.raises(ValueError, match="another fit.*parameter lr"):
        tiny_estimator("simclr", max_epochs=1, batch_size=8, lr=0.5, checkpoint_dir=tmp_path).fit(data.X)
    with pytest.raises(ValueError, match="another fit.*data"):
        tiny_estimator("simclr", max_epochs=1, batch_size=8, checkpoint_dir=tmp_path).fit(data.X[1:])
    assert (tmp_path / "checkpoint.pt").read_bytes() == saved


def test_a_damaged_checkpoint_is_named(tmp_path, data):
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="checkpoint.pt is not a readable"):
        tiny_estimator("simclr", max_epochs=1, checkpoint_dir=tmp_path).fit(data.X)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a directory"):
        tiny_estimator("simclr", max_epochs=1, checkpoint_dir=tmp_path / "file").fit(data.X)


# -- multi-process training ---------------------------------------------------------------------
def _torchrun(tmp_path, name, processes):
    out = tmp_path / f"{name}-{processes}.pt"
    if processes == 1:
        _run(TESTS / "ddp_fit_worker.py", name, out)
    else:
        _run("-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
             TESTS / "ddp_fit_worker.py", name, out)
    return torch.load(out)


def test_two_processes_train_as_one_on_the_same_global_batch(tmp_path):
    # The engine alone (a BatchNorm-free NT-Xent objective on random crops): the same items,
    # crops and gathered negatives, DDP-averaged gradients; equal to float precision.
    one, two = _torchrun(tmp_path, "engine", 1), _torchrun(tmp_path, "engine", 2)
    for key in one["state"]:
        torch.testing.assert_close(two["state"][key], one["state"][key], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=1e-5)


def test_an_estimator_trains_under_torchrun(tmp_path):
    # PCLR's encoder has BatchNorm, which on CPU normalises each process's share with its own
    # statistics (SyncBatchNorm is CUDA-only): the loss, over the gathered global batch, stays
    # within 5% of the single-process one; the weights are not equal.
    one, two = _torchrun(tmp_path, "pclr", 1), _torchrun(tmp_path, "pclr", 2)
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=0.05)
    assert one["state"].keys() == two["state"].keys()


def test_sync_batchnorm_goes_back_to_batchnorm():
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Conv1d(2, 3, 3), torch.nn.BatchNorm1d(3))
    module(torch.randn(8, 2, 10))
    module.eval()
    x = torch.randn(4, 2, 10)
    expected = module(x)
    synced = torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)
    plain = _distributed.plain_batchnorm(synced)
    assert type(plain[1]) is torch.nn.BatchNorm1d and not plain[1].training
    torch.testing.assert_close(plain(x), expected)


def test_single_process_outside_a_launcher(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert _distributed.rank_and_world_size() == (0, 1) and _distributed.is_main_process()
    z = torch.randn(3, 2)
    assert _distributed.gather_across_processes(z) is z


# -- devices ------------------------------------------------------------------------------------
def test_unsupported_devices_are_clear_errors(monkeypatch):
    with pytest.raises(ValueError, match="not supported"):
        _engine.resolve_device("xla")
    monkeypatch.setattr(_engine, "_mps_available", lambda: False)
    with pytest.raises(ValueError, match="MPS is not available"):
        _engine.resolve_device("mps")


def test_auto_picks_mps_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(_engine, "_mps_available", lambda: True)
    assert _engine.resolve_device("auto") == "mps"
    assert _engine.resolve_device("mps") == "mps"


def test_only_the_main_process_saves(tmp_path, monkeypatch, data):
    simclr = tiny_estimator("simclr", max_epochs=1).fit(data.X)
    monkeypatch.setattr(_distributed, "rank_and_world_size", lambda: (1, 2))
    assert simclr.save(tmp_path / "model") == tmp_path / "model"
    assert not (tmp_path / "model").exists()
    monkeypatch.setattr(_distributed, "rank_and_world_size", lambda: (0, 2))
    simclr.save(tmp_path / "model")
    assert (tmp_path / "model").is_dir()


@pytest.mark.parametrize("name", ["supervised", "finetune"])
def test_classifiers_move_between_devices(name, data):
    args, kwargs = fit_arguments(name, data)
    clf = tiny_estimator(name, device="cpu").fit(*args, **kwargs)
    before = clf.predict_proba(data.X)
    assert clf.to("cpu") is clf and clf.device == "cpu"
    np.testing.assert_array_equal(clf.predict_proba(data.X), before)
    with pytest.raises(ValueError, match="not supported"):
        clf.to("xla")
