# Two commands matter: `make demo` and `make test`. Both set up .venv from scratch if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,http,postgres,dramatiq,s3]'
	touch $(STAMP)

install: $(STAMP)

## Turn the sample lecture into study material, embedded (SQLite, local files, offline engines).
demo: $(STAMP)
	PLC_STORAGE_DIR=$${PLC_STORAGE_DIR:-demo-storage} $(BIN)/pegasus ingest samples/lecture.opus \
		--course biology-101 --course-title "Biology 101" --title "Energy in living things" --wait

LINTED := src tests scripts $(wildcard bench)

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy
	$(BIN)/lint-imports

## Lint, type-check, check the dependency rule, then run the whole test suite.
test: lint
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/offline_pipeline.py

clean:
	rm -rf $(VENV) demo-storage storage .pytest_cache .mypy_cache .ruff_cache
