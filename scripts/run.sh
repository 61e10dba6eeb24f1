#!/usr/bin/env bash
# The main job on the embedded defaults: start the whole backend in-process
# (SQLite event store, local feed, segment store, ClickHouse engine under one
# data directory), drive a realistic mix of calls in every mode, print a summary.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/bootstrap.sh"
exec "$ROOT/.venv/bin/recaudit" demo --data-dir "${RECAUDIT_DATA_DIR:-$ROOT/recaudit-data}" "$@"
