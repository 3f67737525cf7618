"""The label-efficiency table and plot, rebuilt from every JSON of ``OUT/quality-PRESET/``
(one per method or baseline set, written by run_quality.py or reduced_leads.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sklearn_ecg.evaluation import plot_label_efficiency

from .protocol import score_table

#: How methods are named in tables and figures (result files keep the registry's short names).
DISPLAY_NAMES = {"pclr": "PCLR", "w2v_cmsc": "W2V+CMSC+RLM"}
BASELINES = ("raw+LR", "MiniRocket+LR")


def display_name(method: str) -> str:
    """``"w2v_cmsc supervised"`` -> ``"W2V+CMSC+RLM supervised"``: the paper's name of the method."""
    family, _, rest = method.partition(" ")
    return " ".join(part for part in (DISPLAY_NAMES.get(family, family), rest) if part)


def load_results(folder: Path) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def all_curves(results: dict[str, dict]) -> pd.DataFrame:
    frames = [pd.DataFrame(curve["rows"]) for entry in results.values() for curve in entry["curves"].values()]
    curves = pd.concat(frames, ignore_index=True)
    return curves.assign(method=curves["method"].map(display_name))


def format_seconds(wall: float, cpu: float | None) -> str:
    return f"{wall:.0f}" + (f" ({cpu:.0f} CPU)" if cpu is not None else "")


def time_row(name: str, method: str, entry: dict) -> str:
    """One row of the time table: a self-supervised method, a from-scratch baseline or another one."""
    if method == name:  # a self-supervised method: pretraining, then probes
        return (f"| {method} | {entry['pretrain_time_s']:.0f} | {entry['pretrain_ecgs_per_s']:.1f} | "
                f"{entry['transform_ecgs_per_s']:.1f} | "
                f"{format_seconds(entry['total_time_s'], entry.get('total_cpu_time_s'))} |")
    if method.endswith(" supervised"):
        return (f"| {method} | - | {entry['supervised_fit_ecgs_per_s']:.1f} (training) | - | "
                f"{format_seconds(entry['supervised_time_s'], entry.get('supervised_cpu_time_s'))} |")
    curve = entry["curves"][method]
    return f"| {method} | - | - | - | {format_seconds(curve['time_s'], curve.get('cpu_time_s'))} |"


def markdown(results: dict[str, dict], preset: str) -> str:
    curves = all_curves(results)
    headers, rows = score_table(curves, ["method"])
    lines = [f"## Label efficiency on PTB-XL superclasses (preset {preset!r})", "",
             f"Macro ROC AUC on folds 9-10 (mean +/- std over {curves['repeat'].nunique()} stratified label "
             "subsets of folds 1-8); columns: labelled ECGs.", "",
             "| method | " + " | ".join(headers) + " |", "|---" * (len(headers) + 1) + "|"]
    lines += [f"| {method} | " + " | ".join(cells) + " |" for (method,), cells in rows.items()]
    lines += ["", "## Time", "", "Wall-clock seconds; CPU seconds of the process in brackets (on a shared "
              "machine the gap is time spent waiting for a core).", "",
              "| method | pretraining (s) | pretraining ECGs/s | transform ECGs/s | whole curve (s) |",
              "|---|---|---|---|---|"]
    lines += [time_row(name, method, entry).replace(f"| {method} |", f"| {display_name(method)} |", 1)
              for name, entry in results.items() for method in entry["curves"]]
    notes = sorted({entry["machine"]["summary"] for entry in results.values() if "machine" in entry})
    notes += [note for entry in results.values() for note in entry.get("notes", [])]
    if notes:
        lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def write_report(folder: Path, out: Path, preset: str) -> dict[str, dict]:
    """Rebuild ``OUT/quality-PRESET.md`` and ``OUT/label_efficiency-PRESET.png`` from every JSON in
    ``folder``."""
    results = load_results(folder)
    table = markdown(results, preset)
    (out / f"quality-{preset}.md").write_text(table)
    import matplotlib

    matplotlib.use("Agg")
    ax = plot_label_efficiency(all_curves(results), title=f"PTB-XL superclasses, preset {preset!r}",
                               baselines=list(BASELINES))
    plot_path = out / f"label_efficiency-{preset}.png"
    ax.figure.savefig(plot_path, dpi=120, bbox_inches="tight")
    print(table)
    print(f"plot: {plot_path}")
    return results
