"""scikit-learn transformers for ECG arrays of shape (n_ecgs, n_leads, n_samples).

Every transformer here accepts a 3-D array (or a 2-D array, read as one lead) and returns a
float32 array of shape (n_ecgs, n_leads, n_samples), so they chain in a
:class:`~sklearn.pipeline.Pipeline` in front of any method of this library::

    make_pipeline(BandpassFilter(fs=500), Resample(fs=500, fs_out=100), LeadStandardScaler(),
                  PCLRTransformer(fs=100), LogisticRegression())

``fit`` records the input shape (``n_leads_in_``, ``n_samples_in_``) and, where there is
something to learn, statistics (:class:`LeadStandardScaler`); ``transform`` checks that the number
of leads has not changed. Lazy array-likes (np.memmap, h5py, zarr) are read batch by batch;
``transform`` returns an in-memory array.

:class:`Windowing` is the exception: it turns each ECG into several rows, so it cannot sit in a
Pipeline before a supervised step (the targets would not follow); see its docstring.

The package is numpy/scipy only (it imports no torch), one module per concern: ``_resample``
(:class:`Resample`), ``_filters`` (:class:`BandpassFilter`, :class:`BaselineWanderRemoval`),
``_leads`` (:class:`LeadSelector`, :class:`LeadStandardScaler`), ``_crop``
(:class:`FixedLengthCrop`) and ``_windows`` (:class:`Windowing`, :func:`sliding_windows` and the
grid of window starts that the methods' own windowing shares); ``_base`` holds what they share.
"""

from ._crop import FixedLengthCrop
from ._filters import BandpassFilter, BaselineWanderRemoval
from ._leads import LeadSelector, LeadStandardScaler
from ._resample import Resample
from ._windows import Windowing, sliding_windows

__all__ = [
    "BandpassFilter",
    "BaselineWanderRemoval",
    "FixedLengthCrop",
    "LeadSelector",
    "LeadStandardScaler",
    "Resample",
    "Windowing",
    "sliding_windows",
]
