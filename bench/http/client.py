"""A small keep-alive HTTP/1.1 client on asyncio streams, for the load generator.

It speaks just what the generator needs (JSON bodies, answers with a Content-Length) and
costs far less per request than a general client, so the generator is not what is measured.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any


class ClientError(RuntimeError):
    pass


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, body: Any = None) -> Answer:
        if self._reader is None or self._writer is None:
            await self.open()
        assert self._reader is not None and self._writer is not None
        payload = b"" if body is None else json.dumps(body).encode()
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n")
        self._writer.write(head.encode() + payload)
        status_line, headers = await self._read_head()
        length = int(headers.get(b"content-length", b"0"))
        data = await self._reader.readexactly(length) if length else b""
        if headers.get(b"connection") == b"close":
            await self.close()
        return Answer(int(status_line.split(b" ", 2)[1]), data)

    async def _read_head(self) -> tuple[bytes, dict[bytes, bytes]]:
        assert self._reader is not None
        try:
            raw = await self._reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise ClientError("the server closed the connection") from exc
        lines = raw[:-4].split(b"\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if headers.get(b"transfer-encoding"):
            raise ClientError("chunked answers are not read by this client")
        return lines[0], headers

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
        self._reader = self._writer = None
