#!/usr/bin/env bash
# The whole suite, twice: on SQLite, then on PostgreSQL (the same tests, the same code).
# Redis-backed tests use TEXTPILOT_TEST_REDIS_URL. Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
services=$(bash scripts/test-services.sh) || { echo "could not provide PostgreSQL/Redis for the tests" >&2; exit 1; }
eval "export $services"
export TEXTPILOT_DATA_DIR=${TEXTPILOT_DATA_DIR:-$(pwd)/var/test-data}
mkdir -p "$TEXTPILOT_DATA_DIR" artifacts

run() {
  local label=$1; shift
  echo "=== tests on $label ==="
  env "$@" .venv/bin/pytest -p no:cacheprovider "${PYTEST_ARGS[@]}"
  local rc=$?
  if [ $rc -eq 5 ]; then echo "pytest collected no tests on $label: treating as a failure" >&2; return 1; fi
  return $rc
}

PYTEST_ARGS=("$@")
# The architecture first (seconds): layers (DESIGN.md), no import cycle, the linter.
echo "=== layers, import cycles, lint ==="
.venv/bin/lint-imports --no-cache; layers_rc=$?
.venv/bin/python scripts/import_cycles.py; cycles_rc=$?
.venv/bin/ruff check textpilot tests bench scripts; lint_rc=$?
static_rc=$(( layers_rc || cycles_rc || lint_rc ))

run sqlite -u DATABASE_URL; sqlite_rc=$?
run postgresql DATABASE_URL="$TEXTPILOT_TEST_PG_URL"; pg_rc=$?
echo "=== layers/lint: exit $static_rc, sqlite: exit $sqlite_rc, postgresql: exit $pg_rc ==="
[ $static_rc -eq 0 ] && [ $sqlite_rc -eq 0 ] && [ $pg_rc -eq 0 ]
