"""The heart and the electrodes of the synthetic ECGs: lead vectors, wave vectors, patients.

The 12 leads are linear projections of one cardiac dipole on lead vectors taken from Dower's
inverse transform (Edenbrandt & Pahlm 1988); each synthetic patient has stable traits (heart
orientation, wave shapes, intervals, electrode placement, age, sex...).
"""

from __future__ import annotations

import numpy as np

# Frank VCG axes: X to the patient's left, Y to the feet, Z to the back (posterior).
# Lead vectors of I, II and V1-V6 from Dower's inverse transform; III, aVR, aVL and aVF follow from
# I and II through Einthoven's and Goldberger's equations, so the limb leads are exactly consistent.
_DOWER_I = np.array([0.632, -0.235, 0.059])
_DOWER_II = np.array([0.235, 1.066, -0.132])
_DOWER_V = np.array(
    [
        [-0.515, 0.157, -0.917],
        [0.044, 0.164, -1.387],
        [0.882, 0.098, -1.277],
        [1.213, 0.127, -0.601],
        [1.125, 0.127, -0.086],
        [0.831, 0.076, 0.230],
    ]
)
# Electrode positions (as lead vectors) with centroid 0: LA - RA = I and LL - RA = II.
_RA = -(_DOWER_I + _DOWER_II) / 3.0
_LA = _RA + _DOWER_I
_LL = _RA + _DOWER_II

# From the potentials of the 9 electrodes (RA, LA, LL, V1..V6) to the 12 leads.
_ELECTRODES_TO_LEADS = np.zeros((12, 9))
_ELECTRODES_TO_LEADS[0, [0, 1]] = [-1, 1]  # I = LA - RA
_ELECTRODES_TO_LEADS[1, [0, 2]] = [-1, 1]  # II = LL - RA
_ELECTRODES_TO_LEADS[2, [1, 2]] = [-1, 1]  # III = LL - LA
_ELECTRODES_TO_LEADS[3, :3] = [1, -0.5, -0.5]  # aVR = RA - (LA + LL) / 2
_ELECTRODES_TO_LEADS[4, :3] = [-0.5, 1, -0.5]  # aVL
_ELECTRODES_TO_LEADS[5, :3] = [-0.5, -0.5, 1]  # aVF
for _i in range(6):  # Vi = electrode - Wilson's central terminal
    _ELECTRODES_TO_LEADS[6 + _i, :3] = -1.0 / 3.0
    _ELECTRODES_TO_LEADS[6 + _i, 3 + _i] = 1.0

# Unit vectors of the territories used by ST changes (Frank axes, Z posterior).
_TERRITORIES = {
    "anterior": np.array([0.1, 0.0, -1.0]),
    "inferior": np.array([0.0, 1.0, 0.1]),
    "lateral": np.array([1.0, -0.45, 0.1]),
}
_DEPRESSION = -np.array([0.8, 0.5, 0.1])


def _rotation(angles: np.ndarray) -> np.ndarray:
    """Rotation matrix from three angles (radians) about the X, Y and Z axes."""
    a, b, c = angles
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


# The waves of a normal beat: width (s) and dipole vector (mV, Frank axes). Where each wave peaks
# relative to the R peak (P from the PR interval, T from the QT) is set per beat by
# _synthetic_beats._dipole_waves.
_BASE_WAVES = {
    "P1": (0.022, np.array([0.03, 0.08, -0.06])),
    "P2": (0.022, np.array([0.07, 0.05, 0.06])),
    "Q": (0.010, np.array([-0.15, 0.05, -0.25])),
    "R": (0.011, np.array([1.0, 0.6, 0.3])),
    "S": (0.011, np.array([-0.30, -0.10, 0.50])),
    "T1": (0.050, np.array([0.30, 0.25, -0.15])),
    "T2": (0.030, np.array([0.20, 0.17, -0.10])),
}


def _make_patient(rng: np.random.RandomState, base_class: str) -> dict:
    """The stable traits of one patient; those whose base class is atrial fibrillation, bundle
    branch block or ST changes are older on average."""
    old = base_class in ("atrial fibrillation", "bundle branch block", "ST changes")
    age = float(np.clip(rng.normal(68 if old else 50, 11 if old else 16), 18, 95))
    female = bool(rng.rand() < 0.5)
    # Heart orientation: frontal-plane rotation (about Z) moves the electrical axis the most.
    rotation = _rotation(np.deg2rad(rng.normal(0.0, [10.0, 14.0, 18.0])))
    gain = 1.2 * float(np.exp(rng.normal(0.0, 0.18)) * (1.0 - 0.004 * (age - 50)) * (0.87 if female else 1.0))
    waves = {}
    for name, (width, vector) in _BASE_WAVES.items():
        turn = _rotation(np.deg2rad(rng.normal(0.0, 12.0, 3)))
        waves[name] = (width, np.exp(rng.normal(0.0, 0.2)) * (turn @ vector))
    # Precordial electrodes: a shift along the chest (towards the next electrode), a gain and a
    # small perturbation of each lead vector, all patient-specific.
    shift = rng.normal(0.0, 0.25) + rng.normal(0.0, 0.1, 6)
    precordial = _shifted_precordial(shift)
    precordial = precordial * np.exp(rng.normal(0.0, 0.1, (6, 1))) + rng.normal(0.0, 0.06, (6, 3))
    return {
        "age": age,
        "sex": "F" if female else "M",
        "base_hr": float(np.clip(rng.normal(70.0 + (3.0 if female else 0.0), 7.0), 62.0, 94.0)),
        "rotation": rotation,
        "gain": gain,
        "waves": waves,
        "precordial": precordial,
        "qrs_width": float(np.clip(rng.normal(1.0, 0.08), 0.8, 1.2)),
        "pr": float(rng.uniform(0.13, 0.20)),
        "qtc": float(rng.normal(0.40 + (0.015 if female else 0.0), 0.015)),
        "t_width": float(np.clip(rng.normal(1.0, 0.1), 0.75, 1.3)),
        "resp_freq": float(rng.uniform(0.15, 0.35)),
        "rsa": float(rng.uniform(0.01, 0.05) * (1.3 - age / 100.0)),
        "lf": float(rng.uniform(0.005, 0.025)),
        "bbb": "right" if rng.rand() < 0.6 else "left",
        "st_kind": rng.choice(["elevation", "depression", "T wave inversion"], p=[0.4, 0.35, 0.25]),
        "st_territory": rng.choice(list(_TERRITORIES)),
        "st_size": float(rng.uniform(0.12, 0.3)),
        "f_freq": float(rng.uniform(4.5, 8.5)),
        "f_amp": float(rng.uniform(0.03, 0.1)),
        "f_vector": _unit(np.array([0.1, 0.35, -0.6]) + rng.normal(0.0, 0.2, 3)),
        "wander_scale": float(np.exp(rng.normal(0.0, 0.3))),
    }


def _shifted_precordial(shift: np.ndarray) -> np.ndarray:
    """Dower's V1-V6 vectors with each electrode moved by ``shift`` electrode spacings."""
    position = np.clip(np.arange(6) + shift, 0.0, 5.0)
    low = np.clip(np.floor(position).astype(int), 0, 4)
    frac = (position - low)[:, None]
    return (1 - frac) * _DOWER_V[low] + frac * _DOWER_V[low + 1]


def _variant(patient: dict, klass: str) -> str | tuple | None:
    """The patient's form of ``klass``: which bundle branch is blocked, which ST pattern
    (kind, territory, size); None for the other classes."""
    if klass == "bundle branch block":
        return patient["bbb"]
    if klass == "ST changes":
        return (patient["st_kind"], patient["st_territory"], patient["st_size"])
    return None
