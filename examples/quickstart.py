# %% [markdown]
# # Quickstart: PCLR embeddings + logistic regression in one Pipeline
#
# `PCLRTransformer` is a scikit-learn transformer: `fit` pretrains a 1-D ResNet
# without labels (PCLR: two ECGs of the same patient are a positive pair) and
# `transform` returns one embedding per ECG. Any scikit-learn model can sit on top.
#
# Run it as a script (`python examples/quickstart.py`) or open it as a notebook
# (`jupytext --to ipynb examples/quickstart.py`). `SKLEARN_ECG_FAST=1` makes it tiny.

# %%
import os

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GroupShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ecg import PCLRTransformer
from sklearn_ecg.datasets import make_synthetic_ecg

FAST = os.environ.get("SKLEARN_ECG_FAST") == "1"
if FAST:
    print("Fast mode (SKLEARN_ECG_FAST=1): tiny data and models, so the numbers below are not meaningful.")

# %% [markdown]
# Synthetic 12-lead ECGs (10 s at 100 Hz, in mV) of patients with several ECGs
# each, six diagnostic classes. Train and test sets hold different patients.

# %%
data = make_synthetic_ecg(n_patients=16 if FAST else 120, ecgs_per_patient=(2, 4), random_state=0)
print(data.X.shape, "classes:", list(data.target_names))
train, test = next(GroupShuffleSplit(test_size=0.3, random_state=0).split(data.X, data.y, data.patient_id))

# %% [markdown]
# The pipeline. PCLR's settings here are small for a CPU (the paper's defaults
# are `n_samples=4096`, `max_epochs=50`); `groups` (patient ids) is routed to
# PCLR's `fit` to form the positive pairs.

# %%
model = make_pipeline(
    PCLRTransformer(n_samples=256 if FAST else 512, filters=(16, 32, 48, 64, 96),
                    max_epochs=1 if FAST else 8, batch_size=32, random_state=0),
    StandardScaler(),
    LogisticRegression(max_iter=1000),
)
model.fit(data.X[train], data.y[train], pclrtransformer__groups=data.patient_id[train])
predicted = model.predict(data.X[test])
print(f"balanced accuracy on unseen patients: {balanced_accuracy_score(data.y[test], predicted):.3f} "
      f"(chance: {1 / len(data.target_names):.3f})")

# %% [markdown]
# The fitted transformer is an ordinary step: its embeddings can be reused.

# %%
embeddings = model[0].transform(data.X[test])
print("embeddings:", embeddings.shape, embeddings.dtype)
print("PCLR training loss per epoch:", np.round(model[0].loss_curve_, 3))
