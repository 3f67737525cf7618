"""The inference fast path (sklearn_ecg.nn.inference): the same outputs as the plain eval forward,
the module and its training untouched, the cache never stale, the estimator unchanged."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from torch import nn

from sklearn_ecg import PCLRTransformer
from sklearn_ecg.nn import resnet1d
from sklearn_ecg.nn.inference import cached_inference_copy, fold_batchnorm, inference_copy
from sklearn_ecg.nn.resnet1d import FastRibeiroResNet1d, RibeiroResNet1d
from sklearn_ecg.nn.resnet18_1d import ResNet18_1d
from sklearn_ecg.nn.xresnet1d import XResNet1d

FIXTURES = Path(__file__).parent / "fixtures" / "pretrained"
RTOL = 1e-5  # of the largest output; measured: below 1e-6


def randomise(module: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights and BatchNorm statistics far from the identity, so that folding matters."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) * 1.5 + 0.05)
            elif name.endswith("running_mean") or name.endswith(".bias"):
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.3)
            elif tensor.dim() == 1:  # BatchNorm scales
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            else:
                fan_in = tensor[0].numel()
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * (2.0 / fan_in) ** 0.5)
    return module.eval()


def assert_close(fast: torch.Tensor, plain: torch.Tensor) -> None:
    assert fast.shape == plain.shape and fast.dtype == plain.dtype
    scale = float(plain.abs().max())
    torch.testing.assert_close(fast, plain, rtol=RTOL, atol=RTOL * scale)


def compare(module: nn.Module, fast: nn.Module, shape: tuple[int, ...], seed: int = 1) -> None:
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
    with torch.inference_mode():
        assert_close(fast(x), module(x))


@pytest.mark.parametrize("config", [
    # leads, filters, strides, kernel, stem BatchNorm
    (12, (8, 12, 16, 20, 24), (4, 4, 4, 4), 16, True),  # PCLR's layout
    (1, (8, 12, 16, 20, 24), (2, 4, 4, 4), 16, False),  # the released lead-II model's
    (3, (6, 6, 10), (1, 3), 5, True),  # stride 1 (no pooling), odd stride and kernel, equal widths
], ids=["12-lead", "lead-II", "odd"])
@pytest.mark.parametrize("length", [1000, 1001, 1002, 1003, 257])  # every length mod 4
@pytest.mark.parametrize("onednn", [True, False], ids=["onednn-fused", "conv2d"])
def test_fast_ribeiro_matches_the_eval_forward(config, length, onednn, monkeypatch):
    leads, filters, strides, kernel, stem_bn = config
    if onednn:
        assert resnet1d._onednn_ops_available()  # this torch has them: the fused path is tested
    else:
        monkeypatch.setattr(resnet1d, "_onednn_ops_available", lambda: False)
    torch.manual_seed(0)
    model = randomise(RibeiroResNet1d(leads, filters, strides, kernel, stem_batchnorm=stem_bn))
    fast = inference_copy(model)
    assert isinstance(fast, FastRibeiroResNet1d)
    for batch in (1, 3):
        compare(model, fast, (batch, leads, length), seed=batch)


def test_fast_ribeiro_paper_size():
    torch.manual_seed(0)
    model = randomise(RibeiroResNet1d(12))
    compare(model, inference_copy(model), (2, 12, 4096))


def test_fast_ribeiro_copies_pickles_and_takes_gradients_elsewhere():
    torch.manual_seed(0)
    model = randomise(RibeiroResNet1d(12, (8, 12, 16)))
    fast = inference_copy(model)
    compare(model, fast, (2, 12, 300))  # packs the oneDNN weights
    for twin in (copy.deepcopy(fast), pickle.loads(pickle.dumps(fast))):
        compare(model, twin, (2, 12, 300))
    x = torch.randn(2, 12, 300, requires_grad=True)  # with autograd: F.conv2d, which has gradients
    (fast_grad,), (grad,) = torch.autograd.grad(fast(x).sum(), x), torch.autograd.grad(model(x).sum(), x)
    assert_close(fast_grad, grad)


@pytest.mark.parametrize("build", [
    lambda: XResNet1d(12, layers=(1, 2), widths=(8, 8), stem_widths=(8, 8, 8)),
    lambda: XResNet1d(12, layers=(1, 1), widths=(8, 16), expansion=1, stem_widths=(8, 8, 16)),
    lambda: ResNet18_1d(12, widths=(8, 16), blocks=(2, 1)),
    lambda: RibeiroResNet1d(12, (8, 12, 16)),
], ids=["xresnet1d-bottleneck", "xresnet1d-basic", "resnet18_1d", "ribeiro"])
@pytest.mark.parametrize("length", [250, 251])
def test_fold_batchnorm_is_generic(build, length):
    torch.manual_seed(0)
    model = randomise(build())
    folded = fold_batchnorm(model)
    n_bn = sum(isinstance(m, nn.BatchNorm1d) for m in model.modules())
    n_left = sum(isinstance(m, nn.BatchNorm1d) for m in folded.modules())
    assert n_left < n_bn
    if not isinstance(model, RibeiroResNet1d):  # there, each unit's last BatchNorm follows a sum
        assert n_left == 0
    else:
        assert n_left == len(model.units)
    compare(model, folded, (2, 12, length))
    compare(model, inference_copy(model), (2, 12, length))


class Reused(nn.Module):
    """Pairs that must not be folded: a convolution output used twice, a BatchNorm called twice."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm1d(4)
        self.conv2 = nn.Conv1d(4, 4, 3, padding=1)
        self.conv3 = nn.Conv1d(4, 4, 1)
        self.bn2 = nn.BatchNorm1d(4)

    def forward(self, x):
        y = self.conv(x)
        z = self.bn(y) + y
        return self.bn2(self.conv2(z)) + self.bn2(self.conv3(z))


class Shaped(nn.Module):
    """Control flow on the input: cannot be traced, so its children are looked into."""

    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Conv1d(3, 4, 3), nn.BatchNorm1d(4), nn.ReLU())

    def forward(self, x):
        if x.shape[-1] > 10:
            x = x[..., ::2]
        return self.block(x)


def test_fold_batchnorm_leaves_unsafe_pairs_and_looks_into_untraceable_modules():
    torch.manual_seed(0)
    model = randomise(Reused())
    folded = fold_batchnorm(model)
    assert isinstance(folded.bn, nn.BatchNorm1d) and isinstance(folded.bn2, nn.BatchNorm1d)
    compare(model, folded, (2, 3, 20))
    shaped = randomise(Shaped())
    folded = fold_batchnorm(shaped)
    assert isinstance(folded.block[1], nn.Identity)
    compare(shaped, folded, (2, 3, 21))
    compare(shaped, folded, (2, 3, 9))


def test_the_module_and_its_training_are_untouched():
    torch.manual_seed(0)
    model = randomise(RibeiroResNet1d(12, (8, 12, 16))).train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(4, 12, 300)

    def gradients():
        model.zero_grad()
        model(x).pow(2).sum().backward()
        return [p.grad.clone() for p in model.parameters()]

    before = gradients()
    model.load_state_dict(state)  # BatchNorm statistics moved in the train-mode forward
    for twin in (inference_copy(model), fold_batchnorm(model), cached_inference_copy(model)):
        assert not any(p.requires_grad for p in twin.parameters())
        assert not twin.training
    assert model.training
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, state[key], rtol=0, atol=0)
    for g, h in zip(before, gradients()):
        torch.testing.assert_close(g, h, rtol=0, atol=0)


def test_the_cache_is_rebuilt_when_the_module_changes():
    torch.manual_seed(0)
    model = randomise(RibeiroResNet1d(12, (8, 12, 16)))
    x = torch.randn(2, 12, 300)
    first = cached_inference_copy(model)
    assert cached_inference_copy(model) is first

    def check():
        with torch.inference_mode():
            assert_close(cached_inference_copy(model)(x), model(x))

    with torch.no_grad():  # an optimizer step: in place
        model.stem[0].weight.mul_(1.5)
    assert cached_inference_copy(model) is not first
    check()
    again = cached_inference_copy(model)
    model.load_state_dict(randomise(RibeiroResNet1d(12, (8, 12, 16)), seed=3).state_dict())
    assert cached_inference_copy(model) is not again
    check()
    again = cached_inference_copy(model)
    model.units[0].bn1.eps = 1e-5  # a setting
    assert cached_inference_copy(model) is not again
    check()
    model.train()
    model(torch.randn(4, 12, 300))  # train-mode forward: running statistics move
    model.eval()
    check()


def pclr_fixture() -> tuple[PCLRTransformer, np.ndarray]:
    from sklearn_ecg.pretrained import load_pclr_keras

    pytest.importorskip("h5py")
    data = np.load(FIXTURES / "pclr_keras_12lead.npz")
    return load_pclr_keras(FIXTURES / "pclr_keras_12lead.h5", device="cpu"), data["x"]


def plain_transform(estimator: PCLRTransformer, X: np.ndarray) -> np.ndarray:
    encoder = estimator.encoder_.eval()
    with torch.inference_mode():
        return np.concatenate([encoder(b).numpy() for b in estimator.input_batches(X)])


def test_pclr_transform_runs_the_fast_path_with_the_same_outputs():
    estimator, X = pclr_fixture()
    X = np.concatenate([X, X[:, :, ::-1], 0.5 * X]).copy()
    out = estimator.transform(X)
    fast = cached_inference_copy(estimator.encoder_)
    assert isinstance(fast.backbone, FastRibeiroResNet1d)
    assert_close(torch.from_numpy(out), torch.from_numpy(plain_transform(estimator, X)))
    assert cached_inference_copy(estimator.encoder_) is fast  # reused by the next transform
    with torch.enable_grad():  # outside transform: the encoder itself, with gradients
        embedded = estimator._embed_batch(torch.from_numpy(X[:1]))
    assert embedded.requires_grad


def test_pclr_estimator_pickles_clones_and_saves_as_before(tmp_path):
    estimator, X = pclr_fixture()
    estimator.transform(X)
    attributes, pickled = set(vars(estimator)), pickle.dumps(estimator)
    out = estimator.transform(X)
    assert set(vars(estimator)) == attributes and pickle.dumps(estimator) == pickled
    np.testing.assert_array_equal(pickle.loads(pickled).transform(X), out)
    np.testing.assert_array_equal(PCLRTransformer.load(estimator.save(tmp_path / "m"), device="cpu")
                                  .transform(X), out)
    assert clone(estimator).get_params() == estimator.get_params()


def test_pclr_fit_after_transform_uses_the_new_weights():
    from sklearn_ecg.datasets import make_synthetic_ecg

    data = make_synthetic_ecg(n_patients=6, ecgs_per_patient=2, fs=100, random_state=0)
    estimator = PCLRTransformer(n_samples=256, filters=(8, 12, 16), max_epochs=1, batch_size=4,
                                batchnorm_momentum=0.5, device="cpu", random_state=0)
    first = estimator.fit(data.X, groups=data.patient_id).transform(data.X)
    estimator.set_params(random_state=1).fit(data.X, groups=data.patient_id)
    second = estimator.transform(data.X)
    assert not np.allclose(first, second)
    assert_close(torch.from_numpy(second), torch.from_numpy(plain_transform(estimator, data.X)))


def test_committed_inference_speed_report_rebuilds_from_its_json():
    import json

    from benchmarks import inference_speed

    results = Path(__file__).parent.parent / "benchmarks" / "results"
    report = json.loads((results / "inference_speed-cpu.json").read_text())
    assert inference_speed.markdown(report) == (results / "inference_speed-cpu.md").read_text()
    assert report["max_abs_diff"]["ours"] <= 1e-5 * report["reference_scale"]


def test_flop_counters_see_the_fast_path_and_pclr_copies_need_no_tracing(monkeypatch):
    from torch.utils.flop_counter import FlopCounterMode

    from sklearn_ecg.nn.pclr import InterpolatingEncoder

    torch.manual_seed(0)
    model = randomise(RibeiroResNet1d(12, (8, 12, 16)))
    fast = inference_copy(model)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        fast(torch.randn(2, 12, 300))
    assert counter.get_total_flops() > 0
    # fx tracing patches nn.Module.__call__ process-wide: PCLR's copy (no BatchNorm left after the
    # twin) must not trace, so that it can be built while other threads fit.
    monkeypatch.setattr(torch.fx.Tracer, "trace", lambda *args, **kwargs: pytest.fail("traced"))
    encoder = InterpolatingEncoder(model, 300)
    compare(encoder, inference_copy(encoder), (2, 12, 300))
