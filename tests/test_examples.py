"""Every example runs, in fast mode (SKLEARN_ECG_FAST=1: tiny data and models)."""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
# Examples of methods written separately: skipped (with the reason) only if the import fails.
NEEDS = {
    "zero_shot_mets.py": ("sklearn_ecg.mets", "METSZeroShotClassifier"),
    "reduced_leads_w2v_cmsc.py": ("sklearn_ecg.w2v_cmsc", "W2VCMSCTransformer"),
}


def run_fast(path: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SKLEARN_ECG_FAST": "1", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(path), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_examples_found():
    names = {p.name for p in EXAMPLES}
    assert {"demo.py", "quickstart.py", "label_efficiency.py", "teaching_notebook.py"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_in_fast_mode(path, tmp_path):
    if path.name in NEEDS:
        module, name = NEEDS[path.name]
        try:
            getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            pytest.skip(f"{path.name} needs {module}.{name}, which does not import: {exc}")
    result = run_fast(path, tmp_path)
    assert result.returncode == 0, f"{path.name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    assert "not meaningful" in result.stdout.splitlines()[0]  # fast-mode numbers say what they are
    # Nothing leaks from dependencies: no warnings, and progress bars only where asked for (the demo).
    assert "Warning" not in result.stderr
    assert path.name == "demo.py" or not result.stderr.strip(), result.stderr[-3000:]
    if path.name == "demo.py":
        assert (tmp_path / "demo_output" / "label_efficiency.png").stat().st_size > 10_000
        assert "PCLR + linear probe" in result.stdout and "raw signal + linear probe" in result.stdout


def test_teaching_notebook_matches_its_script():
    jupytext = pytest.importorskip("jupytext")
    notebook = ROOT / "examples" / "teaching_notebook.ipynb"
    script = jupytext.read(ROOT / "examples" / "teaching_notebook.py")
    executed = jupytext.read(notebook)
    assert [c.source for c in executed.cells] == [c.source for c in script.cells], (
        "teaching_notebook.ipynb is out of date: rebuild it with "
        "`jupytext --to ipynb --execute examples/teaching_notebook.py`")
    code_cells = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code_cells), "the notebook was not executed"
    images = [o for c in code_cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 5  # the plots are shown
