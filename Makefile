# arae: run `make help` for the targets. Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install train test test-slow clean

help: ## list the targets
	@echo "arae - adversarially robust autoencoders for novelty detection"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Pass Hydra overrides with ARGS, e.g. make train ARGS='dataset=fashion_mnist normal_class=1'"
	@echo "Variants: ARGS='variant=ae|dae|arae|arae_a|arae_r' = attack=none|noise|linf|union|linf_rec"
	@echo "  (AE, DAE, ARAE, ARAE-A, ARAE-R); also attack=l2|spatial|union_concat. See README, Variants."
	@echo "Data root: ARAE_DATA_DIR (default ./data, where torchvision downloads when online)."

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install arae with its test dependencies

train: $(STAMP) ## train ARAE on one MNIST class (quick budget) and print its AUROC; ARGS= for overrides
	$(PY) train.py $(ARGS)

test: $(STAMP) ## run the default test suite (fast; real-data tests skip when the data is absent)
	$(PY) -m pytest -q $(ARGS)

test-slow: $(STAMP) ## run the slow tests only (longer real-data runs)
	$(PY) -m pytest -q -m slow $(ARGS)

include make/reproduce-data.mk

clean: ## remove caches and run outputs of single runs (multirun_outputs/ is kept)
	rm -rf .pytest_cache outputs lightning_logs wandb
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
