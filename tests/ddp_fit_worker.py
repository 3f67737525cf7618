"""Fit a tiny model and save its weights, alone or under ``torchrun`` (see test_scale.py).

Usage: python ddp_fit_worker.py NAME OUT_FILE [init]

NAME is an estimator of sklearn_ecg.testing, or "engine": a BatchNorm-free toy objective
(NT-Xent on random crops) trained by the engine directly, where 1 and 2 processes must agree
to float precision. ``init`` fits at lr 1e-12 for one epoch: (nearly) the initial weights.
"""

import sys
from types import SimpleNamespace

import torch
from torch import nn

from sklearn_ecg import _engine
from sklearn_ecg._distributed import is_main_process
from sklearn_ecg.datasets import make_synthetic_ecg
from sklearn_ecg.nn.data import RandomCropDataset
from sklearn_ecg.nn.losses import nt_xent
from sklearn_ecg.testing import fit_arguments, tiny_estimator

PARAMS = {"batch_size": 16, "max_epochs": 2, "device": "cpu", "random_state": 0}


class ToyObjective(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Linear(12 * 50, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(x.flatten(1))
        return nt_xent(z[:, :4], z[:, 4:], 0.5)


def main(name: str, out_file: str, init: bool) -> None:
    torch.set_num_threads(1)
    params = dict(PARAMS, **({"lr": 1e-12, "max_epochs": 1} if init else {}))
    data = make_synthetic_ecg(n_patients=16, ecgs_per_patient=2, fs=100, random_state=0)
    if name == "engine":
        settings = SimpleNamespace(verbose=0, callbacks=None, **{"lr": 1e-2, **params})
        net = _engine.train(settings, ToyObjective, RandomCropDataset(data.X, 50), drop_last=True)
        state, loss = net.module_.state_dict(), [float(v) for v in net.history[:, "train_loss"]]
    else:
        args, kwargs = fit_arguments(name, data)
        estimator = tiny_estimator(name, **params).fit(*args, **kwargs)
        state, loss = estimator.net_.module_.state_dict(), estimator.loss_curve_
    if is_main_process():
        torch.save({"state": state, "loss": loss}, out_file)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], len(sys.argv) > 3 and sys.argv[3] == "init")
