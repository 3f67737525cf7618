"""The benchmark method registry: every module follows the protocol the runners rely on."""

import sys
from pathlib import Path

import pytest
from sklearn.base import clone

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import methods  # noqa: E402


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
