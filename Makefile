PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pytest-xdist processes for `make test` (auto: one per core; 0: all in this process)
PYTEST_WORKERS ?= auto
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# pytest keeps compiled modules and its assertion-rewritten tests in __pycache__ even where the
# environment turns that off (PYTHONDONTWRITEBYTECODE, common in containers): without them every
# xdist worker compiles app/ and rewrites every test module again, about 7 s of CPU each.
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/pytest

.PHONY: demo demo-console test test-fast fmt lint typecheck pytest bench corpus soak clean image image-test

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

demo: $(STAMP)
	$(BIN)/countersign demo

demo-console: $(STAMP)
	$(BIN)/countersign demo --keep-serving

lint: $(STAMP)
	$(BIN)/ruff check app tests bench scripts
	$(BIN)/ruff format --check app tests bench scripts
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Tests marked `exclusive` restart shared services (PostgreSQL): they run alone, after the
# parallel run, so no other xdist worker is using the database while it restarts.
pytest: $(STAMP)
	$(PYTEST) -n $(PYTEST_WORKERS) -m "not exclusive" $(PYTEST_ARGS)
	$(PYTEST) -m exclusive $(PYTEST_ARGS) || test $$? -eq 5  # 5: none selected

test: lint typecheck pytest

# The inner loop: lint, layer contracts and the tests that need no servers, browser or PostgreSQL
# (about a minute; `make test` runs everything).
FAST_MARKERS := not e2e and not slow and not browser and not postgres

test-fast: $(STAMP)
	$(BIN)/ruff check app tests bench scripts
	$(BIN)/ruff format --check app tests bench scripts
	$(BIN)/lint-imports
	COUNTERSIGN_FAST_TESTS=1 $(PYTEST) -q -n auto -m "$(FAST_MARKERS)" $(PYTEST_ARGS)

fmt: $(STAMP)
	$(BIN)/ruff format app tests bench scripts
	$(BIN)/ruff check --fix app tests bench scripts

image:
	bash scripts/build-image.sh

image-test: $(STAMP)
	bash scripts/image-test.sh

bench: $(STAMP)
	$(BIN)/python bench/semdiff.py
	$(BIN)/python bench/semdiff_terraform.py
	$(BIN)/python bench/yaml_parse.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/plan.py
	$(BIN)/python bench/risk.py
	$(BIN)/python bench/policy.py
	$(BIN)/python bench/webhook.py --concurrency 4
	$(BIN)/python bench/audit.py --records 100000
	$(BIN)/python bench/tracing.py
	$(BIN)/python bench/scorecard.py --events 100000
	$(BIN)/python bench/console.py --events 30000
	$(BIN)/python bench/replay.py

# Sustained load on PostgreSQL (minutes; not in `make test`): starts PostgreSQL if needed.
soak: $(STAMP)
	eval "$$(bash scripts/start-postgres.sh --print-env)" && $(BIN)/python scripts/soak.py $(SOAK_ARGS)

corpus: $(STAMP)
	$(BIN)/python scripts/corpus.py $(CORPUS_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build dist *.egg-info
