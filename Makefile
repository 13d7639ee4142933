# `make demo` and `make test` each set up .venv when missing, then run.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
AOT := $(VENV)/.aot-kernels

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,batch]'
	# bytecode for the editable sources, as pip writes for installed packages: start-up reads
	# it even where PYTHONDONTWRITEBYTECODE is set
	$(PY) -m compileall -q sensors stabilize stitch cli.py
	touch $(STAMP)

# Ahead-of-time builds of the stabilizer's numba kernels (sensors.aot): `steadyrig stabilize`
# then starts without importing numba. Without a C compiler the JIT kernels serve instead.
$(AOT): $(STAMP) sensors/_kernels.py stabilize/_kernels.py stabilize/_sphere_kernels.py sensors/aot.py stabilize/warmup.py
	$(PY) -m stabilize.warmup --build || echo "note: kernels not built ahead of time; numba JIT kernels are used"
	touch $(AOT)

demo: $(STAMP) $(AOT)
	$(VENV)/bin/steadyrig demo out/demo

test: $(STAMP) $(AOT)
	$(PY) -m ruff check .
	$(PY) -m pytest

bench: $(STAMP) $(AOT)
	$(PY) bench/stabilize.py
	$(PY) bench/stitch.py

clean:
	rm -rf out .pytest_cache
