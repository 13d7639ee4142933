# `make demo` and `make test` each set up .venv when missing, then run.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,batch]'
	# bytecode for the editable sources, as pip writes for installed packages: start-up reads
	# it even where PYTHONDONTWRITEBYTECODE is set
	$(PY) -m compileall -q sensors stabilize stitch cli.py
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/steadyrig demo out/demo

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) bench/stabilize.py
	$(PY) bench/stitch.py

clean:
	rm -rf out .pytest_cache
