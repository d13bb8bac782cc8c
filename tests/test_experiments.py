"""Every conf/experiment/*.yaml composes into the jobs it sweeps, each in a folder named by its settings."""

import pytest
from conftest import REPO
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from arae.config import register_resolvers

EXPERIMENTS = sorted(p.stem for p in (REPO / "conf" / "experiment").glob("*.yaml"))


def first_job(params) -> list[str]:
    """The overrides of a sweep's first job: the first value of each swept setting."""
    parser = OverridesParser.create()
    overrides = parser.parse_overrides([f"{key}={value}" for key, value in params.items()])
    return [f"{o.get_key_element()}={next(iter(o.sweep_string_iterator())) if o.is_sweep_override() else o.get_value_element_as_str()}"
            for o in overrides]


def test_every_reproduce_target_has_an_experiment():
    assert {"table1", "table2", "table3", "table4", "table5", "table6", "figure4", "fidelity"} <= set(EXPERIMENTS)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_with_its_first_job(experiment):
    register_resolvers()
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        sweep = compose("train", overrides=[f"+experiment={experiment}"], return_hydra_config=True)
        params = dict(sweep.hydra.sweeper.params)
        job = compose("train", overrides=[f"+experiment={experiment}", *first_job(params)], return_hydra_config=True)
    raw = OmegaConf.to_container(sweep.hydra.sweep)
    assert params and raw["subdir"].endswith("${run_name}")  # one folder per job, named by its settings
    assert raw["dir"] == f"{'studies' if experiment == 'fidelity' else 'multirun_outputs'}/${{group}}"
    assert job.run_name and job.trainer.max_epochs > 0 and job.group == sweep.group
    if "hydra:" not in raw["subdir"]:  # ${hydra:...} resolves only inside a running job
        assert job.hydra.sweep.subdir.endswith(job.run_name)
    assert set(job.logger) == {"csv"}  # the logger is left to the user (make: LOGGER=)
    OmegaConf.to_container(job.protocol, resolve=True), OmegaConf.to_container(job.dataset, resolve=True)


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
