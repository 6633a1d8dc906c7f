# The two Quick start commands (see README.md), and test-quick. Each one builds its own
# virtualenv, so a fresh machine needs only python3 (with venv) and make.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Test processes (pytest-xdist): auto is one per core; JOBS=0 runs in this process alone.
JOBS ?= auto
# Where `make demo` serves: make demo PORT=8080 (HOST=0.0.0.0 to be reached from other machines).
HOST ?= 127.0.0.1
PORT ?= 5000

# A machine's pip configuration may name local package folders (extra-index-url file:///opt/pypi…)
# that hold only some packages; pip then warns "WARNING: Location 'file:///…/NAME/' is ignored: it
# is neither a file nor a directory." once per package it looks up, dozens of lines that would hide
# a real warning. pip runs through this filter, which drops exactly that message from its stderr
# and keeps every other line (on stderr) and pip's exit status (bash's pipefail; grep's "no line
# left" is not a failure).
PIP_NOISE := ^WARNING: Location .file:///[^ ]*. is ignored: it is neither a file nor a directory\.$$
quiet_pip = bash -o pipefail -c '$(BIN)/pip $(1) 2>&1 >&3 | { grep -Ev "$(PIP_NOISE)" || [ $$? = 1 ]; } >&2' 3>&1

.PHONY: demo test test-quick install

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(call quiet_pip,install -q --upgrade pip)

# setup.cfg maps engine/, web/, … into the one name qihu, which an editable install serves
# through setuptools' import hook; setuptools then prints a notice ("Editable installation")
# on every install, which is silenced here. Real warnings still show.
install: $(BIN)/python
	PYTHONWARNINGS="ignore:Editable installation" $(call quiet_pip,install -q -e ".[test]")

demo: install
	$(BIN)/qihu demo --host $(HOST) --port $(PORT)

# Everything: SQLite and PostgreSQL (127.0.0.1:5432/test; unreachable is an error) and the
# browser tests (Debian's Chromium). The browser tests are one xdist group: one process runs
# them one at a time while the others run the rest (tests/conftest.py).
test: install
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadgroup $(PYTEST_ARGS)

# Before every commit (under two minutes on two cores): SQLite only, no browser.
test-quick: install
	$(BIN)/python -m pytest -q -n $(JOBS) -m "not postgresql and not browser" $(PYTEST_ARGS)
