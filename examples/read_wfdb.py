# %% [markdown]
# # Your own ECG files: WFDB records in, embeddings out
#
# `load_wfdb` reads WFDB records (PhysioNet's format: a `.hea` header and a
# signal file; also CinC-style `.mat` records) into one array of shape
# (n_records, n_leads, n_samples) in millivolts, resampled and cropped to a
# common rate and length, with the leads in the order you ask for. From there
# every sklearn-ecg estimator applies.

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import wfdb

from sklearn_ecg import PCLRTransformer
from sklearn_ecg.datasets import load_wfdb, make_synthetic_ecg
from sklearn_ecg.evaluation import plot_ecg_12lead

FAST = os.environ.get("SKLEARN_ECG_FAST") == "1"
if FAST:
    print("Fast mode (SKLEARN_ECG_FAST=1): tiny data and models, so the numbers below are not meaningful.")

# %% [markdown]
# Write a few records as a device would: 12 leads at 500 Hz, in mV, with the
# patient's age, sex and diagnosis as header comments.

# %%
data = make_synthetic_ecg(n_patients=4, ecgs_per_patient=2, fs=500, random_state=0)
folder = Path(tempfile.mkdtemp(prefix="ecg_records_"))
for i, ecg in enumerate(data.X):
    info = data.metadata.iloc[i]
    wfdb.wrsamp(f"rec{i:03d}", fs=500, units=["mV"] * 12, sig_name=list(data.leads),
                p_signal=ecg.T.astype(np.float64), fmt=["16"] * 12, adc_gain=[1000.0] * 12,
                baseline=[0] * 12, comments=[f"age: {info['age']}", f"sex: {info['sex']}",
                                             f"dx: {info['class']}"], write_dir=str(folder))
print(sorted(p.name for p in folder.iterdir())[:4], "...")

# %% [markdown]
# Read the whole folder at 100 Hz, 10 s, in the standard lead order. The header
# comments become metadata columns.

# %%
X, metadata = load_wfdb(folder, fs=100, duration=10, leads=list(data.leads))
print(X.shape, X.dtype)
print(metadata[["record", "fs", "n_samples", "age", "sex", "dx"]].head())

# %% [markdown]
# The array goes straight into a method (here a tiny PCLR, for the demonstration).

# %%
pclr = PCLRTransformer(n_samples=128 if FAST else 512, filters=(8, 16, 16), max_epochs=1, batch_size=4,
                       random_state=0).fit(X)
print("embeddings:", pclr.transform(X).shape)

# %% [markdown]
# Real records: PTB Diagnostic database patient001 (15 leads at 1000 Hz, 38 s:
# the 12 standard leads are selected by name, resampled and cropped to 10 s) and
# MIT-BIH record 100 (2 leads, MLII and V5, at 360 Hz; MLII is read as lead II).
# They live in the project's shared data folder when it is available.

# %%
here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()  # script or notebook
samples = Path(os.environ.get("SKLEARN_ECG_DATA", here.parents[1] / "shared" / "data")) / "wfdb-samples"
if (samples / "s0010_re.hea").is_file():
    ptb, ptb_meta = load_wfdb(samples / "s0010_re", fs=100, duration=10, leads=list(data.leads))
    print(ptb_meta[["record", "fs", "n_samples", "age", "sex"]])
    plot_ecg_12lead(ptb[0], fs=100, title="PTB patient001 (s0010_re), first 10 s")
    mitbih, _ = load_wfdb(samples / "100", fs=100, duration=10, leads=["II", "V5"])
    plot_ecg_12lead(mitbih[0], fs=100, leads=["II", "V5"], rhythm_lead=None, title="MIT-BIH record 100")
    plt.show()
else:
    print(f"no sample records at {samples}; skipped")
