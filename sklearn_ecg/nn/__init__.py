"""Torch modules only (encoders and losses); nothing here knows about scikit-learn."""
