"""The benchmark machinery: the method registry, the shared protocol helpers, the reports rebuilt
from committed results, and that benchmarks use the library's public API only."""

import ast
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from benchmarks import (
    inference_speed_torch,
    inference_speed_w2v,
    methods,
    pool_size,
    probe_cv,
    protocol,
    reduced_leads,
    run_speed,
)
from benchmarks.quality_report import load_results
from benchmarks.quality_report import markdown as quality_markdown

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
RESULTS = BENCHMARKS / "results"


def test_every_method_module_follows_the_protocol():
    found = methods.load_methods()
    assert "pclr" in found
    for name, module in found.items():
        assert module.SAMPLING_RATE in (100, 500)
        for preset in methods.PRESETS:
            estimator = module.make_embedder(preset)
            clone(estimator)  # an unfitted scikit-learn estimator
            assert not hasattr(estimator, "net_"), f"{name}/{preset} is already fitted"
            assert estimator.get_params()["fs"] == module.SAMPLING_RATE
        with pytest.raises(ValueError):
            module.make_embedder("huge")


def test_supervised_baseline_uses_the_method_encoder():
    found = methods.load_methods(["pclr"])
    classifier = methods.make_supervised(found["pclr"], "cpu", 25)
    assert type(classifier.embedder).__name__ == "PCLRTransformer"
    assert classifier.max_epochs == methods.supervised_epochs("cpu", 25) == 160
    assert methods.supervised_epochs("cpu", 352) == 12 and methods.supervised_epochs("fast", 25) == 1
    with pytest.raises(ValueError, match="Unknown methods"):
        methods.load_methods(["no_such_method"])


def private_sklearn_ecg_imports(source: str) -> list[str]:
    """``line: name`` of each ``sklearn_ecg`` import in ``source`` that names a private module or name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in imported:
            parts = name.split(".")
            if parts[0] == "sklearn_ecg" and any(part.startswith("_") for part in parts[1:]):
                found.append(f"{node.lineno}: {name}")
    return found


def test_benchmarks_import_only_public_sklearn_ecg_names():
    bad = ("import sklearn_ecg._engine\nfrom sklearn_ecg.datasets._ptbxl import load_ptbxl\n"
           "from sklearn_ecg import _base, evaluation\nfrom .protocol import _private\n")
    assert private_sklearn_ecg_imports(bad) == [  # the checker catches each form of import
        "1: sklearn_ecg._engine", "2: sklearn_ecg.datasets._ptbxl.load_ptbxl", "3: sklearn_ecg._base"]
    sources = sorted(BENCHMARKS.rglob("*.py"))
    assert len(sources) > 8
    hits = [f"{path.relative_to(ROOT)}:{hit}" for path in sources
            for hit in private_sklearn_ecg_imports(path.read_text())]
    assert hits == []


def test_benchmarks_do_not_touch_sys_path():
    for path in BENCHMARKS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            is_sys_path = (isinstance(node, ast.Attribute) and node.attr == "path"
                           and isinstance(node.value, ast.Name) and node.value.id == "sys")
            assert not is_sys_path, f"{path.relative_to(ROOT)}:{node.lineno} uses sys.path"


def test_benchmarks_use_no_private_attributes():
    """No ``obj._name`` on the library's objects (estimators' hooks, caches); ``self._x`` is fine."""
    for path in BENCHMARKS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.endswith("__")
                    and not (isinstance(node.value, ast.Name) and node.value.id == "self")):
                pytest.fail(f"{path.relative_to(ROOT)}:{node.lineno} uses the private attribute {node.attr}")


def test_bootstrap_resamples_every_model_alike_and_quietly():
    rng = np.random.default_rng(0)
    y = (rng.random((40, 3)) < 0.3).astype(int)
    y[:, 2] = 0
    y[0, 2] = 1  # a rare class that most resamples miss: left out there, without a warning
    scores = np.round(rng.random((40, 3)), 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        boot = protocol.bootstrap_macro_aucs(y, {"a": scores, "b": -scores}, rng, n_resamples=20)
    assert boot["a"].shape == (20,)
    assert np.allclose(boot["a"] + boot["b"], 1)  # the same resamples for both models


def test_score_table_formats_budgets_and_single_subsets():
    curves = pd.DataFrame({"method": ["m", "m", "m", "n"], "budget": [10, 10, "all", 10],
                           "n_labels": [10, 10, 30, 10], "score": [0.5, 0.7, 0.8, 0.9]})
    headers, rows = protocol.score_table(curves, ["method"])
    assert headers == ["10", "all (30)"]
    assert rows == {("m",): ["0.600 +/- 0.141", "0.800 (1 subset)"], ("n",): ["0.900 (1 subset)", ""]}
    assert protocol.budgets_and_repeats("fast") == (protocol.FAST_BUDGETS, protocol.FAST_REPEATS)
    assert protocol.budgets_and_repeats("cpu", 3) == (protocol.BUDGETS, 3)


def test_committed_reports_rebuild_from_their_json():
    """The report code still reads every committed result into its committed markdown table."""
    quality = load_results(RESULTS / "quality-cpu")
    assert quality_markdown(quality, "cpu") == (RESULTS / "quality-cpu.md").read_text()
    leads = json.loads((RESULTS / "reduced_leads-cpu.json").read_text())
    assert reduced_leads.markdown(leads) == (RESULTS / "reduced_leads-cpu.md").read_text()
    probes = json.loads((RESULTS / "probe_cv-cpu.json").read_text())
    assert probe_cv.markdown(probes) == (RESULTS / "probe_cv-cpu.md").read_text()
    pools = json.loads((RESULTS / "pool_size-cpu.json").read_text())
    references = pool_size.reference_curves(RESULTS, "cpu")
    assert pool_size.markdown(pools, references) == (RESULTS / "pool_size-cpu.md").read_text()
    w2v_runs = sorted(RESULTS.glob("inference_speed_w2v-cpu*.json"))  # default malloc, and tuned
    assert len(w2v_runs) == 2
    for path in w2v_runs:
        report = json.loads(path.read_text())
        assert inference_speed_w2v.markdown(report) == path.with_suffix(".md").read_text()
    torch_inference = json.loads((RESULTS / "inference_speed_torch-cpu.json").read_text())
    assert inference_speed_torch.markdown(torch_inference) == (
        RESULTS / "inference_speed_torch-cpu.md").read_text()
    for path in RESULTS.glob("speed-*.json"):
        speed = json.loads(path.read_text())
        assert run_speed.markdown(speed["results"], speed["machine"]) == path.with_suffix(".md").read_text()


def test_pool_size_names_pools_by_size_budget_and_views():
    assert pool_size.pool_name(0) == "real"
    assert pool_size.pool_name(10_000, 3) == "real+10000 x3 steps"
    assert pool_size.pool_name(0, 6, "record") == "real x6 steps, record views"
    # Each pool is compared with the real pool of its own budget and views.
    entry = {"n_generated": 50, "budget_scale": 6.0, "views_from": "record"}
    rows = [{"method": "m", "budget": 10, "repeat": r, "score": s} for r, s in enumerate((0.6, 0.7))]
    pools = {"real x6 steps, record views": {"n_generated": 0, "curve": {"rows": rows}},
             "real x6 steps": {"n_generated": 0, "curve": {"rows": [dict(row, score=0.0) for row in rows]}},
             "real+50 x6 steps, record views": {**entry, "curve": {"rows": [
                 dict(row, score=row["score"] + 0.1) for row in rows]}}}
    lines = pool_size.paired_differences(pools)
    assert lines[-1] == "| real+50 x6 steps, record views - real x6 steps, record views | +0.100 +/- 0.000 |"


def test_probe_cv_runs_name_their_method_width_and_length():
    Run = probe_cv.Run
    # SimCLR keeps the cache names it had before runs named a method.
    assert (Run.parse("16x6").name, Run.parse("16x6").label) == ("simclr-real-x6", "SimCLR x6")
    assert Run.parse("32x3").name == "simclr-real-w32-x3" and Run.parse("32x3").label == "SimCLR 32 wide x3"
    assert Run.parse("byol:16x6") == Run("byol", 16, 6.0)
    assert (Run.parse("byol:16x6").name, Run.parse("byol:16x6").label) == ("byol-real-x6", "BYOL x6")
    assert Run.parse("16x6s1") == Run("simclr", 16, 6.0, 1)
    assert (Run.parse("16x6s1").name, Run.parse("16x6s1").label) == ("simclr-real-x6-s1", "SimCLR x6 seed 1")
    assert Run.parse("byol:32x1.5rs2") == Run("byol", 32, 1.5, 2, True)
    assert (Run.parse("16x6r").name, Run.parse("16x6r").label) == ("simclr-real-x6-record",
                                                                   "SimCLR x6 record views")
    with pytest.raises(ValueError, match="not .METHOD:.WIDTHxSCALE"):
        Run.parse("16by6")
    with pytest.raises(ValueError, match="unknown method 'cpc'"):
        Run.parse("cpc:16x6")


def test_probe_cv_union_puts_cached_embeddings_side_by_side(tmp_path):
    simclr_run, byol_run = probe_cv.Run.parse("16x12"), probe_cv.Run.parse("byol:16x6")
    assert probe_cv.union_features([simclr_run, byol_run], tmp_path) is None  # nothing pretrained yet
    rng = np.random.default_rng(0)
    parts = {run: {"pool": rng.normal(size=(5, 3)), "test": rng.normal(size=(2, 3))}
             for run in (simclr_run, byol_run)}
    for run, features in parts.items():
        np.savez(probe_cv.features_path(tmp_path, run.name), **features, info="{}")
    name, label = probe_cv.union_features([simclr_run, byol_run], tmp_path)
    assert (name, label) == ("union-simclr-real-x12-byol-real-x6", "SimCLR x12 + BYOL x6")
    union = np.load(probe_cv.features_path(tmp_path, name))
    for split in ("pool", "test"):
        expected = np.hstack([parts[simclr_run][split], parts[byol_run][split]])
        np.testing.assert_array_equal(union[split], expected)


def test_probe_cv_reuses_an_earlier_report_only_where_features_are_not_cached(tmp_path):
    names = {"minirocket": "MiniRocket", "simclr-real-x6": "SimCLR x6",
             "simclr-real-x6-record": "SimCLR x6 record views",
             "simclr-real-x24-record": "SimCLR x24 record views"}
    rows = [{"method": f"{label}, {kind}", "budget": 25, "repeat": 0, "score": 0.5}
            for label in names.values() for kind in ("C=1", "CV-chosen C", "fine-tuned")]
    report = {"validation_fold_8": {label: {"C=1": 0.8} for label in list(names.values())[:3]},
              "pretraining": [{"name": "simclr-real-x6", "epochs": 600}], "curves": {"rows": rows}}
    for name in ("minirocket", "simclr-real-x24-record"):
        np.savez(probe_cv.features_path(tmp_path, name), pool=np.zeros((2, 1)), test=np.zeros((1, 1)),
                 info=json.dumps({"name": name}))
    computed, reused = probe_cv.split_by_source(names, tmp_path, report)
    # Cached features win over the report; what neither holds is left out.
    assert set(computed) == {"minirocket", "simclr-real-x24-record"}
    assert reused == {"simclr-real-x6": "SimCLR x6", "simclr-real-x6-record": "SimCLR x6 record views"}
    # A label that begins another ("SimCLR x6" and "SimCLR x6 record views") takes only its own rows.
    taken = probe_cv.report_rows(report, "SimCLR x6", list(probe_cv.PROBES))
    assert list(taken["method"]) == ["SimCLR x6, C=1", "SimCLR x6, CV-chosen C"]
    assert probe_cv.pretraining_info("simclr-real-x6", "SimCLR x6", tmp_path, report)["epochs"] == 600
    cached = probe_cv.pretraining_info("simclr-real-x24-record", "SimCLR x24 record views", tmp_path, report)
    assert cached == {"label": "SimCLR x24 record views", "name": "simclr-real-x24-record"}


def test_probe_cv_leave_one_fold_out_scores_every_pool_fold_but_never_minirocket(tmp_path):
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    folds = np.repeat(np.arange(1, 9), 12)
    y = (rng.random((len(folds), 2)) < 0.4).astype(int)
    signal, noise = np.hstack([y, rng.normal(size=(len(folds), 3))]), rng.normal(size=(len(folds), 5))
    for name, pool in {"informative": signal, "noise": noise, "minirocket": signal}.items():
        np.savez(probe_cv.features_path(tmp_path, name), pool=pool, test=pool[:2], info="{}")
    names = {"informative": "A", "noise": "B", "minirocket": "MiniRocket"}
    scores = probe_cv.leave_one_fold_out(SimpleNamespace(y_pool=y), folds, tmp_path, names)
    assert set(scores) == {"A", "B"}  # MiniRocket is no candidate
    assert scores["A"][0] > 0.95 > 0.7 > scores["B"][0] and scores["A"][1] >= 0
