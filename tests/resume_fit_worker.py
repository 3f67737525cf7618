"""Fit a tiny estimator with a checkpoint directory and save its weights (see test_scale.py).

Usage: python resume_fit_worker.py NAME CHECKPOINT_DIR OUT_FILE [KILL_EPOCH KILL_BATCH [NTH]]

With KILL_EPOCH and KILL_BATCH the process kills itself with SIGKILL at that batch of that
epoch (1-based) of the NTH net trained (default 1; the fine-tuned classifier trains two, one
per stage), as a preempted or out-of-memory job dies: no clean-up code runs.
"""

import os
import signal
import sys

import numpy as np
import torch
from skorch.callbacks import Callback

from sklearn_ecg.datasets import make_synthetic_ecg
from sklearn_ecg.testing import fit_arguments, tiny_estimator


class KillAt(Callback):
    def __init__(self, epoch: int, batch: int, nth: int = 1):
        self.epoch, self.batch, self.nth = epoch, batch, nth

    def on_train_begin(self, net, **kwargs):
        self.nets_ = getattr(self, "nets_", 0) + 1

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if (training and self.nets_ == self.nth and len(net.history) == self.epoch
                and len(net.history[-1]["batches"]) == self.batch):
            os.kill(os.getpid(), signal.SIGKILL)


def main(name: str, directory: str, out_file: str, kill: tuple[int, ...] | None) -> None:
    torch.set_num_threads(1)
    data = make_synthetic_ecg(n_patients=12, ecgs_per_patient=2, fs=100, random_state=0)
    args, kwargs = fit_arguments(name, data)
    epochs = ({"head_epochs": 2, "finetune_epochs": 3, "validation_fraction": 0.25} if name == "finetune"
              else {"max_epochs": 4})
    estimator = tiny_estimator(name, **epochs, batch_size=8, random_state=0, device="cpu",
                               checkpoint_dir=directory if directory != "-" else None,
                               callbacks=[("kill", KillAt(*kill))] if kill else None)
    estimator.fit(*args, **kwargs)
    state = {key: value.numpy() for key, value in estimator.net_.module_.state_dict().items()}
    np.savez(out_file, loss=np.array(estimator.loss_curve_), **state)


if __name__ == "__main__":
    kill = tuple(int(arg) for arg in sys.argv[4:]) or None
    main(sys.argv[1], sys.argv[2], sys.argv[3], kill)
