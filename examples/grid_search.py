# %% [markdown]
# # Tuning a method's parameters with GridSearchCV
#
# Every sklearn-ecg method is a plain scikit-learn estimator, so its
# hyper-parameters (here PCLR's temperature and learning rate) can be searched
# like any other, inside a Pipeline, with cross-validation grouped by patient.
# Each candidate pretrains PCLR on the training folds only (no leakage).

# %%
import os

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ecg import PCLRTransformer
from sklearn_ecg.datasets import make_synthetic_ecg

FAST = os.environ.get("SKLEARN_ECG_FAST") == "1"
if FAST:
    print("Fast mode (SKLEARN_ECG_FAST=1): tiny data and models, so the numbers below are not meaningful.")

# %%
data = make_synthetic_ecg(n_patients=24 if FAST else 90, ecgs_per_patient=(2, 4), random_state=0)
pipeline = make_pipeline(
    PCLRTransformer(n_samples=128 if FAST else 512, filters=(8, 16, 16) if FAST else (16, 32, 48, 64, 96),
                    max_epochs=1 if FAST else 6, batch_size=16, random_state=0),
    StandardScaler(),
    LogisticRegression(max_iter=1000),
)
grid = {
    "pclrtransformer__temperature": [0.1, 0.5],
    "pclrtransformer__lr": [1e-3] if FAST else [1e-3, 1e-2],
}

# %% [markdown]
# `groups` is used twice: by `StratifiedGroupKFold` (no patient in both training
# and validation folds, each fold with the classes' proportions as far as the
# patients allow) and, routed as `pclrtransformer__groups`, by PCLR to pair
# ECGs of the same patient. Scikit-learn slices it with the folds.

# %%
search = GridSearchCV(pipeline, grid, cv=StratifiedGroupKFold(n_splits=2 if FAST else 3),
                      scoring="balanced_accuracy", n_jobs=1)
search.fit(data.X, data.y, groups=data.patient_id, pclrtransformer__groups=data.patient_id)
table = pd.DataFrame(search.cv_results_)[["param_pclrtransformer__temperature", "param_pclrtransformer__lr",
                                          "mean_test_score", "std_test_score", "mean_fit_time"]]
print(table.round(3).to_string(index=False))
print("best:", search.best_params_, f"score {search.best_score_:.3f}")
