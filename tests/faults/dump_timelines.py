"""Print every given call's timeline JSON as read from the ClickHouse projection.

Run as a separate process: the embedded ClickHouse engine allows one process
per data path and one path per process.
"""

from __future__ import annotations

import json
import sys

from recaudit.bootstrap import build
from recaudit.settings import Settings


def main() -> None:
    call_ids = json.loads(sys.stdin.read())
    backend = build(Settings.from_env())
    try:
        reader = backend.projections.reader
        print(json.dumps({c: reader.timeline(c).to_json() for c in call_ids}))
    finally:
        backend.close()


if __name__ == "__main__":
    main()
