"""benchmarks/gpu_check.py: its fast CPU mode runs every step of every estimator, seeded, in seconds."""

import json
import math
from pathlib import Path

import pytest
import torch

from benchmarks import gpu_check
from sklearn_ecg.testing import ESTIMATORS


def finite(value) -> bool:
    return isinstance(value, float) and math.isfinite(value)


@pytest.fixture(scope="module")
def fast_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu-check")
    gpu_check.main(["--device", "cpu", "--fast", "--out", str(out)])  # ~20 s on 2 idle cores
    return json.loads((out / "gpu-check.json").read_text()), (out / "gpu-check.md").read_text()


def test_fast_cpu_mode_checks_every_estimator(fast_report):
    report, table = fast_report
    assert set(report["methods"]) == set(ESTIMATORS)
    assert report["environment"]["device"] == "CPU" and report["peak_bf16_tflops"] == "unknown"
    for name, result in report["methods"].items():
        assert result["errors"] == {} and result["skipped"] == {}, name
        fit, precision = result["fit"], result["precision"]
        assert fit["timed_batches"] >= 2 and fit["batch_size"] == fit["published_batch_size"] == 8
        for value in (fit["items_per_s"], fit["ecgs_per_s"], result["loader"]["items_per_s"],
                      result["transform"]["ecgs_per_s"], result["flops"]["train_gflops_per_ecg"],
                      result["flops"]["transform_gflops_per_ecg"]):
            assert finite(value) and value > 0, name
        assert result["loader"]["bottleneck"] in ("model", "data loading")
        workers, transform = result["workers"], result["transform"]
        assert workers["auto_workers"] == 0 and workers["other_workers"] >= 1, name  # CPU: none by default
        for key in ("auto_items_per_s", "auto_items_per_s_with_loading", "other_items_per_s",
                    "other_items_per_s_with_loading", "large_batch_ecgs_per_s"):
            assert finite(workers.get(key, transform.get(key))) and workers.get(key, transform.get(key)) > 0
        assert transform["large_batch_size"] == 1024
        # No autocast on a CPU: bfloat16 and float32 are the same computation.
        for key in ("cosine_mean", "cosine_min", "reference_cosine_mean", "reference_cosine_min"):
            assert finite(precision[key]) and precision[key] == pytest.approx(1.0, abs=1e-6), name
        assert result["move"]["cpu_vs_device_float32_max_abs_diff"] < 1e-5
        assert result["move"]["save_load_max_abs_diff"] < 1e-6
        checkpoint = result["checkpoint"]
        if "unsupported" not in checkpoint:
            # Resumed after epoch 1 (one epoch of batches, not two) to exactly the same weights.
            assert checkpoint["resumed_after_epoch_1"] and checkpoint["epochs"] == 2, name
            assert checkpoint["max_abs_weight_diff"] == 0.0, name
    supported = [n for n, r in report["methods"].items() if "unsupported" not in r["checkpoint"]]
    assert set(ESTIMATORS) - set(supported) <= {"finetune"}
    assert table.startswith("## GPU check on CPU") and table.count("\n| ") == 2 * (len(ESTIMATORS) + 1)
    assert "No errors, nothing skipped." in table


def test_a_failing_step_is_recorded_and_the_others_run(tmp_path, monkeypatch):
    def broken(run):
        raise RuntimeError("loader exploded")

    monkeypatch.setitem(gpu_check.STEPS, "loader", broken)
    report = gpu_check.main(["--device", "cpu", "--fast", "--methods", "cpc", "--out", str(tmp_path)])
    result = report["methods"]["cpc"]
    assert list(result["errors"]) == ["loader"] and "loader exploded" in result["errors"]["loader"]
    assert "Traceback" in result["errors"]["loader"]
    assert {"fit", "flops", "transform", "precision", "move", "checkpoint"} <= set(result)
    assert "loader exploded" in (tmp_path / "gpu-check.md").read_text()


def test_the_time_guard_skips_what_is_left(tmp_path):
    report = gpu_check.main(["--device", "cpu", "--fast", "--methods", "pclr,mets", "--time-budget", "0",
                             "--out", str(tmp_path)])
    for result in report["methods"].values():
        assert result["errors"] == {}
        assert result["skipped"] == dict.fromkeys(gpu_check.STEPS, "time budget spent")


def test_peak_table_by_device_name():
    assert gpu_check.peak_tflops("NVIDIA H200", None) == 989.0
    assert gpu_check.peak_tflops("NVIDIA H100 80GB HBM3", None) == 989.0
    assert gpu_check.peak_tflops("NVIDIA GeForce GTX 1080", None) == "unknown"
    assert gpu_check.peak_tflops("CPU", 1.5) == 1.5


def test_recurrent_layers_count_their_flops():
    lstm = torch.nn.LSTM(16, 32, num_layers=2, batch_first=True)
    x = torch.zeros(4, 10, 16)
    per_step = 2 * 4 * 32 * (16 + 32) + 2 * 4 * 32 * (32 + 32)
    assert gpu_check.count_flops(lambda: lstm(x), lstm) == per_step * 4 * 10


def test_the_committed_gpu_run_is_complete_and_rebuilds():
    """benchmarks/results/gpu-check.*: one H200 run of every estimator at the paper presets."""
    results = Path(gpu_check.__file__).parent / "results"
    report = json.loads((results / "gpu-check.json").read_text())
    assert gpu_check.markdown(report) == (results / "gpu-check.md").read_text()
    assert report["environment"]["device"] == "NVIDIA H200" and report["mode"] == "paper presets"
    assert set(report["methods"]) == set(ESTIMATORS)
    for name, result in report["methods"].items():
        assert result["errors"] == {} and result["skipped"] == {}, name
        assert result["precision"]["cosine_min"] > 0.999, name
        assert result["checkpoint"]["max_abs_weight_diff"] == 0.0, name
        assert result["workers"]["auto_workers"] == 4, name  # "auto" on CUDA


def test_out_of_memory_halves_the_batch_until_it_fits(monkeypatch):
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)  # no CUDA here
    tried = []

    def attempt(batch_size):
        tried.append(batch_size)
        if batch_size > 16:
            raise torch.cuda.OutOfMemoryError("too big")
        return batch_size * 10

    assert gpu_check.halving_on_oom(attempt, 100) == 120 and tried == [100, 50, 25, 12]
    with pytest.raises(torch.cuda.OutOfMemoryError):
        gpu_check.halving_on_oom(lambda batch_size: attempt(64), 4)
