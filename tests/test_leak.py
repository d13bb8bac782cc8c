"""The authors' union script's gradient leak (arae/attacks/leak.py), its larger-gamma control
(attack.block_gamma), and that without them no attack gradient reaches the training step."""

import copy

import pytest
import torch
from conftest import rng
from test_attack_variants import compose_train

from arae.attacks import PGD, L2Ball, LatentDistance, LeakyPGD, LinfBall, Union, leaks_gradient
from arae.errors import ConfigError
from arae.models import MLPAutoencoder
from arae.training import ARAELoss, BatchCrafting
from arae.training.step import optimisation_step
from arae.validation import check_leak

EPS, L2_EPS, GAMMA, LR = 0.2, 1.0, 0.2, 0.05


def relu_model():
    torch.manual_seed(0)
    return MLPAutoencoder((1, 8, 8), hidden_dims=(32, 16, 8), activation="relu", latent_activation="relu",
                          output_activation="identity")


def images():
    torch.manual_seed(1)
    return torch.rand(16, 1, 8, 8)


def union(leak_weight):
    """The script's union of an L-inf and an L2 PGD, concatenated."""
    linf = LeakyPGD(LinfBall(EPS), LatentDistance(), steps=5, step_size=0.05, random_start=True, leak_weight=leak_weight)
    l2 = PGD(L2Ball(L2_EPS), LatentDistance(), steps=4, step_size=0.3, random_start=True)
    return Union({"linf": linf, "l2": l2}, objective=None, mode="concat")


def random_starts(x, seed=7):
    """The starts that union() draws from rng(seed): L-inf first, then L2 (members' order)."""
    starts = rng(seed)
    linf = (x + LinfBall(EPS).random_start(x, starts)).clamp(0, 1)
    l2 = L2Ball(L2_EPS)
    return linf, (x + l2.project(l2.random_start(x, starts))).clamp(0, 1)


def script_update(model, x):
    """One training step written as MNIST-union/code.py does it: zero_grad once, attacks that call
    model.zero_grad() and cost.backward() on the latent MSE every iteration (L2 first, then L-inf), the
    written loss backpropagated on top, then the optimiser step (SGD here)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    mse = torch.nn.MSELoss()
    optimizer.zero_grad()
    start_linf, start_l2 = random_starts(x)

    def attack(start, steps, step, project):
        images_ = start.clone()
        for _ in range(steps):
            images_.requires_grad = True
            base, outputs = model.encode(x), model.encode(images_)
            model.zero_grad()
            mse(outputs, base).backward()
            images_ = project(images_ + step(images_.grad)).detach()
        return images_

    def l2_step(g):
        return 0.3 * g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)

    def l2_project(a):
        delta = a - x
        norm = delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        return (x + delta * (L2_EPS / norm.clamp_min(1e-12)).clamp(max=1.0)).clamp(0, 1)

    adv_l2 = attack(start_l2, 4, l2_step, l2_project)
    adv_linf = attack(start_linf, 5, lambda g: 0.05 * g.sign(), lambda a: (x + (a - x).clamp(-EPS, EPS)).clamp(0, 1))
    adv = torch.cat([adv_linf, adv_l2])  # arae's block order: the members' order
    xx = torch.cat([x, x])
    loss = mse(model(adv), xx) + GAMMA * mse(model.encode(adv), model.encode(xx))
    loss.backward()
    optimizer.step()
    return model


def arae_update(model, x, attack, block_gamma=None):
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    loss = ARAELoss(GAMMA, block_gamma)
    optimisation_step(model, optimizer, BatchCrafting(None), attack, loss, x, torch.arange(len(x)), rng(7))
    return model


def max_difference(a, b):
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters()))


def test_leak_reproduces_the_scripts_update():
    x = images()
    script = script_update(relu_model(), x)
    leaked = arae_update(relu_model(), x, union(leak_weight=1.0))
    written = arae_update(relu_model(), x, union(leak_weight=0.0))
    assert max_difference(leaked, script) < 1e-6
    assert max_difference(written, script) > 1e-4  # the leak is what makes them equal


def test_block_gamma_control_equals_the_leak_at_the_final_iterate():
    """block_gamma weighs the L-inf block's latent term as the leak does; the two differ only in where that
    term is taken (the final iterate here, the iterate before the last step in the leak)."""
    x = images()
    k = 2
    control = arae_update(relu_model(), x, union(leak_weight=0.0), block_gamma=[GAMMA + k * 1.0, GAMMA])
    # By hand: the written loss plus 1.0 x the L-inf block's latent MSE at its final iterate.
    model = relu_model()
    adv = union(0.0)(model, x, rng(7))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    loss = ARAELoss(GAMMA, None)(model, x, adv)["loss"]
    extra = (model.encode(adv[:len(x)]) - model.encode(x)).pow(2).mean()
    (loss + extra).backward()
    optimizer.step()
    assert max_difference(control, model) < 1e-6


def test_without_the_leak_no_attack_gradient_reaches_the_step():
    model, x = relu_model(), images()
    for attack in (union(leak_weight=0.0), union(leak_weight=1.0).members["l2"]):
        attack(model, x, rng())
        assert all(p.grad is None for p in model.parameters())
    union(leak_weight=1.0)(model, x, rng())
    assert all(p.grad is not None for p in model.encoder.parameters())


def test_the_leak_is_switched_by_the_config():
    cfg = compose_train(["attack=union_script"])
    assert cfg.attack.leak_weight == 0.0 and cfg.attack.block_gamma is None  # off by default
    from hydra.utils import instantiate

    assert not leaks_gradient(instantiate(cfg.attack.adversary))
    cfg = compose_train(["attack=union_script", "attack.leak_weight=1.0", "crafting=batch"])
    assert leaks_gradient(instantiate(cfg.attack.adversary))
    check_leak(cfg)
    with pytest.raises(ConfigError, match="needs crafting=batch"):
        check_leak(compose_train(["attack=union_script", "attack.leak_weight=1.0", "crafting=epoch"]))


def test_block_gamma_must_match_the_blocks():
    model, x = relu_model(), images()
    adv = union(0.0)(model, x, rng())
    with pytest.raises(ConfigError, match="block_gamma has 3 weights"):
        ARAELoss(GAMMA, [1.0, 1.0, 1.0])(model, x, adv)
    with pytest.raises(ConfigError, match="weights >= 0"):
        ARAELoss(GAMMA, [float("nan"), 1.0])
    default = ARAELoss(GAMMA, None)(model, x, adv)["loss"]
    assert torch.allclose(ARAELoss(GAMMA, [GAMMA, GAMMA])(model, x, adv)["loss"], default)


@pytest.mark.parametrize("weight", [-1.0, float("nan")])
def test_bad_leak_weight_is_refused(weight):
    with pytest.raises(ConfigError, match="leak_weight"):
        LeakyPGD(LinfBall(EPS), LatentDistance(), steps=2, step_size=None, random_start=True, leak_weight=weight)


def test_leak_without_weight_is_plain_pgd():
    model, x = relu_model(), images()
    plain = PGD(LinfBall(EPS), LatentDistance(), steps=3, step_size=None, random_start=True)(copy.deepcopy(model), x, rng(3))
    leaky = LeakyPGD(LinfBall(EPS), LatentDistance(), steps=3, step_size=None, random_start=True, leak_weight=0.0)
    assert torch.equal(plain, leaky(model, x, rng(3)))
