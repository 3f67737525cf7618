"""Synthetic 12-lead ECGs from a moving cardiac dipole: the library's embedded data set.

The heart is modelled as one current dipole whose 3-D vector (the vectorcardiogram, VCG) traces a
P loop, a QRS loop and a T loop on every beat. Each loop is a sum of Gaussian bumps in time around
the beat's R peak, every bump carrying its own 3-D vector, as in the multichannel extension of
ECGSYN (McSharry et al. 2003; Sameni et al. 2007). The 12 leads are linear projections of that one
dipole on lead vectors taken from Dower's inverse transform (Edenbrandt & Pahlm 1988), so they are
mutually consistent: limb leads come from the potentials of the RA, LA and LL electrodes and the
precordial leads are referred to Wilson's central terminal, which makes ``III = II - I``,
``aVR = -(I + II) / 2``, ``aVL = I - II / 2`` and ``aVF = II - I / 2`` hold exactly, noise included
(noise and baseline wander are added at the electrodes, not to the leads).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import Bunch, check_random_state

from .._validation import STANDARD_LEADS, check_fs

__all__ = ["SYNTHETIC_CLASSES", "make_synthetic_ecg"]

#: Diagnostic classes of :func:`make_synthetic_ecg`, in their default order.
SYNTHETIC_CLASSES: tuple[str, ...] = (
    "normal sinus rhythm",
    "atrial fibrillation",
    "bundle branch block",
    "ST changes",
    "sinus bradycardia",
    "sinus tachycardia",
)

_DEFAULT_WEIGHTS = {
    "normal sinus rhythm": 0.30,
    "atrial fibrillation": 0.15,
    "bundle branch block": 0.15,
    "ST changes": 0.15,
    "sinus bradycardia": 0.125,
    "sinus tachycardia": 0.125,
}

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
_TERRITORY_LEADS = {
    "anterior": ["V1-V4", "the anterior leads", "V1 to V4"],
    "inferior": ["II, III and aVF", "the inferior leads", "II, III, aVF"],
    "lateral": ["I, aVL, V5 and V6", "the lateral leads", "I, aVL, V5-V6"],
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


# --------------------------------------------------------------------------------------------
# Patients and their stable traits
# --------------------------------------------------------------------------------------------

# The waves of a normal beat: time of the peak relative to the R peak (s; for P relative to the
# PR interval, for T computed from the QT), width (s) and dipole vector (mV, Frank axes).
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


# --------------------------------------------------------------------------------------------
# One ECG
# --------------------------------------------------------------------------------------------


# Heart-rate limits (bpm) that the mean rate over the record must respect, so reports stay right.
_RATE_LIMITS = {
    "sinus bradycardia": (30.0, 59.0),
    "sinus tachycardia": (101.0, 180.0),
    "atrial fibrillation": (40.0, 200.0),
}


def _beat_times(rng, patient, klass, duration):
    """R-peak times (s) from one beat before the record to one after it, RR intervals, mean rate."""
    # The patient's resting rate (62-94 bpm) sets where in the class's range the rate falls.
    relative = (patient["base_hr"] - 62.0) / 32.0
    if klass == "sinus bradycardia":
        hr = float(np.clip(40.0 + 14.0 * relative + rng.normal(0.0, 3.0), 38.0, 56.0))
    elif klass == "sinus tachycardia":
        hr = float(np.clip(106.0 + 30.0 * relative + rng.normal(0.0, 8.0), 104.0, 160.0))
    elif klass == "atrial fibrillation":
        hr = rng.uniform(110.0, 150.0) if rng.rand() < 0.5 else rng.uniform(65.0, 100.0)
    else:
        hr = float(np.clip(patient["base_hr"] + rng.normal(0.0, 4.0), 61.0, 98.0))
    rr0 = 60.0 / hr
    n_max = int(np.ceil((duration + 3.0) / 0.25)) + 4
    if klass == "atrial fibrillation":
        cv = rng.uniform(0.12, 0.28)
        rr = np.maximum(rr0 * np.exp(rng.normal(-(cv**2) / 2, cv, n_max)), 0.28)
    else:
        # Respiratory sinus arrhythmia, a slow (Mayer) oscillation and a little white jitter.
        t = np.arange(n_max) * rr0
        resp = np.sin(2 * np.pi * patient["resp_freq"] * t + rng.uniform(0, 2 * np.pi))
        mayer = np.sin(2 * np.pi * 0.1 * t + rng.uniform(0, 2 * np.pi))
        rr = rr0 * (1.0 + patient["rsa"] * resp + patient["lf"] * mayer + rng.normal(0.0, 0.008, n_max))
    start = -rng.uniform(1.0, 2.0) * rr[0]
    times = start + np.concatenate([[0.0], np.cumsum(rr[:-1])])
    keep = times <= duration + 1.5
    times, rr = times[keep], rr[keep]
    # The mean rate over the RR intervals that touch the record, kept inside the class's limits.
    touching = (times[1:] >= 0) & (times[:-1] < duration)
    rate = 60.0 / float(np.mean(np.diff(times)[touching]))
    low, high = _RATE_LIMITS.get(klass, (61.0, 99.0))
    if not low <= rate <= high:
        scale = rate / float(np.clip(rate, low, high))
        times, rr = times * scale, rr * scale
        keep = times <= duration + 1.5
        times, rr = times[keep], rr[keep]
        rate = float(np.clip(rate, low, high))
    return times, rr, rate


def _dipole_waves(rng, patient, klass, times, rr, rotation, gain, variant):
    """The Gaussian bumps of every beat: centres (s), widths (s) and dipole vectors (mV)."""
    n = len(times)
    w = patient["waves"]
    qw = patient["qrs_width"]
    if klass == "bundle branch block":
        qw = max(qw, 0.9)  # the block's QRS stays above 120 ms even in a patient with a narrow QRS
    tw = patient["t_width"]
    prev_rr = np.concatenate([[rr[0]], rr[:-1]])
    rr_t = prev_rr if klass == "atrial fibrillation" else rr
    # Fridericia: QT = QTc * RR^(1/3); the T peak sits about 0.11 s before the end of T and the
    # QRS starts about 0.04 s before the R peak.
    t_peak = np.maximum(patient["qtc"] * np.cbrt(rr_t) - 0.04 - 0.075 * tw, 0.11)
    pr = patient["pr"] * (1.0 - 0.15 * (60.0 / rr.mean() - 70.0) / 70.0)
    waves = []  # (offset from R (per beat), width, vector)

    qrs = {
        "Q": (-0.032 * qw, w["Q"][0] * qw, w["Q"][1]),
        "R": (0.0, w["R"][0] * qw, w["R"][1]),
        "S": (0.030 * qw, w["S"][0] * qw, w["S"][1]),
    }
    t1, t2 = w["T1"][1].copy(), w["T2"][1].copy()
    qrs_ms = 95.0 * qw
    if klass == "bundle branch block":
        if variant == "right":
            for name in qrs:
                off, width, vec = qrs[name]
                qrs[name] = (off * 1.15, width * 1.15, vec)
            terminal = np.array([-0.55, 0.0, -0.65])  # right and anterior
            qrs["R'"] = (0.068 * qw, 0.02 * qw, terminal * np.exp(rng.normal(0, 0.1)))
            t1 = t1 + 0.25 * _unit(-terminal) * 0.6
            t2 = t2 + 0.25 * _unit(-terminal) * 0.4
            qrs_ms = 140.0 * qw
        else:
            main = w["R"][1]
            left = np.array([0.5, 0.0, 0.6]) * np.linalg.norm(main)
            qrs = {
                "Q": (-0.03 * qw, 0.012 * qw, np.array([0.12, 0.0, 0.08])),
                "R": (0.0, 0.02 * qw, 0.75 * main + 0.5 * left),
                "R2": (0.058 * qw, 0.022 * qw, 0.55 * main + 0.9 * left),
            }
            t_dir = -_unit(0.55 * main + 0.9 * left)
            t1 = t_dir * np.linalg.norm(t1) * 1.2
            t2 = t_dir * np.linalg.norm(t2) * 1.2
            qrs_ms = 155.0 * qw
    for off, width, vec in qrs.values():
        waves.append((np.full(n, off), width, vec))

    if klass == "ST changes":
        kind, territory, size = variant
        u = _unit(_TERRITORIES[territory])
        if kind == "elevation":
            st = size * u
            t1 = t1 + 0.6 * size * u  # hyperacute T in the same leads
        elif kind == "depression":
            st = size * 0.8 * (_unit(_DEPRESSION))
        else:
            st = None
        if kind != "elevation":
            # Turn the T wave over in the territory (with depression: in the lateral leads).
            if kind == "depression":
                u = _unit(_TERRITORIES["lateral"])
            target = 0.5 * size + 0.05
            for_t1 = t1 @ u + target
            t2 = t2 - (t2 @ u + 0.6 * target) * u
            t1 = t1 - for_t1 * u
        if st is not None:
            j = 0.05 * qw
            centre = (j + t_peak) / 2.0
            waves.append((centre, np.mean(t_peak - j) / 2.2, st))

    waves.append((t_peak - 0.035 * tw, 0.05 * tw, t1))
    waves.append((t_peak + 0.02 * tw, 0.03 * tw, t2))
    if klass != "atrial fibrillation":
        waves.append((np.full(n, -pr - 0.01), w["P1"][0], w["P1"][1]))
        waves.append((np.full(n, -pr + 0.025), w["P2"][0], w["P2"][1]))

    # Respiration modulates the amplitude of every beat by a few percent.
    resp = 1.0 + 0.05 * np.sin(2 * np.pi * patient["resp_freq"] * times + rng.uniform(0, 2 * np.pi))
    centres = np.concatenate([times + np.broadcast_to(off, n) for off, _, _ in waves])
    widths = np.concatenate([np.full(n, width, dtype=float) for _, width, _ in waves])
    vectors = np.concatenate(
        [(resp[:, None] * (gain * (rotation @ vec))[None, :]) for _, _, vec in waves]
    )
    return centres, widths, vectors, qrs_ms


def _render(centres, widths, vectors, fs, n_samples):
    """Sum Gaussian bumps into a (3, n_samples) dipole signal, each over +-4 widths only."""
    half = int(np.ceil(4.0 * widths.max() * fs))
    offsets = np.arange(-half, half + 1)
    centre_idx = np.round(centres * fs).astype(int)
    idx = centre_idx[:, None] + offsets[None, :]
    dt = idx / fs - centres[:, None]
    bump = np.exp(-0.5 * (dt / widths[:, None]) ** 2)
    inside = (idx >= 0) & (idx < n_samples)
    idx, bump = idx[inside], bump[inside]
    rows = np.nonzero(inside)[0]
    return np.stack(
        [np.bincount(idx, weights=bump * vectors[rows, k], minlength=n_samples) for k in range(3)]
    )


def _f_waves(rng, patient, t):
    """Fibrillatory waves: a frequency- and amplitude-modulated atrial oscillation (3, n)."""
    freq = patient["f_freq"] + 0.6 * np.sin(2 * np.pi * 0.13 * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * np.cumsum(freq) * (t[1] - t[0] if len(t) > 1 else 0.0)
    phase += rng.uniform(0, 2 * np.pi)
    amp = patient["f_amp"] * (1.0 + 0.35 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 2 * np.pi)))
    wave = np.sin(phase) + 0.35 * np.sin(2 * phase + rng.uniform(0, 2 * np.pi))
    return patient["f_vector"][:, None] * (amp * wave)[None, :]


# --------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------


def _report(rng, klass, hr, variant, qrs_ms):
    hr = int(round(hr))
    pick = lambda options: options[rng.randint(len(options))]  # noqa: E731
    if klass == "normal sinus rhythm":
        return pick(
            [
                f"sinus rhythm, heart rate {hr} bpm, normal ECG",
                f"normal sinus rhythm at {hr} bpm. no significant abnormality",
                f"sinus rhythm {hr}/min, within normal limits",
                f"normal sinus rhythm, rate {hr} bpm, normal ECG",
            ]
        )
    if klass == "sinus bradycardia":
        return pick(
            [
                f"sinus bradycardia, heart rate {hr} bpm, otherwise normal ECG",
                f"sinus bradycardia at {hr} bpm",
                f"marked sinus bradycardia, rate {hr}/min, no other abnormality"
                if hr < 45
                else f"sinus bradycardia, rate {hr}/min, no other abnormality",
            ]
        )
    if klass == "sinus tachycardia":
        return pick(
            [
                f"sinus tachycardia, heart rate {hr} bpm",
                f"sinus tachycardia at {hr} bpm, otherwise normal ECG",
                f"sinus tachycardia {hr}/min, no acute ST changes",
            ]
        )
    if klass == "atrial fibrillation":
        if hr > 100:
            response = pick(["with rapid ventricular response", "with fast ventricular response"])
        else:
            response = pick(["with controlled ventricular response", "with normal ventricular rate"])
        return pick(
            [
                f"atrial fibrillation {response}, ventricular rate {hr} bpm",
                f"atrial fibrillation {response}, mean rate {hr}/min, no P waves",
                f"irregularly irregular rhythm without P waves: atrial fibrillation {response} "
                f"({hr} bpm)",
            ]
        )
    if klass == "bundle branch block":
        side = variant
        qrs = int(round(qrs_ms / 5.0) * 5)
        extra = "RSR' pattern in V1" if side == "right" else "broad notched R waves in I, V5-V6"
        return pick(
            [
                f"sinus rhythm, heart rate {hr} bpm, complete {side} bundle branch block",
                f"sinus rhythm {hr}/min. {side} bundle branch block, QRS duration {qrs} ms",
                f"sinus rhythm at {hr} bpm with {side} bundle branch block ({extra})",
            ]
        )
    # ST changes
    kind, territory, _ = variant
    where = pick(_TERRITORY_LEADS[territory])
    if kind == "elevation":
        finding = pick(
            [
                f"ST elevation in {where}, consider acute {territory} injury",
                f"ST segment elevation in {where}, possible acute {territory} infarction",
            ]
        )
    elif kind == "depression":
        finding = pick(
            [
                "ST depression in the lateral and inferior leads, possible ischemia",
                "horizontal ST depression in I, II, V4-V6 with T wave inversion, "
                "consistent with subendocardial ischemia",
            ]
        )
    else:
        finding = pick(
            [
                f"T wave inversion in {where}, nonspecific ST-T changes",
                f"inverted T waves in {where}, consider {territory} ischemia",
            ]
        )
    return pick([f"sinus rhythm, heart rate {hr} bpm, {finding}", f"sinus rhythm {hr}/min. {finding}"])


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _check_classes(classes, class_weights):
    if classes is None:
        classes = SYNTHETIC_CLASSES
    if isinstance(classes, str):
        classes = [classes]
    lookup = {name.lower(): name for name in SYNTHETIC_CLASSES}
    names = []
    for name in classes:
        if not isinstance(name, str) or name.strip().lower() not in lookup:
            raise ValueError(
                f"Unknown class {name!r}; choose among {list(SYNTHETIC_CLASSES)}."
            )
        names.append(lookup[name.strip().lower()])
    if not names or len(set(names)) != len(names):
        raise ValueError(f"classes must be a non-empty list of distinct names, got {list(classes)}.")
    if class_weights is None:
        weights = np.array([_DEFAULT_WEIGHTS[name] for name in names])
    elif isinstance(class_weights, Mapping):
        unknown = {k for k in class_weights if str(k).strip().lower() not in
                   {n.lower() for n in names}}
        if unknown:
            raise ValueError(
                f"class_weights names classes that are not generated: {sorted(unknown)}; "
                f"classes are {names}."
            )
        given = {str(k).strip().lower(): v for k, v in class_weights.items()}
        weights = np.array([given.get(name.lower(), 0.0) for name in names], dtype=float)
    else:
        weights = np.asarray(class_weights, dtype=float)
        if weights.shape != (len(names),):
            raise ValueError(
                f"class_weights must have one weight per class ({len(names)}), "
                f"got shape {weights.shape}."
            )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError(f"class_weights must be non-negative with a positive sum, got {weights}.")
    return names, weights / weights.sum()


def _check_counts(n_patients, ecgs_per_patient):
    if isinstance(n_patients, bool) or not isinstance(n_patients, Integral) or n_patients < 1:
        raise ValueError(f"n_patients must be a positive integer, got {n_patients!r}.")
    if isinstance(ecgs_per_patient, Integral) and not isinstance(ecgs_per_patient, bool):
        low = high = int(ecgs_per_patient)
    elif isinstance(ecgs_per_patient, Sequence) and len(ecgs_per_patient) == 2 and all(
        isinstance(v, Integral) and not isinstance(v, bool) for v in ecgs_per_patient
    ):
        low, high = int(ecgs_per_patient[0]), int(ecgs_per_patient[1])
    else:
        raise ValueError(
            "ecgs_per_patient must be a positive integer or a (min, max) pair of them, "
            f"got {ecgs_per_patient!r}."
        )
    if low < 1 or high < low:
        raise ValueError(f"ecgs_per_patient must satisfy 1 <= min <= max, got {ecgs_per_patient!r}.")
    return low, high


def make_synthetic_ecg(
    n_patients: int = 100,
    ecgs_per_patient: int | tuple[int, int] = (2, 6),
    *,
    fs: float = 100,
    duration: float = 10.0,
    classes: Sequence[str] | None = None,
    class_weights: Sequence[float] | Mapping[str, float] | None = None,
    class_switch_prob: float = 0.3,
    noise_level: float = 0.01,
    baseline_wander: float = 0.1,
    return_X_y: bool = False,
    random_state=None,
):
    """Generate synthetic 12-lead ECGs of several patients, with diagnoses and text reports.

    Each ECG is the projection of one moving cardiac dipole (P, QRS and T loops) on the 12 standard
    lead vectors, with heart-rate variability, baseline wander and noise. Every synthetic patient
    has stable traits (heart orientation and thus electrical axis, wave amplitudes and shapes, QRS
    width, PR and QT intervals, resting heart rate, precordial electrode placement, breathing
    rate, age and sex) so that ECGs of one patient resemble each other more than ECGs of two
    patients: patient identity can be learnt from the waveform (as PCLR does).

    Classes
        ``"normal sinus rhythm"`` (61-98 bpm), ``"atrial fibrillation"`` (irregularly irregular RR
        intervals, no P waves, 4-9 Hz fibrillatory waves; controlled or rapid ventricular
        response), ``"bundle branch block"`` (QRS 125-185 ms; right: RSR' in V1 and broad S in I
        and V6, left: deep QS in V1 and broad notched R in I, V5-V6, discordant T waves),
        ``"ST changes"`` (ST elevation in an anterior, inferior or lateral territory, ST depression
        with lateral T inversion, or T wave inversion), ``"sinus bradycardia"`` (38-59 bpm) and
        ``"sinus tachycardia"`` (101-160 bpm). Which bundle branch and which ST pattern is a trait
        of the patient.

    Class assignment
        Each patient draws a base class from ``class_weights``; each of the patient's ECGs keeps
        that class with probability ``1 - class_switch_prob`` and otherwise draws a class afresh
        from ``class_weights`` (paroxysmal atrial fibrillation, a tachycardic visit, an ischaemic
        episode...). Patients with a base class of atrial fibrillation, bundle branch block or ST
        changes are older on average.

    The classes are not linearly separable from the raw samples (the beats fall at random times
    and baseline wander hides the mean level), but they are easy to recognise from simple
    features such as heart rate, RR irregularity and QRS width.

    Parameters
    ----------
    n_patients : int, default=100
        Number of synthetic patients.
    ecgs_per_patient : int or (int, int), default=(2, 6)
        ECGs per patient, or an inclusive (min, max) range drawn uniformly per patient.
    fs : float, default=100
        Sampling rate in Hz (at least 50).
    duration : float, default=10.0
        Length of every ECG in seconds; ``n_samples = round(duration * fs)``.
    classes : list of str, optional
        The classes to generate (a subset of :data:`SYNTHETIC_CLASSES`, any capitalisation), in
        the order of ``target_names``. All six by default.
    class_weights : sequence of float or dict, optional
        Relative frequency of each class (normalised to sum 1). Defaults to 0.3 for normal sinus
        rhythm, 0.15 for atrial fibrillation, bundle branch block and ST changes and 0.125 for
        sinus bradycardia and tachycardia.
    class_switch_prob : float, default=0.3
        Probability that one ECG's class is drawn afresh instead of the patient's base class.
        0 gives every patient a single class.
    noise_level : float, default=0.01
        Standard deviation (mV) of the white noise at each of the 9 electrodes.
    baseline_wander : float, default=0.1
        Typical amplitude (mV) of the slow (0.05-0.5 Hz) baseline wander at each electrode,
        scaled by a per-patient factor; 0 turns it off.
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of the Bunch.
    random_state : int, RandomState instance or None, default=None
        Seed; the same seed and parameters give the same data.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With the attributes

        - ``X``: float32 array (n_ecgs, 12, n_samples) in millivolts,
        - ``y``: int array (n_ecgs,), index into ``target_names``,
        - ``target_names``: list of the class names,
        - ``patient_id``: int array (n_ecgs,), 0 to ``n_patients - 1``; rows are grouped by
          patient, so split with ``GroupKFold(groups=patient_id)``,
        - ``reports``: list of str, a short free-text report per ECG,
        - ``leads``: the lead names (:data:`~sklearn_ecg.STANDARD_LEADS`),
        - ``fs``: the sampling rate,
        - ``r_peaks``: list of int arrays, sample indices of the R peaks inside each record,
        - ``metadata``: DataFrame with columns ``patient_id``, ``age``, ``sex`` ("F"/"M"),
          ``heart_rate`` (bpm, mean over the record), ``qrs_duration`` (ms, nominal), ``class``
          and ``report``.
        - ``DESCR``: a short description.
    (X, y) : tuple
        When ``return_X_y=True``.

    Examples
    --------
    >>> from sklearn_ecg.datasets import make_synthetic_ecg
    >>> data = make_synthetic_ecg(n_patients=5, ecgs_per_patient=2, random_state=0)
    >>> data.X.shape, data.X.dtype
    ((10, 12, 1000), dtype('float32'))
    >>> data.target_names[:2]
    ['normal sinus rhythm', 'atrial fibrillation']
    >>> X, y = make_synthetic_ecg(n_patients=3, ecgs_per_patient=1, fs=500, duration=2.5,
    ...                           return_X_y=True, random_state=0)
    >>> X.shape
    (3, 12, 1250)
    """
    fs = check_fs(fs)
    if fs < 50:
        raise ValueError(f"fs must be at least 50 Hz to resolve a QRS complex, got {fs}.")
    if isinstance(duration, bool) or not isinstance(duration, Real) or not np.isfinite(duration):
        raise ValueError(f"duration must be a positive number of seconds, got {duration!r}.")
    n_samples = int(round(duration * fs))
    if n_samples < 1:
        raise ValueError(f"duration * fs must give at least one sample, got {duration} s at {fs} Hz.")
    duration = float(duration)
    for value, name in ((noise_level, "noise_level"), (baseline_wander, "baseline_wander")):
        if isinstance(value, bool) or not isinstance(value, Real) or not value >= 0:
            raise ValueError(f"{name} must be a non-negative number of mV, got {value!r}.")
    if not isinstance(class_switch_prob, Real) or not 0 <= class_switch_prob <= 1:
        raise ValueError(f"class_switch_prob must be in [0, 1], got {class_switch_prob!r}.")
    low, high = _check_counts(n_patients, ecgs_per_patient)
    names, weights = _check_classes(classes, class_weights)
    rng = check_random_state(random_state)
    noise_seed = int(rng.randint(2**31 - 1))

    t = np.arange(n_samples) / fs
    signals, y, patient_ids, reports, r_peaks, rows = [], [], [], [], [], []
    for pid in range(n_patients):
        base = int(rng.choice(len(names), p=weights))
        patient = _make_patient(rng, names[base])
        for _ in range(rng.randint(low, high + 1)):
            k = base if rng.rand() >= class_switch_prob else int(rng.choice(len(names), p=weights))
            klass = names[k]
            if klass == "bundle branch block":
                variant = patient["bbb"]
            elif klass == "ST changes":
                variant = (patient["st_kind"], patient["st_territory"], patient["st_size"])
            else:
                variant = None
            # Visit-to-visit variation: a slight turn of the heart, gain and electrode shift.
            rotation = _rotation(np.deg2rad(rng.normal(0.0, 3.0, 3))) @ patient["rotation"]
            gain = patient["gain"] * np.exp(rng.normal(0.0, 0.05))
            precordial = patient["precordial"] + 0.15 * rng.normal(0.0, 1.0, (6, 1)) * (
                np.roll(_DOWER_V, -1, axis=0) - _DOWER_V
            )
            times, rr, hr = _beat_times(rng, patient, klass, duration)
            hr = round(hr, 1)
            centres, widths, vectors, qrs_ms = _dipole_waves(
                rng, patient, klass, times, rr, rotation, gain, variant
            )
            dipole = _render(centres, widths, vectors, fs, n_samples)
            if klass == "atrial fibrillation":
                dipole += gain * (rotation @ _f_waves(rng, patient, t))
            # Electrode potentials (RA, LA, LL, V1-V6), then the 12 leads.
            electrodes = np.vstack([_RA, _LA, _LL, precordial]) @ dipole
            electrodes += baseline_wander * _wander(rng, patient, t)
            signals.append((_ELECTRODES_TO_LEADS @ electrodes).astype(np.float32))

            inside = (times >= 0) & (times < duration)
            report = _report(rng, klass, hr, variant, qrs_ms)
            y.append(k)
            patient_ids.append(pid)
            reports.append(report)
            r_peaks.append(np.round(times[inside] * fs).astype(int).clip(0, n_samples - 1))
            rows.append(
                {
                    "patient_id": pid,
                    "age": int(round(patient["age"])),
                    "sex": patient["sex"],
                    "heart_rate": hr,
                    "qrs_duration": round(qrs_ms, 1),
                    "class": klass,
                    "report": report,
                }
            )

    X = np.stack(signals)
    if noise_level > 0:
        # White noise at the electrodes, from its own stream: changing the noise level or the
        # record length leaves the rest of the data set as it was.
        noise_rng = np.random.default_rng(noise_seed)
        mixing = _ELECTRODES_TO_LEADS.astype(np.float32)
        for start in range(0, len(X), 256):
            white = noise_rng.standard_normal((min(256, len(X) - start), 9, n_samples), np.float32)
            X[start:start + 256] += noise_level * np.matmul(mixing, white)
    y = np.asarray(y, dtype=np.int64)
    if return_X_y:
        return X, y
    return Bunch(
        X=X,
        y=y,
        target_names=list(names),
        patient_id=np.asarray(patient_ids, dtype=np.int64),
        reports=reports,
        leads=STANDARD_LEADS,
        fs=fs,
        r_peaks=r_peaks,
        metadata=pd.DataFrame(rows),
        DESCR=(
            f"Synthetic 12-lead ECGs: {len(y)} records of {n_patients} patients, "
            f"{duration:g} s at {fs:g} Hz, classes {names}. Generated by a moving-dipole model "
            "(sklearn_ecg.datasets.make_synthetic_ecg)."
        ),
    )


def _wander(rng, patient, t):
    """Baseline wander (breathing, slow drift and offsets) at the 9 electrodes, for 1 mV.

    The random numbers are drawn whatever ``baseline_wander`` is, so changing it leaves
    everything else (classes, beats, waveforms) as it was.
    """
    freqs = np.concatenate([[patient["resp_freq"]], rng.uniform(0.05, 0.5, 2)])
    amps = rng.rayleigh(0.6, (9, 3)) * np.array([1.0, 0.8, 0.6])
    phases = rng.uniform(0, 2 * np.pi, (9, 3))
    offsets = rng.normal(0.0, 0.5, (9, 1))  # electrode offsets
    # a sin(wt + p) = a cos(p) sin(wt) + a sin(p) cos(wt): 6 waveforms shared by 9 electrodes.
    arg = 2 * np.pi * freqs[:, None] * t[None, :]
    basis = np.concatenate([np.sin(arg), np.cos(arg)])
    wander = np.hstack([amps * np.cos(phases), amps * np.sin(phases)]) @ basis + offsets
    return patient["wander_scale"] * wander
