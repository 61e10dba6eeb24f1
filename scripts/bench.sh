#!/usr/bin/env bash
# Every benchmark, each printing its figures next to the baseline it is compared with
# (measured in the same run). Starts the Kafka broker for bench.kafka if it is not running.
# Extra arguments are not passed on; run `python -m bench.NAME --help` for each one's options.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
scripts/bootstrap.sh
PY=.venv/bin/python
for name in http commands segments projections access console; do
  echo "== bench.$name"
  "$PY" -m "bench.$name"
done
if ! scripts/kafka.sh status >/dev/null 2>&1; then
  scripts/kafka.sh start
  trap 'scripts/kafka.sh stop >/dev/null 2>&1 || true' EXIT
fi
PATH="$ROOT/.venv/bin:$PATH" scripts/kafka.sh wait-ready
echo "== bench.kafka"
"$PY" -m bench.kafka --bootstrap "127.0.0.1:${KAFKA_PORT:-19092}"
