"""Plots (matplotlib, imported lazily): label-efficiency curves, 12-lead ECGs, 2-D embeddings.

This is the plots' home; :mod:`sklearn_ecg.evaluation` re-exports them next to the protocols whose
results they draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._validation import STANDARD_LEADS, check_fs, normalize_leads

__all__ = ["plot_ecg_12lead", "plot_embedding_2d", "plot_label_efficiency"]

# The clinical 3 x 4 layout: rows of lead names, each column showing the next 2.5 s.
_CLINICAL_LAYOUT = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
_PAPER_MINOR = "#f6c6c6"
_PAPER_MAJOR = "#e88f8f"


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is an optional dependency
        raise ImportError("Plotting needs matplotlib: pip install matplotlib") from exc
    return plt


def _results_frame(results: pd.DataFrame | Mapping[str, pd.DataFrame] | Sequence[pd.DataFrame]
                   ) -> pd.DataFrame:
    if isinstance(results, pd.DataFrame):
        frame = results
    elif isinstance(results, Mapping):
        frame = pd.concat([df.assign(method=name) for name, df in results.items()], ignore_index=True)
    else:
        frame = pd.concat(list(results), ignore_index=True)
    missing = {"method", "n_labels", "score"} - set(frame.columns)
    if missing:
        raise ValueError(f"results need columns method, n_labels and score (from "
                         f"label_efficiency_curve); missing {sorted(missing)}.")
    return frame


def plot_label_efficiency(
    results: pd.DataFrame | Mapping[str, pd.DataFrame] | Sequence[pd.DataFrame],
    *,
    ax: Any = None,
    spread: str = "std",
    baselines: Sequence[str] = (),
    title: str | None = None,
    ylabel: str = "macro ROC AUC",
    logx: bool = True,
) -> Any:
    """Mean score against the number of labels, one line per method, with its spread shaded.

    Each method family has one colour and each kind one line style: pretrained
    methods solid, the same encoder trained from scratch (a method named
    ``"<family> supervised"`` or ``"<family> from scratch"``, or a ``kind``
    column saying ``"from scratch"``) dashed with open markers, baselines dotted
    in greys. The legend stands outside the axes and says what the band shows;
    the budget that used every label is marked ``all`` on the x axis.

    Parameters
    ----------
    results : DataFrame, dict of DataFrames or list of DataFrames
        Output(s) of :func:`~sklearn_ecg.evaluation.label_efficiency_curve`; a
        dict's keys name the methods. An optional ``kind`` column
        (``"pretrained"``, ``"from scratch"`` or ``"baseline"``) sets each
        method's kind.
    ax : matplotlib Axes, optional
    spread : {"std", "range"}, default="std"
        Shade mean +/- one standard deviation over repeats, or min to max.
    baselines : list of str, default=()
        Methods drawn as baselines (e.g. ``["raw+LR", "MiniRocket+LR"]``).
    title, ylabel : str, optional
    logx : bool, default=True
        Logarithmic x axis (budgets are usually doubling).

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_ecg.plotting import plot_label_efficiency
    >>> df = pd.DataFrame({"method": ["a"] * 4 + ["a supervised"] * 4, "n_labels": [10, 10, 20, 20] * 2,
    ...                    "repeat": [0, 1] * 4, "score": [.6, .7, .8, .8, .5, .6, .7, .8]})
    >>> ax = plot_label_efficiency(df)
    >>> [(line.get_label(), line.get_linestyle()) for line in ax.get_lines()]
    [('a', '-'), ('a supervised', '--')]
    """
    if spread not in ("std", "range"):
        raise ValueError(f"spread must be 'std' or 'range', got {spread!r}.")
    frame = _results_frame(results)
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4))
    styles = _curve_styles(frame, set(baselines))
    for method, style in styles.items():
        stats = (frame[frame["method"] == method].groupby("n_labels")["score"]
                 .agg(["mean", "std", "min", "max"]).sort_index())
        low, high = ((stats["mean"] - stats["std"].fillna(0), stats["mean"] + stats["std"].fillna(0))
                     if spread == "std" else (stats["min"], stats["max"]))
        ax.plot(stats.index, stats["mean"], label=str(method), **style)
        ax.fill_between(stats.index, low, high, color=style["color"], alpha=0.12, linewidth=0)
    budgets = np.sort(frame["n_labels"].unique())
    if logx:
        ax.set_xscale("log")
        ax.minorticks_off()
    ax.set_xticks(budgets)
    ax.set_xticklabels(_budget_labels(frame, budgets))
    ax.set_xlabel("labelled ECGs")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    repeats = f"\nover {frame['repeat'].nunique()} label subsets" if "repeat" in frame else ""
    band = "mean \u00b1 1 std" if spread == "std" else "min to max"
    ax.legend(fontsize="small", title=f"line: mean score\nshaded: {band}{repeats}", title_fontsize="small",
              alignment="left", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
              frameon=False)
    if title:
        ax.set_title(title)
    return ax


# Line style and marker of each kind of curve; baselines are drawn in greys.
_KIND_STYLES = {
    "pretrained": {"linestyle": "-", "marker": "o"},
    "from scratch": {"linestyle": "--", "marker": "o", "markerfacecolor": "white"},
    "baseline": {"linestyle": ":", "marker": "s"},
}
_FROM_SCRATCH_SUFFIXES = (" supervised", " from scratch")
_BASELINE_COLOURS = ("0.1", "0.5", "0.3", "0.65")


def _curve_styles(frame: pd.DataFrame, baselines: set[str]) -> dict[str, dict[str, Any]]:
    """Plot keywords of each method, in legend order: each family's pretrained curve, then its
    from-scratch one, families in order of appearance, baselines last."""
    from matplotlib import colormaps

    given = frame.groupby("method", sort=False)["kind"].first() if "kind" in frame else {}
    kinds, families = {}, {}
    for method in pd.unique(frame["method"]):
        family = str(method)
        suffix = next((s for s in _FROM_SCRATCH_SUFFIXES if family.endswith(s)), None)
        if suffix:
            family = family[: -len(suffix)]
        kind = given.get(method) or ("baseline" if method in baselines else
                                     "from scratch" if suffix else "pretrained")
        if kind not in _KIND_STYLES:
            raise ValueError(f"kind of {method!r} must be one of {list(_KIND_STYLES)}, got {kind!r}.")
        kinds[method], families[method] = kind, family
    colour_of = {}
    for method in kinds:
        if kinds[method] != "baseline":
            colour_of.setdefault(families[method], colormaps["tab10"](len(colour_of) % 10))
    order = list(colour_of)
    methods = sorted(kinds, key=lambda m: (kinds[m] == "baseline", order.index(families[m])
                                           if families[m] in colour_of else 0, kinds[m] != "pretrained"))
    styles, n_baselines = {}, 0
    for method in methods:
        if kinds[method] == "baseline":
            colour = _BASELINE_COLOURS[n_baselines % len(_BASELINE_COLOURS)]
            n_baselines += 1
        else:
            colour = colour_of[families[method]]
        styles[method] = {**_KIND_STYLES[kinds[method]], "color": colour, "markersize": 5}
    return styles


def _budget_labels(frame: pd.DataFrame, budgets: np.ndarray) -> list[str]:
    """Tick labels of the budgets: the number of labels, and ``all`` where a budget used them all."""
    every = set(frame.loc[frame["budget"].astype(str) == "all", "n_labels"]) if "budget" in frame else set()
    return [f"all\n({int(b)})" if b in every else str(int(b)) for b in budgets]


def _paper_grid(ax: Any, width: float, height: float, left: float) -> None:
    from matplotlib.collections import LineCollection

    for step, color, lw in ((1.0, _PAPER_MINOR, 0.3), (5.0, _PAPER_MAJOR, 0.7)):
        xs = np.arange(left, width + 1e-9, step)
        ys = np.arange(0, height + 1e-9, step)
        lines = [[(x, 0), (x, height)] for x in xs] + [[(left, y), (width, y)] for y in ys]
        ax.add_collection(LineCollection(lines, colors=color, linewidths=lw, zorder=0))


def plot_ecg_12lead(
    ecg: Any,
    fs: float,
    *,
    leads: Sequence[str] | None = None,
    rhythm_lead: str | None = "II",
    row_height_mm: float = 30.0,
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """Draw an ECG on millimetre paper: 25 mm/s, 10 mm/mV, the clinical 3 x 4 layout.

    Rows I/aVR/V1/V4, II/aVL/V2/V5 and III/aVF/V3/V6; each column shows the next
    quarter of the record (2.5 s of a 10 s ECG), so the 12 leads fill 10 s as a
    printed ECG does, and a rhythm strip of ``rhythm_lead`` runs the full length
    below. Every row starts with a 1 mV calibration pulse. Small squares are
    1 mm (0.04 s x 0.1 mV), large squares 5 mm (0.2 s x 0.5 mV). Without the 12
    standard leads each lead gets one full-length row instead.

    Parameters
    ----------
    ecg : array-like of shape (n_leads, n_samples)
        One ECG in millivolts.
    fs : float
        Sampling rate (Hz).
    leads : list of str, optional
        Lead names of the rows of ``ecg``; default: the 12 standard leads.
    rhythm_lead : str or None, default="II"
        The rhythm strip's lead; None draws no strip.
    row_height_mm : float, default=30
        Vertical space per row (30 mm = 3 mV).
    title : str, optional
    ax : matplotlib Axes, optional
        Default: a new figure sized so that 1 mm on paper is about 1 mm.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> from sklearn_ecg.datasets import make_synthetic_ecg
    >>> from sklearn_ecg.plotting import plot_ecg_12lead
    >>> data = make_synthetic_ecg(n_patients=1, ecgs_per_patient=1, random_state=0)
    >>> ax = plot_ecg_12lead(data.X[0], fs=data.fs)
    >>> [text.get_text() for text in ax.texts][:5]  # row by row, then the rhythm strip
    ['I', 'aVR', 'V1', 'V4', 'II']
    """
    ecg = np.asarray(ecg, dtype=float)
    if ecg.ndim != 2 or ecg.shape[1] < 2:
        raise ValueError(f"ecg must be one ECG of shape (n_leads, n_samples), got shape {ecg.shape}.")
    fs = check_fs(fs)
    names = list(normalize_leads(leads, ecg.shape[0]))
    index = {name: i for i, name in enumerate(names)}
    duration_mm = ecg.shape[1] / fs * 25.0
    clinical = set(STANDARD_LEADS) <= set(names)
    if clinical:
        rows = [list(row) for row in _CLINICAL_LAYOUT]
        if rhythm_lead is not None:
            rhythm = normalize_leads([rhythm_lead])[0]
            if rhythm not in index:
                raise ValueError(f"rhythm_lead {rhythm_lead!r} is not among the leads {names}.")
            rows.append([rhythm])
    else:
        rows = [[name] for name in names]
    plt = _pyplot()
    left, height = -10.0, row_height_mm * len(rows)
    if ax is None:
        width_in, height_in = (duration_mm - left) / 25.4, height / 25.4
        scale = min(1.0, 16 / width_in)
        _, ax = plt.subplots(figsize=(width_in * scale, height_in * scale + 0.4))
    _paper_grid(ax, duration_mm, height, left)
    t_mm = np.arange(ecg.shape[1]) / fs * 25.0
    for r, row in enumerate(rows):
        baseline = height - (r + 0.5) * row_height_mm
        pulse_x = np.array([-8, -7, -7, -2, -2, -1], dtype=float)
        ax.plot(pulse_x, baseline + np.array([0, 0, 10, 10, 0, 0]), color="k", linewidth=0.8)
        n_cols = len(row)
        for c, name in enumerate(row):
            n = ecg.shape[1]
            segment = slice(int(round(c * n / n_cols)), int(round((c + 1) * n / n_cols)))
            ax.plot(t_mm[segment], baseline + 10.0 * ecg[index[name], segment], color="k", linewidth=0.6)
            x0 = t_mm[segment][0]
            if c:  # a short separator where the next lead starts, as on printed ECGs
                ax.plot([x0, x0], [baseline + 4, baseline + 8], color="k", linewidth=0.8)
            ax.text(x0 + 1.5, baseline + 0.35 * row_height_mm, name, fontsize=8, va="center")
    ax.set_xlim(left, duration_mm)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("25 mm/s, 10 mm/mV", fontsize=8, loc="right")
    if title:
        ax.set_title(title)
    return ax


def plot_embedding_2d(
    Z: Any,
    labels: Any = None,
    *,
    method: str = "pca",
    ax: Any = None,
    label_names: Sequence[str] | None = None,
    random_state: int | None = 0,
    title: str | None = None,
) -> Any:
    """Project embeddings to 2-D (PCA or t-SNE) and scatter them coloured by label.

    Parameters
    ----------
    Z : array-like of shape (n, dim)
        Embeddings, e.g. from a method's ``transform``.
    labels : array-like of shape (n,), optional
        Up to 20 distinct values are drawn as categories (with a legend); more
        (e.g. age) as a continuous colour scale.
    method : {"pca", "tsne"}, default="pca"
        Embeddings are standardised first; t-SNE uses perplexity
        ``min(30, (n - 1) / 3)``.
    ax : matplotlib Axes, optional
    label_names : list of str, optional
        Names for integer category labels ``0..k-1``.
    random_state : int, default=0
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ecg.plotting import plot_embedding_2d
    >>> Z = np.random.default_rng(0).normal(size=(30, 8))
    >>> ax = plot_embedding_2d(Z, np.arange(30) % 3, label_names=["a", "b", "c"])
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['a', 'b', 'c']
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from sklearn.preprocessing import StandardScaler

    Z = np.asarray(Z, dtype=float)
    if Z.ndim != 2 or len(Z) < 3 or Z.shape[1] < 2:
        raise ValueError(f"Z must be embeddings of shape (n >= 3, dim >= 2), got {Z.shape}.")
    if method not in ("pca", "tsne"):
        raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}.")
    if labels is not None and len(labels) != len(Z):
        raise ValueError(f"labels has {len(labels)} entries but Z has {len(Z)} rows.")
    scaled = StandardScaler().fit_transform(Z)
    if method == "pca":
        pca = PCA(n_components=2, random_state=random_state).fit(scaled)
        points = pca.transform(scaled)
        axis_names = [f"PC{i + 1} ({100 * r:.0f}%)" for i, r in enumerate(pca.explained_variance_ratio_)]
    else:
        perplexity = float(min(30.0, (len(Z) - 1) / 3))
        points = TSNE(n_components=2, perplexity=perplexity, random_state=random_state,
                      init="pca").fit_transform(scaled)
        axis_names = ["t-SNE 1", "t-SNE 2"]
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=12)
    else:
        labels = np.asarray(labels)
        values = pd.unique(labels)
        if len(values) <= 20:
            for value in sorted(values, key=str):
                name = label_names[int(value)] if label_names is not None else str(value)
                keep = labels == value
                ax.scatter(points[keep, 0], points[keep, 1], s=12, label=name, alpha=0.8)
            ax.legend(fontsize="small", markerscale=1.5)
        else:
            art = ax.scatter(points[:, 0], points[:, 1], s=12, c=labels.astype(float), cmap="viridis")
            plt.colorbar(art, ax=ax)
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    if title:
        ax.set_title(title)
    return ax
