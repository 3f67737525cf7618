"""sklearn-ecg: self-supervised ECG representation learning as scikit-learn estimators."""

from . import augmentations, datasets, evaluation, preprocessing
from .byol import BYOLTransformer
from .cpc import CPCTransformer
from .finetune import FineTunedECGClassifier
from .mets import METSZeroShotClassifier
from .pclr import PCLRTransformer
from .simclr import SimCLRTransformer
from .supervised import SupervisedECGClassifier
from .w2v_cmsc import W2VCMSCTransformer

__version__ = "0.1.0"

__all__ = [
    "BYOLTransformer",
    "CPCTransformer",
    "FineTunedECGClassifier",
    "METSZeroShotClassifier",
    "PCLRTransformer",
    "SimCLRTransformer",
    "SupervisedECGClassifier",
    "W2VCMSCTransformer",
    "augmentations",
    "datasets",
    "evaluation",
    "preprocessing",
]
