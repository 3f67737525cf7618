"""Batch-wise augmentations: what each changes, what it keeps, and its randomness."""

import pickle

import numpy as np
import pytest
import torch

from sklearn_ecg import augmentations as A

ALL = [
    A.RandomResizedCrop(),
    A.TimeOut(),
    A.GaussianNoise(),
    A.ChannelResize(),
    A.BaselineWander(),
    A.PowerlineNoise(),
    A.BaselineShift(),
    A.RandomLeadMasking(),
    A.default_ssl_augmentations(),
]
IDS = [type(t).__name__ for t in ALL]
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def ecgs(n=6, leads=12, samples=250, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(samples) / 100.0
    base = torch.sin(2 * torch.pi * 1.2 * t) + 0.3 * torch.randn(n, leads, samples, generator=g)
    return base.to(dtype)


@pytest.mark.parametrize("transform", ALL, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("device", DEVICES)
def test_keeps_shape_dtype_device_and_input(transform, dtype, device):
    # 10 s: BaselineShift leaves a 2.5 s ECG alone half the time (0 or 1 segment), all six 1/64.
    x = ecgs(samples=1000, dtype=dtype).to(device)
    before = x.clone()
    out = transform(x)
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    assert torch.isfinite(out).all()
    assert torch.equal(x, before), "the input must not be modified in place"
    assert not torch.equal(out, x), "a random transform must change something"


@pytest.mark.parametrize("transform", ALL, ids=IDS)
def test_each_ecg_gets_its_own_parameters(transform):
    # 10 s, so that BaselineShift may draw up to 3 segments (an ECG may get none).
    x = ecgs(n=1, samples=1000).expand(8, -1, -1).contiguous()
    torch.manual_seed(0)
    out = transform(x)
    distinct = {tuple(row.flatten()[::50].tolist()) for row in out}
    assert len(distinct) >= 6


@pytest.mark.parametrize("transform", ALL, ids=IDS)
def test_global_rng_seeding_reproduces(transform):
    x = ecgs()
    torch.manual_seed(3)
    first = transform(x)
    torch.manual_seed(3)
    assert torch.equal(transform(x), first)
    assert not torch.equal(transform(x), first)


def test_generator_reproduces_and_leaves_global_rng_alone():
    x = ecgs()
    make = lambda seed: A.Compose([A.RandomResizedCrop(generator=torch.Generator().manual_seed(seed)),
                                   A.GaussianNoise(0.1, generator=torch.Generator().manual_seed(seed))])
    torch.manual_seed(0)
    state = torch.get_rng_state()
    first = make(1)(x)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(make(1)(x), first)
    assert not torch.equal(make(2)(x), first)


@pytest.mark.parametrize("transform", ALL, ids=IDS)
def test_pickles_and_rejects_bad_input(transform):
    assert type(pickle.loads(pickle.dumps(transform))) is type(transform)
    if isinstance(transform, A.Compose):
        return
    with pytest.raises(ValueError, match="batch, leads, samples"):
        transform(torch.zeros(12, 250))
    with pytest.raises(ValueError, match="float tensor"):
        transform(torch.zeros(2, 12, 250, dtype=torch.int64))


def test_random_resized_crop_is_a_stretched_contiguous_crop():
    n = 200
    ramp = torch.arange(n, dtype=torch.float32).expand(16, 3, n)
    torch.manual_seed(0)
    out = A.RandomResizedCrop((0.5, 1.0))(ramp)
    steps = out.diff(dim=-1)
    # A crop of a ramp stretched linearly is a ramp: constant positive step, within the input.
    assert torch.allclose(steps, steps[..., :1].expand_as(steps), atol=1e-4)
    span = out[..., -1] - out[..., 0]
    assert (span >= 0.5 * n - 2).all() and (span <= n - 1).all()
    assert (out[..., 0] >= 0).all() and (out[..., -1] <= n - 1).all()
    assert torch.equal(out[:, 0], out[:, 1]), "all leads share the crop"
    assert len(torch.unique(span)) > 4
    # Full-length crops are the identity; output_size resamples.
    x = ecgs()
    assert torch.allclose(A.RandomResizedCrop((1.0, 1.0))(x), x, atol=1e-5)
    assert A.RandomResizedCrop(output_size=100)(x).shape == (6, 12, 100)


def test_random_window_cuts_a_contiguous_stretch_anywhere():
    n = 1000
    ramp = torch.arange(n, dtype=torch.float32).expand(64, 3, n)
    torch.manual_seed(0)
    out = A.RandomWindow(250)(ramp)
    assert out.shape == (64, 3, 250) and torch.equal(out[:, 0], out[:, 2]), "all leads share the window"
    assert (out.diff(dim=-1) == 1).all(), "a cut, not a resize"
    starts = out[:, 0, 0]
    assert starts.min() >= 0 and starts.max() <= n - 250 and len(torch.unique(starts)) > 40
    assert starts.min() < 100 and starts.max() > n - 350, "windows start anywhere in the record"
    assert torch.equal(A.RandomWindow(n)(ramp), ramp)
    with pytest.raises(ValueError, match="cuts 250 samples, but the ECGs have 200"):
        A.RandomWindow(250)(ramp[..., :200])
    with pytest.raises(ValueError, match="length must be a positive int"):
        A.RandomWindow(0)
    g = lambda: torch.Generator().manual_seed(3)
    assert torch.equal(A.RandomWindow(100, generator=g())(ramp), A.RandomWindow(100, generator=g())(ramp))


def test_timeout_zeroes_one_stretch_on_all_leads():
    x = torch.ones(32, 12, 250)
    torch.manual_seed(0)
    out = A.TimeOut((0.2, 0.4))(x)
    zero = out == 0
    assert torch.equal(zero, zero[:, :1].expand_as(zero))
    counts = zero[:, 0].sum(-1)
    assert (counts >= 50).all() and (counts <= 100).all()
    for row in zero[:, 0]:
        idx = torch.nonzero(row).flatten()
        assert idx[-1] - idx[0] + 1 == len(idx), "the zeroed samples are contiguous"
    assert (out[~zero] == 1).all()


def test_gaussian_noise_scale():
    out = A.GaussianNoise(0.1)(torch.zeros(64, 12, 250))
    assert abs(float(out.std()) - 0.1) < 0.005 and abs(float(out.mean())) < 0.005


def test_channel_resize_scales_each_lead_by_a_constant_in_range():
    x = ecgs().abs() + 0.1
    out = A.ChannelResize((0.5, 2.0))(x)
    ratio = out / x
    assert torch.allclose(ratio, ratio[..., :1].expand_as(ratio), rtol=1e-5)
    assert (ratio >= 0.5 - 1e-6).all() and (ratio <= 2.0 + 1e-6).all()
    assert len(torch.unique(ratio[..., 0])) == ratio[..., 0].numel()


def test_baseline_wander_is_slow_and_shared_by_leads():
    x = ecgs()
    added = A.BaselineWander(fs=100, max_scale=0.1)(x) - x
    assert torch.allclose(added, added[:, :1].expand_as(added), atol=1e-6)
    # At most 0.5 Hz: consecutive samples (10 ms) differ by little compared to the amplitude.
    assert added.diff(dim=-1).abs().max() < 0.05 * added.abs().max() + 1e-6
    assert added.abs().amax(-1).max() <= 0.1 * 50 + 1e-5


def test_powerline_noise_has_the_mains_period_and_one_shape_across_leads():
    x = torch.zeros(4, 12, 400)
    added = A.PowerlineNoise(fs=1000, frequency=50, n_harmonics=1, max_scale=1.0)(x)
    assert torch.allclose(added[..., 20:], added[..., :-20], atol=1e-5), "50 Hz at 1 kHz repeats every 20"
    shape = added[:, :1] / added[:, :1].abs().amax(-1, keepdim=True)
    per_lead = added / added.abs().amax(-1, keepdim=True)
    assert torch.allclose(per_lead.abs(), shape.abs().expand_as(per_lead), atol=1e-4)


def test_baseline_shift_adds_flat_steps():
    x = torch.zeros(64, 2, 1000)
    torch.manual_seed(0)
    added = A.BaselineShift(fs=100)(x)
    assert (added[:, 0].abs() > 0).any()
    for row in added[:, 0]:
        assert len(torch.unique(row)) <= 4, "0 plus at most 3 segment levels (ceil(0.3 * 10 s))"
    assert (added[:, 0] == 0).all(dim=-1).any(), "some ECGs get no shift at all"


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_random_lead_masking_zeroes_whole_leads(p):
    x = ecgs(n=200)
    out = A.RandomLeadMasking(p)(x)
    masked = (out == 0).all(-1)
    kept = (out == x).all(-1)
    assert (masked ^ kept).all(), "each lead is either untouched or all zero"
    assert abs(float(masked.float().mean()) - p) < 0.03


def test_compose_applies_in_order_and_takes_plain_callables():
    double, plus_one = (lambda x: 2 * x), (lambda x: x + 1)
    assert torch.equal(A.Compose([double, plus_one])(torch.ones(1, 1, 3)), torch.full((1, 1, 3), 3.0))
    assert torch.equal(A.Compose([plus_one, double])(torch.ones(1, 1, 3)), torch.full((1, 1, 3), 4.0))
    with pytest.raises(ValueError, match="callables"):
        A.Compose([double, "noise"])


def test_default_ssl_augmentations_are_the_papers_pair():
    steps = list(A.default_ssl_augmentations().transforms)
    assert [type(s) for s in steps] == [A.RandomResizedCrop, A.TimeOut]
    assert steps[0].crop_ratio == (0.5, 1.0) and steps[1].crop_ratio == (0.2, 0.4)


@pytest.mark.parametrize("make", [
    lambda: A.RandomResizedCrop((0.8, 0.5)),
    lambda: A.TimeOut((0.2, 1.5)),
    lambda: A.GaussianNoise(-1),
    lambda: A.ChannelResize((0.0, 2.0)),
    lambda: A.PowerlineNoise(n_harmonics=0),
    lambda: A.RandomLeadMasking(1.5),
    lambda: A.RandomResizedCrop(output_size=1),
])
def test_bad_parameters_raise(make):
    with pytest.raises(ValueError):
        make()


def test_float64_noise_is_not_rounded_to_float32():
    x = torch.zeros(2, 1, 10, dtype=torch.float64)
    out = A.GaussianNoise(1e-9)(x)
    assert out.dtype == torch.float64 and np.all(out.numpy() != 0)
