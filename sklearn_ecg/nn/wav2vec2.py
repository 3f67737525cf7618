"""wav2vec 2.0 for ECGs as in fairseq-signals (Oh et al., CHIL 2022): encoder, span masking, losses.

The encoder is a strided convolutional feature extractor (one frame per 16
samples at the published settings), a LayerNorm + linear projection, a
convolutional positional encoding and a post-LayerNorm transformer. Pretraining
masks spans of frames and asks the transformer output at each masked frame to
pick the quantised feature of that frame among distractors from other masked
frames of the same sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .quantizer import GumbelVectorQuantizer


@dataclass(frozen=True)
class Wav2Vec2Config:
    """Sizes and regularisation of :class:`Wav2Vec2`; defaults are the paper's base model."""

    in_channels: int = 12
    conv_layers: tuple[tuple[int, int, int], ...] = ((256, 2, 2),) * 4  # (channels, kernel, stride)
    embed_dim: int = 768
    layers: int = 12
    ffn_dim: int = 3072
    heads: int = 12
    pos_conv_kernel: int = 128
    pos_conv_groups: int = 16
    pos_conv_weight_norm: bool = True
    dropout: float = 0.1
    attention_dropout: float = 0.1
    activation_dropout: float = 0.0
    dropout_input: float = 0.1
    dropout_features: float = 0.1
    feature_grad_mult: float = 0.1
    codebook_groups: int = 2
    codebook_size: int = 320
    final_dim: int = 256
    gumbel_temperature: tuple[float, float, float] = (2.0, 0.5, 0.999995)


class ConvFeatureExtractor(nn.Module):
    """Strided Conv1d blocks (no bias) with GELU; GroupNorm(C, C) after the first conv only.

    Input (batch, leads, samples) -> output (batch, channels, frames), with
    ``frames = floor((samples - kernel) / stride) + 1`` applied per layer.
    """

    def __init__(self, in_channels: int, layers: Sequence[tuple[int, int, int]]):
        super().__init__()
        blocks = []
        channels_in = in_channels
        for i, (channels, kernel, stride) in enumerate(layers):
            conv = nn.Conv1d(channels_in, channels, kernel, stride=stride, bias=False)
            nn.init.kaiming_normal_(conv.weight)
            norm = [nn.GroupNorm(channels, channels, affine=True)] if i == 0 else []
            blocks.append(nn.Sequential(conv, *norm, nn.GELU()))
            channels_in = channels
        self.blocks = nn.Sequential(*blocks)
        self.layers = [tuple(int(v) for v in layer) for layer in layers]
        self.out_channels = channels_in

    def n_frames(self, n_samples: int) -> int:
        for _, kernel, stride in self.layers:
            n_samples = (n_samples - kernel) // stride + 1
        return max(int(n_samples), 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


class ConvPositionalEncoding(nn.Module):
    """Grouped convolution over frames (kernel 128, 16 groups), GELU: a relative position signal.

    With ``weight_norm`` the kernel is ``g * v / ||v||``, the norm taken per
    kernel position (torch's ``weight_norm(dim=2)``, as in wav2vec 2.0), written
    out here because torch's parametrised modules cannot be pickled.
    """

    def __init__(self, dim: int, kernel: int = 128, groups: int = 16, weight_norm: bool = True,
                 dropout: float = 0.1):
        super().__init__()
        if dim % groups:
            raise ValueError(f"dim ({dim}) must be divisible by groups ({groups}).")
        weight = torch.empty(dim, dim // groups, kernel)
        nn.init.normal_(weight, mean=0.0, std=(4 * (1.0 - dropout) / (kernel * dim)) ** 0.5)
        self.weight = nn.Parameter(weight)
        self.weight_g = nn.Parameter(self._norm(weight)) if weight_norm else None
        self.bias = nn.Parameter(torch.zeros(dim))
        self.groups = groups
        self.padding = kernel // 2
        # An even kernel with padding k // 2 yields one frame too many; drop the last.
        self.trim = 1 if kernel % 2 == 0 else 0

    @staticmethod
    def _norm(weight: torch.Tensor) -> torch.Tensor:
        return torch.linalg.vector_norm(weight, dim=(0, 1), keepdim=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, frames, dim) -> (batch, frames, dim)."""
        weight = self.weight
        if self.weight_g is not None:
            weight = self.weight_g * weight / self._norm(weight)
        if x.device.type == "cpu":
            # x.transpose(1, 2) is channels-last: as a 2-D convolution oneDNN takes a direct kernel
            # on it, 1.6-2.1x faster than conv1d's im2col + gemm path (which copies it to the
            # standard layout first); same outputs to float32 rounding.
            y = F.conv2d(x.transpose(1, 2).unsqueeze(2), weight.unsqueeze(2), self.bias,
                         padding=(0, self.padding), groups=self.groups).squeeze(2)
        else:
            y = F.conv1d(x.transpose(1, 2), weight, self.bias, padding=self.padding, groups=self.groups)
        if self.trim:
            y = y[..., : -self.trim]
        return F.gelu(y).transpose(1, 2)


class PostLNTransformerLayer(nn.Module):
    """Self-attention and a GELU feed-forward block, each followed by residual + LayerNorm."""

    def __init__(self, dim: int, heads: int, ffn_dim: int, dropout: float, attention_dropout: float,
                 activation_dropout: float):
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads, dropout=attention_dropout, batch_first=True)
        self.attention_norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, ffn_dim)
        self.fc2 = nn.Linear(ffn_dim, dim)
        self.final_norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)
        self.activation_dropout = nn.Dropout(activation_dropout)

    def _self_attention(self, x: torch.Tensor, padding_mask: torch.Tensor | None) -> torch.Tensor:
        """``self.attention(x, x, x)`` (its weights, torch's layout) through scaled_dot_product_attention.

        nn.MultiheadAttention's inference fast path computes attention with bmm and softmax, which
        took 25% longer on the CPU than the fused kernel fairseq-signals reaches (small preset,
        benchmarks/inference_speed_w2v.py); training already used the fused kernel.
        """
        mha, (batch, frames, dim) = self.attention, x.shape
        heads = mha.num_heads
        qkv = F.linear(x, mha.in_proj_weight, mha.in_proj_bias).view(batch, frames, 3, heads, dim // heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (batch, heads, frames, head_dim)
        keep = None if padding_mask is None else ~padding_mask[:, None, None, :]
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=keep,
                                                  dropout_p=mha.dropout if self.training else 0.0)
        return mha.out_proj(attended.transpose(1, 2).reshape(batch, frames, dim))

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        attended = self._self_attention(x, padding_mask)
        x = self.attention_norm(x + self.dropout(attended))
        hidden = self.activation_dropout(F.gelu(self.fc1(x)))
        return self.final_norm(x + self.dropout(self.fc2(hidden)))


class TransformerEncoder(nn.Module):
    """Positional convolution added to the input, LayerNorm, dropout, then post-LN layers."""

    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        self.pos_conv = ConvPositionalEncoding(config.embed_dim, config.pos_conv_kernel,
                                               config.pos_conv_groups, config.pos_conv_weight_norm,
                                               config.dropout)
        self.norm = nn.LayerNorm(config.embed_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(
            PostLNTransformerLayer(config.embed_dim, config.heads, config.ffn_dim, config.dropout,
                                   config.attention_dropout, config.activation_dropout)
            for _ in range(config.layers)
        )

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """(batch, frames, dim), padding_mask (batch, frames) True at padding -> same shape."""
        if padding_mask is not None:
            x = x.masked_fill(padding_mask[..., None], 0.0)
        x = self.dropout(self.norm(x + self.pos_conv(x)))
        for layer in self.layers:
            x = layer(x, padding_mask)
        return x


class _GradMultiply(torch.autograd.Function):
    """Identity forward; scales the gradient (wav2vec 2.0 slows the feature extractor by 10x)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad * ctx.scale, None


def compute_mask_indices(batch_size: int, n_frames: int, mask_prob: float, mask_length: int,
                         min_masks: int = 2, device: torch.device | str = "cpu") -> torch.Tensor:
    """Span masks of wav2vec 2.0 (fairseq's ``compute_mask_indices``, "static" lengths, overlaps allowed).

    Per sequence, ``int(mask_prob * n_frames / mask_length + U(0, 1))`` span starts
    (at least ``min_masks``) are drawn without replacement from
    ``[0, n_frames - mask_length)`` and ``mask_length`` frames are masked from
    each. Spans overlap, so the masked fraction is below ``mask_prob`` (about 49%
    for 0.65, 10 and 156 frames). Every row then keeps a random subset of its
    masked frames of the size of the smallest row, so all rows mask equally many
    frames. Draws from torch's global generator.

    Returns
    -------
    mask : bool tensor of shape (batch_size, n_frames)
    """
    if n_frames <= mask_length:
        raise ValueError(f"Span masking needs more frames ({n_frames}) than mask_length ({mask_length}).")
    rows = []
    for _ in range(batch_size):
        n_spans = max(min_masks, int(mask_prob * n_frames / mask_length + torch.rand(()).item()))
        n_starts = n_frames - mask_length
        if n_starts <= n_spans:
            n_starts = n_spans + 1
        starts = torch.randperm(n_starts)[:n_spans]
        frames = (starts[:, None] + torch.arange(mask_length)).flatten()
        rows.append(torch.unique(frames[frames < n_frames]))
    smallest = min(len(r) for r in rows)
    mask = torch.zeros(batch_size, n_frames, dtype=torch.bool)
    for i, frames in enumerate(rows):
        mask[i, frames[torch.randperm(len(frames))[:smallest]]] = True
    return mask.to(device)


def sample_negatives(batch_size: int, n_targets: int, n_negatives: int,
                     device: torch.device | str = "cpu") -> torch.Tensor:
    """Indices of the distractors of each target: other masked frames of the same sequence.

    Returns (batch_size, n_targets, n_negatives) indices into the n_targets
    positions of the same row, drawn uniformly with replacement among the
    ``n_targets - 1`` positions other than the target's own.
    """
    if n_targets < 2:
        raise ValueError(f"Distractors need at least 2 masked frames per sequence, got {n_targets}.")
    own = torch.arange(n_targets, device=device)[None, :, None]
    idx = torch.randint(0, n_targets - 1, (batch_size, n_targets, n_negatives), device=device)
    return idx + (idx >= own).long()  # skip the frame itself


def contrastive_logits(x: torch.Tensor, y: torch.Tensor, negative_idx: torch.Tensor,
                       temperature: float, codes: torch.Tensor | None = None) -> torch.Tensor:
    """Cosine similarity of each prediction with its target (column 0) and its distractors, / temperature.

    x, y (batch, M, dim): predictions and targets at the M masked frames;
    negative_idx (batch, M, N) from :func:`sample_negatives`. Returns logits
    (batch * M, 1 + N). A distractor with the same codes as the target (so the
    same quantised vector; ``codes`` (batch, M, groups)) gets -inf, as in
    fairseq. Computed from the (M x M) similarity matrix of each sequence rather
    than by copying every distractor vector: the same numbers, far less memory.
    """
    similarity = F.normalize(x.float(), dim=-1) @ F.normalize(y.float(), dim=-1).transpose(1, 2)
    positive = similarity.diagonal(dim1=1, dim2=2)[..., None]
    negative = similarity.gather(2, negative_idx)
    if codes is not None:
        batch, m, n = negative_idx.shape
        neg_codes = codes.gather(1, negative_idx.view(batch, m * n, 1).expand(-1, -1, codes.shape[-1]))
        identical = (neg_codes.view(batch, m, n, -1) == codes[:, :, None]).all(-1)
        negative = negative.masked_fill(identical, float("-inf"))
    logits = torch.cat([positive, negative], dim=-1) / temperature
    return logits.reshape(-1, logits.shape[-1])


class Wav2Vec2(nn.Module):
    """The wav2vec 2.0 encoder with its pretraining heads (quantiser, target and output projections).

    ``frames(x)`` gives the unmasked transformer output per frame (batch,
    frames, embed_dim); ``embed(x)`` its mean over frames; ``pretrain(x)`` the
    masked-prediction outputs. Inputs are (batch, leads, samples) in mV.
    """

    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        self.config = config
        self.feature_extractor = ConvFeatureExtractor(config.in_channels, config.conv_layers)
        channels = self.feature_extractor.out_channels
        self.layer_norm = nn.LayerNorm(channels)
        self.post_extract_proj = nn.Linear(channels, config.embed_dim)
        self.dropout_input = nn.Dropout(config.dropout_input)
        self.dropout_features = nn.Dropout(config.dropout_features)
        self.mask_emb = nn.Parameter(torch.empty(config.embed_dim).uniform_())
        self.encoder = TransformerEncoder(config)
        self.quantizer = GumbelVectorQuantizer(channels, config.codebook_size, config.codebook_groups,
                                               config.final_dim, config.gumbel_temperature)
        self.project_q = nn.Linear(config.final_dim, config.final_dim)
        self.final_proj = nn.Linear(config.embed_dim, config.final_dim)
        self._init_bert_params()

    def _init_bert_params(self) -> None:
        # fairseq's init_bert_params: N(0, 0.02) linear and attention weights, zero biases.
        for name, module in self.named_modules():
            if name.startswith("quantizer"):
                continue
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.MultiheadAttention):
                nn.init.normal_(module.in_proj_weight, std=0.02)
                nn.init.zeros_(module.in_proj_bias)

    def n_frames(self, n_samples: int) -> int:
        return self.feature_extractor.n_frames(n_samples)

    def _features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Conv features after LayerNorm (batch, frames, channels) and their mean square."""
        features = self.feature_extractor(x)
        if self.training and self.config.feature_grad_mult != 1.0:
            features = _GradMultiply.apply(features, self.config.feature_grad_mult)
        penalty = features.float().pow(2).mean()
        return self.layer_norm(features.transpose(1, 2)), penalty

    def frames(self, x: torch.Tensor) -> torch.Tensor:
        """Unmasked transformer output per frame: (batch, leads, samples) -> (batch, frames, dim)."""
        features, _ = self._features(x)
        return self.encoder(self.post_extract_proj(features))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of :meth:`frames` over frames: (batch, leads, samples) -> (batch, embed_dim)."""
        return self.frames(x).mean(dim=1)

    def pretrain(self, x: torch.Tensor, mask_prob: float = 0.65, mask_length: int = 10,
                 n_negatives: int = 100, logit_temperature: float = 0.1, masked: bool = True,
                 unmasked: bool = False) -> dict[str, torch.Tensor | float]:
        """One pretraining forward pass.

        Returns ``features_pen`` (mean square of the conv features) and, with
        ``masked``, ``logits`` (masked frames, 1 + n_negatives; target index 0),
        ``mask`` and the quantiser's ``prob_perplexity``, ``code_perplexity``,
        ``temperature``, ``num_vars``; with ``unmasked``, ``frames``: a second
        transformer pass over the same (dropped-out) unmasked input, the
        representation fairseq-signals' CMSC loss pools.
        """
        features, penalty = self._features(x)
        targets_in = self.dropout_features(features)
        projected = self.dropout_input(self.post_extract_proj(features))
        out: dict[str, torch.Tensor | float] = {"features_pen": penalty}
        if unmasked:
            out["frames"] = self.encoder(projected)
        if not masked:
            return out
        batch, n_frames, _ = projected.shape
        mask = compute_mask_indices(batch, n_frames, mask_prob, mask_length, device=x.device)
        inputs = torch.where(mask[..., None], self.mask_emb.to(projected.dtype), projected)
        hidden = self.encoder(inputs)
        quantised = self.quantizer(targets_in[mask].view(batch, -1, targets_in.shape[-1]))
        y = self.project_q(quantised["x"])
        negative_idx = sample_negatives(batch, y.shape[1], n_negatives, device=x.device)
        predictions = self.final_proj(hidden[mask].view(batch, -1, hidden.shape[-1]))
        out.update(
            logits=contrastive_logits(predictions, y, negative_idx, logit_temperature,
                                      codes=quantised["indices"]),
            mask=mask,
            prob_perplexity=quantised["prob_perplexity"],
            code_perplexity=quantised["code_perplexity"],
            temperature=quantised["temperature"],
            num_vars=self.quantizer.num_vars,
        )
        return out


def wav2vec2_losses(out: dict, diversity_weight: float = 0.1, feature_penalty_weight: float = 10.0
                    ) -> dict[str, torch.Tensor]:
    """The wav2vec 2.0 objective per masked frame: InfoNCE, diversity and feature-penalty terms.

    fairseq sums the InfoNCE over masked frames and scales the extra terms by
    the same count, then normalises by it: the per-frame form here is the same.
    """
    logits = out["logits"]
    infonce = F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device))
    diversity = (out["num_vars"] - out["prob_perplexity"]) / out["num_vars"]
    total = infonce + diversity_weight * diversity + feature_penalty_weight * out["features_pen"]
    return {"total": total, "infonce": infonce, "diversity": diversity}
