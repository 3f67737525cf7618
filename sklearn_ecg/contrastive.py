"""SimCLR and BYOL, kept importable from here (each now has its own module)."""

from .byol import BYOLTransformer
from .simclr import SimCLRTransformer

__all__ = ["BYOLTransformer", "SimCLRTransformer"]
