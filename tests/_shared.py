"""Helpers shared by several test modules (imported by name: tests/ is on sys.path under pytest)."""

import socket

_LENGTH_MAY_CHANGE = "ECGs of any length are accepted at transform: samples are not fixed features."
#: scikit-learn's generic checks that every window-based ECG embedder fails, and why.
EMBEDDER_EXPECTED_FAILED_CHECKS = {
    "check_n_features_in_after_fitting": _LENGTH_MAY_CHANGE,
    "check_n_features_in": _LENGTH_MAY_CHANGE,
    "check_transformer_general": _LENGTH_MAY_CHANGE,
    "check_transformer_preserve_dtypes": "Embeddings are float32 by design (DESIGN.md).",
}


def block_network(monkeypatch):
    """Offline mode for Hugging Face plus sockets that refuse to connect."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise OSError("network access attempted during a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
