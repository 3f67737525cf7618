"""Cropping or zero-padding every ECG to one length."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from .._validation import check_positive_int
from ._base import _batches, _ECGTransformer


class FixedLengthCrop(_ECGTransformer):
    """Crop or zero-pad every ECG to ``n_samples`` samples.

    Parameters
    ----------
    n_samples : int
        Output length (required; ``None`` raises in ``fit``).
    position : {"start", "center", "end", "random"}, default="start"
        Which part of a longer ECG to keep: the first, middle or last ``n_samples``
        samples, or a random stretch per ECG. A shorter ECG is placed at the start (padding
        after it), in the centre (padding on both sides), at the end (padding before it), or
        at a random offset.
    pad : {"zero"} or None, default="zero"
        ``"zero"`` pads shorter ECGs with zeros; None raises a ValueError for them instead.
    random_state : int, RandomState instance or None, default=None
        Seed of the random crops (``position="random"``). With an int, every call to
        ``transform`` draws the same crops.

    Attributes
    ----------
    n_leads_in_, n_samples_in_ : int
        Shape of the ECGs seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.preprocessing import FixedLengthCrop
    >>> X = np.ones((2, 12, 1000), dtype="float32")
    >>> FixedLengthCrop(250, position="center").fit_transform(X).shape
    (2, 12, 250)
    >>> padded = FixedLengthCrop(1200).fit_transform(X)
    >>> padded.shape, float(padded[0, 0, 999]), float(padded[0, 0, 1000])
    ((2, 12, 1200), 1.0, 0.0)
    """

    def __init__(
        self, n_samples: int | None = None, position: str = "start", pad: str | None = "zero",
        random_state: Any = None,
    ) -> None:
        self.n_samples = n_samples
        self.position = position
        self.pad = pad
        self.random_state = random_state

    def _check_params(self) -> None:
        check_positive_int(self.n_samples, "n_samples")
        if self.position not in ("start", "center", "end", "random"):
            raise ValueError(
                f"position must be 'start', 'center', 'end' or 'random', got {self.position!r}."
            )
        if self.pad not in ("zero", None):
            raise ValueError(f"pad must be 'zero' or None, got {self.pad!r}.")

    def _validate(self, X: Any, reset: bool) -> Any:
        X = super()._validate(X, reset)
        if self.pad is None and X.shape[2] < self.n_samples:
            raise ValueError(
                f"X has {X.shape[2]} samples per lead, fewer than n_samples={self.n_samples}, "
                "and pad=None; pass pad='zero' to zero-pad short ECGs."
            )
        return X

    def transform(self, X: Any) -> np.ndarray:
        """Crop or pad every ECG to ``n_samples`` samples.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples_in) or (n_ecgs, n_samples_in)

        Returns
        -------
        X_new : ndarray of shape (n_ecgs, n_leads, n_samples), float32
        """
        X = self._validate(X, reset=False)
        n, n_in, n_out = X.shape[0], X.shape[2], int(self.n_samples)
        slack = abs(n_in - n_out)
        if self.position == "start":
            offsets = np.zeros(n, dtype=int)
        elif self.position == "end":
            offsets = np.full(n, slack)
        elif self.position == "center":
            offsets = np.full(n, slack // 2)
        else:
            offsets = check_random_state(self.random_state).randint(0, slack + 1, size=n)
        out = np.zeros((n, X.shape[1], n_out), dtype=np.float32)
        for start, batch in _batches(X):
            stop = start + len(batch)
            # Sample positions per ECG: where to read from (crop) or write to (pad).
            where = offsets[start:stop, None, None] + np.arange(min(n_in, n_out))
            where = np.broadcast_to(where, (len(batch), X.shape[1], where.shape[-1]))
            if n_in >= n_out:
                out[start:stop] = np.take_along_axis(batch, where, axis=2)
            else:
                np.put_along_axis(out[start:stop], where, batch, axis=2)
        return out
