"""W2V+CMSC+RLM: lead-agnostic wav2vec 2.0 pretraining for ECGs (Oh et al., CHIL 2022)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils.validation import check_is_fitted
from torch import nn
from torch.utils.data import Dataset

from ._base import BaseECGEmbedder
from ._net import ECGDataset
from .augmentations import RandomLeadMasking
from .nn.losses import symmetric_info_nce
from .nn.wav2vec2 import Wav2Vec2, Wav2Vec2Config, wav2vec2_losses

#: Encoder sizes of the named presets. "base" is the paper's model (about 90 M
#: parameters); "small" is ours, for CPUs (the paper's own small config is 8 x 768).
PRESETS: dict[str, dict[str, Any]] = {
    "base": dict(conv_layers=((256, 2, 2),) * 4, embed_dim=768, encoder_layers=12, ffn_dim=3072,
                 attention_heads=12),
    "small": dict(conv_layers=((128, 2, 2),) * 4, embed_dim=128, encoder_layers=2, ffn_dim=512,
                  attention_heads=4),
}
_SIZE_PARAMS = ("conv_layers", "embed_dim", "encoder_layers", "ffn_dim", "attention_heads")


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


class W2VCMSCModule(nn.Module):
    """wav2vec 2.0 + CMSC + RLM training objective around a :class:`Wav2Vec2` encoder.

    ``forward`` takes items of shape (batch, k, leads, segment_samples_in): k = 2
    consecutive segments per record (k = 1 when CMSC is off and records are too
    short to pair) at the input rate; ``embed`` and ``frames`` take whole records.
    """

    def __init__(self, config: Wav2Vec2Config, fs: float, model_fs: float, segment_seconds: float,
                 objective: dict[str, Any]):
        super().__init__()
        self.wav2vec2 = Wav2Vec2(config)
        self.fs, self.model_fs = float(fs), float(model_fs)
        self.segment = int(round(segment_seconds * model_fs))
        self.objective = dict(objective)
        self.lead_masking = RandomLeadMasking(objective["rlm_prob"]) if objective["rlm"] else None
        self.loss_parts: dict[str, float] = {}

    def to_model_rate(self, x: torch.Tensor) -> torch.Tensor:
        return resample_length(x, int(round(x.shape[-1] * self.model_fs / self.fs)))

    def forward(self, items: torch.Tensor) -> torch.Tensor:
        batch, k, leads, n_in = items.shape
        window = items.permute(0, 2, 1, 3).reshape(batch, leads, k * n_in)  # consecutive segments
        window = resample_length(window, k * self.segment)
        x = window.view(batch, leads, k, self.segment).permute(0, 2, 1, 3).reshape(batch * k, leads, -1)
        if self.lead_masking is not None:  # each lead of each segment zeroed independently
            x = self.lead_masking(x)
        o = self.objective
        use_cmsc = o["cmsc"] and k == 2
        out = self.wav2vec2.pretrain(x, o["mask_prob"], o["mask_length"], o["n_negatives"],
                                     o["logit_temperature"], masked=o["w2v_loss"], unmasked=use_cmsc)
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

    def frames(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame encoder output of whole records (n, leads, samples_in) -> (n, frames, dim).

        The record is resampled to the model rate and cut into segments; full
        segments are encoded as one batch, a shorter last part (if it makes at
        least one frame) on its own; the frames of all segments are concatenated.
        """
        x = self.to_model_rate(x)
        n, leads, length = x.shape
        n_full, tail = divmod(length, self.segment)
        parts = []
        if n_full:
            full = x[..., : n_full * self.segment].reshape(n, leads, n_full, self.segment)
            full = full.permute(0, 2, 1, 3).reshape(n * n_full, leads, self.segment)
            encoded = self.wav2vec2.frames(full)
            parts.append(encoded.reshape(n, n_full * encoded.shape[1], encoded.shape[2]))
        if self.wav2vec2.n_frames(tail) > 0:
            parts.append(self.wav2vec2.frames(x[..., n_full * self.segment :]))
        return torch.cat(parts, dim=1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Mean over all frames of all segments: (n, leads, samples_in) -> (n, dim)."""
        return self.frames(x).mean(dim=1)


class SegmentPairDataset(Dataset):
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

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        ecg = self.ecgs.read(self.ecgs.indices[i])
        span = self.k * self.segment
        start = int(torch.randint(0, self.n_samples - span + 1, ()).item())
        window = ecg[:, start : start + span]
        return window.reshape(ecg.shape[0], self.k, self.segment).transpose(0, 1).contiguous(), 0


class W2VCMSCTransformer(BaseECGEmbedder):
    """wav2vec 2.0 + CMSC + random lead masking (W2V+CMSC+RLM), one model for any set of leads.

    Pretrains the wav2vec 2.0 encoder of Oh et al. (CHIL 2022; fairseq-signals
    ``w2v_cmsc``): a convolutional feature extractor (4 x Conv1d(256, kernel 2,
    stride 2), GELU, GroupNorm on the first only: 2500 samples -> 156 frames), a
    LayerNorm and linear projection, a convolutional positional encoding
    (kernel 128, 16 groups) and a post-LayerNorm transformer. The objective is
    the sum of

    - **W2V**: spans of frames are masked (p=0.65, length 10) and the
      transformer output at each masked frame must pick the Gumbel-quantised
      feature of that frame (2 codebooks x 320 codes, 256-d) among 100
      distractors from other masked frames of the segment (cosine similarity /
      0.1), plus 0.1 x the codebook diversity loss and 10 x the mean square of
      the conv features;
    - **CMSC**: the mean-pooled outputs of two consecutive segments of a record
      (an unmasked second pass, as fairseq-signals does) are positives,
      the other segments of the batch negatives (symmetric InfoNCE, temperature 0.1);
    - **RLM**: during training each lead of each segment is zeroed
      independently with probability 0.5, so the model learns to embed any
      subset of leads.

    Each part can be switched off (``w2v_loss``, ``cmsc``, ``rlm``) to compare
    W2V, W2V+CMSC and W2V+CMSC+RLM.

    ``transform`` embeds whole records: the record is cut into
    ``segment_seconds`` segments (5 s), each is encoded without masking and
    without RLM, and the transformer outputs are averaged over all frames of all
    segments, so a 10 s record gives the mean of its two 5 s segments. A
    shorter last part is encoded on its own and counts by its number of frames;
    records shorter than one segment are encoded whole (no padding, so no padded
    frame is ever averaged). Any subset of the fitted leads can be embedded by
    name (``leads=``); missing leads are zero-filled, which is what RLM trains
    for. :meth:`transform_frames` returns the per-frame (local) features.

    Parameters
    ----------
    preset : {"base", "small"}, default="base"
        Encoder size. ``"base"``: the paper's 12 layers x 768 (FFN 3072, 12
        heads, 4 x 256-channel conv layers; about 90 M parameters).
        ``"small"`` (not from the paper, for CPUs): 4 x 128-channel conv layers,
        2 layers x 128 (FFN 512, 4 heads), about 0.8 M parameters. The size
        parameters below override the preset when given.
    fs : float, default=500
        Sampling rate of the input (Hz).
    leads : list of str, optional
        Lead names of the input; default: the 12 standard leads (I ... V6).
    model_fs : float, default=500
        Rate the encoder works at (the paper: 500 Hz, one frame per 32 ms).
        Input at another ``fs`` is resampled to it inside (linear interpolation,
        antialiased when shortening), so a segment is always ``segment_seconds``
        of signal. 100 Hz records (PTB-XL ``records100``) are upsampled 5 x: they
        carry nothing above 50 Hz, but QRS timing at 10 ms is kept.
    segment_seconds : float, default=5.0
        Segment length (the paper: 5 s, 2500 samples at 500 Hz).
    conv_layers : sequence of (channels, kernel, stride), optional
        Feature extractor layers; default from ``preset``.
    embed_dim, encoder_layers, ffn_dim, attention_heads : int, optional
        Transformer width, depth, feed-forward width and heads; default from ``preset``.
    pos_conv_kernel, pos_conv_groups : int, default=128, 16
        Convolutional positional encoding (paper: kernel 128, 16 groups).
    w2v_loss : bool, default=True
        Train with the wav2vec 2.0 objective.
    cmsc : bool, default=True
        Train with CMSC. Needs records of at least 2 x ``segment_seconds``
        (10 s); ``fit`` raises a ValueError on shorter records, which can be
        pretrained with ``cmsc=False`` (one segment per record).
    rlm : bool, default=True
        Random lead masking during training (never at transform).
    rlm_prob : float, default=0.5
        Probability of zeroing each lead (an ECG may lose all leads, as in the paper's code).
    mask_prob : float, default=0.65
        Span-start probability of the wav2vec 2.0 masking; spans overlap, so
        about 49 % of the 156 frames of one segment are masked, and since every
        segment of a batch masks as many frames as the least-masked one
        (fairseq's rule), about 37 % in a batch of 64 segments.
    mask_length : int, default=10
        Frames per masked span.
    n_negatives : int, default=100
        Distractors per masked frame, from other masked frames of the same segment.
    logit_temperature : float, default=0.1
    codebook_groups, codebook_size : int, default=2, 320
        Gumbel quantiser: groups x codes.
    final_dim : int, default=256
        Width of the quantised targets and of the projected predictions.
    diversity_weight : float, default=0.1
    feature_penalty_weight : float, default=10.0
    cmsc_temperature : float, default=0.1
    cmsc_weight : float, default=1.0
        Weight of the CMSC loss (fairseq-signals: 1).
    gumbel_temperature : (float, float), default=(2.0, 0.5)
        Start and end of the Gumbel-softmax temperature.
    gumbel_decay : float or None, default=None
        Per-update decay factor (wav2vec 2.0: 0.999995, which takes 277 k
        updates to reach the end value). ``None`` (a departure, for short runs)
        picks the factor that reaches the end temperature at the last update
        of ``fit``.
    dropout : float, default=0.1
        Transformer, attention, input and target-feature dropout (paper: 0.1 each).
    feature_grad_mult : float, default=0.1
        Gradient scale of the feature extractor (paper: 0.1).
    weight_decay : float, default=0.01
        AdamW weight decay (the paper: Adam (0.9, 0.98), eps 1e-6, weight decay 0.01).
    max_epochs : int, default=200
    batch_size : int, default=64
        Records per batch (each gives two segments).
    lr : float, default=5e-5
        The paper's constant rate for 200 epochs on about 0.1 M ECGs; short runs on
        small data need more (``"small"`` runs in our benchmark use 1e-3).
    device : str, default="auto"
    random_state : int, RandomState or None, default=None
    verbose : int, default=0
    callbacks : list of skorch callbacks, optional

    Attributes
    ----------
    net_ : skorch.NeuralNet
        ``net_.module_.wav2vec2`` is the encoder; ``net_.history`` holds the
        loss parts per batch (``w2v``, ``diversity``, ``feature_penalty``,
        ``cmsc``, ``prob_perplexity``, ``code_perplexity``,
        ``gumbel_temperature``, ``mask_fraction``).
    segments_per_record_ : int
        Segments drawn per record in training (2: CMSC pairs; 1 without CMSC
        on records shorter than two segments).
    gumbel_decay_ : float
        The Gumbel temperature decay used.
    loss_curve_ : list of float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg import W2VCMSCTransformer
    >>> X = np.random.default_rng(0).normal(size=(8, 12, 1000)).astype("float32")
    >>> emb = W2VCMSCTransformer(preset="small", fs=100, embed_dim=32, encoder_layers=1,
    ...                          max_epochs=1, batch_size=4, random_state=0).fit(X)
    >>> emb.transform(X[:, :2], leads=["I", "II"]).shape
    (8, 32)
    """

    _allows_missing_leads = True
    _extra_fitted_attrs = ("segments_per_record_", "gumbel_decay_")

    def __init__(
        self,
        *,
        preset: str = "base",
        fs: float = 500,
        leads: Sequence[str] | None = None,
        model_fs: float = 500,
        segment_seconds: float = 5.0,
        conv_layers: Sequence[tuple[int, int, int]] | None = None,
        embed_dim: int | None = None,
        encoder_layers: int | None = None,
        ffn_dim: int | None = None,
        attention_heads: int | None = None,
        pos_conv_kernel: int = 128,
        pos_conv_groups: int = 16,
        w2v_loss: bool = True,
        cmsc: bool = True,
        rlm: bool = True,
        rlm_prob: float = 0.5,
        mask_prob: float = 0.65,
        mask_length: int = 10,
        n_negatives: int = 100,
        logit_temperature: float = 0.1,
        codebook_groups: int = 2,
        codebook_size: int = 320,
        final_dim: int = 256,
        diversity_weight: float = 0.1,
        feature_penalty_weight: float = 10.0,
        cmsc_temperature: float = 0.1,
        cmsc_weight: float = 1.0,
        gumbel_temperature: tuple[float, float] = (2.0, 0.5),
        gumbel_decay: float | None = None,
        dropout: float = 0.1,
        feature_grad_mult: float = 0.1,
        weight_decay: float = 0.01,
        max_epochs: int = 200,
        batch_size: int = 64,
        lr: float = 5e-5,
        device: str = "auto",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        callbacks: list | None = None,
    ):
        self.preset = preset
        self.fs = fs
        self.leads = leads
        self.model_fs = model_fs
        self.segment_seconds = segment_seconds
        self.conv_layers = conv_layers
        self.embed_dim = embed_dim
        self.encoder_layers = encoder_layers
        self.ffn_dim = ffn_dim
        self.attention_heads = attention_heads
        self.pos_conv_kernel = pos_conv_kernel
        self.pos_conv_groups = pos_conv_groups
        self.w2v_loss = w2v_loss
        self.cmsc = cmsc
        self.rlm = rlm
        self.rlm_prob = rlm_prob
        self.mask_prob = mask_prob
        self.mask_length = mask_length
        self.n_negatives = n_negatives
        self.logit_temperature = logit_temperature
        self.codebook_groups = codebook_groups
        self.codebook_size = codebook_size
        self.final_dim = final_dim
        self.diversity_weight = diversity_weight
        self.feature_penalty_weight = feature_penalty_weight
        self.cmsc_temperature = cmsc_temperature
        self.cmsc_weight = cmsc_weight
        self.gumbel_temperature = gumbel_temperature
        self.gumbel_decay = gumbel_decay
        self.dropout = dropout
        self.feature_grad_mult = feature_grad_mult
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    # -- configuration -------------------------------------------------------------------------
    def _sizes(self) -> dict[str, Any]:
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {self.preset!r}.")
        sizes = dict(PRESETS[self.preset])
        for name in _SIZE_PARAMS:
            if getattr(self, name) is not None:
                sizes[name] = getattr(self, name)
        sizes["conv_layers"] = tuple(tuple(int(v) for v in layer) for layer in sizes["conv_layers"])
        return sizes

    def _config(self, in_channels: int, gumbel_decay: float) -> Wav2Vec2Config:
        sizes = self._sizes()
        start, end = (float(t) for t in self.gumbel_temperature)
        return Wav2Vec2Config(
            in_channels=in_channels, conv_layers=sizes["conv_layers"], embed_dim=sizes["embed_dim"],
            layers=sizes["encoder_layers"], ffn_dim=sizes["ffn_dim"], heads=sizes["attention_heads"],
            pos_conv_kernel=self.pos_conv_kernel, pos_conv_groups=self.pos_conv_groups,
            dropout=self.dropout, attention_dropout=self.dropout, dropout_input=self.dropout,
            dropout_features=self.dropout, feature_grad_mult=self.feature_grad_mult,
            codebook_groups=self.codebook_groups, codebook_size=self.codebook_size,
            final_dim=self.final_dim, gumbel_temperature=(start, end, gumbel_decay),
        )

    def _segment_samples(self, fs: float | None = None) -> int:
        """Samples per segment at rate ``fs`` (default: the input rate)."""
        return int(round(self.segment_seconds * (self.fs if fs is None else fs)))

    def _check_method_params(self) -> None:
        sizes = self._sizes()
        for name in ("embed_dim", "encoder_layers", "ffn_dim", "attention_heads", "pos_conv_kernel",
                     "pos_conv_groups", "mask_length", "n_negatives", "codebook_groups", "codebook_size",
                     "final_dim"):
            value = sizes.get(name, getattr(self, name, None))
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if sizes["embed_dim"] % sizes["attention_heads"]:
            raise ValueError(f"embed_dim ({sizes['embed_dim']}) must be divisible by attention_heads "
                             f"({sizes['attention_heads']}).")
        if sizes["embed_dim"] % self.pos_conv_groups:
            raise ValueError(f"embed_dim ({sizes['embed_dim']}) must be divisible by pos_conv_groups "
                             f"({self.pos_conv_groups}).")
        if self.final_dim % self.codebook_groups:
            raise ValueError(f"final_dim ({self.final_dim}) must be divisible by codebook_groups "
                             f"({self.codebook_groups}).")
        if not (self.w2v_loss or self.cmsc):
            raise ValueError("At least one of w2v_loss and cmsc must be True: nothing to train.")
        for name in ("rlm_prob", "mask_prob", "dropout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}.")
        for name in ("model_fs", "segment_seconds", "logit_temperature", "cmsc_temperature"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}.")
        if len(tuple(self.gumbel_temperature)) != 2 or not 0 < min(self.gumbel_temperature):
            raise ValueError(f"gumbel_temperature must be (start, end) > 0, got {self.gumbel_temperature!r}.")
        if self.gumbel_decay is not None and not 0 < self.gumbel_decay <= 1:
            raise ValueError(f"gumbel_decay must be in (0, 1] or None, got {self.gumbel_decay!r}.")
        segment = self._segment_samples(self.model_fs)
        frames = self._frames_per_segment(segment)
        if self.w2v_loss and frames <= self.mask_length + 1:
            raise ValueError(
                f"A {self.segment_seconds} s segment gives {frames} frames at model_fs={self.model_fs}; "
                f"span masking needs more than mask_length + 1 = {self.mask_length + 1}."
            )

    def _frames_per_segment(self, n_samples: int) -> int:
        for _, kernel, stride in self._sizes()["conv_layers"]:
            n_samples = (n_samples - kernel) // stride + 1
        return max(n_samples, 0)

    def _min_samples(self) -> int:
        # At least one frame after resampling to model_fs.
        needed = 1
        for _, kernel, stride in reversed(self._sizes()["conv_layers"]):
            needed = (needed - 1) * stride + kernel
        return max(1, math.ceil(needed * float(self.fs) / float(self.model_fs)))

    # -- hooks of the base ---------------------------------------------------------------------
    def _make_train_dataset(self, X: Any, y: Any = None, **fit_params: Any) -> Dataset:
        if fit_params:
            raise TypeError(f"Unexpected fit parameters: {sorted(fit_params)}.")
        segment = self._segment_samples()
        n_samples = X.shape[2]
        if n_samples < segment:
            raise ValueError(
                f"Pretraining cuts records into segment_seconds={self.segment_seconds} s segments "
                f"({segment} samples at fs={self.fs}); X has {n_samples} samples per record."
            )
        if self.cmsc and n_samples < 2 * segment:
            raise ValueError(
                f"CMSC pairs two consecutive {self.segment_seconds} s segments of a record, so records "
                f"must have at least {2 * segment} samples at fs={self.fs}; X has {n_samples}. "
                "Pass cmsc=False to pretrain on single segments with the wav2vec 2.0 loss alone."
            )
        k = 2 if n_samples >= 2 * segment else 1
        self.segments_per_record_ = k
        n_updates = self.max_epochs * (len(X) // self.batch_size if len(X) > self.batch_size else 1)
        start, end = (float(t) for t in self.gumbel_temperature)
        if self.gumbel_decay is not None:
            self.gumbel_decay_ = float(self.gumbel_decay)
        else:
            self.gumbel_decay_ = float((end / start) ** (1.0 / max(n_updates, 1))) if end < start else 1.0
        return SegmentPairDataset(X, segment, k)

    def _build_module(self) -> nn.Module:
        objective = dict(
            w2v_loss=bool(self.w2v_loss), cmsc=bool(self.cmsc), rlm=bool(self.rlm),
            rlm_prob=float(self.rlm_prob), mask_prob=float(self.mask_prob),
            mask_length=int(self.mask_length), n_negatives=int(self.n_negatives),
            logit_temperature=float(self.logit_temperature),
            diversity_weight=float(self.diversity_weight),
            feature_penalty_weight=float(self.feature_penalty_weight),
            cmsc_temperature=float(self.cmsc_temperature), cmsc_weight=float(self.cmsc_weight),
        )
        # Pretraining sets the Gumbel schedule; a module built for another use (the encoder of
        # SupervisedECGClassifier) never quantises, so any decay will do there.
        config = self._config(self.n_leads_in_, getattr(self, "gumbel_decay_", 1.0))
        return W2VCMSCModule(config, self.fs_in_, self.model_fs, self.segment_seconds, objective)

    def _embedding_dim(self) -> int:
        return int(self._sizes()["embed_dim"])

    def _optimizer(self) -> type[torch.optim.Optimizer]:
        return torch.optim.AdamW

    def _optimizer_params(self) -> dict[str, Any]:
        return {"betas": (0.9, 0.98), "eps": 1e-6, "weight_decay": self.weight_decay}

    def _embed_batch(self, x: torch.Tensor) -> torch.Tensor:
        module = self.net_.module_
        return module.frames(x) if getattr(self, "_frames_output", False) else module.embed(x)

    # -- public API ----------------------------------------------------------------------------
    def transform_frames(self, X: Any, leads: Sequence[str] | None = None, fs: float | None = None
                         ) -> np.ndarray:
        """Per-frame (local) features: the transformer output of every frame, unpooled.

        Parameters
        ----------
        X, leads, fs
            As in :meth:`transform`.

        Returns
        -------
        frames : ndarray of shape (n_ecgs, n_frames, embed_dim), float32
            Frames of consecutive segments one after the other (156 per full
            5 s segment at the published settings, then those of a shorter last
            part); one frame covers 16 samples at ``model_fs`` (32 ms at 500 Hz).
            ``transform`` is their mean over axis 1.
        """
        check_is_fitted(self, "net_")
        self._frames_output = True
        try:
            return self.transform(X, leads=leads, fs=fs)
        finally:
            del self._frames_output

    def fit(self, X: Any, y: Any = None) -> W2VCMSCTransformer:
        """Pretrain on unlabelled ECGs.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
            ECGs in millivolts at ``fs``, at least 2 x ``segment_seconds`` long
            with CMSC (a random pair of consecutive segments per record and
            epoch), at least one segment without. Lazy array-likes are read
            record by record.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        return self._fit(X, y)

