"""SimCLR (Mehari & Strodthoff 2022) for the quality benchmark: presets of SimCLRTransformer."""

from __future__ import annotations

from sklearn_ecg import SimCLRTransformer
from sklearn_ecg.testing import tiny_estimator

NAME = "SimCLR"
#: PTB-XL records at this rate (the paper works at 100 Hz).
SAMPLING_RATE = 100

# A small xresnet1d (one bottleneck block per stage, 16 wide: 128-d embeddings).
CPU_BACKBONE = dict(layers=(1, 1, 1, 1), widths=(16, 16, 16, 16), stem_widths=(16, 16, 32))


def make_embedder(preset: str) -> SimCLRTransformer:
    """An unfitted SimCLRTransformer for ``preset``.

    - ``"paper"``: xresnet1d50, batches of 4096 windows, 2000 epochs (GPU).
    - ``"cpu"``: a small xresnet1d, batches of 128, 100 epochs: about 6 minutes for
      ~1500 ECGs of 12 x 1000 on 2 CPU cores. (15 epochs, 1 minute, gave macro AUC
      0.719/0.752/0.801 at 50/100/200 labels on the shared protocol; 100 epochs
      0.756/0.796/0.820.)
    - ``"fast"``: a tiny backbone and one epoch, for smoke tests.
    """
    if preset == "paper":
        return SimCLRTransformer(random_state=0)
    if preset == "cpu":
        return SimCLRTransformer(**CPU_BACKBONE, batch_size=128, max_epochs=100, random_state=0)
    if preset == "fast":
        return tiny_estimator("simclr", fs=SAMPLING_RATE, batch_size=32, device="auto")
    raise ValueError(f"preset must be 'paper', 'cpu' or 'fast', got {preset!r}.")
