# %% [markdown]
# # Zero-shot classification with METS: no labels, only reports
#
# METS (Li et al., MIDL 2023) pretrains an ECG encoder so that each ECG lands
# close to the embedding of its own free-text report, computed by a frozen
# language model. Afterwards a class is just a sentence: the classifier embeds
# one prompt per class ("The ECG of atrial fibrillation, a type of
# diagnostic.") and predicts the class whose prompt is nearest to the ECG.
# No label is used at any point; the labels below only score the result.

# %%
import os

import numpy as np
from sklearn.metrics import balanced_accuracy_score, confusion_matrix
from sklearn.model_selection import GroupShuffleSplit

from sklearn_ecg.datasets import make_synthetic_ecg
from sklearn_ecg.mets import METSZeroShotClassifier

FAST = os.environ.get("SKLEARN_ECG_FAST") == "1"
if FAST:
    print("Fast mode (SKLEARN_ECG_FAST=1): tiny data and models, so the numbers below are not meaningful.")

# %% [markdown]
# Synthetic ECGs come with short English reports, e.g.:

# %%
data = make_synthetic_ecg(n_patients=16 if FAST else 200, ecgs_per_patient=(2, 4), random_state=0)
for report in data.reports[:3]:
    print("-", report)
train, test = next(GroupShuffleSplit(test_size=0.3, random_state=0).split(data.X, groups=data.patient_id))

# %% [markdown]
# Fit on (ECG, report) pairs, then predict the classes by name. The ResNet18 is
# narrowed for a CPU (`widths`); the paper's is `(64, 128, 256, 512)`.

# %%
classes = list(data.target_names)
mets = METSZeroShotClassifier(classes=classes, widths=(8, 8, 16, 16) if FAST else (32, 64, 96, 128),
                              max_epochs=1 if FAST else 15, batch_size=32, random_state=0)
reports = np.asarray(data.reports)
mets.fit(data.X[train], reports[train])
predicted = mets.predict(data.X[test])
truth = np.asarray(data.target_names)[data.y[test]]
print(f"zero-shot balanced accuracy: {balanced_accuracy_score(truth, predicted):.3f} "
      f"(chance {1 / len(classes):.3f})")
print("classes (columns of predict_proba):", [str(c) for c in mets.classes_])
print(confusion_matrix(truth, predicted, labels=mets.classes_))

# %% [markdown]
# Classes can be changed after fitting, without retraining: a class may be
# described in other words, or new prompts tried.

# %%
mets.set_params(classes={"normal": "normal sinus rhythm", "irregular": "atrial fibrillation"})
print([str(c) for c in mets.classes_], mets.predict_proba(data.X[test][:3]).round(3))
