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

``_synthetic_heart`` holds the geometry (lead vectors, electrodes) and the patients' stable traits,
``_synthetic_beats`` draws one ECG (rhythm, waves, fibrillatory waves, baseline wander, noise) and
``_synthetic_reports`` words its report; this module checks the parameters and assembles the set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import Bunch, check_random_state

from .._validation import STANDARD_LEADS, check_fs, check_positive_int
from ._synthetic_beats import _add_white_noise, _make_ecg
from ._synthetic_heart import _make_patient, _variant
from ._synthetic_reports import _report

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


def _check_classes(
    classes: Sequence[str] | str | None, class_weights: Sequence[float] | Mapping[str, float] | None
) -> tuple[list[str], np.ndarray]:
    """The canonical class names asked for, and their normalised weights."""
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


def _check_counts(n_patients: int, ecgs_per_patient: int | tuple[int, int]) -> tuple[int, int]:
    """The (min, max) ECGs per patient, after checking both counts."""
    check_positive_int(n_patients, "n_patients")
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


def _check_sampling(fs: float, duration: float) -> tuple[float, float, int]:
    """The sampling rate and duration as floats, and the samples per record."""
    fs = check_fs(fs)
    if fs < 50:
        raise ValueError(f"fs must be at least 50 Hz to resolve a QRS complex, got {fs}.")
    if isinstance(duration, bool) or not isinstance(duration, Real) or not np.isfinite(duration):
        raise ValueError(f"duration must be a positive number of seconds, got {duration!r}.")
    n_samples = int(round(duration * fs))
    if n_samples < 1:
        raise ValueError(f"duration * fs must give at least one sample, got {duration} s at {fs} Hz.")
    return fs, float(duration), n_samples


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
    random_state: int | np.random.RandomState | None = None,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
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
        The classes to generate (a subset of
        :data:`~sklearn_ecg.datasets.SYNTHETIC_CLASSES`, any capitalisation), in
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
        - ``leads``: the names of the 12 standard leads, ``("I", "II", "III", "aVR", "aVL",
          "aVF", "V1", ..., "V6")``,
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
    fs, duration, n_samples = _check_sampling(fs, duration)
    for value, name in ((noise_level, "noise_level"), (baseline_wander, "baseline_wander")):
        if isinstance(value, bool) or not isinstance(value, Real) or not value >= 0:
            raise ValueError(f"{name} must be a non-negative number of mV, got {value!r}.")
    if not isinstance(class_switch_prob, Real) or not 0 <= class_switch_prob <= 1:
        raise ValueError(f"class_switch_prob must be in [0, 1], got {class_switch_prob!r}.")
    low, high = _check_counts(n_patients, ecgs_per_patient)
    names, weights = _check_classes(classes, class_weights)
    rng = check_random_state(random_state)
    noise_seed = int(rng.randint(2**31 - 1))

    signals, y, patient_ids, reports, r_peaks, rows = [], [], [], [], [], []
    for pid in range(n_patients):
        base = int(rng.choice(len(names), p=weights))
        patient = _make_patient(rng, names[base])
        for _ in range(rng.randint(low, high + 1)):
            k = base if rng.rand() >= class_switch_prob else int(rng.choice(len(names), p=weights))
            klass = names[k]
            variant = _variant(patient, klass)
            signal, times, hr, qrs_ms = _make_ecg(
                rng, patient, klass, variant, fs, duration, n_samples, baseline_wander
            )
            signals.append(signal)

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
        _add_white_noise(X, noise_level, noise_seed)
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
