# The two entry points of the README: `make demo` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint serve

$(STAMP): pyproject.toml constraints.txt scripts/bootstrap
	VENV=$(VENV) scripts/bootstrap

demo: $(STAMP)
	$(BIN)/docintake demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

serve: $(STAMP)
	$(BIN)/docintake serve
