# rag-car: two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXTRAS ?= dev,local-llm
# llama-cpp-python builds from source: a portable build, no CPU-specific flags
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

# Offline at run time: no hub downloads, no telemetry (see rag_car/offline.py).
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export DO_NOT_TRACK := true
export SCARF_NO_ANALYTICS := true
export ANONYMIZED_TELEMETRY := False

.PHONY: install run test bench clean-venv

install: $(STAMP)

# Re-installs only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	@touch $(STAMP)

# Index the bundled knowledge (skipped when nothing changed), then the simulated vehicle and the web UI.
run: $(STAMP)
	@if $(BIN)/rag-car ingest --help >/dev/null 2>&1; then $(BIN)/rag-car ingest knowledge/ --quiet; fi
	$(BIN)/rag-car serve --with-simulator

test: $(STAMP)
	$(BIN)/python -m pytest

# Every benchmark in benchmarks/, one after the other (figures in benchmarks/results/ and the README).
bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean-venv:
	rm -rf $(VENV)
