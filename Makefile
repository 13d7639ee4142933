# `make demo` and `make test` each set up .venv when missing, then run.
# The venv's interpreter: PYTHON=... on the command line, else the first CPython >= 3.11 found.
PYTHON_CANDIDATES := python3 python3.14 python3.13 python3.12 python3.11
PYTHON ?= $(shell for p in $(PYTHON_CANDIDATES); do \
	$$p -c 'import sys; sys.exit(not (sys.implementation.name == "cpython" and sys.version_info >= (3, 11)))' \
	>/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
AOT := $(VENV)/.aot-kernels

.PHONY: demo test check-wheels lint bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || test -n "$(PYTHON)" || { echo "error: no CPython >= 3.11 found (tried $(PYTHON_CANDIDATES)); install one or run make PYTHON=/path/to/python3.11+" >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade -c constraints.txt pip
	# telemetry: telemetry-parser where it has wheels (CPython < 3.13), so its reader is tested
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,batch,telemetry]'
	# bytecode for the editable sources, as pip writes for installed packages: start-up reads
	# it even where PYTHONDONTWRITEBYTECODE is set
	$(PY) -m compileall -q sensors stabilize stitch cli_commands cli.py
	touch $(STAMP)

# Ahead-of-time builds of the stabilizer's and the stitcher's numba kernels (sensors.aot):
# `steadyrig stabilize` and `steadyrig stitch` then start without importing numba. Without a C
# compiler the JIT kernels serve instead.
$(AOT): $(STAMP) sensors/_kernels.py stabilize/_kernels.py stabilize/_sphere_kernels.py sensors/aot.py stabilize/warmup.py stitch/_projection_kernels.py stitch/kernels.py
	$(PY) -m stabilize.warmup --build || echo "note: kernels not built ahead of time; numba JIT kernels are used"
	$(PY) -m stitch.kernels --build || echo "note: the stitcher's kernel not built ahead of time; its numba JIT kernel is used"
	touch $(AOT)

demo: $(STAMP) $(AOT)
	$(VENV)/bin/steadyrig demo out/demo

test: $(STAMP) $(AOT)
	$(PY) -m ruff check .
	$(PY) -m pytest

# Do the pinned dependencies resolve to binary wheels on CPython 3.11-3.14 (x86-64 Linux)?
# Needs network access to PyPI; installs nothing.
check-wheels: $(STAMP)
	$(PY) .ci/check-wheels

bench: $(STAMP) $(AOT)
	$(PY) bench/stabilize.py
	$(PY) bench/stitch.py

clean:
	rm -rf out .pytest_cache
