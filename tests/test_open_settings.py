"""Settings the paper leaves open: our default, and the other choice selected by one config value."""

import pytest
import torch
from conftest import REPO, conf_settings, rng
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from arae.config import register_resolvers
from arae.data.splits import held_out_split
from arae.errors import ConfigError
from arae.models import ConvAutoencoder


def config(*overrides):
    register_resolvers()
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        return compose("train", overrides=["dataset=cifar10_jpg", *overrides])


def conv(image_shape, *overrides) -> ConvAutoencoder:
    torch.manual_seed(0)
    return instantiate(config(*overrides).model, image_shape=image_shape)


def last_kernel(model: ConvAutoencoder) -> tuple[int, int]:
    return [m for m in model.encoder if isinstance(m, torch.nn.Conv2d)][-1].kernel_size


def test_conv_output_activation_sigmoid_by_default_linear_on_request():
    x = torch.rand(4, 3, 32, 32)
    ours = conv((3, 32, 32))
    assert isinstance(ours.decoder[-1], torch.nn.Sigmoid) and 0 <= ours(x).min() and ours(x).max() <= 1
    linear = conv((3, 32, 32), "model.output_activation=identity")
    assert isinstance(linear.decoder[-1], torch.nn.Identity)
    assert linear(x).min() < 0  # unbounded output: no sigmoid


@pytest.mark.parametrize("side, ours", [(32, (2, 2)), (256, (16, 16))])
def test_conv_last_kernel_input_over_16_by_default_bergmanns_8_on_request(side, ours):
    assert last_kernel(conv((1, side, side))) == ours
    model = conv((1, side, side), "model.latent_kernel=8")
    assert last_kernel(model) == (8, 8)
    strides = [m.stride[0] for m in model.encoder if isinstance(m, torch.nn.Conv2d)]
    assert 2 ** strides.count(2) == side // 8
    x = torch.rand(1, 1, side, side)
    assert model(x).shape == x.shape and model.encode(x).shape == (1, 100)


def test_conv_latent_kernel_that_does_not_fit_is_refused():
    with pytest.raises(ConfigError, match="model.latent_kernel=12"):
        ConvAutoencoder((1, 32, 32), **{**conf_settings("model/conv"), "latent_kernel": 12})


@pytest.mark.parametrize("overrides, shares", [([], (64, 16, 20)), (["protocol.validation_fraction=0.25"], (60, 20, 20))])
def test_protocol_one_validation_share(overrides, shares):
    """Ours: 20 % of the training normals (64/16/20 of all normals); the authors' code: 60/20/20."""
    protocol = config("protocol=p1", "protocol.validation=true", *overrides).protocol
    is_normal = torch.arange(2000) < 1000
    split = held_out_split(is_normal, protocol.train_fraction, protocol.tau, 0, protocol.validation_fraction)
    assert (len(split.train) / 10, len(split.val_normal) / 10, len(split.test_normal) / 10) == shares


def test_dae_noise_clipped_by_default_unclipped_on_request():
    x = torch.ones(2, 1, 4, 4) * 0.97
    clipped = instantiate(config("attack=noise").attack.adversary)(None, x, rng(0))
    assert clipped.max() == 1.0 and (clipped - x).min() >= 0
    raw = instantiate(config("attack=noise", "attack.adversary.clip=false").attack.adversary)(None, x, rng(0))
    assert raw.max() > 1.0 and torch.equal(raw.clamp(0, 1), clipped)
