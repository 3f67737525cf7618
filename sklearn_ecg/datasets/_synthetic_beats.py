"""One synthetic ECG: rhythm (R-peak times), the P, QRS and T loops of the dipole, fibrillatory
waves, baseline wander and white noise."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._synthetic_heart import (
    _DEPRESSION,
    _DOWER_V,
    _ELECTRODES_TO_LEADS,
    _LA,
    _LL,
    _RA,
    _TERRITORIES,
    _rotation,
    _unit,
)

# Heart-rate limits (bpm) that the mean rate over the record must respect, so reports stay right.
_RATE_LIMITS = {
    "sinus bradycardia": (30.0, 59.0),
    "sinus tachycardia": (101.0, 180.0),
    "atrial fibrillation": (40.0, 200.0),
}


def _make_ecg(
    rng: np.random.RandomState, patient: dict, klass: str, variant: Any, fs: float, duration: float,
    n_samples: int, baseline_wander: float,
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """One ECG of ``patient`` with diagnosis ``klass``: the 12 leads (float32, without the white
    noise, added later from its own stream), the R-peak times (s), the mean heart rate (bpm, one
    decimal) and the nominal QRS duration (ms)."""
    t = np.arange(n_samples) / fs
    # Visit-to-visit variation: a slight turn of the heart, gain and electrode shift.
    rotation = _rotation(np.deg2rad(rng.normal(0.0, 3.0, 3))) @ patient["rotation"]
    gain = patient["gain"] * np.exp(rng.normal(0.0, 0.05))
    precordial = patient["precordial"] + 0.15 * rng.normal(0.0, 1.0, (6, 1)) * (
        np.roll(_DOWER_V, -1, axis=0) - _DOWER_V
    )
    times, rr, hr = _beat_times(rng, patient, klass, duration)
    centres, widths, vectors, qrs_ms = _dipole_waves(
        rng, patient, klass, times, rr, rotation, gain, variant
    )
    dipole = _render(centres, widths, vectors, fs, n_samples)
    if klass == "atrial fibrillation":
        dipole += gain * (rotation @ _f_waves(rng, patient, t))
    # Electrode potentials (RA, LA, LL, V1-V6), then the 12 leads.
    electrodes = np.vstack([_RA, _LA, _LL, precordial]) @ dipole
    electrodes += baseline_wander * _wander(rng, patient, t)
    return (_ELECTRODES_TO_LEADS @ electrodes).astype(np.float32), times, round(hr, 1), qrs_ms


def _beat_times(
    rng: np.random.RandomState, patient: dict, klass: str, duration: float
) -> tuple[np.ndarray, np.ndarray, float]:
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


def _dipole_waves(
    rng: np.random.RandomState, patient: dict, klass: str, times: np.ndarray, rr: np.ndarray,
    rotation: np.ndarray, gain: float, variant: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
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


def _render(
    centres: np.ndarray, widths: np.ndarray, vectors: np.ndarray, fs: float, n_samples: int
) -> np.ndarray:
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


def _f_waves(rng: np.random.RandomState, patient: dict, t: np.ndarray) -> np.ndarray:
    """Fibrillatory waves: a frequency- and amplitude-modulated atrial oscillation (3, n)."""
    freq = patient["f_freq"] + 0.6 * np.sin(2 * np.pi * 0.13 * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * np.cumsum(freq) * (t[1] - t[0] if len(t) > 1 else 0.0)
    phase += rng.uniform(0, 2 * np.pi)
    amp = patient["f_amp"] * (1.0 + 0.35 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 2 * np.pi)))
    wave = np.sin(phase) + 0.35 * np.sin(2 * phase + rng.uniform(0, 2 * np.pi))
    return patient["f_vector"][:, None] * (amp * wave)[None, :]


def _wander(rng: np.random.RandomState, patient: dict, t: np.ndarray) -> np.ndarray:
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


def _add_white_noise(X: np.ndarray, noise_level: float, seed: int) -> None:
    """Add white noise of ``noise_level`` mV at the 9 electrodes of every ECG of X, in place.

    The noise has its own stream: changing the noise level or the record length leaves the rest
    of the data set as it was.
    """
    noise_rng = np.random.default_rng(seed)
    mixing = _ELECTRODES_TO_LEADS.astype(np.float32)
    for start in range(0, len(X), 256):
        white = noise_rng.standard_normal((min(256, len(X) - start), 9, X.shape[-1]), np.float32)
        X[start:start + 256] += noise_level * np.matmul(mixing, white)
