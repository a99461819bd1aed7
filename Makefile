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

# The quick pass: lint, then every test not marked as needing a browser, the Node peer, a worker
# process, a wall-clock wait or Docker (pyproject.toml; tests/conftest.py marks the peer's users).
FAST_TESTS := not browser and not peer and not worker and not realtime and not docker
check: install-test
	$(VENV)/bin/ruff check .
	DATA_DIR=$$(mktemp -d) $(PY) -m pytest -q -n 2 -m "$(FAST_TESTS)"

# Both benchmarks run; a missed engine target still fails the whole (exit status of benchmark.py).
bench: install-test
	$(PY) tests/benchmark.py; engine=$$?; $(PY) tests/benchmark_status.py && exit $$engine
