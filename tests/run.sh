#!/usr/bin/env bash
# The whole suite: installs what the tests need (Chromium, the peer's npm packages), starts what
# they need (Redis, PostgreSQL) when it is not running, then runs pytest on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

log() { printf '\n== %s\n' "$*"; }

if ! command -v chromium >/dev/null 2>&1; then
  log "installing Debian's chromium for the browser tests"
  if ! apt-get install -y -q chromium >/dev/null 2>&1; then
    apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null
  fi
fi

if [ ! -d tests/peer/node_modules ] || [ tests/peer/package-lock.json -nt tests/peer/node_modules ]; then
  log "installing the test peer (stremio-addon-sdk)"
  (cd tests/peer && npm ci --silent --no-audit --no-fund)
fi

redis_port=6379
if ! redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; then
  log "starting Redis on 127.0.0.1:$redis_port"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:$redis_port/15}"  # a db of its own on a shared Redis

if ! pg_isready -h 127.0.0.1 -q 2>/dev/null; then
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
  for _ in $(seq 50); do pg_isready -h 127.0.0.1 -q && break; sleep 0.2; done
fi

# The image test (tests/site/test_image.py) needs a Docker engine; engine.sh installs and starts one
# (as root, idempotent; in a session of its own, so a Ctrl-C of the suite leaves the engine up).
# Without it the test is skipped with the reason: never a failure here.
engine="${SHARED_DIR:-../shared}/docker/engine.sh"
if [ -x "$engine" ]; then
  log "Docker engine for the image test ($engine)"
  setsid -w "$engine" >/dev/null || log "no Docker engine: tests/site/test_image.py will be skipped"
fi

DATA_DIR=$(mktemp -d)
trap 'rm -rf "$DATA_DIR"' EXIT

log "lint (ruff)"
.venv/bin/ruff check .

# Both passes at once, each spread over parallel processes (pytest-xdist): most tests wait (on the
# peer, a worker process, the browser, the wall clock), so they overlap well even on 2 cores. Every
# process has its own data folder, test database, Celery queue and progress channels; the longest
# waits are handed out first and a module's browser tests stay together (tests/conftest.py).
# The PostgreSQL pass runs the tests marked `postgresql` (database-facing), the API fuzzer's hostile
# runs among them (huge integers, deep nesting, NUL, lone surrogates, huge floats).
# TEST_PROCESSES / TEST_PROCESSES_PG set the number of processes of each pass.
postgres_log="$DATA_DIR/postgresql.log"
DATA_DIR="$DATA_DIR/postgresql" DATABASE_URL="postgres://postgres@127.0.0.1:5432/prefetcher_$$" \
  "$PY" -m pytest -n "${TEST_PROCESSES_PG:-2}" --dist loadgroup --no-loadscope-reorder --durations=10 \
    -m "postgresql and not browser" "$@" >"$postgres_log" 2>&1 &
postgres_pass=$!

log "test suite on SQLite (the PostgreSQL pass runs alongside; its output follows)"
sqlite_status=0
DATA_DIR="$DATA_DIR/sqlite" "$PY" -m pytest -n "${TEST_PROCESSES:-4}" --dist loadgroup --no-loadscope-reorder --durations=25 "$@" || sqlite_status=$?

postgres_status=0
wait "$postgres_pass" || postgres_status=$?
log "database-facing tests on PostgreSQL"
cat "$postgres_log"
exit $(( sqlite_status || postgres_status ))
