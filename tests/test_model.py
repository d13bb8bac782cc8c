import math

import pytest
import torch
from conftest import mlp

from arae.errors import ConfigError


def test_paper_architecture_shapes_and_ranges():
    model = mlp((1, 28, 28))
    sizes = [m.out_features for m in model.encoder if isinstance(m, torch.nn.Linear)]
    assert sizes == [512, 256, 128]
    assert [m.out_features for m in model.decoder if isinstance(m, torch.nn.Linear)] == [256, 512, 784]
    assert sum(isinstance(m, torch.nn.Sigmoid) for m in model.modules()) == 6  # after every layer
    x = torch.rand(5, 1, 28, 28)
    z = model.encode(x)
    assert z.shape == (5, 128) and z.min() >= 0 and z.max() <= 1
    out = model(x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1


def test_glorot_normal_weights_and_zero_biases():
    torch.manual_seed(0)
    model = mlp((1, 28, 28))
    first = model.encoder[0]
    assert torch.count_nonzero(first.bias) == 0
    expected = math.sqrt(2.0 / (784 + 512))
    assert first.weight.std().item() == pytest.approx(expected, rel=0.05)


def test_configurable_sizes_and_rgb_shape():
    model = mlp((3, 8, 8), hidden_dims=(64, 16))
    assert model.latent_dim == 16
    assert model(torch.rand(2, 3, 8, 8)).shape == (2, 3, 8, 8)


@pytest.mark.parametrize("dims", [[], [0, 4], [-3]])
def test_bad_sizes_are_refused(dims):
    with pytest.raises(ConfigError, match="hidden_dims"):
        mlp((1, 4, 4), hidden_dims=dims)


def test_unknown_activation_is_refused():
    with pytest.raises(ConfigError, match="activation"):
        mlp((1, 4, 4), activation="swish")
