"""OmegaConf resolvers used by the configs in `conf/`."""

from __future__ import annotations

import hashlib

from omegaconf import OmegaConf

from arae.data.classes import class_list

MAX_DIRNAME = 160  # well under the 255 bytes most file systems allow for one path component


def classes_tag(value) -> str:
    """`8` -> "8"; `[4, 5]` -> "4_5": a normal-class setting as it appears in run names."""
    return "_".join(str(v) for v in class_list(value))  # a bad value is refused later, but names a folder first


def normal_tag(value, n_drawn=None) -> str:
    """Run-name part for the normal classes: "c8", "c4_5", or "n4" when 4 classes are drawn at random."""
    return f"n{n_drawn}" if n_drawn is not None else f"c{classes_tag(value)}"


def precision_tag(attack_autocast, training_precision=None) -> str:
    """Folder-name part for a run's precision: the attack's autocast dtype ("float32" when null), plus
    "-train-<precision>" when training itself is not in float32 (trainer.precision, e.g. bf16-mixed)."""
    tag = str(attack_autocast or "float32")
    if training_precision not in (None, "32", 32, "32-true"):
        tag += f"-train-{training_precision}"
    return tag


def unless_set(value, default):
    """`default` when `value` is null, else null: `${unless_set:${normal_class},1}` draws one class unless
    a normal class was chosen."""
    return default if value is None else None


def folder_name(text: str) -> str:
    """A sweep job's settings as a folder name: kept as they are when short, else a readable head plus a
    hash of the whole, so that many overrides (an Optuna trial) still name a folder and the same settings
    always name the same one. A `/` in a value (dataset.source.path=/my/images) is written %2F (and `%`
    itself %25), so it names one folder, not nested ones."""
    text = str(text).replace("%", "%25").replace("/", "%2F")
    if len(text) <= MAX_DIRNAME:
        return text
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    return f"{text[: MAX_DIRNAME - 13]}-{digest}"


def environment_keys() -> list[str]:
    """The settings of where or how a run is watched (arae.resume.ENVIRONMENT_KEYS): `${environment_keys:}`
    is hydra.job.config.override_dirname.exclude_keys, so that a job's folder name leaves them out."""
    from arae.resume import ENVIRONMENT_KEYS

    return list(ENVIRONMENT_KEYS)


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("folder_name"):
        OmegaConf.register_new_resolver("folder_name", folder_name)
    if not OmegaConf.has_resolver("precision_tag"):
        OmegaConf.register_new_resolver("precision_tag", precision_tag)
    if not OmegaConf.has_resolver("unless_set"):
        OmegaConf.register_new_resolver("unless_set", unless_set)
    if not OmegaConf.has_resolver("classes_tag"):
        OmegaConf.register_new_resolver("classes_tag", classes_tag)
    if not OmegaConf.has_resolver("normal_tag"):
        OmegaConf.register_new_resolver("normal_tag", normal_tag)
    if not OmegaConf.has_resolver("environment_keys"):
        OmegaConf.register_new_resolver("environment_keys", environment_keys)
