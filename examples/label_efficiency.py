# %% [markdown]
# # Label efficiency: how many labels does a pretrained representation save?
#
# The question every self-supervised ECG paper asks: with only a few labelled
# ECGs, does a linear model on pretrained embeddings beat a model trained from
# scratch? `label_efficiency_curve` answers it for any representation: it fits
# the embedding once, then for each label budget draws stratified subsets of the
# labelled pool, trains a probe on each and scores it on a fixed test set.
# The same subsets are drawn for every method (they depend only on the seed).

# %%
import os

import matplotlib.pyplot as plt
from sklearn.model_selection import GroupShuffleSplit

from sklearn_ecg import PCLRTransformer
from sklearn_ecg.datasets import make_synthetic_ecg
from sklearn_ecg.evaluation import label_efficiency_curve, plot_label_efficiency
from sklearn_ecg.supervised import SupervisedECGClassifier

FAST = os.environ.get("SKLEARN_ECG_FAST") == "1"
if FAST:
    print("Fast mode (SKLEARN_ECG_FAST=1): tiny data and models, so the numbers below are not meaningful.")

# %% [markdown]
# Three disjoint groups of synthetic patients: unlabelled ECGs for pretraining,
# a labelled pool, and a test set.

# %%
data = make_synthetic_ecg(n_patients=24 if FAST else 200, ecgs_per_patient=(2, 4), random_state=1)
split = GroupShuffleSplit(n_splits=1, test_size=0.5, random_state=0)
unlabelled, labelled = next(split.split(data.X, groups=data.patient_id))
pool, test = next(split.split(labelled, groups=data.patient_id[labelled]))
pool, test = labelled[pool], labelled[test]
print(f"{len(unlabelled)} unlabelled, {len(pool)} in the labelled pool, {len(test)} test ECGs")

budgets = [6, 12, "all"] if FAST else [6, 12, 25, 50, 100, "all"]
common = dict(X_test=data.X[test], y_test=data.y[test], n_labels=budgets, n_repeats=2 if FAST else 5,
              random_state=0)

# %% [markdown]
# PCLR, pretrained on the unlabelled patients (patient ids make the pairs).

# %%
pclr = PCLRTransformer(n_samples=256 if FAST else 512, filters=(16, 32, 48, 64, 96),
                       max_epochs=1 if FAST else 10, batch_size=32, random_state=0)
curves = {
    "PCLR + linear probe": label_efficiency_curve(
        pclr, data.X[pool], data.y[pool], X_pretrain=data.X[unlabelled],
        pretrain_params={"groups": data.patient_id[unlabelled]}, **common),
}
print(f"pretraining took {curves['PCLR + linear probe'].attrs['pretrain_time']:.0f} s")

# %% [markdown]
# Baselines: a linear model on the raw samples (`precomputed=True`: the
# "embedding" is the flattened signal), and the same ResNet trained from
# scratch on each labelled subset (`mode="supervised"`).

# %%
flat = data.X.reshape(len(data.X), -1)
curves["raw signal + linear"] = label_efficiency_curve(
    None, flat[pool], data.y[pool], precomputed=True, **{**common, "X_test": flat[test]})
scratch = SupervisedECGClassifier(pclr, max_epochs=2 if FAST else 30, batch_size=32, random_state=0)
curves["ResNet from scratch"] = label_efficiency_curve(scratch, data.X[pool], data.y[pool],
                                                       mode="supervised", **common)

# %% [markdown]
# A tidy table (one row per fit) and the plot: mean over repeats, shaded +/- one std;
# the baseline dotted, the ResNet trained from scratch dashed.

# %%
for name, df in curves.items():
    print(name, df.groupby("n_labels")["score"].mean().round(3).to_dict())
ax = plot_label_efficiency(curves, baselines=["raw signal + linear"],
                           title="Synthetic ECGs: macro ROC AUC vs labels")
plt.show()
