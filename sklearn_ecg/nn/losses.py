"""Contrastive losses shared by the methods.

Under multi-process training both losses gather the embeddings of every process first, so
each item is contrasted with the whole global batch, as on one device with that batch (the
published PCLR and METS runs; SimCLR's pl_bolts code gathers across GPUs likewise). With
the gradient flowing back to each process's own rows and DDP averaging the gradients, the
update equals the single-process one on the same global batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._distributed import gather_across_processes


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's normalised-temperature cross entropy over 2n views.

    Row i of ``z1`` and row i of ``z2`` are positives; every other of the 2n - 2
    rows (of both views) is a negative. Both directions are averaged, so the
    loss of view 1 -> 2 and 2 -> 1 count alike.
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"z1 and z2 must both be (n, d); got {tuple(z1.shape)}, {tuple(z2.shape)}.")
    z1, z2 = gather_across_processes(z1), gather_across_processes(z2)
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    logits = z @ z.T / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, targets)


def symmetric_info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float | torch.Tensor
                       ) -> torch.Tensor:
    """CLIP's symmetric InfoNCE: row i of ``a`` matches row i of ``b``, rows of the other side
    are the negatives; the mean of the a -> b and b -> a cross entropies."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"a and b need the same number of rows; got {a.shape[0]} and {b.shape[0]}.")
    a, b = gather_across_processes(a), gather_across_processes(b)
    logits = F.normalize(a.float(), dim=1) @ F.normalize(b.float(), dim=1).T / temperature
    targets = torch.arange(a.shape[0], device=a.device)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2
