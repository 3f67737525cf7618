"""Published pretrained weights as fitted estimators of this library, loaded without the
frameworks that trained them and without unpickling code (see README, "Using published weights").

- :func:`load_pclr_keras`: ml4h's PCLR (Keras .h5) -> :class:`~sklearn_ecg.PCLRTransformer`.
"""

from .pclr_keras import load_pclr_keras

__all__ = ["load_pclr_keras"]
