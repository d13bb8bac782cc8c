"""The README and docs/ say only what is true: every `make` target they name exists, every config group and
option they name is a file of conf/, every command line they show composes, every link resolves (and every
docs/ page that a config, the Makefile or the code names exists), and the README stays short."""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path

import pytest
import yaml
from conftest import REPO

README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md")), REPO / "benchmarks" / "README.md"]
TOP_LEVEL_KEYS = set(yaml.safe_load((REPO / "conf" / "train.yaml").read_text())) - {"defaults"}


def code_lines(text: str) -> list[str]:
    """The lines of the fenced code blocks of a Markdown text, comments cut off."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.S | re.M)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    return [line for line in lines if line]


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-zA-Z0-9_-]+):", (REPO / "Makefile").read_text(), flags=re.M))


def train_commands(text: str) -> list[list[str]]:
    """The overrides of each `python train.py ...` line of the code blocks."""
    return [shlex.split(line)[2:] for line in code_lines(text) if line.startswith("python train.py ")]


def group_of(key: str) -> str:
    return key.lstrip("+~").split(".")[0]


def test_readme_is_short():
    assert len(README.read_bytes()) < 12_000, "the README is for getting started; move details to docs/"


def test_every_make_target_named_exists():
    """In code blocks and in `make ...` spans; `make reproduce-*` stands for the targets it matches."""
    targets = make_targets()
    named = set()
    for page in PAGES:
        text = page.read_text()
        named |= set(re.findall(r"`make ([a-z][a-z0-9*-]*)", text))
        named |= {line.split()[1] for line in code_lines(text) if line.startswith("make ")}
    missing = {name for name in named if not fnmatch.filter(targets, name)}
    assert {"train", "test"} <= named
    assert not missing, f"README/docs name make targets the Makefile lacks: {sorted(missing)}"


def test_every_config_group_in_the_readme_table_exists_with_its_options():
    rows = re.findall(r"^\| `([a-z_/]+)` \| (.*) \|$", README.read_text(), flags=re.M)
    groups = {group for group, _ in rows}
    on_disk = {p.name for p in (REPO / "conf").iterdir() if p.is_dir() and p.name != "hydra"} | {"hydra/launcher"}
    assert groups == on_disk, f"the table lists {sorted(groups)}, conf/ has {sorted(on_disk)}"
    for group, description in rows:
        for option in re.findall(r"`([a-z0-9_]+)`", description):
            assert (REPO / "conf" / group / f"{option}.yaml").exists(), f"conf/{group}/{option}.yaml"


def test_every_override_names_a_group_option_or_key_that_exists():
    overrides = [(page.name, o) for page in PAGES for line in train_commands(page.read_text()) for o in line if "=" in o]
    assert len(overrides) > 20, "the pages' train.py command lines were not found"
    wrong = []
    for page, override in overrides:
        key, value = override.split("=", 1)
        if (REPO / "conf" / key.lstrip("+~")).is_dir():  # a group choice: each swept value is a file
            if not all((REPO / "conf" / key.lstrip("+~") / f"{option}.yaml").exists() for option in value.split(",")):
                wrong.append(f"{page}: {override} (no such option)")
        elif not (group_of(key) in TOP_LEVEL_KEYS | {"hydra"} or (REPO / "conf" / group_of(key)).is_dir()):
            wrong.append(f"{page}: {override} (neither a config group nor a key of conf/train.yaml)")
    assert not wrong, wrong


def single_runs() -> list[list[str]]:
    """The README's `python train.py` lines that run one job (sweeps name several values per key)."""
    return [o for o in train_commands(README.read_text()) if "-m" not in o]


@pytest.mark.parametrize("overrides", single_runs(), ids=" ".join)
def test_readme_command_lines_compose(overrides):
    from hydra import compose, initialize_config_dir

    from arae.config import register_resolvers

    register_resolvers()
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        compose("train", overrides=overrides)


def relative_links(page: Path) -> list[str]:
    """The targets of a Markdown page's links that are files of this repository (no URL, no anchor)."""
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text())
    return [t for t in targets if not re.match(r"[a-z]+://", t)]


def test_every_relative_link_of_the_readme_and_docs_resolves():
    links = [(page, target) for page in PAGES for target in relative_links(page)]
    assert len(links) > 20 and {p for p, _ in links} >= {README, REPO / "docs" / "training.md"}
    missing = [f"{p.relative_to(REPO)} -> {t}" for p, t in links if not (p.parent / t).exists()]
    assert not missing, f"links to files that do not exist: {missing}"


def named_docs_pages() -> list[tuple[Path, str]]:
    """(file, path) for every `docs/....md` that a config file, the Makefile or the code names in its text."""
    files = [REPO / "Makefile", *sorted((REPO / "conf").rglob("*.yaml")), *sorted((REPO / "arae").rglob("*.py"))]
    return [(f, m) for f in files for m in re.findall(r"\bdocs/[\w/-]+\.md", f.read_text())]


def test_every_docs_page_named_by_a_config_or_the_code_exists():
    named = named_docs_pages()
    assert any(f.name == "train.yaml" for f, _ in named)  # the comments of conf/ are read
    missing = [f"{f.relative_to(REPO)}: {page}" for f, page in named if not (REPO / page).is_file()]
    assert not missing, f"names of docs pages that do not exist: {missing}"


def test_the_link_checks_fail_on_a_missing_file(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("[there](page.md), [gone](gone.md#part), [web](https://example.org/x.md)")
    assert relative_links(page) == ["page.md", "gone.md"]
    assert [t for t in relative_links(page) if not (page.parent / t).exists()] == ["gone.md"]


def test_readme_links_every_docs_page():
    linked = set(re.findall(r"\]\((docs/[^)#]+)", README.read_text()))
    pages = {p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md")}
    assert not pages - linked, f"docs/ pages the README does not link: {sorted(pages - linked)}"


def test_no_history_or_machine_paths_in_docs_configs_and_code():
    """Comments and docs describe what is, not how it came to be, nor one machine's folders."""
    files = [README, *(REPO / "docs").rglob("*.md")]
    for folder in ("arae", "conf"):
        files += [p for p in (REPO / folder).rglob("*") if p.suffix in {".py", ".yaml", ".md"}]
    for path in files:
        text = path.read_text()
        assert not re.search(r"\bissue #?\d", text, flags=re.I), f"{path.relative_to(REPO)} cites an issue"
        assert "/work/" not in text, f"{path.relative_to(REPO)} names a machine path"
