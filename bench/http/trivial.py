"""The baseline server: a trivial FastAPI endpoint with a pydantic body, served exactly as
`recaudit serve` serves the API (`recaudit.http.server.serve_forever`, same uvicorn settings).

It answers every POST the load generator sends (`/calls` and the call commands) after
validating the body, and stores nothing.

    python -m bench.http.trivial --port N
"""

from __future__ import annotations

import argparse

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from recaudit.http.server import listen, serve_forever


class Body(BaseModel):
    by: str | None = None
    call_id: str | None = None
    org_id: str | None = None
    agent_id: str | None = None
    direction: str | None = None
    at: str | None = None
    command_id: str | None = None


def create_app() -> FastAPI:
    app = FastAPI()

    @app.post("/calls", status_code=201)
    def start(body: Body) -> JSONResponse:
        return JSONResponse({"call_id": body.call_id, "position": 1}, 201)

    @app.post("/calls/{call_id}/{command:path}")
    def command(call_id: str, command: str, body: Body) -> JSONResponse:
        return JSONResponse({"call_id": call_id, "command": command, "position": 1})

    @app.get("/health")
    def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http.trivial")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    with listen("127.0.0.1", args.port) as sock:
        serve_forever(create_app(), sock)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
