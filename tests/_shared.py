"""Helpers shared by several test modules (imported by name: tests/ is on sys.path under pytest)."""

import socket

from sklearn.base import clone


def untrained_twin(estimator, X, **fit_params):
    """``estimator`` as it starts training: a clone (the same ``random_state``, so the same
    initial weights) fitted for 3 epochs at lr 1e-12, which only takes BatchNorm statistics
    from ``X``. The fair baseline for "training helped"."""
    return clone(estimator).set_params(max_epochs=3, lr=1e-12).fit(X, **fit_params)


def block_network(monkeypatch):
    """Offline mode for Hugging Face plus sockets that refuse to connect."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise OSError("network access attempted during a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
