"""Protocol 1 and the hold-out protocol: split sizes, tau, disjointness, determinism."""

import pytest
import torch

from arae.data.splits import anomalies_for, draw_classes, held_out_split
from arae.errors import ConfigError, DataError

LABELS = torch.arange(10).repeat_interleave(700)  # 7000 images per class, like MNIST's merged splits


def split(normal=(3,), tau=0.5, seed=0, validation=0.0, train_fraction=0.8):
    return held_out_split(torch.isin(LABELS, torch.tensor(normal)), train_fraction, tau, seed, validation)


def all_indices(s):
    return torch.cat([s.train, s.val_normal, s.val_anomaly, s.test_normal, s.test_anomaly])


@pytest.mark.parametrize("tau", [0.5, 0.6, 0.75, 0.85, 0.9])
@pytest.mark.parametrize("validation", [0.0, 0.2])
def test_protocol_one_sizes_and_tau(tau, validation):
    s = split(tau=tau, validation=validation)
    n_normal = 700
    assert len(s.train) + len(s.val_normal) == round(0.8 * n_normal)
    assert len(s.test_normal) == n_normal - round(0.8 * n_normal)
    assert len(s.val_normal) == round(validation * round(0.8 * n_normal))
    n_test = len(s.test_normal) + len(s.test_anomaly)
    assert abs(len(s.test_normal) / n_test - tau) <= 0.5 / n_test + 1e-9  # tau met up to rounding one image
    if validation:
        n_val = len(s.val_normal) + len(s.val_anomaly)
        assert abs(len(s.val_normal) / n_val - tau) <= 0.5 / n_val + 1e-9
    else:
        assert len(s.val_anomaly) == 0


def test_no_image_in_two_splits_and_labels_respected():
    s = split(normal=(3, 7), tau=0.75, validation=0.2)
    everything = all_indices(s)
    assert len(torch.unique(everything)) == len(everything)
    normal = torch.isin(LABELS, torch.tensor([3, 7]))
    assert normal[torch.cat([s.train, s.val_normal, s.test_normal])].all()
    assert not normal[torch.cat([s.val_anomaly, s.test_anomaly])].any()


def test_same_arguments_same_split_other_seed_other_split():
    a, b, c = split(seed=4, validation=0.2), split(seed=4, validation=0.2), split(seed=5, validation=0.2)
    for field in ("train", "val_normal", "val_anomaly", "test_normal", "test_anomaly"):
        assert torch.equal(getattr(a, field), getattr(b, field))
    assert not torch.equal(a.test_normal, c.test_normal) and not torch.equal(a.test_anomaly, c.test_anomaly)
    assert len(split(tau=0.6).test_anomaly) != len(split(tau=0.5).test_anomaly)


def test_holdout_tests_every_anomaly():
    s = split(tau=None, train_fraction=0.9)
    assert len(s.train) == 630 and len(s.test_normal) == 70 and len(s.test_anomaly) == 6300


def test_too_few_anomalies_is_a_clear_error():
    with pytest.raises(DataError, match="raise protocol.tau"):
        held_out_split(LABELS < 9, 0.8, 0.05, 0, 0.2)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"tau": 0.0}, "protocol.tau"), ({"tau": 1.0}, "protocol.tau=1.0 must lie strictly between"), ({"tau": 1.5}, "protocol.tau"), ({"train_fraction": 1.0}, "train_fraction")],
)
def test_bad_protocol_settings(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        split(**kwargs)


def test_validation_needs_tau():
    with pytest.raises(ConfigError, match="needs protocol.tau"):
        split(tau=None, validation=0.2)


def test_anomalies_for_rounds():
    assert anomalies_for(140, 0.5) == 140 and anomalies_for(14, 0.85) == 2 and anomalies_for(56, 0.75) == 19


def test_class_draw_uses_only_present_classes_and_is_seeded():
    present = torch.tensor([1, 2, 5, 9, 9, 40])
    draws = {draw_classes(present, 2, seed) for seed in range(20)}
    assert all(set(d) <= {1, 2, 5, 9, 40} and len(d) == 2 for d in draws) and len(draws) > 3
    assert draw_classes(present, 3, 7) == draw_classes(present, 3, 7)
    with pytest.raises(ConfigError, match="n_normal"):
        draw_classes(present, 5, 0)
