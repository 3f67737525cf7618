"""Published pretrained weights as fitted estimators of this library, loaded without the
frameworks that trained them and without unpickling code (see README, "Using published weights").

- :func:`load_pclr_keras`: ml4h's PCLR (Keras .h5) -> :class:`~sklearn_ecg.PCLRTransformer`.
- :func:`load_merl`: MERL's ResNet18 ECG encoder (.pth) -> :class:`~sklearn_ecg.METSZeroShotClassifier`
  (with :func:`merl_normalize`, MERL's input scaling).
"""

from .merl import load_merl, merl_normalize
from .pclr_keras import load_pclr_keras

__all__ = ["load_merl", "load_pclr_keras", "merl_normalize"]
