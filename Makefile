# Two entry points: `make run` (the app on http://$HOST:$PORT) and `make test` (the whole suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# 0.0.0.0 listens on every interface (other machines on the network); the default only on this one.
HOST ?= 127.0.0.1

.PHONY: run test install install-test migrate bench

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

# Both benchmarks run; a missed engine target still fails the whole (exit status of benchmark.py).
bench: install-test
	$(PY) tests/benchmark.py; engine=$$?; $(PY) tests/benchmark_status.py && exit $$engine
