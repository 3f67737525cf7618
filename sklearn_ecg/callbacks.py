"""skorch callbacks the estimators train with: learning-rate schedule, BYOL's target update and
best-epoch selection on a validation score."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from skorch.callbacks import Callback


def _steps_per_epoch(net: Any, dataset: Any) -> int:
    train_part, _ = net.get_split_datasets(dataset, None)
    return max(1, len(net.get_iterator(train_part, training=True)))


def _steps_done(net: Any, per_epoch: int) -> int:
    """Steps of the epochs already in the history: 0, or those before a resumed checkpoint."""
    return per_epoch * len(net.history)


class WarmupCosineLR(Callback):
    """Per-batch learning rate: linear warm-up over ``warmup_epochs``, then cosine decay to 0.

    The schedule of the published SimCLR and BYOL runs (pl_bolts'
    LinearWarmupCosineAnnealingLR), stepped every batch.
    """

    def __init__(self, warmup_epochs: int):
        self.warmup_epochs = warmup_epochs

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        per_epoch = _steps_per_epoch(net, X)
        self.total_steps_ = per_epoch * net.max_epochs
        self.warmup_steps_ = per_epoch * self.warmup_epochs
        self.step_ = _steps_done(net, per_epoch)

    def factor(self, step: int) -> float:
        if step < self.warmup_steps_:
            return (step + 1) / self.warmup_steps_
        progress = (step - self.warmup_steps_) / max(1, self.total_steps_ - self.warmup_steps_)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if training:
            for group in net.optimizer_.param_groups:
                group["lr"] = net.lr * self.factor(self.step_)

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training:
            self.step_ += 1


class TargetEMA(Callback):
    """BYOL's target update after every step: ``target = tau * target + (1 - tau) * online``,
    with tau cosine-annealed from ``base_tau`` to 1 over the whole training. The module must
    have ``update_target(tau)``."""

    def __init__(self, base_tau: float):
        self.base_tau = base_tau

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        per_epoch = _steps_per_epoch(net, X)
        self.total_steps_ = per_epoch * net.max_epochs
        self.step_ = _steps_done(net, per_epoch)

    def tau(self, step: int) -> float:
        return 1 - (1 - self.base_tau) * (math.cos(math.pi * step / self.total_steps_) + 1) / 2

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training:
            net.module_.update_target(self.tau(self.step_))
            self.step_ += 1


class BestValidationScore(Callback):
    """Score the net on validation data after every epoch (history key ``valid_score``), restore
    the best epoch's weights when training ends, and stop after ``patience`` epochs without
    improvement (None: never). Mehari & Strodthoff pick the epoch by validation macro AUC.

    ``score(net)`` returns the validation score, higher is better.
    """

    def __init__(self, score: Callable[[Any], float], patience: int | None = None):
        self.score = score
        self.patience = patience

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        if getattr(self, "resumed_", False):  # restored from a checkpoint: keep counting
            self.resumed_ = False
            return
        self.best_score_ = -math.inf
        self.best_epoch_ = 0
        self.best_state_ = None
        self.misses_ = 0

    def checkpoint_state(self) -> dict:
        return {"best_score": self.best_score_, "best_epoch": self.best_epoch_,
                "best_state": self.best_state_, "misses": self.misses_}

    def restore_checkpoint_state(self, state: dict) -> None:
        self.best_score_, self.best_epoch_ = float(state["best_score"]), int(state["best_epoch"])
        self.best_state_, self.misses_ = state["best_state"], int(state["misses"])
        self.resumed_ = True

    def on_epoch_end(self, net, **kwargs):
        score = float(self.score(net))
        net.history.record("valid_score", score)
        if score > self.best_score_:
            self.best_score_, self.best_epoch_, self.misses_ = score, len(net.history), 0
            self.best_state_ = copy.deepcopy(net.module_.state_dict())
        else:
            self.misses_ += 1
            if self.patience is not None and self.misses_ >= self.patience:
                raise KeyboardInterrupt  # skorch's way for a callback to end training

    def on_train_end(self, net, X=None, y=None, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
