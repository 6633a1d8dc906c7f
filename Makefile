# The two Quick start commands (see README.md), and test-quick. Each one builds its own
# virtualenv, so a fresh machine needs only python3 (with venv) and make.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Test processes (pytest-xdist): auto is one per core; JOBS=0 runs in this process alone.
JOBS ?= auto

.PHONY: demo test test-quick install

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# setup.cfg maps engine/, web/, … into the one name qihu, which an editable install serves
# through setuptools' import hook; setuptools then prints a notice ("Editable installation")
# on every install, which is silenced here. Real warnings still show.
install: $(BIN)/python
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install -q -e '.[test]'

demo: install
	$(BIN)/qihu demo

# Everything: SQLite and PostgreSQL (127.0.0.1:5432/test; unreachable is an error) and the
# browser tests (Debian's Chromium). The browser tests are one xdist group: one process runs
# them one at a time while the others run the rest (tests/conftest.py).
test: install
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadgroup $(PYTEST_ARGS)

# Before every commit (under two minutes on two cores): SQLite only, no browser.
test-quick: install
	$(BIN)/python -m pytest -q -n $(JOBS) -m "not postgresql and not browser" $(PYTEST_ARGS)
