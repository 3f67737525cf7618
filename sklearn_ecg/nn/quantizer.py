"""Gumbel-softmax product quantiser of wav2vec 2.0 (Baevski et al. 2020), used for the targets."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def perplexity(probs: torch.Tensor) -> torch.Tensor:
    """exp(entropy) of each row of ``probs`` (groups, codes), summed over groups."""
    return torch.exp(-(probs * torch.log(probs + 1e-7)).sum(-1)).sum()


class GumbelVectorQuantizer(nn.Module):
    """Product quantiser: ``groups`` codebooks of ``codes`` entries, picked with Gumbel-softmax.

    Each input vector is projected to ``groups x codes`` logits; per group one
    codebook entry (of size ``out_dim / groups``) is chosen (straight-through
    hard Gumbel-softmax while training, argmax otherwise) and the group entries
    are concatenated into an ``out_dim`` vector.

    The Gumbel temperature decays per training step as
    ``max(start * decay ** step, end)``; ``step`` is a buffer, so it is saved
    with the weights and a reloaded model resumes at the same temperature.

    Parameters
    ----------
    in_dim : int
        Width of the input vectors.
    codes : int, default=320
        Entries per codebook (wav2vec 2.0: 320).
    groups : int, default=2
        Number of codebooks (wav2vec 2.0: 2).
    out_dim : int, default=256
        Width of the quantised vectors; must be divisible by ``groups``.
    temperature : tuple of float, default=(2.0, 0.5, 0.999995)
        (start, end, decay per step) of the Gumbel temperature.
    """

    def __init__(self, in_dim: int, codes: int = 320, groups: int = 2, out_dim: int = 256,
                 temperature: tuple[float, float, float] = (2.0, 0.5, 0.999995)):
        super().__init__()
        if out_dim % groups:
            raise ValueError(f"out_dim ({out_dim}) must be divisible by groups ({groups}).")
        self.codes = codes
        self.groups = groups
        self.start_temperature, self.end_temperature, self.decay = (float(t) for t in temperature)
        self.codebook = nn.Parameter(torch.empty(groups * codes, out_dim // groups).uniform_())
        self.weight_proj = nn.Linear(in_dim, groups * codes)
        nn.init.normal_(self.weight_proj.weight, mean=0.0, std=1.0)
        nn.init.zeros_(self.weight_proj.bias)
        self.register_buffer("step", torch.zeros((), dtype=torch.long))

    @property
    def num_vars(self) -> int:
        return self.codes * self.groups

    def temperature(self) -> float:
        return max(self.start_temperature * self.decay ** int(self.step), self.end_temperature)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor | float]:
        """Quantise ``x`` of shape (..., in_dim).

        Returns a dict with ``x`` (..., out_dim), ``prob_perplexity`` (perplexity
        of the batch-averaged soft assignment, differentiable: the diversity loss
        uses it), ``code_perplexity`` (of the hard assignments, a usage measure),
        ``indices`` (..., groups) and ``temperature``.
        """
        shape = x.shape[:-1]
        logits = self.weight_proj(x.reshape(-1, x.shape[-1])).float().view(-1, self.groups, self.codes)
        indices = logits.argmax(-1)
        hard = F.one_hot(indices, self.codes).float()
        with torch.no_grad():
            code_perplexity = perplexity(hard.mean(0))
        prob_perplexity = perplexity(torch.softmax(logits, -1).mean(0))
        temperature = self.temperature()
        if self.training:
            onehot = F.gumbel_softmax(logits, tau=temperature, hard=True)
            self.step += 1
        else:
            onehot = hard
        per_group = self.codebook.view(self.groups, self.codes, -1)
        quantised = torch.einsum("ngc,gcd->ngd", onehot.to(per_group.dtype), per_group)
        return {
            "x": quantised.reshape(*shape, -1),
            "prob_perplexity": prob_perplexity,
            "code_perplexity": code_perplexity,
            "indices": indices.view(*shape, self.groups),
            "temperature": temperature,
        }
