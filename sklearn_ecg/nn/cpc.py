"""Contrastive Predictive Coding for ECGs (Mehari & Strodthoff 2022, after Oord et al. 2018).

An encoder of Conv1d + BatchNorm + ReLU layers maps the ECG to a sequence of
vectors ``z_t``; a unidirectional LSTM summarises ``z_1..z_t`` into a context
``c_t``; a linear map without bias predicts ``z_{t+k}`` from ``c_t``. The InfoNCE
loss asks the prediction to score the true ``z_{t+k}`` above ``n_negatives``
vectors of other time steps of the same record.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

POOLINGS = ("concat", "mean")


class CPCEncoder(nn.Sequential):
    """Conv1d (padding (k - 1) // 2, no bias) + BatchNorm + ReLU per layer; (n, leads, samples) ->
    (n, features[-1], steps)."""

    def __init__(self, in_channels: int, features: Sequence[int], kernel_sizes: Sequence[int],
                 strides: Sequence[int]):
        if not (len(features) == len(kernel_sizes) == len(strides)) or not features:
            raise ValueError(f"features, kernel_sizes and strides need one entry per layer, got "
                             f"{features}, {kernel_sizes}, {strides}.")
        layers = []
        channels = in_channels
        for width, kernel, stride in zip(features, kernel_sizes, strides):
            layers.append(nn.Sequential(
                nn.Conv1d(channels, width, kernel, stride=stride, padding=(kernel - 1) // 2, bias=False),
                nn.BatchNorm1d(width),
                nn.ReLU(inplace=True),
            ))
            channels = width
        super().__init__(*layers)
        self.kernel_sizes, self.strides = tuple(kernel_sizes), tuple(strides)
        self.out_features = channels

    def output_length(self, n_samples: int) -> int:
        return steps_out(n_samples, self.kernel_sizes, self.strides)


def steps_out(n_samples: int, kernel_sizes: Sequence[int], strides: Sequence[int]) -> int:
    """Encoder steps of a record of ``n_samples`` samples (padding (k - 1) // 2 per layer)."""
    for kernel, stride in zip(kernel_sizes, strides):
        n_samples = (n_samples + 2 * ((kernel - 1) // 2) - kernel) // stride + 1
    return n_samples


class CPCContextNetwork(nn.Module):
    """The CPC encoder used for embeddings: convolutional steps, LSTM contexts, pooled contexts.

    Parameters
    ----------
    in_channels : int
        Number of leads.
    features, kernel_sizes, strides : sequences of int
        Convolutional layers. "4FC" of the paper: four layers of 512 features,
        kernel 1, stride 1 (one step per sample); the strided option: kernels
        (10, 4, 4, 4), strides (2, 2, 2, 2) (one step per 16 samples).
    n_hidden, n_layers : int
        LSTM width and depth (paper: 512, 2).
    pooling : {"concat", "mean"}
        ``forward`` returns the concatenation of the mean, max and last context
        vector (3 x n_hidden, the paper's head) or their mean only.
    """

    def __init__(self, in_channels: int, features: Sequence[int] = (512,) * 4,
                 kernel_sizes: Sequence[int] = (1,) * 4, strides: Sequence[int] = (1,) * 4,
                 n_hidden: int = 512, n_layers: int = 2, pooling: str = "concat"):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
        self.steps = CPCEncoder(in_channels, features, kernel_sizes, strides)
        self.lstm = nn.LSTM(self.steps.out_features, n_hidden, num_layers=n_layers, batch_first=True)
        self.pooling = pooling
        self.out_features = 3 * n_hidden if pooling == "concat" else n_hidden

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoded steps ``z`` (n, steps, features) and contexts ``c`` (n, steps, n_hidden)."""
        z = self.steps(x).transpose(1, 2)
        c, _ = self.lstm(z)
        return z, c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, c = self.encode(x)
        if self.pooling == "mean":
            return c.mean(1)
        return torch.cat([c.mean(1), c.amax(1), c[:, -1]], dim=1)


class CPCObjective(nn.Module):
    """InfoNCE of the contexts predicting the steps ``n_steps`` ahead, among ``n_negatives``
    other steps of the same record (drawn with replacement; paper: 12 steps, 128 negatives)."""

    def __init__(self, encoder: CPCContextNetwork, n_steps: int = 12, n_negatives: int = 128):
        super().__init__()
        self.encoder = encoder
        self.predictor = nn.Linear(encoder.lstm.hidden_size, encoder.steps.out_features, bias=False)
        self.n_steps, self.n_negatives = n_steps, n_negatives
        self.loss_parts: dict[str, float] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, c = self.encoder.encode(x)
        n_predicted = z.shape[1] - self.n_steps
        if n_predicted < 1:
            raise ValueError(f"The encoder gives {z.shape[1]} steps per training crop, not more than "
                             f"n_steps={self.n_steps}: use longer crops or fewer steps.")
        logits = info_nce_logits(self.predictor(c[:, :n_predicted]), z, self.n_steps, self.n_negatives)
        labels = torch.zeros(len(logits), dtype=torch.long, device=x.device)
        with torch.no_grad():
            self.loss_parts = {"cpc_accuracy": float((logits.argmax(1) == 0).float().mean())}
        return F.cross_entropy(logits, labels)


def sample_negatives(n: int, n_predicted: int, steps: int, offset: int, n_negatives: int,
                     device: torch.device | str = "cpu") -> torch.Tensor:
    """Indices (n, n_predicted, n_negatives) of negative steps, uniform over the ``steps - 1``
    steps of the same record other than the positive one (``position + offset``)."""
    positives = torch.arange(offset, offset + n_predicted, device=device)[None, :, None]
    negatives = torch.randint(0, steps - 1, (n, n_predicted, n_negatives), device=device)
    return negatives + (negatives >= positives).long()  # skip the positive step


def info_nce_logits(predictions: torch.Tensor, z: torch.Tensor, offset: int, n_negatives: int
                    ) -> torch.Tensor:
    """Scores (n * n_predicted, 1 + n_negatives) of each prediction; column 0 is the positive.

    ``predictions[:, t]`` (n, n_predicted, features) should match ``z[:, t + offset]``
    (z: n, steps, features); negatives are other steps of the same record.
    """
    n, n_predicted, _ = predictions.shape
    steps = z.shape[1]
    # Every prediction scored against every step of its record, then the needed scores picked:
    # (n, predicted, steps) costs far less memory than gathering the negative vectors themselves.
    scores = torch.bmm(predictions, z.transpose(1, 2)).float()
    positives = torch.arange(offset, offset + n_predicted, device=z.device)[None, :, None]
    negatives = sample_negatives(n, n_predicted, steps, offset, n_negatives, z.device)
    logits = torch.cat([scores.gather(2, positives.expand(n, -1, 1)), scores.gather(2, negatives)], 2)
    return logits.reshape(-1, 1 + n_negatives)
