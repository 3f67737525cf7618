"""sklearn-ecg: self-supervised ECG representation learning as scikit-learn estimators."""

__version__ = "0.1.0"
