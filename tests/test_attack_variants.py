"""Properties of every attack: bounds, pixel range, grid search optimality, union, noise, identity."""

import math
from pathlib import Path

import pytest
import torch
from conftest import conf_settings, rng
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig

from arae.attacks import (
    PGD,
    GridSpatial,
    L2Ball,
    LatentDistance,
    LinfBall,
    NoAttack,
    ReconstructionError,
    UniformNoise,
    Union,
)
from arae.config import register_resolvers
from arae.errors import ConfigError
from arae.training import ARAELoss, BatchCrafting, EpochCrafting

CONF = Path(__file__).resolve().parents[1] / "conf"
ATTACK_CONFIGS = sorted(p.stem for p in (CONF / "attack").glob("*.yaml"))
LINF, L2, SPATIAL = (conf_settings(f"adversary/{name}") for name in ("linf", "l2", "spatial"))


def small_grid(objective=None, **kw):
    return GridSpatial(objective or LatentDistance(), **{**SPATIAL, "angle_step": 10, "translations": (-2, 0, 2), **kw})


def per_sample_l2(t):
    return t.flatten(1).norm(dim=1)


# -- L2 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("objective", [LatentDistance(), ReconstructionError()])
def test_l2_pgd_keeps_bound_and_pixel_range(model, batch, objective):
    eps = 1.5
    x_adv = PGD(L2Ball(eps), objective, **{**L2, "steps": 20, "step_size": 0.3})(model, batch, rng())
    assert x_adv.shape == batch.shape and not x_adv.requires_grad
    assert per_sample_l2(x_adv - batch).max() <= eps + 1e-5
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert per_sample_l2(x_adv - batch)[8:].min() > 0.5 * eps  # it does move, and far


def test_l2_ball_start_step_and_projection():
    ball = L2Ball(2.0)
    start = ball.random_start(torch.zeros(500, 3, 4, 4), rng())
    norms = per_sample_l2(start)
    assert norms.max() <= 2.0 + 1e-5 and norms.min() > 0
    assert norms.std() > 0  # inside the ball, not on its sphere only
    grad = torch.randn(6, 3, 4, 4) * torch.arange(1, 7).view(6, 1, 1, 1)
    assert torch.allclose(per_sample_l2(ball.step(grad, 0.1)), torch.full((6,), 0.1), atol=1e-6)
    delta = torch.randn(6, 3, 4, 4) * 10
    delta[0] *= 1e-3  # already inside: unchanged
    projected = ball.project(delta)
    assert torch.equal(projected[0], delta[0])
    assert torch.allclose(per_sample_l2(projected[1:]), torch.full((5,), 2.0), atol=1e-5)
    assert torch.allclose(projected[1] / per_sample_l2(projected[1:2]), delta[1] / per_sample_l2(delta[1:2]))


def test_l2_pgd_raises_objective_over_random_start(model, batch):
    objective = LatentDistance()
    reference = objective.reference(model, batch)
    start = PGD(L2Ball(1.0), objective, **{**L2, "steps": 1, "step_size": 1e-12})(model, batch, rng(5))
    attacked = PGD(L2Ball(1.0), objective, **{**L2, "steps": 30})(model, batch, rng(5))
    with torch.no_grad():
        assert (objective(model, attacked, reference) > objective(model, start, reference)).float().mean() >= 0.9


@pytest.mark.parametrize("eps", [0.0, -1.0, None])
def test_l2_non_positive_radius_is_refused(eps):
    with pytest.raises(ConfigError, match="L2 radius"):
        L2Ball(eps)


# -- spatial -------------------------------------------------------------------------------------
def test_the_configured_spatial_grid_is_the_papers():
    attack = GridSpatial(LatentDistance(), **SPATIAL)
    assert len(attack) == 279 and len(attack.angles) == 31
    assert attack.angles[0] == -30 and attack.angles[-1] == 30 and 0 in attack.angles


def test_identity_transform_is_exact(batch):
    attack = small_grid()
    thetas = attack.thetas(8, 8)
    identity = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])
    matches = [i for i, t in enumerate(thetas) if torch.allclose(t, identity, atol=1e-7)]
    assert len(matches) == 1
    assert torch.allclose(GridSpatial.apply(batch, thetas[matches].expand(len(batch), 2, 3)), batch, atol=1e-6)


@pytest.mark.parametrize("objective", [LatentDistance(), ReconstructionError()])
def test_spatial_returns_the_best_grid_transform_per_sample(model, batch, objective):
    attack = small_grid(objective)
    x_adv = attack(model, batch, rng())
    assert x_adv.shape == batch.shape and x_adv.min() >= 0 and x_adv.max() <= 1
    reference = objective.reference(model, batch)
    with torch.no_grad():  # brute force, one transform at a time, as a check of the batched search
        candidates = torch.stack([GridSpatial.apply(batch, t.expand(len(batch), 2, 3)) for t in attack.thetas(8, 8)])
        scores = torch.stack([objective(model, c, reference) for c in candidates])  # (T, B)
        chosen = objective(model, x_adv, reference)
    distance = (candidates - x_adv).flatten(2).abs().amax(2)  # (T, B)
    assert (distance.min(0).values <= 1e-5).all()  # each output is one of the grid's transforms
    assert (chosen >= scores.max(0).values - 1e-6).all()  # and none scores higher
    assert (scores.max(0).values > scores[len(scores) // 2]).any()  # it beats the identity somewhere


def test_batched_grid_equals_one_transform_at_a_time(batch):
    thetas = small_grid().thetas(8, 8)
    each = GridSpatial.apply_each(batch, thetas)
    one_by_one = torch.stack([GridSpatial.apply(batch, t.expand(len(batch), 2, 3)) for t in thetas])
    assert torch.allclose(each, one_by_one, atol=1e-6)


def test_spatial_grid_chunking_changes_nothing(model, batch):
    whole = small_grid()(model, batch, rng())
    chunked = small_grid(max_elements=3 * batch.numel())(model, batch, rng())  # 3 transforms at a time
    assert torch.allclose(whole, chunked, atol=1e-6)


def test_spatial_translation_moves_content_by_whole_pixels():
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 3, 3] = 1.0
    attack = GridSpatial(LatentDistance(), **{**SPATIAL, "max_angle": 0, "angle_step": 1, "translations": (2,)})
    moved = GridSpatial.apply(x, attack.thetas(8, 8))
    assert moved[0, 0, 5, 5] == pytest.approx(1.0) and moved.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("kw", [{"angle_step": 0}, {"max_angle": -1}, {"translations": []}])
def test_spatial_bad_grid_is_refused(kw):
    with pytest.raises(ConfigError, match="spatial"):
        GridSpatial(LatentDistance(), **{**SPATIAL, **kw})


# -- union ---------------------------------------------------------------------------------------
def members():
    return {
        "linf": PGD(LinfBall(0.2), LatentDistance(), **{**LINF, "steps": 5}),
        "l2": PGD(L2Ball(1.5), LatentDistance(), **{**L2, "steps": 5, "step_size": 0.5}),
        "spatial": small_grid(),
    }


def test_union_worst_scores_at_least_each_member(model, batch):
    objective = LatentDistance()
    worst = Union(members(), objective, mode="worst")(model, batch, rng(3))
    same = rng(3)  # the same random starts again
    outputs = [attack(model, batch, same) for attack in members().values()]
    reference = objective.reference(model, batch)
    with torch.no_grad():
        scores = torch.stack([objective(model, out, reference) for out in outputs])
        chosen = objective(model, worst, reference)
    assert worst.shape == batch.shape
    assert (chosen >= scores.max(0).values - 1e-6).all()
    picked = torch.stack([(out - worst).flatten(1).abs().amax(1) for out in outputs]).min(0).values
    assert (picked <= 1e-6).all()  # each sample is one member's output
    assert len(set(scores.argmax(0).tolist())) > 1  # the members do win on different samples here


def test_union_concat_stacks_members_in_blocks(model, batch):
    out = Union(members(), None, mode="concat")(model, batch, rng(3))
    same = rng(3)
    expected = torch.cat([attack(model, batch, same) for attack in members().values()])
    assert out.shape == (3 * len(batch), *batch.shape[1:])
    assert torch.allclose(out, expected, atol=1e-6)


def test_union_config_errors():
    with pytest.raises(ConfigError, match="no members"):
        Union({"linf": None}, LatentDistance(), mode="worst")
    with pytest.raises(ConfigError, match="mode"):
        Union(members(), LatentDistance(), mode="best")
    with pytest.raises(ConfigError, match="objective"):
        Union(members(), None, mode="worst")


def test_concat_examples_train_with_x_repeated(model, batch):
    """k blocks of examples count once each: the loss is the mean of the per-block losses."""
    loss = ARAELoss(gamma=0.2, block_gamma=None)
    a, b = batch.flip(0), batch.clamp(0.1, 0.9)
    both = loss(model, batch, torch.cat([a, b]))
    for key in ("loss", "loss_rec", "loss_latent"):
        expected = (loss(model, batch, a)[key] + loss(model, batch, b)[key]) / 2
        assert torch.allclose(both[key], expected, atol=1e-6)
    with pytest.raises(ValueError, match="multiple"):
        loss(model, batch, batch[:5])


def test_loss_is_the_written_formula_bit_for_bit(model, batch):
    """The fused squared error gives the values and parameter gradients of (a - b).pow(2) exactly, so no
    pinned run moves: L = mean (x - Dec(Enc(x*)))^2 + gamma mean (Enc(x*) - Enc(x))^2."""
    loss = ARAELoss(gamma=0.2, block_gamma=None)
    x_adv = batch.flip(0)

    def written():
        z_adv = model.encode(x_adv)
        rec = (batch - model.decode(z_adv)).pow(2).flatten(1).mean(1).mean()
        latent = (z_adv - model.encode(batch)).pow(2).flatten(1).mean(1).mean()
        return {"loss": rec + 0.2 * latent, "loss_rec": rec, "loss_latent": latent}

    got, expected = loss(model, batch, x_adv), written()
    got_grads = torch.autograd.grad(got["loss"], list(model.parameters()))
    expected_grads = torch.autograd.grad(expected["loss"], list(model.parameters()))
    for key in ("loss", "loss_rec", "loss_latent"):
        assert torch.equal(got[key], expected[key]), key
    assert all(torch.equal(a, b) for a, b in zip(got_grads, expected_grads))


def test_epoch_crafting_stores_k_examples_per_sample(model, batch):
    """Under epoch crafting, a concat union's examples come back by sample index, k blocks of B."""
    attack = Union({"spatial": small_grid(), "none": NoAttack()}, None, mode="concat")
    crafting = EpochCrafting(chunk_size=5, autocast=None)  # chunks that do not divide the data
    crafting.on_epoch_start(attack, model, batch, rng())
    index = torch.tensor([9, 2, 15, 2])
    got = crafting.adversarial(attack, model, batch[index], index, rng())
    expected = BatchCrafting(autocast=None).adversarial(attack, model, batch[index], index, rng())
    assert got.shape == (8, *batch.shape[1:])
    assert torch.allclose(got, expected, atol=1e-6)


# -- noise and none ------------------------------------------------------------------------------
def test_noise_lies_in_its_bounds(model, batch):
    noisy = UniformNoise(0.02, 0.1, clip=True)(model, batch, rng())
    diff = noisy - batch
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0
    assert diff.max() <= 0.1 + 1e-6
    room = batch <= 0.98 - 1e-6  # where clipping at 1 cannot cut the noise below its lower bound
    assert diff[room].min() >= 0.02 - 1e-6
    assert (diff[batch == 1.0] == 0).all()
    assert diff[batch == 0.0].std() > 0.01  # random, not a constant shift
    assert diff[batch == 0.0].mean() == pytest.approx(0.06, abs=0.01)


def test_noise_bad_bounds_are_refused():
    with pytest.raises(ConfigError, match="low < high"):
        UniformNoise(0.1, 0.1, clip=True)


def test_none_is_identity(model, batch):
    assert torch.equal(NoAttack()(model, batch, rng()), batch)


# -- every attack config: crafting leaves the model as it was -----------------------------------
def shrink(node) -> None:
    """Make any attack config fast: few PGD steps, a coarse rotation grid."""
    if isinstance(node, DictConfig):
        for key in list(node.keys()):
            if key == "steps":
                node[key] = 2
            elif key == "angle_step":
                node[key] = 15
            else:
                shrink(node[key])
    elif isinstance(node, ListConfig):
        for item in node:
            shrink(item)


def compose_train(overrides):
    register_resolvers()
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose("train", overrides=list(overrides))


def attack_from_config(name: str):
    cfg = compose_train([f"attack={name}"])
    shrink(cfg.attack.adversary)
    return instantiate(cfg.attack.adversary), cfg


def test_every_attack_config_is_tested():
    assert {"none", "noise", "linf", "l2", "spatial", "union", "union_concat", "linf_rec"} <= set(ATTACK_CONFIGS)


@pytest.mark.parametrize("name", ATTACK_CONFIGS)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_crafting_never_changes_weights_or_mode(name, mode, model, batch):
    attack, _ = attack_from_config(name)
    model.train(mode == "train")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x_adv = attack(model, batch, rng())
    assert model.training == (mode == "train")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None and p.requires_grad for p in model.parameters())
    assert x_adv.shape[0] % len(batch) == 0 and x_adv.shape[1:] == batch.shape[1:]
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0 and not x_adv.requires_grad


@pytest.mark.parametrize(
    "variant, attack", [("ae", "none"), ("dae", "noise"), ("arae", "linf"), ("arae_a", "union"), ("arae_r", "linf_rec")]
)
def test_variant_aliases_pick_their_attack(variant, attack):
    assert compose_train([f"variant={variant}"]).attack.name == attack
    assert compose_train([f"variant={variant}", "attack=l2"]).attack.name == "l2"  # an explicit attack wins


def test_loss_weights_live_in_the_attack_configs():
    gammas = {name: attack_from_config(name)[1].attack.gamma for name in ATTACK_CONFIGS}
    assert gammas["none"] == gammas["noise"] == 0.0
    assert gammas["linf"] == gammas["linf_rec"] == gammas["union"] == 0.1
    assert gammas["union_concat"] == 0.2


def test_linf_rec_maximises_reconstruction_error():
    attack, _ = attack_from_config("linf_rec")
    assert isinstance(attack.objective, ReconstructionError) and isinstance(attack.ball, LinfBall)
    assert math.isclose(attack.ball.eps, 0.2)
