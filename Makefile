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

# The browser tests run in a pytest run of their own: Playwright's sync API keeps an event
# loop of its own, which must not share a process with the live-server tests.
test: lint
	$(BIN)/python -m pytest --ignore=tests/web
	$(BIN)/python -m pytest tests/web

serve: $(STAMP)
	$(BIN)/docintake serve
