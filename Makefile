# The README's commands: `make demo`, `make test`, `make lint` and `make test-all`.
# Each creates its venv on a fresh machine (only Python 3.10+ and make needed)
# and installs what it needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
# The Pythons `make test-all` runs the suite on, each in its own .venv-3.X.
PYTHONS ?= 3.10 3.11 3.12 3.13

# Editable installs use a plain .pth path entry (editable_mode=compat), not
# setuptools' default import-hook finder: mypy (and other static tools) cannot
# follow the finder, so `mypy --strict` outside the repo would not find gochan.
# Every `-e` install must pass it: each one rebuilds the editable wheel.
EDITABLE := install --config-settings editable_mode=compat -e

# Installs are redone when the project's metadata, the C core or this file changes.
# The install builds the optional C core (gochan/_cchan.c) when a C compiler
# works, and silently leaves it out when not (`CC=false make test` tries that).
DEPS   := pyproject.toml setup.cfg setup.py gochan/_cchan.c Makefile

.PHONY: demo test test-pure lint test-all bench bench-quick clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(PY) $(DEPS)
	$(PIP) $(EDITABLE) .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) $(EDITABLE) '.[test]'
	touch $@

$(VENV)/.installed-lint: $(VENV)/.installed
	$(PIP) $(EDITABLE) '.[lint]'
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed
	$(PIP) $(EDITABLE) '.[test,bench]'
	touch $@

demo: $(VENV)/.installed
	$(PY) examples/demo_1000.py

# The tests `make test` also runs on the pure-Python channel: everything that exercises the
# channel, its operations, alts, cancellation and the reaper (the whole suite twice would pass
# 5 minutes on a busy 2-core machine; `make test-all` and `make test-pure` run all of it).
PURE_TESTS := tests/test_channels.py tests/test_alts.py tests/test_buffers.py tests/test_chan_xform.py \
	tests/test_promise_chan.py tests/test_waiters.py tests/test_stats.py tests/test_bad_args.py \
	tests/test_cancel.py tests/test_cancel_combinators.py tests/test_scope.py tests/test_stress.py \
	tests/test_reaper.py tests/test_go.py tests/test_pipes.py tests/test_compiled.py \
	tests/test_pipeline.py tests/test_pipeline_unordered.py

# The pure-Python channel's share of `make test-all`, per Python: the channel, its operations,
# alts, buffers, transducers, cancellation and the stress tests (~20 s). The whole suite twice on
# four Pythons would take CI past its 15 minutes; `make test-pure` runs all of it pure.
PURE_CORE := tests/test_channels.py tests/test_alts.py tests/test_buffers.py tests/test_chan_xform.py \
	tests/test_promise_chan.py tests/test_waiters.py tests/test_stats.py tests/test_bad_args.py \
	tests/test_cancel.py tests/test_compiled.py tests/test_stress.py

# The whole suite on the build installed (compiled if the C core was built), then the
# channel's tests on the pure-Python channel (GOCHAN_PURE=1). Both must pass.
test: $(VENV)/.installed-test
	@$(PY) -c 'import gochan; print("make test: gochan.compiled =", gochan.compiled)'
	$(PY) -m pytest
	@echo "make test: the channel's tests again on the pure-Python channel (GOCHAN_PURE=1)"
	GOCHAN_PURE=1 $(PY) -m pytest $(PURE_TESTS)

# The whole suite on the pure-Python channel.
test-pure: $(VENV)/.installed-test
	GOCHAN_PURE=1 $(PY) -m pytest

# Runs both checkers even when the first fails, then fails if either did.
lint: $(VENV)/.installed-lint
	@status=0; \
	echo "ruff check gochan tests bench examples"; \
	$(VENV)/bin/ruff check gochan tests bench examples || status=1; \
	echo "mypy --strict gochan tests/typing"; \
	$(VENV)/bin/mypy --strict gochan tests/typing || status=1; \
	exit $$status

# One venv per Python version: .venv-3.10, .venv-3.11, ... (precious: make
# would otherwise delete the interpreter as an intermediate file).
.PRECIOUS: .venv-%/bin/python .venv-%/.installed-test
.venv-%/bin/python:
	python$* -m venv .venv-$*

.venv-%/.installed-test: .venv-%/bin/python $(DEPS)
	.venv-$*/bin/python -m pip --disable-pip-version-check -q $(EDITABLE) '.[test]'
	touch $@

# Pool sizes test-all runs some versions on (version:size; the others get the default, 2
# hubs): the suite passes on 1, 2 and 4 hubs, and CI proves it at no extra time.
TEST_ALL_POOLS ?= 3.10:1 3.12:4

# The whole suite (compiled when built), then $(PURE_CORE) with GOCHAN_PURE=1, on each of
# $(PYTHONS) found on PATH (with GOCHAN_POOL_SIZE from $(TEST_ALL_POOLS)); a missing one is
# skipped (and said so). Every found version runs, then the failures are
# reported together and the target fails if there were any.
test-all:
	@passed=; failed=; skipped=; \
	for v in $(PYTHONS); do \
	  if ! python$$v -c 'import sys' >/dev/null 2>&1; then \
	    echo "test-all: python$$v not found on PATH (or not runnable), skipping"; \
	    skipped="$$skipped $$v"; continue; \
	  fi; \
	  pool=; for vp in $(TEST_ALL_POOLS); do [ "$${vp%%:*}" = "$$v" ] && pool=$${vp#*:}; done; \
	  echo "test-all: === python$$v, GOCHAN_POOL_SIZE=$${pool:-default} ==="; \
	  if $(MAKE) --no-print-directory .venv-$$v/.installed-test && \
	     env $${pool:+GOCHAN_POOL_SIZE=$$pool} .venv-$$v/bin/python -m pytest && \
	     env $${pool:+GOCHAN_POOL_SIZE=$$pool} GOCHAN_PURE=1 .venv-$$v/bin/python -m pytest $(PURE_CORE); then \
	    passed="$$passed $$v"; \
	  else \
	    echo "test-all: python$$v FAILED"; failed="$$failed $$v"; \
	  fi; \
	done; \
	echo "test-all: passed:$${passed:- none}; failed:$${failed:- none}; skipped:$${skipped:- none}"; \
	if [ -n "$$failed" ]; then exit 1; fi; \
	if [ -z "$$passed" ]; then echo "test-all: none of $(PYTHONS) found"; exit 1; fi

bench: $(VENV)/.installed-bench
	$(PY) -m bench

bench-quick: $(VENV)/.installed-bench
	$(PY) -m bench --quick

clean:
	rm -rf $(VENV) .venv-* build *.egg-info .mypy_cache .ruff_cache gochan/_cchan*.so
