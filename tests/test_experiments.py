"""Every experiment config (conf/experiment/*.yaml, the paper's sweeps) composes for each value it sweeps, each
job in a folder named by its settings, and the data-set tables run the paper's settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from arae.config import register_resolvers
from arae.validation import validate

EXPERIMENTS = sorted(p.stem for p in (REPO / "conf" / "experiment").glob("*.yaml"))
# Swept keys that pick config files; each of their values is composed (classes and seeds only at their first).
CHOICES = {"variant", "dataset", "attack", "model", "protocol", "crafting"}


def swept_values(params: dict) -> dict[str, list[str]]:
    """Each swept key with the values of its sweep, as Hydra's basic sweeper expands them."""
    parsed = OverridesParser.create().parse_overrides([f"{key}={value}" for key, value in params.items()])
    return {
        o.key_or_group: list(o.sweep_string_iterator()) if o.is_sweep_override() else [o.get_value_element_as_str()]
        for o in parsed
    }


def first_job(params) -> list[str]:
    """The overrides of a sweep's first job: the first value of each swept setting."""
    parser = OverridesParser.create()
    overrides = parser.parse_overrides([f"{key}={value}" for key, value in params.items()])
    return [f"{o.get_key_element()}={next(iter(o.sweep_string_iterator())) if o.is_sweep_override() else o.get_value_element_as_str()}"
            for o in overrides]


def test_every_reproduce_target_has_an_experiment():
    assert {"table1", "table2", "table3", "table4", "table5", "table6", "figure4", "fidelity"} <= set(EXPERIMENTS)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_for_every_swept_value(experiment, tmp_path):
    """Each swept config choice, the other keys at their first value, gives a job config that resolves (its
    folder too, named by the run) and passes validation."""
    register_resolvers()
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        sweep = compose("train", overrides=[f"+experiment={experiment}"], return_hydra_config=True)
        values = swept_values(OmegaConf.to_container(sweep.hydra.sweeper.params))
        assert values, f"{experiment} sweeps nothing"
        first = {key: options[0] for key, options in values.items()}
        jobs = [{**first, key: option} for key, options in values.items() if key in CHOICES for option in options]
        for job in jobs or [first]:
            cfg = compose("train", overrides=[f"+experiment={experiment}", *(f"{k}={v}" for k, v in job.items())],
                          return_hydra_config=True)
            cfg.hydra.runtime.output_dir = str(tmp_path)
            HydraConfig.instance().set_config(cfg)
            folder = Path(cfg.hydra.sweep.dir) / cfg.hydra.sweep.subdir  # where the job writes
            assert cfg.run_name in folder.parts, f"{experiment}: {folder}"
            del cfg.hydra
            OmegaConf.resolve(cfg)
            validate(cfg)
            if "variant" in job:  # the variant picked its attack
                variant = OmegaConf.load(REPO / "conf" / "variant" / f"{job['variant']}.yaml")
                assert cfg.attack.name == variant.defaults[0]["override /attack"], f"{experiment}: {job}"
    assert experiment.startswith(cfg.group)  # table6_pairs is a part of Table 6


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_configs_keep_the_users_logger(experiment):
    """The loggers are left to the user (the Makefile passes LOGGER=): CSV by default, never W&B unasked."""
    register_resolvers()
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        assert set(compose("train", overrides=[f"+experiment={experiment}", "logger=csv"]).logger) == {"csv"}
        assert set(compose("train", overrides=[f"+experiment={experiment}"]).logger) == {"csv"}


@pytest.mark.parametrize(
    "experiment, expected",
    [
        ("table1", {"dataset.name": "head_ct", "protocol.name": "holdout", "model._target_": "arae.models.ConvAutoencoder"}),
        ("table3_n4", {"dataset.name": "coil100", "protocol.n_normal": 4, "protocol.tau": 0.75, "seed": 0}),
        ("table4", {"dataset.name": "cifar10", "protocol.name": "p2", "normal_classes": [0]}),
        ("table5", {"dataset.name": "mnist", "attack.name": "linf", "normal_classes": [8]}),
        ("figure4", {"protocol.name": "p1", "protocol.validation": True, "callbacks.thresholded_f1.positive": "normal"}),
    ],
)
def test_the_data_set_tables_run_the_papers_settings(experiment, expected):
    from arae.data.classes import class_list

    register_resolvers()
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        sweep = compose("train", overrides=[f"+experiment={experiment}"], return_hydra_config=True)
        job = compose("train", overrides=[f"+experiment={experiment}", *first_job(dict(sweep.hydra.sweeper.params))])
    for key, value in expected.items():
        found = class_list(job.normal_class) if key == "normal_classes" else OmegaConf.select(job, key)
        assert found == value, key


@pytest.mark.parametrize("preset, autocast, training, folder", [
    (None, None, None, "batch-float32-pgd10"),
    ("float32", None, None, "batch-float32-pgd10"),
    ("bf16_attack", "bfloat16", None, "batch-bfloat16-pgd10"),
    ("fast", "bfloat16", "bf16-mixed", "batch-bfloat16-train-bf16-mixed-pgd10"),
])
def test_precision_presets_set_both_precisions_and_name_the_fidelity_folder(preset, autocast, training, folder):
    register_resolvers()
    chosen = [f"precision={preset}"] if preset else []
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=["+experiment=fidelity", "crafting=batch", "dataset.pgd_steps=10", *chosen],
                      return_hydra_config=True)
        assert cfg.crafting.autocast == autocast
        assert OmegaConf.select(cfg, "trainer.precision") == training
        HydraConfig.instance().set_config(cfg)
        assert cfg.hydra.sweep.subdir.startswith(folder + "-")
