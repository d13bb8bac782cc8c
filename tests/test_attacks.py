import pytest
import torch
from conftest import conf_settings, rng

from arae.attacks import PGD, LatentDistance, LinfBall, NoAttack, ReconstructionError
from arae.errors import ConfigError


def linf_pgd(eps=0.2, steps=10, objective=None, **kw):
    return PGD(LinfBall(eps), objective or LatentDistance(), **{**conf_settings("adversary/linf"), "steps": steps, **kw})


@pytest.mark.parametrize("objective", [LatentDistance(), ReconstructionError()])
def test_linf_pgd_keeps_bound_and_pixel_range(model, batch, objective):
    x_adv = linf_pgd(eps=0.2, objective=objective)(model, batch, rng())
    assert x_adv.shape == batch.shape
    assert (x_adv - batch).abs().max() <= 0.2 + 1e-6
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert not x_adv.requires_grad


def test_pgd_objective_not_below_random_start(model, batch):
    objective = LatentDistance()
    reference = objective.reference(model, batch)
    start = linf_pgd(steps=1, step_size=1e-12)(model, batch, rng(5))  # a random start that barely moves
    attacked = linf_pgd(steps=40)(model, batch, rng(5))
    with torch.no_grad():
        before = objective(model, start, reference)
        after = objective(model, attacked, reference)
    assert after.sum() > before.sum()
    assert (after >= before - 1e-7).float().mean() >= 0.9


def test_pgd_default_step_size_is_madry_rule():
    attack = linf_pgd(eps=0.2, steps=40)
    assert attack.step_size == pytest.approx(2.5 * 0.2 / 40)


def test_attack_touches_no_parameter_gradient_and_no_mode(model, batch):
    model.train()
    before = [p.detach().clone() for p in model.parameters()]
    linf_pgd()(model, batch, rng())
    assert all(p.grad is None for p in model.parameters())
    assert all(p.requires_grad for p in model.parameters())
    assert model.training
    model.eval()
    linf_pgd()(model, batch, rng())
    assert not model.training
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_attack_restores_requires_grad_after_an_error(model):
    with pytest.raises(RuntimeError):
        linf_pgd()(model, torch.rand(2, 1, 9, 9), rng())  # wrong shape for the model
    assert all(p.requires_grad for p in model.parameters())


def test_chunking_does_not_change_the_examples(model, batch):
    """Each sample's attack is independent of the batch it is in (sum objective, per-sample steps)."""
    attack = linf_pgd(random_start=False)
    whole = attack(model, batch, rng())
    parts = torch.cat([attack(model, chunk, rng()) for chunk in batch.split(5)])
    assert torch.allclose(whole, parts, atol=1e-6)


@pytest.mark.parametrize("eps", [0.0, -0.1])
def test_non_positive_epsilon_is_refused(eps):
    with pytest.raises(ConfigError, match="epsilon"):
        LinfBall(eps)


def test_no_attack_is_identity(model, batch):
    assert NoAttack()(model, batch, rng()) is batch


def test_bf16_attack_warns_on_a_cpu_without_native_bf16(model, caplog, monkeypatch):
    import logging

    from arae.training import crafting

    monkeypatch.setattr(crafting, "cpu_has_fast_bf16", lambda: False)
    crafting.warn_if_bf16_is_slow.cache_clear()  # as in a fresh process
    craft = crafting.BatchCrafting(autocast="bfloat16")
    attack = linf_pgd(eps=0.1, steps=1)
    x = torch.rand(4, 1, 8, 8)
    with caplog.at_level(logging.WARNING, logger=crafting.__name__):
        out = craft.adversarial(attack, model, x, torch.arange(4), rng())
        craft.adversarial(attack, model, x, torch.arange(4), rng())
    assert out.dtype == torch.float32 and out.shape == x.shape
    assert len([r for r in caplog.records if "without native bfloat16" in r.message]) == 1  # once per process
