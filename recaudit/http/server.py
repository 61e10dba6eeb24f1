"""Running the HTTP API with uvicorn, in the foreground or on a background thread."""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
import time

import uvicorn
from fastapi import FastAPI


class ServerError(RuntimeError):
    pass


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with listen(host, 0) as sock:
        return bound_port(sock)


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port), port 0 for any free one; ServerError if it cannot be
    bound (the port is in use, the address is not this machine's)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        reason = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise ServerError(f"cannot listen on {host}:{port}: {reason}") from None
    return sock


def bound_port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def http_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def config(app: FastAPI, **options: object) -> uvicorn.Config:
    """uvicorn's settings for the API: the httptools parser on the uvloop event loop, its
    loggers left to the process's logging configuration (log_config=None)."""
    return uvicorn.Config(app, log_config=None, http="httptools", loop="uvloop",
                          **options)  # type: ignore[arg-type]


def serve_forever(app: FastAPI, sock: socket.socket) -> None:
    """uvicorn on `sock` in the foreground, until SIGTERM or SIGINT."""
    uvicorn.Server(config(app)).run(sockets=[sock])


class BackgroundServer:
    """uvicorn on a thread, for the demo and the tests; stops cleanly."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._socket = listen(host, port)
        self.port = bound_port(self._socket)
        self._server = uvicorn.Server(config(app, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, args=([self._socket],),
                                        name="http", daemon=True)

    @property
    def url(self) -> str:
        return http_url(self.host, self.port)

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServerError(f"the HTTP server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
