"""W2V+CMSC+RLM: lead-agnostic wav2vec 2.0 pretraining for ECGs (Oh et al., CHIL 2022)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn
from torch.utils.data import Dataset

from ._base import BaseECGEmbedder, documents_training_options
from .nn.w2v_cmsc import PRESETS, SegmentingEncoder, SegmentPairDataset, W2VCMSCObjective
from .nn.wav2vec2 import Wav2Vec2Config

_SIZE_PARAMS = ("conv_layers", "embed_dim", "encoder_layers", "ffn_dim", "attention_heads")
_POSITIVE_INT = [Interval(Integral, 1, None, closed="left")]
_POSITIVE_REAL = [Interval(Real, 0, None, closed="neither")]
_PROBABILITY = [Interval(Real, 0, 1, closed="both")]


@documents_training_options
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
        Temperature of the cosine similarities of the wav2vec 2.0 loss (paper: 0.1).
    codebook_groups, codebook_size : int, default=2, 320
        Gumbel quantiser: groups x codes.
    final_dim : int, default=256
        Width of the quantised targets and of the projected predictions.
    diversity_weight : float, default=0.1
        Weight of the codebook diversity loss (paper: 0.1).
    feature_penalty_weight : float, default=10.0
        Weight of the mean square of the convolutional features (paper: 10).
    cmsc_temperature : float, default=0.1
        Temperature of the CMSC InfoNCE (paper: 0.1).
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
        Passes over the records (paper: 200).
    batch_size : int, default=64
        Records per batch (each gives two segments).
    lr : float, default=5e-5
        The paper's constant rate for 200 epochs on about 0.1 M ECGs; short runs on
        small data need more (``"small"`` runs in our benchmark use 1e-3).
    device : str, default="auto"
        ``"auto"`` uses CUDA (with bfloat16 mixed precision) when available, else the CPU.
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, the batch order and every random draw of training,
        without touching the global torch RNG.
    verbose : int, default=0
        1 prints skorch's epoch table with batch progress bars; 0 is silent.
    callbacks : list of skorch callbacks, optional
        skorch callbacks added to training after the method's own, e.g.
        ``EarlyStopping(monitor="train_loss")`` or ``Checkpoint``.

    Attributes
    ----------
    encoder_ : sklearn_ecg.nn.w2v_cmsc.SegmentingEncoder
        The pretrained encoder (resampling, segments, wav2vec 2.0, mean over frames).
    net_ : skorch.NeuralNet
        ``net_.module_`` is a :class:`sklearn_ecg.nn.w2v_cmsc.W2VCMSCObjective`; ``net_.history`` holds the
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
    _parameter_constraints: dict = {
        **BaseECGEmbedder._parameter_constraints,
        "preset": [StrOptions(set(PRESETS))],
        "model_fs": _POSITIVE_REAL,
        "segment_seconds": _POSITIVE_REAL,
        "conv_layers": ["array-like", None],
        **{name: [*_POSITIVE_INT, None] for name in _SIZE_PARAMS[1:]},
        **{name: _POSITIVE_INT for name in ("pos_conv_kernel", "pos_conv_groups", "mask_length",
                                            "n_negatives", "codebook_groups", "codebook_size", "final_dim")},
        **{name: ["boolean"] for name in ("w2v_loss", "cmsc", "rlm")},
        **{name: _PROBABILITY for name in ("rlm_prob", "mask_prob", "dropout")},
        **{name: _POSITIVE_REAL for name in ("logit_temperature", "cmsc_temperature")},
        "diversity_weight": [Interval(Real, 0, None, closed="left")],
        "feature_penalty_weight": [Interval(Real, 0, None, closed="left")],
        "cmsc_weight": [Interval(Real, 0, None, closed="left")],
        "gumbel_temperature": ["array-like"],
        "gumbel_decay": [Interval(Real, 0, 1, closed="right"), None],
        "feature_grad_mult": [Interval(Real, 0, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
    }

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
        optimizer: str | type | None = None,
        validation_fraction: float | None = None,
        checkpoint_dir: str | os.PathLike | None = None,
        num_workers: int | str = "auto",
        pin_memory: bool | str = "auto",
        mixed_precision: bool = True,
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
        self.optimizer = optimizer
        self.validation_fraction = validation_fraction
        self.checkpoint_dir = checkpoint_dir
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.mixed_precision = mixed_precision

    # -- configuration -------------------------------------------------------------------------
    def _sizes(self) -> dict[str, Any]:
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
        if len(tuple(self.gumbel_temperature)) != 2 or not 0 < min(self.gumbel_temperature):
            raise ValueError(f"gumbel_temperature must be (start, end) > 0, got {self.gumbel_temperature!r}.")
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

    def build_encoder(self) -> SegmentingEncoder:
        # The Gumbel decay only matters in pretraining, which sets it (_build_objective).
        return SegmentingEncoder(self._config(self.n_leads_in_, 1.0), self.fs_in_, self.model_fs,
                                 self.segment_seconds)

    def _build_objective(self, encoder: nn.Module) -> W2VCMSCObjective:
        encoder.wav2vec2.quantizer.decay = float(self.gumbel_decay_)
        objective = dict(
            w2v_loss=bool(self.w2v_loss), cmsc=bool(self.cmsc), rlm=bool(self.rlm),
            rlm_prob=float(self.rlm_prob), mask_prob=float(self.mask_prob),
            mask_length=int(self.mask_length), n_negatives=int(self.n_negatives),
            logit_temperature=float(self.logit_temperature),
            diversity_weight=float(self.diversity_weight),
            feature_penalty_weight=float(self.feature_penalty_weight),
            cmsc_temperature=float(self.cmsc_temperature), cmsc_weight=float(self.cmsc_weight),
        )
        return W2VCMSCObjective(encoder, objective)

    def _net_options(self) -> dict[str, Any]:
        return {"optimizer": torch.optim.AdamW,
                "optimizer_params": {"betas": (0.9, 0.98), "eps": 1e-6}}

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
        return self._apply_encoder(self.encoder_.frames, X, leads, fs)

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

