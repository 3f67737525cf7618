"""sklearn-ecg: self-supervised ECG representation learning as scikit-learn estimators."""

from .pclr import PCLRTransformer

__version__ = "0.1.0"

__all__ = ["PCLRTransformer"]
