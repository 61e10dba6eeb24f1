"""`recaudit serve` with only some of its background parts running, for `bench.http --only`.

The backend is built as `serve` builds it (the embedded defaults, the same app and
uvicorn settings) and answers the same API; of what `serve` runs beside the API (the
consumers, the sealer, the retention sweeper, the pause scheduler) only the parts named
run. What the API then loses against the whole pipeline is what the stopped parts cost
it. Not a way to run recaudit: the stopped parts' work is simply not done.

    python -m bench.http.parts --data-dir DIR --port N --only projections,segments
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from bench.http.servers import part_names, unknown_parts
from recaudit.bootstrap import build
from recaudit.http.server import listen, serve_forever
from recaudit.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http.parts", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--only", type=part_names, required=True,
                        help="background parts to run, comma-separated, or `none`")
    args = parser.parse_args(argv)
    if (wrong := unknown_parts(args.only)) is not None:
        parser.error(wrong)  # before anything is made
    with listen("127.0.0.1", args.port) as sock:  # as `serve`: before anything is opened
        backend = build(Settings.from_env(data_dir=args.data_dir))
        backend.start(only=args.only)
        # As `serve`: uvicorn stops on SIGTERM and raises it again; this makes that harmless.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: None)
        try:
            serve_forever(backend.app, sock)
        finally:
            backend.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
