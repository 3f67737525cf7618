# %% [markdown]
# # One model for any set of leads: W2V+CMSC+RLM
#
# Wearables and monitors record 1, 2 or 6 leads, not 12. W2V+CMSC+RLM (Oh et al.,
# CHIL 2022) pretrains a wav2vec 2.0 encoder while randomly zeroing leads
# (random lead masking, RLM), so one pretrained model embeds any subset of the
# leads it was trained on: pass the subset's names to `transform(X, leads=...)`
# and the missing leads are zero-filled, as in training.

# %%
import os

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GroupShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ecg.datasets import make_synthetic_ecg
from sklearn_ecg.w2v_cmsc import W2VCMSCTransformer

FAST = os.environ.get("SKLEARN_ECG_FAST") == "1"
if FAST:
    print("Fast mode (SKLEARN_ECG_FAST=1): tiny data and models, so the numbers below are not meaningful.")

# %%
data = make_synthetic_ecg(n_patients=16 if FAST else 150, ecgs_per_patient=(2, 4), random_state=0)
train, test = next(GroupShuffleSplit(test_size=0.3, random_state=0).split(data.X, groups=data.patient_id))

# %% [markdown]
# Pretrain once on all 12 leads. `preset="small"` is a CPU-sized encoder (the
# paper's is 12 transformer layers of width 768); the 100 Hz input is resampled
# to the model's 500 Hz inside.

# %%
w2v = W2VCMSCTransformer(preset="small", fs=data.fs, max_epochs=1 if FAST else 10, batch_size=16,
                         lr=1e-3, random_state=0)
if FAST:
    w2v.set_params(embed_dim=32, encoder_layers=1)
w2v.fit(data.X[train])

# %% [markdown]
# Embed the same ECGs with fewer leads: only the named leads are given.

# %%
lead_sets = {
    "12 leads": list(data.leads),
    "6 limb leads": ["I", "II", "III", "aVR", "aVL", "aVF"],
    "I + II": ["I", "II"],
    "lead I": ["I"],
}
rows = []
for name, leads in lead_sets.items():
    columns = [list(data.leads).index(lead) for lead in leads]
    Z_train = w2v.transform(data.X[train][:, columns], leads=leads)
    Z_test = w2v.transform(data.X[test][:, columns], leads=leads)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(Z_train, data.y[train])
    rows.append({"leads": name, "balanced accuracy": balanced_accuracy_score(data.y[test],
                                                                             probe.predict(Z_test))})
print(pd.DataFrame(rows).round(3).to_string(index=False))
print(f"chance: {1 / len(data.target_names):.3f}")
