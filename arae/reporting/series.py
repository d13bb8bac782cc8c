"""Series of the fidelity study: runs that share every setting but the seed, labelled by the settings
that differ from the paper's (crafting schedule, PGD steps, precision, model, batch, learning rate, the
DAE's noise clipping, the union script's leak). Seeds are the replicates."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from arae.reporting.paper import as_classes, paper_table
from arae.reporting.runs import Run, class_key, distinct

# The factors a series is labelled by, beside its method; comparisons pair series that differ in one.
FACTORS = ("schedule", "steps", "precision", "model", "batch", "lr", "noise", "loss")
# Factors of the training recipe that the DAE baseline of an ARAE series must share (the others are the attack's).
RECIPE_FACTORS = ("model", "batch", "lr")


def precision_label(attack_precision: str | None, training: str | None) -> str:
    """"bfloat16 attack", "bfloat16 attack, bf16-mixed training", ...; empty for float32 throughout."""
    parts = [f"{attack_precision} attack"] if attack_precision not in (None, "float32") else []
    if training not in (None, "32", "32-true"):
        parts.append(f"{training} training")
    return ", ".join(parts)


def _steps(steps: Any) -> str:
    if isinstance(steps, dict):
        return ", ".join(f"{name} {n}" for name, n in steps.items()) + " steps"
    return "" if steps is None else f"{steps} steps"


def factors(settings: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The study's factors of a run, each as (name, label); a label is empty where it is the paper's."""
    adversarial = bool(settings.get("adversarial"))
    schedule = {"batch": "per-batch", "epoch": "per-epoch"}.get(settings.get("crafting"), str(settings.get("crafting")))
    activation, output = settings.get("activation") or "sigmoid", settings.get("output_activation") or "sigmoid"
    batch, lr = settings.get("batch_size"), settings.get("lr")
    loss = []
    if settings.get("leak_weight"):
        loss.append(f"gradient leak {settings['leak_weight']:g}")
    if settings.get("block_gamma") is not None:
        loss.append("block latent weights " + "/".join(f"{g:g}" for g in settings["block_gamma"]))
    labels = {
        "schedule": schedule if adversarial else "",
        "steps": _steps(settings.get("attack_steps")) if adversarial else "",
        "precision": precision_label(settings.get("attack_precision"), settings.get("training_precision")),
        "model": "" if (activation, output) == ("sigmoid", "sigmoid") else f"{activation} MLP, {output} output",
        "batch": "" if batch in (None, 256) else f"batch {batch}",
        "lr": "" if lr in (None, 1e-3) else f"lr {lr:g}",
        "noise": "unclipped noise" if settings.get("noise_clip") is False else "",
        "loss": ", ".join(loss),
    }
    return tuple((name, labels[name]) for name in FACTORS)


def label(run: Run, without: tuple[str, ...] = ()) -> str:
    """"ARAE (per-batch, 10 steps, bfloat16 attack)"; `without` leaves factors out (e.g. precision)."""
    details = ", ".join(v for k, v in factors(run.settings) if v and k not in without)
    return f"{run.method} ({details})" if details else run.method


def recipe(run: Run) -> tuple[tuple[str, str], ...]:
    return tuple(f for f in factors(run.settings) if f[0] in RECIPE_FACTORS)


def one_factor_apart(a: Run, b: Run) -> str | None:
    """The one factor in which two series of the same method differ, else None."""
    if a.method != b.method:
        return None
    differ = [name for (name, x), (_, y) in zip(factors(a.settings), factors(b.settings)) if x != y]
    return differ[0] if len(differ) == 1 else None


Grouped = dict[tuple[str, str], list[Run]]


def series_of(runs: Iterable[Run]) -> tuple[Grouped, list[tuple[Run, Run]]]:
    """Runs by (normal class, series label), each list ordered by seed with one run per seed (the longest:
    a shorter run of the same series and seed is superseded), and the superseded (run, by) pairs."""
    kept, superseded = distinct(runs, label)
    grouped: Grouped = {}
    for run in sorted(kept, key=lambda r: (class_key(r.normal_class), label(r), r.seed)):
        grouped.setdefault((run.normal_class, label(run)), []).append(run)
    return grouped, superseded


def common_budget(runs: list[Run]) -> int:
    return min(r.length for r in runs)


def paper_value(method: str, normal_class: str) -> float | None:
    """The paper's Table 6 value (a fraction) of a method for one normal class, if it has one."""
    try:
        classes = as_classes([int(c) for c in normal_class.split("_")])
    except ValueError:
        return None
    for part in paper_table("table6").parts:
        value = part.value(method, classes)
        if value is not None:
            return value / 100.0
    return None


def baseline_of(grouped: Grouped, normal_class: str, run: Run) -> list[Run] | None:
    """The DAE series (the paper's clipped noise) of the same class and training recipe as `run`'s."""
    for (c, _), runs in grouped.items():
        first = runs[0]
        if (c == normal_class and first.method == "DAE" and recipe(first) == recipe(run)
                and not dict(factors(first.settings))["noise"]):
            return runs
    return None
