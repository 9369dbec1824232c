# `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest bench clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The exact versions and hashes of requirements-dev.lock (what CI tests), then the project itself.
$(STAMP): $(BIN)/python pyproject.toml requirements-dev.lock
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

# After changing dependencies in pyproject.toml: re-resolve both lock files (pip-tools, from PyPI).
# requirements.lock is what the image installs; requirements-dev.lock adds the dev extra for CI.
LOCK := $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock: $(BIN)/python
	$(BIN)/python -m pip install -q pip-tools
	$(LOCK) --extra postgres -o requirements.lock pyproject.toml
	$(LOCK) --extra postgres --extra dev -o requirements-dev.lock pyproject.toml

# With DISCORD_TOKEN: the Discord bot. Without: the playground (the real bot, a local Discord and a page).
run: $(STAMP)
	@if [ -n "$$DISCORD_TOKEN" ]; then exec $(BIN)/netexplain run; else exec $(BIN)/netexplain playground; fi

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check bot tests benchmarks
	$(BIN)/ruff format --check bot tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	@bash tests/deploy/ensure-postgres.sh
	@bash tests/browser/ensure-chromium.sh
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_core.py
	$(BIN)/python benchmarks/bench_bot.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
