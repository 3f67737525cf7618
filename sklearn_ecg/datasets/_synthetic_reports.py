"""Free-text reports of the synthetic ECGs, worded as cardiologists' short reports."""

from __future__ import annotations

from typing import Any

import numpy as np

_TERRITORY_LEADS = {
    "anterior": ["V1-V4", "the anterior leads", "V1 to V4"],
    "inferior": ["II, III and aVF", "the inferior leads", "II, III, aVF"],
    "lateral": ["I, aVL, V5 and V6", "the lateral leads", "I, aVL, V5-V6"],
}


def _report(rng: np.random.RandomState, klass: str, hr: float, variant: Any, qrs_ms: float) -> str:
    """A short report of one ECG, in one of a few wordings drawn with ``rng``."""
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
