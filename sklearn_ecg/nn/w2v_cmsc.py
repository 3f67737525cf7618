"""W2V+CMSC+RLM's torch side (Oh et al., CHIL 2022): the segmenting wav2vec 2.0 encoder, the
combined objective and the dataset of consecutive segment pairs."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..augmentations import RandomLeadMasking
from .data import BatchDataset, ECGDataset, random_starts, read_crops
from .losses import symmetric_info_nce
from .wav2vec2 import Wav2Vec2, Wav2Vec2Config, wav2vec2_losses

#: Encoder sizes of the named presets. "base" is the paper's model (about 90 M
#: parameters); "small" is ours, for CPUs (the paper's own small config is 8 x 768).
PRESETS: dict[str, dict[str, Any]] = {
    "base": dict(conv_layers=((256, 2, 2),) * 4, embed_dim=768, encoder_layers=12, ffn_dim=3072,
                 attention_heads=12),
    "small": dict(conv_layers=((128, 2, 2),) * 4, embed_dim=128, encoder_layers=2, ffn_dim=512,
                  attention_heads=4),
}


def resample_length(x: torch.Tensor, n_out: int) -> torch.Tensor:
    """Resample the last axis of (batch, leads, samples) to ``n_out`` samples.

    Linear interpolation; when shortening, with an antialiasing filter (torch's
    antialiased bilinear resize on a one-row image), so higher rates do not alias.
    """
    n_in = x.shape[-1]
    if n_in == n_out:
        return x
    if n_out > n_in:
        return F.interpolate(x, size=n_out, mode="linear", align_corners=False)
    image = F.interpolate(x[:, :, None, :], size=(1, n_out), mode="bilinear", antialias=True,
                          align_corners=False)
    return image[:, :, 0]


#: Largest convolution output of one chunk of segments at CPU inference (see
#: ``SegmentingEncoder._encode_segments``).
CHUNK_ACTIVATION_BYTES = 4 * 2**20


class SegmentingEncoder(nn.Module):
    """Whole records at rate ``fs`` -> the mean wav2vec 2.0 output over all frames of all segments.

    The record is resampled to ``model_fs`` and cut into ``segment_seconds`` segments;
    full segments are encoded as one batch, a shorter last part (if it makes at
    least one frame) on its own, so no padded frame is ever averaged.
    """

    def __init__(self, config: Wav2Vec2Config, fs: float, model_fs: float, segment_seconds: float):
        super().__init__()
        self.wav2vec2 = Wav2Vec2(config)
        self.fs, self.model_fs = float(fs), float(model_fs)
        self.segment = int(round(segment_seconds * model_fs))
        self.out_features = int(config.embed_dim)

    def to_model_rate(self, x: torch.Tensor) -> torch.Tensor:
        return resample_length(x, int(round(x.shape[-1] * self.model_fs / self.fs)))

    def frames(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame output of whole records (n, leads, samples at fs) -> (n, frames, dim), the
        frames of consecutive segments one after the other."""
        x = self.to_model_rate(x)
        n, leads, length = x.shape
        n_full, tail = divmod(length, self.segment)
        parts = []
        if n_full:
            full = x[..., : n_full * self.segment].reshape(n, leads, n_full, self.segment)
            full = full.permute(0, 2, 1, 3).reshape(n * n_full, leads, self.segment)
            encoded = self._encode_segments(full)
            parts.append(encoded.reshape(n, n_full * encoded.shape[1], encoded.shape[2]))
        if self.wav2vec2.n_frames(tail) > 0:
            parts.append(self.wav2vec2.frames(x[..., n_full * self.segment :]))
        return torch.cat(parts, dim=1)

    def _encode_segments(self, segments: torch.Tensor) -> torch.Tensor:
        """``wav2vec2.frames`` of many segments; at inference on the CPU, in chunks whose largest
        convolution output stays under :data:`CHUNK_ACTIVATION_BYTES` (4 MB).

        With glibc's default (dynamic) thresholds, memory freed after a forward of tens of MB is
        handed back to the kernel and paid for again in page faults by the next one. Measured on
        the small preset, 256 ECGs in batches of 32, 2 threads: chunks under 16 MB of activation
        took 2.5-2.9 x 10^5 minor faults and ran 130 ECGs/s; under 4 MB, 0-9 x 10^3 faults and
        159-190 ECGs/s; under 2 MB, 162-164 (smaller matrix products). Without faults
        (``MALLOC_TRIM_THRESHOLD_`` raised) 16 MB chunks ran 202 and 4 MB 190. A segment's frames
        do not depend on its batch."""
        if torch.is_grad_enabled() or segments.device.type != "cpu":
            return self.wav2vec2.frames(segments)
        largest, length = 0, segments.shape[-1]
        for channels, kernel, stride in self.wav2vec2.config.conv_layers:
            length = (length - kernel) // stride + 1
            largest = max(largest, channels * length * segments.element_size())
        chunk = max(1, CHUNK_ACTIVATION_BYTES // max(largest, 1))
        if len(segments) <= chunk:
            return self.wav2vec2.frames(segments)
        return torch.cat([self.wav2vec2.frames(part) for part in segments.split(chunk)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.frames(x).mean(dim=1)


class W2VCMSCObjective(nn.Module):
    """wav2vec 2.0 + CMSC + RLM training objective around a :class:`SegmentingEncoder`.

    ``forward`` takes items of shape (batch, k, leads, segment_samples_in): k = 2
    consecutive segments per record (k = 1 when CMSC is off and records are too
    short to pair) at the input rate. ``objective`` holds the loss settings
    (see :class:`sklearn_ecg.W2VCMSCTransformer`).
    """

    def __init__(self, encoder: SegmentingEncoder, objective: dict[str, Any]):
        super().__init__()
        self.encoder = encoder
        self.objective = dict(objective)
        self.lead_masking = RandomLeadMasking(objective["rlm_prob"]) if objective["rlm"] else None
        self.loss_parts: dict[str, float] = {}

    def forward(self, items: torch.Tensor) -> torch.Tensor:
        batch, k, leads, n_in = items.shape
        segment = self.encoder.segment
        window = items.permute(0, 2, 1, 3).reshape(batch, leads, k * n_in)  # consecutive segments
        window = resample_length(window, k * segment)
        x = window.view(batch, leads, k, segment).permute(0, 2, 1, 3).reshape(batch * k, leads, -1)
        if self.lead_masking is not None:  # each lead of each segment zeroed independently
            x = self.lead_masking(x)
        o = self.objective
        use_cmsc = o["cmsc"] and k == 2
        out = self.encoder.wav2vec2.pretrain(x, o["mask_prob"], o["mask_length"], o["n_negatives"],
                                             o["logit_temperature"], masked=o["w2v_loss"],
                                             unmasked=use_cmsc)
        loss = torch.zeros((), device=x.device)
        parts: dict[str, Any] = {}
        if o["w2v_loss"]:
            w2v = wav2vec2_losses(out, o["diversity_weight"], o["feature_penalty_weight"])
            loss = loss + w2v["total"]
            parts.update(w2v=w2v["infonce"], diversity=w2v["diversity"],
                         feature_penalty=out["features_pen"], prob_perplexity=out["prob_perplexity"],
                         code_perplexity=out["code_perplexity"],
                         gumbel_temperature=out["temperature"], mask_fraction=out["mask"].float().mean())
        if use_cmsc:
            pooled = out["frames"].mean(dim=1).view(batch, 2, -1)
            cmsc = symmetric_info_nce(pooled[:, 0], pooled[:, 1], o["cmsc_temperature"])
            loss = loss + o["cmsc_weight"] * cmsc
            parts["cmsc"] = cmsc
        self.loss_parts = {name: float(torch.as_tensor(v).detach()) for name, v in parts.items()}
        return loss


class SegmentPairDataset(BatchDataset):
    """Per record, ``k`` consecutive segments of ``segment`` samples from a random offset.

    Items are (k, leads, segment) float32 tensors. A new offset is drawn each
    time an item is read, so every epoch sees other pairs of long records.
    """

    def __init__(self, X: Any, segment: int, k: int):
        self.ecgs = ECGDataset(X)
        self.segment = segment
        self.k = k
        self.n_samples = X.shape[2]

    def __len__(self) -> int:
        return len(self.ecgs)

    def read_batch(self, items: np.ndarray, seeds: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        span = self.k * self.segment
        starts = random_starts(seeds, self.n_samples, span)
        ecgs = read_crops(self.ecgs.X, self.ecgs.indices[items], starts, span, self.ecgs.name)
        n, leads = ecgs.shape[:2]
        windows = torch.from_numpy(ecgs).reshape(n, leads, self.k, self.segment).transpose(1, 2)
        return windows.contiguous(), torch.zeros(n)
