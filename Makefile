# The README's two commands: `make demo` and `make test`. Both create .venv on
# a fresh machine (only Python 3.10+ and make needed) and install what they need.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test bench bench-quick clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(PY) pyproject.toml setup.cfg
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -e '.[test]'
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed
	$(PIP) install -e '.[test,bench]'
	touch $@

demo: $(VENV)/.installed
	$(PY) examples/demo_1000.py

test: $(VENV)/.installed-test
	$(PY) -m pytest

bench: $(VENV)/.installed-bench
	$(PY) -m bench

bench-quick: $(VENV)/.installed-bench
	$(PY) -m bench --quick

clean:
	rm -rf $(VENV) build *.egg-info
