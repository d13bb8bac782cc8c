# arae: run `make help` for the targets. Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install train test lint test-slow test-cluster test-ray clean report dashboard figures bench bench-gpu bench-fast-arae bench-ensemble fidelity recipe-report \
	reproduce-table1 reproduce-table2 reproduce-table3 reproduce-table4 reproduce-table5 reproduce-table6 reproduce-figure4

help: ## list the targets
	@echo "arae - adversarially robust autoencoders for novelty detection"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Pass Hydra overrides with ARGS, e.g. make train ARGS='dataset=fashion_mnist normal_class=1'"
	@echo "Variants: ARGS='variant=ae|dae|arae|arae_a|arae_r' = attack=none|noise|linf|union|linf_rec"
	@echo "  (AE, DAE, ARAE, ARAE-A, ARAE-R); also attack=l2|spatial|union_concat|union_script. See docs/training.md."
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
	$(PY) -m pytest -q --durations=15 $(ARGS)

lint: $(STAMP) ## ruff: pyflakes, pycodestyle, import order, bugbear (settings in pyproject.toml)
	$(PY) -m ruff check .

test-slow: $(STAMP) ## run the slow tests only (longer real-data runs)
	$(PY) -m pytest -q -m slow $(ARGS)

# A real single-node SLURM cluster (Debian's slurm-wlm and munge; needs root), then a submitit sweep of two
# tiny jobs through it, one requeued mid-run with `scontrol requeue`. The cluster is stopped afterwards.
test-cluster: $(STAMP) ## SLURM sweep + requeue on a local one-node cluster (root; installs slurm-wlm, munge)
	scripts/slurm-local.sh start
	@status=0; $(PY) -m pytest -q -m cluster -rxX tests/cluster/test_slurm.py $(ARGS) || status=$$?; \
	scripts/slurm-local.sh stop; exit $$status

# A real Ray sweep (hydra/launcher=ray) of two tiny jobs on a local Ray cluster. The Ray launcher pins
# cloudpickle<3, so it gets its own .venv-ray: Ray and the plugin on top of the main .venv's packages (a .pth).
RAY_VENV = .venv-ray
RAY_STAMP = $(RAY_VENV)/.installed-stamp
$(RAY_STAMP): $(STAMP)
	$(PYTHON) -m venv $(RAY_VENV)
	$(PY) -c "import site; print(site.getsitepackages()[0])" > "$$($(RAY_VENV)/bin/python -c 'import site; print(site.getsitepackages()[0])')/arae-main-venv.pth"
	$(RAY_VENV)/bin/python -m pip install "ray[default]<3" "hydra-ray-launcher==1.2.2" "cloudpickle<3"
	touch $(RAY_STAMP)

test-ray: $(RAY_STAMP) ## Ray sweep of two jobs on a local Ray cluster (own .venv-ray: the plugin pins cloudpickle<3)
	$(RAY_VENV)/bin/python -m pytest -q -m cluster -rsxX tests/cluster/test_ray.py $(ARGS)

# Reproducing the paper's tables (docs/reproduce.md, docs/reproduce-data.md). Each
# target runs its conf/experiment/*.yaml sweeps into $(OUTPUTS)/<table>/ (job folders named by settings, so
# a re-run resumes: completed jobs are skipped), then `arae-report --paper <table>` there. Defaults are the
# paper's settings; EPOCHS=N shortens every job, CLASSES=8 or CLASSES="8,'[4,5]'" runs only those normal
# classes, SEEDS=0,1,2 repeats each job per seed (Table 3: its draws, default 0-29), JOBS=N runs N jobs at
# once on this machine (joblib launcher), DATASET= picks the data set (Table 4: cifar10_jpg), ARGS= adds
# Hydra overrides (Figure 4: ARGS='protocol.tau=0.5,0.9').
EPOCHS ?=
CLASSES ?=
SEEDS ?=
JOBS ?=
DATASET ?=
OUTPUTS ?= multirun_outputs
# Table 5's test-time attack is arae-analyze's (its radii and PGD steps: conf/analysis/default.yaml, robustness);
# ATTACK_STEPS=N replaces its steps (SMOKE=1: 2).
ATTACK_STEPS ?= $(if $(SMOKE),2)
# The loggers of the reproduce runs (LOGGER=csv for no W&B); the experiment configs leave the choice to you.
LOGGER ?= wandb
# Table 6 and the fidelity study train the jobs that share an attack as ensembles of stacked members, one
# process using every core (hydra/launcher=ensemble, docs/speed.md); ENSEMBLE=0 (or JOBS=N) runs separate jobs.
ENSEMBLE ?= 1
# SMOKE=1: a smoke run of a target (debug=smoke: one epoch of 2 batches, cheap attacks, seed 0 unless SEEDS=;
# with CLASSES=8 about a minute for Table 6) into $(OUTPUTS)/smoke/<table>, which each smoke run replaces.
# Its jobs run separately (the ensemble trains whole epochs only).
SMOKE ?=
RUNS = $(OUTPUTS)$(if $(SMOKE),/smoke)
ENSEMBLE_SWEEP = $(if $(JOBS)$(SMOKE),,$(if $(filter 1,$(ENSEMBLE)),hydra/launcher=ensemble num_threads=$(shell nproc)))
SWEEP = logger=$(LOGGER) $(if $(EPOCHS),trainer.max_epochs=$(EPOCHS)) $(if $(CLASSES),normal_class=$(CLASSES)) \
	$(if $(SEEDS),seed=$(SEEDS),$(if $(SMOKE),seed=0)) $(if $(DATASET),dataset=$(DATASET)) \
	$(if $(JOBS),hydra/launcher=joblib hydra.launcher.n_jobs=$(JOBS)) $(if $(SMOKE),debug=smoke) $(ARGS)

# $(1): the table, $(2): its experiments, $(3): an optional command run on the sweep before the report,
# $(4): overrides of this table's sweeps (the launcher).
# Every multirun runs to its end (a failed job stops no other job; completed jobs are skipped on a re-run),
# then the report; the recipe ends with status 1 if any job failed (make itself then exits 2).
define reproduce
	@status=0; \
	$(if $(SMOKE),rm -rf $(RUNS)/$(1);) \
	for experiment in $(2); do \
		$(PY) train.py -m +experiment=$$experiment hydra.sweep.dir=$(RUNS)/$(1) $(SWEEP) $(4) || status=1; done; \
	$(if $(3),$(3) || status=1;) \
	$(PY) -m arae.report $(RUNS)/$(1) --paper $(1) --strict || status=1; \
	exit $$status
endef

reproduce-table1: $(STAMP) ## Table 1 (ARAE on Head CT, Brain MRI: AUROC, std over the last 50 epochs) + report; EPOCHS= SEEDS= JOBS= SMOKE=1
	$(call reproduce,table1,table1)

reproduce-table2: $(STAMP) ## Table 2 (ARAE on MNIST and Fashion-MNIST, classes 0-9) + report; EPOCHS= CLASSES= SEEDS= JOBS= SMOKE=1
	$(call reproduce,table2,table2)

reproduce-table3: $(STAMP) ## Table 3 (ARAE on COIL-100, n = 1, 4, 7 at tau 50/75/85 %, 30 draws: AUROC, F1) + report; EPOCHS= SEEDS= JOBS= SMOKE=1
	$(call reproduce,table3,table3 table3_n4 table3_n7)

reproduce-table4: $(STAMP) ## Table 4 (ARAE on CIFAR-10, mean AUROC over classes 0,2,4,6,8) + report; DATASET=cifar10_jpg EPOCHS= CLASSES= JOBS= SMOKE=1
	$(call reproduce,table4,table4)

reproduce-table5: $(STAMP) ## Table 5 (ARAE on MNIST 8, normal test images PGD-attacked as conf/analysis sets) + report; EPOCHS= SEEDS= ATTACK_STEPS= SMOKE=1
	$(call reproduce,table5,table5,$(PY) -m arae.analysis robustness $(RUNS)/table5/*/*/checkpoints/last.ckpt \
		$(if $(ATTACK_STEPS),--steps $(ATTACK_STEPS)) --out $(RUNS)/table5)

reproduce-table6: $(STAMP) ## Table 6 (DAE, ARAE, ARAE-A, ARAE-R; MNIST classes and pairs; as ensembles) + report; EPOCHS= CLASSES= SEEDS= JOBS= ENSEMBLE=0 SMOKE=1
	$(call reproduce,table6,table6 table6_pairs,,$(ENSEMBLE_SWEEP))

reproduce-figure4: $(STAMP) ## Figure 4 (ARAE on MNIST, protocol 1, tau 50..90 %: F1, normal positive) + report; EPOCHS= CLASSES= JOBS= SMOKE=1
	$(call reproduce,figure4,figure4)

# The fidelity study (docs/fidelity.md): DAE vs ARAE on MNIST, classes 3 and 8, seeds 0-2, 350 epochs, the
# paper's settings; ARGS= picks a series (e.g. ARGS='crafting=batch dataset.pgd_steps=10'). The jobs of a
# method train as one ensemble on every core (ENSEMBLE=0: one job per core; JOBS=N: N jobs at once). Finished jobs are skipped on a re-run; the report covers every series run so far.
FIDELITY_DIR ?= studies/fidelity
# The union-script runs (+experiment=union_script) that the report sets beside the authors' log.
UNION_DIR ?= studies/union_script
fidelity: $(STAMP) ## fidelity study DAE vs ARAE (MNIST 3, 8; 3 seeds; as ensembles) + docs/fidelity.md; EPOCHS= CLASSES= SEEDS= JOBS= ENSEMBLE=0 ARGS=
	@status=0; \
	$(PY) train.py -m +experiment=fidelity $(SWEEP) $(or $(ENSEMBLE_SWEEP),$(if $(JOBS),,hydra/launcher=joblib hydra.launcher.n_jobs=$(shell nproc))) || status=1; \
	$(PY) -m arae.reporting.fidelity $(FIDELITY_DIR) $(if $(wildcard $(UNION_DIR)),--union $(UNION_DIR)) --out docs || status=1; \
	exit $$status

# The fast-recipe search (docs/recipe.md): for every setting run into studies/recipe (and the fidelity study's
# series), the wall time until the test AUROC first reaches the paper's ARAE value; MINUTES= the budget.
recipe-report: $(STAMP) ## time-to-target table of studies/recipe + studies/fidelity -> docs/recipe.md; MINUTES=60 TARGET=
	$(PY) -m arae.reporting.recipe studies/recipe studies/fidelity --out docs --minutes $(or $(MINUTES),60) $(if $(TARGET),--target $(TARGET))

report: $(STAMP) ## tables of every run under DIR (default multirun_outputs): DIR=... ARGS='--by attack,seed'
	$(PY) -m arae.report $(or $(DIR),multirun_outputs) $(ARGS)

dashboard: $(STAMP) ## W&B report comparing the variants of a sweep: DIR=multirun_outputs/table6 (DIR/dashboard.json, .html, .png); ARGS='--publish ENTITY/PROJECT'
	$(PY) -m arae.dashboard $(or $(DIR),multirun_outputs) $(ARGS)

# make figures: a small sweep of its own, then every analysis of the paper. DAE and ARAE on FIGURES_CLASSES
# (Figures 5, 6, 7, Table 5), ARAE-A on FIGURES_CLASS only (Figure 1: DAE beside ARAE-A, anomalous inputs
# of class FIGURES_ANOMALOUS_CLASS, as in the paper: models of 8s shown 1s). FIGURES_ANALYZE_ARGS= adds
# arae-analyze options (e.g. --steps 10 --descent-steps 100).
FIGURES_DIR ?= figures
FIGURES_EPOCHS ?= 2
FIGURES_CLASSES ?= 1,8
FIGURES_CLASS ?= 8
FIGURES_ANOMALOUS_CLASS ?= 1
FIGURES_ANALYZE_ARGS ?=
FIGURES_RUN := $(FIGURES_DIR)/$(shell date +%Y-%m-%d_%H-%M-%S)

figures: $(STAMP) ## train DAE, ARAE (FIGURES_CLASSES) and ARAE-A (FIGURES_CLASS) on MNIST, FIGURES_EPOCHS epochs; draw Table 5, Figures 1, 5, 6, 7 into figures/<time>/
	$(PY) train.py -m variant=dae,arae normal_class=$(FIGURES_CLASSES) trainer.max_epochs=$(FIGURES_EPOCHS) \
		trainer.enable_progress_bar=false hydra.sweep.dir=$(FIGURES_RUN)/dae_arae $(ARGS)
	$(PY) train.py -m variant=arae_a normal_class=$(FIGURES_CLASS) trainer.max_epochs=$(FIGURES_EPOCHS) \
		trainer.enable_progress_bar=false hydra.sweep.dir=$(FIGURES_RUN)/arae_a $(ARGS)
	$(PY) -m arae.analysis all $(FIGURES_RUN) --normal-class $(FIGURES_CLASS) --anomalous-class $(FIGURES_ANOMALOUS_CLASS) \
		--out $(FIGURES_RUN) $(FIGURES_ANALYZE_ARGS)

bench: $(STAMP) ## seconds per epoch: framework vs hand loop vs compute floor, float32 and fast (bf16) rows, whole run (< 10 min)
	$(PY) benchmarks/bench.py $(ARGS)

bench-gpu: $(STAMP) ## on a CUDA machine: peak matmul TFLOP/s, one ARAE epoch fp32/TF32/bf16 (+compile), a Table-6 slice, projected Table 6 wall time; ARGS='--dry' on CPU, '--no-ensemble'
	$(PY) benchmarks/gpu.py $(ARGS)

bench-fast-arae: $(STAMP) ## test AUROC of fast ARAE (linf_fast) vs 40-step linf at equal training time, MNIST 2 and 8
	$(PY) benchmarks/fast_arae.py $(ARGS)

bench-ensemble: $(STAMP) ## seconds per epoch per detector: a separate job vs one ensemble of 10 (DAE, ARAE); ARGS= for options
	$(PY) benchmarks/ensemble.py $(ARGS)

clean: ## remove caches and run outputs of single runs (multirun_outputs/ is kept)
	rm -rf .pytest_cache outputs lightning_logs wandb
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
