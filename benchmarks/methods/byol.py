"""BYOL (Mehari & Strodthoff 2022) for the quality benchmark: presets of BYOLTransformer."""

from __future__ import annotations

from sklearn_ecg import BYOLTransformer
from sklearn_ecg.testing import tiny_estimator

# The same small backbones as SimCLR's presets, so the two compare like for like.
from .simclr import CPU_BACKBONE

NAME = "BYOL"
#: PTB-XL records at this rate (the paper works at 100 Hz).
SAMPLING_RATE = 100


def make_embedder(preset: str) -> BYOLTransformer:
    """An unfitted BYOLTransformer for ``preset``.

    - ``"paper"``: xresnet1d50, batches of 4096 windows, 2000 epochs (GPU).
    - ``"cpu"``: a small xresnet1d, batches of 128, 100 epochs with 1 of warm-up: about
      3 minutes for ~1500 ECGs of 12 x 1000 on 2 CPU cores. (10 epochs gave macro AUC
      0.712/0.761/0.796 at 50/100/200 labels on the shared protocol; 100 epochs
      0.733/0.763/0.814.)
    - ``"fast"``: a tiny backbone and one epoch, for smoke tests.
    """
    if preset == "paper":
        return BYOLTransformer(random_state=0)
    if preset == "cpu":
        return BYOLTransformer(**CPU_BACKBONE, batch_size=128, max_epochs=100, warmup_epochs=1,
                               random_state=0)
    if preset == "fast":
        return tiny_estimator("byol", fs=SAMPLING_RATE, batch_size=32, device="auto")
    raise ValueError(f"preset must be 'paper', 'cpu' or 'fast', got {preset!r}.")
