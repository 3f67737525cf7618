"""CPC: Contrastive Predictive Coding on 12-lead ECGs (Mehari & Strodthoff 2022)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch.utils.data import Dataset

from ._base import BaseECGEmbedder, documents_training_options
from .nn.cpc import POOLINGS, CPCContextNetwork, CPCObjective, steps_out
from .nn.data import RandomCropDataset
from .nn.windows import embed_in_windows

# Encoder layers (kernel sizes, strides) of the two published options.
_ENCODERS = {
    "fc": ((1, 1, 1, 1), (1, 1, 1, 1)),
    "strided": ((10, 4, 4, 4), (2, 2, 2, 2)),
}


@documents_training_options
class CPCTransformer(BaseECGEmbedder):
    """Contrastive Predictive Coding (CPC) for ECGs, as a transformer.

    Pretrains the "4FC+2LSTM+2FC" model of Mehari & Strodthoff (Comput Biol Med
    2022): an encoder of four Conv1d + BatchNorm + ReLU layers, a two-layer LSTM and
    a linear predictor trained with InfoNCE to recognise the encoding ``n_steps``
    ahead among ``n_negatives`` encodings of other steps of the same record.
    Training uses a random ``crop_length`` crop of each record per epoch.

    ``transform`` cuts each record into ``window``-sample windows ``window_stride``
    apart, pools the LSTM outputs of each window (mean, max and last step: the
    paper's classifier head) and averages the window vectors per record, as the
    paper evaluates PTB-XL.

    Parameters
    ----------
    fs : float, default=100
        Sampling rate of the input (Hz). The paper works at 100 Hz; windows and
        crops are counted in samples, so resample other rates first
        (``sklearn_ecg.preprocessing.Resample``).
    leads : list of str, optional
        Lead names of the input; default: the standard leads in PTB-XL order.
    encoder : {"fc", "strided"}, default="fc"
        ``"fc"``: four layers of kernel 1 and stride 1 (the paper's 4FC; one LSTM
        step per sample, slow on CPU); ``"strided"``: kernels (10, 4, 4, 4) and
        strides (2, 2, 2, 2) (one step per 16 samples, 16 times fewer LSTM steps).
    n_features : int, default=512
        Width of every encoder layer.
    n_hidden : int, default=512
        LSTM width.
    n_layers : int, default=2
        LSTM depth.
    n_steps : int, default=12
        Encoder steps predicted ahead: 12 samples = 120 ms with the fc encoder at
        100 Hz (the paper). A strided step is 16 samples, so 12 steps would be 1.9 s
        ahead, which small runs hardly learn; about 4 (0.64 s) worked well there.
    n_negatives : int, default=128
        Negatives per prediction, drawn from the same record.
    crop_length : int or None, default=1000
        Length of the random training crops (paper: 1000 samples, 10 s at 100 Hz).
        Records shorter than this raise a ValueError in ``fit``; ``None`` trains on
        whole records.
    window : int or None, default=250
        Window length at transform time (paper: 250 samples); ``None`` embeds whole
        records. Records must have at least ``window`` samples.
    window_stride : int, default=125
        Step between windows (paper: 125). A last window is added, aligned to the
        end, when the grid leaves samples out.
    pooling : {"concat", "mean"}, default="concat"
        ``"concat"``: mean, max and last LSTM output (3 x n_hidden = 1536 values);
        ``"mean"``: the mean only (n_hidden values).
    weight_decay : float, default=1e-3
        AdamW weight decay (paper: 1e-3).
    max_epochs : int, default=1000
        The paper's 1000 epochs (on about 50,000 records): hours per epoch with the
        fc encoder on a CPU; lower it, or use ``encoder="strided"``, for small runs.
    batch_size : int, default=32
        Records (training crops) per batch (paper: 32).
    lr : float, default=1e-4
        AdamW learning rate (paper: 1e-4).
    device : str, default="auto"
        ``"auto"`` uses CUDA (with bfloat16 mixed precision) when available.
    random_state : int, RandomState or None, default=None
        Seeds initialisation, crops and negatives.
    verbose : int, default=0
        1 prints skorch's epoch table with batch progress bars; 0 is silent.
    callbacks : list of skorch callbacks, optional
        The batch history records ``cpc_accuracy``, the share of predictions that
        rank the true step first.

    Attributes
    ----------
    encoder_ : sklearn_ecg.nn.cpc.CPCContextNetwork
        The pretrained encoder (convolutions, LSTM, pooling) applied to each window.
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` is a :class:`sklearn_ecg.nn.cpc.CPCObjective`.
    loss_curve_ : list of float
        Mean InfoNCE loss per epoch (``log(1 + n_negatives)`` at chance).

    Notes
    -----
    The paper normalises each lead by fixed PTB-XL means and standard deviations;
    here the input is used as given (mV), and the first BatchNorm absorbs scale;
    put ``sklearn_ecg.preprocessing.LeadStandardScaler`` before this estimator
    in a pipeline to match the paper. The published loss sums over time steps;
    this one averages them (same minimiser, readable values).

    Examples
    --------
    >>> from sklearn_ecg.cpc import CPCTransformer
    >>> from sklearn_ecg.datasets import make_synthetic_ecg
    >>> data = make_synthetic_ecg(n_patients=8, ecgs_per_patient=1, fs=100, random_state=0)
    >>> cpc = CPCTransformer(encoder="strided", n_features=16, n_hidden=16, n_negatives=8,
    ...                      max_epochs=1, batch_size=4, random_state=0)
    >>> cpc.fit(data.X).transform(data.X).shape
    (8, 48)
    """

    def __init__(
        self,
        *,
        fs: float = 100,
        leads: Sequence[str] | None = None,
        encoder: str = "fc",
        n_features: int = 512,
        n_hidden: int = 512,
        n_layers: int = 2,
        n_steps: int = 12,
        n_negatives: int = 128,
        crop_length: int | None = 1000,
        window: int | None = 250,
        window_stride: int = 125,
        pooling: str = "concat",
        weight_decay: float = 1e-3,
        max_epochs: int = 1000,
        batch_size: int = 32,
        lr: float = 1e-4,
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
        self.fs = fs
        self.leads = leads
        self.encoder = encoder
        self.n_features = n_features
        self.n_hidden = n_hidden
        self.n_layers = n_layers
        self.n_steps = n_steps
        self.n_negatives = n_negatives
        self.crop_length = crop_length
        self.window = window
        self.window_stride = window_stride
        self.pooling = pooling
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

    _parameter_constraints: dict = {
        **BaseECGEmbedder._parameter_constraints,
        "encoder": [StrOptions(set(_ENCODERS))],
        **{name: [Interval(Integral, 1, None, closed="left")]
           for name in ("n_features", "n_hidden", "n_layers", "n_steps", "n_negatives", "window_stride")},
        "crop_length": [Interval(Integral, 1, None, closed="left"), None],
        "window": [Interval(Integral, 1, None, closed="left"), None],
        "pooling": [StrOptions(set(POOLINGS))],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
    }

    def _check_method_params(self) -> None:
        if self.crop_length is not None:
            steps = self._encoder_steps(self.crop_length)
            if steps <= self.n_steps:
                raise ValueError(
                    f"crop_length={self.crop_length} gives {steps} encoder steps with encoder="
                    f"{self.encoder!r}; predicting n_steps={self.n_steps} ahead needs more."
                )

    def _encoder_steps(self, n_samples: int) -> int:
        return steps_out(n_samples, *_ENCODERS[self.encoder])

    def _min_samples(self) -> int:
        # Transform needs one window; fit checks crop_length itself (RandomCropDataset). Whole
        # records (no window, no crop) must give more than n_steps encoder steps.
        if self.window is not None:
            return int(self.window)
        needed_steps = self.n_steps + 1 if self.crop_length is None else 1
        n_samples = 1
        while self._encoder_steps(n_samples) < needed_steps:
            n_samples += 1
        return n_samples

    def build_encoder(self) -> CPCContextNetwork:
        kernels, strides = _ENCODERS[self.encoder]
        return CPCContextNetwork(self.n_leads_in_, (int(self.n_features),) * 4, kernels, strides,
                                 n_hidden=int(self.n_hidden), n_layers=int(self.n_layers),
                                 pooling=self.pooling)

    def _build_objective(self, encoder: CPCContextNetwork) -> CPCObjective:
        return CPCObjective(encoder, n_steps=int(self.n_steps), n_negatives=int(self.n_negatives))

    def _make_train_dataset(self, X: Any, y: Any = None, **fit_params: Any) -> Dataset:
        if fit_params:
            raise TypeError(f"Unexpected fit parameters: {sorted(fit_params)}.")
        return RandomCropDataset(X, self.crop_length)

    def _embed_batch(self, x: torch.Tensor) -> torch.Tensor:
        # At most batch_size windows per forward pass: the memory footprint of training.
        return embed_in_windows(self.encoder_, x, self.window, self.window_stride,
                                chunk_size=self.batch_size)

    def _net_options(self) -> dict[str, Any]:
        return {"optimizer": torch.optim.AdamW}  # weight_decay: applied by the engine (make_net)
