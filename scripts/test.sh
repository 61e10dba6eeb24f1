#!/usr/bin/env bash
# Every test, with the services they need: installs the project, starts
# PostgreSQL (from Debian's packages) and a Kafka broker (from Maven Central
# jars) on loopback when they are not running, installs Debian's Chromium for
# the browser tests when missing, runs pytest, and stops what it started.
# Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
scripts/bootstrap.sh
# The service scripts' helpers run with the project's interpreter, never a bare python3.
export PYTHON="$ROOT/.venv/bin/python"

started=()
cleanup() {
  for service in "${started[@]}"; do scripts/"$service".sh stop >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

if ! scripts/postgres.sh status >/dev/null 2>&1; then
  scripts/postgres.sh start
  started+=(postgres)
fi
scripts/postgres.sh wait-ready
if ! scripts/kafka.sh status >/dev/null 2>&1; then
  scripts/kafka.sh start
  started+=(kafka)
fi
scripts/kafka.sh wait-ready

# The console's browser tests drive Debian's Chromium (Playwright's own download cannot
# be used): install it when missing.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the console's browser tests" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing and cannot be installed here (needs root and apt-get)" >&2
  fi
fi

export RECAUDIT_TEST_POSTGRES_URL="${RECAUDIT_TEST_POSTGRES_URL:-$(scripts/postgres.sh url)}"
export RECAUDIT_TEST_KAFKA="${RECAUDIT_TEST_KAFKA:-127.0.0.1:${KAFKA_PORT:-19092}}"

set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "no tests were collected" >&2
fi
exit "$status"
