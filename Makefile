# Two entry points: `make run` (the app on http://$HOST:$PORT) and `make test` (the whole suite);
# `make check` is the quick pass for every change: lint and the tests that need no browser, Node
# addon, worker process or Docker (the engine's rules on a scripted addon, the client, the layout).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# 0.0.0.0 listens on every interface (other machines on the network); the default only on this one.
HOST ?= 127.0.0.1

.PHONY: run test check install install-test migrate bench

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

migrate: install
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

test: install-test
	tests/run.sh

CHECK_TESTS := tests/test_engine_rules.py tests/test_engine_outcomes.py tests/test_pace.py tests/test_pure.py \
	tests/test_architecture.py tests/test_client_failures.py tests/test_network_policy.py tests/test_one_source.py \
	tests/test_follow_targets.py
check: install-test
	$(VENV)/bin/ruff check .
	DATA_DIR=$$(mktemp -d) $(PY) -m pytest -q $(CHECK_TESTS)

# Both benchmarks run; a missed engine target still fails the whole (exit status of benchmark.py).
bench: install-test
	$(PY) tests/benchmark.py; engine=$$?; $(PY) tests/benchmark_status.py && exit $$engine
