# The two Quick start commands (see README.md). Each one builds its own virtualenv,
# so a fresh machine needs only python3 (with venv) and make.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'

demo: install
	$(BIN)/qihu demo

test: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)
