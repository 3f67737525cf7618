"""Published pretrained weights as fitted estimators of this library, loaded without the
frameworks that trained them and without unpickling code (see README, "Using published weights").

- :func:`load_pclr_keras`: ml4h's PCLR (Keras .h5) -> :class:`~sklearn_ecg.PCLRTransformer`.
- :func:`load_merl`: MERL's ResNet18 ECG encoder (.pth) -> :class:`~sklearn_ecg.METSZeroShotClassifier`
  (with :func:`merl_normalize`, MERL's input scaling).
- :func:`load_fairseq_signals`: fairseq-signals' wav2vec 2.0 / W2V+CMSC(+RLM) (.pt, e.g. ECG-FM) ->
  :class:`~sklearn_ecg.W2VCMSCTransformer` (with :func:`ecgfm_standardize`, ECG-FM's input scaling).
- :func:`load_ecg_selfsupervised`: Mehari & Strodthoff's CPC, SimCLR and BYOL (Lightning .ckpt) ->
  :class:`~sklearn_ecg.CPCTransformer`, :class:`~sklearn_ecg.SimCLRTransformer`,
  :class:`~sklearn_ecg.BYOLTransformer` (with :func:`ptbxl_standardize`, their CPC input scaling).
"""

from .ecg_selfsupervised import load_ecg_selfsupervised, ptbxl_standardize
from .fairseq_signals import ecgfm_standardize, load_fairseq_signals
from .merl import load_merl, merl_normalize
from .pclr_keras import load_pclr_keras

__all__ = ["ecgfm_standardize", "load_ecg_selfsupervised", "load_fairseq_signals", "load_merl",
           "load_pclr_keras", "merl_normalize", "ptbxl_standardize"]
