#!/usr/bin/env bash
# Create .venv (once) and install the project with its development tools into it, at the
# dependency versions of constraints.txt.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "recaudit needs Python 3.11 or newer as '$PYTHON' (set PYTHON=...)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv 2>/dev/null || {
    echo "python venv module missing; installing python3-venv" >&2
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    "$PYTHON" -m venv .venv
  }
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  # pip's and the build backend's chatter goes to a log, shown only when the install fails.
  log=.venv/install.log
  echo "installing recaudit and its development tools into .venv (log: $log)" >&2
  if ! { .venv/bin/python -m pip install -q --upgrade pip \
         && .venv/bin/python -m pip install -q -c constraints.txt -e ".[dev]"; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "installing into .venv failed (whole log: $log)" >&2
    exit 1
  fi
  touch "$stamp"
fi
