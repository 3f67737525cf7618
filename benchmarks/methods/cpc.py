"""CPC (Mehari & Strodthoff 2022) for the quality benchmark: presets of CPCTransformer."""

from __future__ import annotations

from sklearn_ecg import CPCTransformer
from sklearn_ecg.testing import tiny_estimator

NAME = "CPC"
#: PTB-XL records at this rate (the paper works at 100 Hz).
SAMPLING_RATE = 100


def make_embedder(preset: str) -> CPCTransformer:
    """An unfitted CPCTransformer for ``preset``.

    - ``"paper"``: the published 4FC+2LSTM+2FC model and training (1000 epochs; GPU days).
    - ``"cpu"``: strided encoder (16x fewer LSTM steps), 128 wide, predicting 4 steps
      (0.64 s) ahead, lr 1e-3, 10 epochs: a few minutes for ~1500 ECGs of 12 x 1000 on
      2 CPU cores. (12 strided steps would be 1.9 s ahead, which small runs hardly learn.)
    - ``"fast"``: a tiny model and one epoch, for smoke tests.
    """
    if preset == "paper":
        return CPCTransformer(random_state=0)
    if preset == "cpu":
        return CPCTransformer(encoder="strided", n_features=128, n_hidden=128, n_steps=4, max_epochs=10,
                              lr=1e-3, random_state=0)
    if preset == "fast":
        return tiny_estimator("cpc", fs=SAMPLING_RATE, batch_size=32, device="auto")
    raise ValueError(f"preset must be 'paper', 'cpu' or 'fast', got {preset!r}.")
