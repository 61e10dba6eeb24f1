#!/usr/bin/env bash
# The main job on the embedded defaults: start the whole backend in-process
# (SQLite event store, local feed, segment store, ClickHouse engine under one
# data directory), drive a realistic mix of calls in every mode (some streaming
# audio), print a summary, and end with the console's address for that data.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/bootstrap.sh"
DATA_DIR="${RECAUDIT_DATA_DIR:-$ROOT/recaudit-data}"
"$ROOT/.venv/bin/recaudit" demo --data-dir "$DATA_DIR" "$@"
echo
if [ "$DATA_DIR" = "$ROOT/recaudit-data" ]; then
  echo "The console for this data: run 'make serve', then open http://127.0.0.1:8080/console/"
else
  echo "The console for this data: run '.venv/bin/recaudit serve --data-dir $DATA_DIR'," \
       "then open http://127.0.0.1:8080/console/"
fi
