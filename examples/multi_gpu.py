# %% [markdown]
# # Pretraining at scale: one GPU, several GPUs, several machines
#
# The same script runs everywhere; only the launch command changes. Every process runs it,
# draws the same global batches of `batch_size` ECGs and trains on its share (DDP averages
# the gradients; SimCLR, PCLR, METS and CMSC contrast each item with the whole global batch);
# only the main process writes checkpoints and the saved model.
#
# ```
# python examples/multi_gpu.py                                   # one GPU (or the CPU)
# torchrun --standalone --nproc_per_node=8 examples/multi_gpu.py # 8 GPUs of one machine
# accelerate launch --multi_gpu --num_processes 8 examples/multi_gpu.py   # the same with Accelerate
# # 2 machines x 8 GPUs: run on each machine, with its --node_rank (0 and 1)
# torchrun --nnodes=2 --nproc_per_node=8 --node_rank=0 \
#     --rdzv_backend=c10d --rdzv_endpoint=machine0.example.org:29500 examples/multi_gpu.py
# torchrun --standalone --nproc_per_node=2 examples/multi_gpu.py --device cpu  # try it on a CPU
# ```
#
# The ECGs are read lazily from a `.npy` memmap by DataLoader workers (`num_workers="auto"`:
# up to 4 per GPU for lazy arrays). Each epoch is checkpointed to `--checkpoint-dir`;
# rerunning the same command after a crash or preemption resumes after the last complete
# epoch. `SKLEARN_ECG_FAST=1` makes it tiny.

# %%
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from skorch.callbacks import EarlyStopping

from sklearn_ecg import SimCLRTransformer
from sklearn_ecg.datasets import make_synthetic_ecg

FAST = os.environ.get("SKLEARN_ECG_FAST") == "1"
MAIN = int(os.environ.get("RANK", "0")) == 0  # set by torchrun / accelerate launch
parser = argparse.ArgumentParser()
parser.add_argument("--data", type=Path, default=None, help="a .npy of ECGs (n, 12, 1000) at 100 Hz, mV")
parser.add_argument("--device", default="auto")
parser.add_argument("--out", type=Path, default=Path("multi_gpu_output"))
parser.add_argument("--checkpoint-dir", type=Path, default=None)
args = parser.parse_args()
if FAST and MAIN:
    print("Fast mode (SKLEARN_ECG_FAST=1): tiny data and models, so the numbers below are not meaningful.")

# %% [markdown]
# The unlabelled ECGs, as a memmap: never loaded whole, whatever their number.

# %%
path = args.data
if path is None:
    path = args.out / "ecgs.npy"
    if MAIN and not path.exists():
        args.out.mkdir(parents=True, exist_ok=True)
        ecgs = make_synthetic_ecg(n_patients=32 if FAST else 2000, ecgs_per_patient=1, random_state=0).X
        np.save(path.with_suffix(".partial.npy"), ecgs)
        os.replace(path.with_suffix(".partial.npy"), path)
    while not path.exists():  # the other processes wait for the main one to write it
        time.sleep(0.1)
X = np.load(path, mmap_mode="r")

# %% [markdown]
# SimCLR with the published backbone (xresnet1d50) and a global batch of 512 windows;
# 5% of the ECGs are held out to track the training loss, and training stops when it
# has not improved for 20 epochs.

# %%
small = dict(layers=(1, 1), widths=(8, 8), stem_widths=(8, 8, 16), projection_dims=(32, 16))
simclr = SimCLRTransformer(
    **(small if FAST else {}),
    batch_size=16 if FAST else 512,
    max_epochs=2 if FAST else 1000,
    validation_fraction=0.1 if FAST else 0.05,
    callbacks=[EarlyStopping(monitor="valid_loss", patience=20)],
    checkpoint_dir=args.checkpoint_dir or args.out / "checkpoints",
    device=args.device,
    random_state=0,
)
simclr.fit(X)
# Written by the main process only; callbacks are code, which a saved model never holds.
simclr.set_params(callbacks=None).save(args.out / "simclr")
if MAIN:
    history = simclr.net_.history
    print(f"{len(history)} epochs; last training loss {history[-1, 'train_loss']:.3f}, "
          f"validation loss {history[-1, 'valid_loss']:.3f}; saved to {args.out / 'simclr'}")
