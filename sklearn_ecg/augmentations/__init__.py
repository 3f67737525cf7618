"""Batch-wise ECG augmentations in torch, run on the training device.

Every transform takes a float tensor of shape (batch, leads, samples) and returns a
new tensor of the same shape but for the length (``RandomWindow`` cuts it; ``RandomResizedCrop``
changes it on request), dtype and device. Random parameters are drawn per ECG of the batch, so
one call gives every ECG its own crop, noise and scaling.

Randomness comes from the global torch RNG of the data's device (which the
estimators seed through ``random_state``), or from ``generator`` when one is given;
numbers drawn from a generator are made on the generator's device and then moved
to the data's, so a CPU generator gives the same result whatever the data's device.

The transforms and their defaults follow the code of Mehari & Strodthoff (2022),
hhi-aml/ecg-selfsupervised; amplitudes are in the units of the input (mV here,
where the published code worked on standardised leads). :func:`default_ssl_augmentations`
is the pair they found best for SimCLR and BYOL.

Modules: ``_time`` (:class:`RandomWindow`, :class:`RandomResizedCrop`, :class:`TimeOut`), ``_noise``
(:class:`GaussianNoise`, :class:`EMNoise`, :class:`BaselineWander`, :class:`PowerlineNoise`,
:class:`BaselineShift`), ``_leads`` (:class:`ChannelResize`, :class:`RandomLeadMasking`),
``_compose`` (:class:`Compose`, :func:`default_ssl_augmentations`) and ``_base``
(:class:`BatchAugmentation`, their base class).
"""

from ._base import BatchAugmentation
from ._compose import Compose, default_ssl_augmentations
from ._leads import ChannelResize, RandomLeadMasking
from ._noise import BaselineShift, BaselineWander, EMNoise, GaussianNoise, PowerlineNoise
from ._time import RandomResizedCrop, RandomWindow, TimeOut

__all__ = [
    "BatchAugmentation",
    "BaselineShift",
    "BaselineWander",
    "ChannelResize",
    "Compose",
    "EMNoise",
    "GaussianNoise",
    "PowerlineNoise",
    "RandomLeadMasking",
    "RandomResizedCrop",
    "RandomWindow",
    "TimeOut",
    "default_ssl_augmentations",
]
